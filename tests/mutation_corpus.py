"""Mistakes and correct answers the hidden tests were not written against, per graded function.

Each entry replaces one answer cell of the reference solution. A *mutant* is a mistake a student
makes (each must fail at least one of that function's test cells); a *correct* variant is a right
answer in another style (it must pass every one). tests/test_mutation_corpus.py grades them all
against the tests' own code, on the grader's side, as autograding does.
"""

MUTANTS = {
    "q1_cross_entropy_gradient": {
        "softmax": {
            "clips_large_logits_in_place": "def softmax(z):\n    z = np.asarray(z)\n    np.clip(z, -700, 700, out=z)\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)",
            "no_shift": "def softmax(z):\n    e = np.exp(np.asarray(z, dtype=float))\n    return e / e.sum(axis=-1, keepdims=True)",
            "global_max": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - z.max())\n    return e / e.sum(axis=-1, keepdims=True)",
            "sum_whole_batch": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    return e / e.sum()",
            "divide_by_max": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    return e / e.max(axis=-1, keepdims=True)",
            "unnormalised": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    return np.exp(z - z.max(axis=-1, keepdims=True))",
            "axis_zero": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - z.max(axis=0, keepdims=True))\n    return e / e.sum(axis=0, keepdims=True)",
            "float32": "def softmax(z):\n    z = np.asarray(z, dtype=np.float32)\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)",
            "in_place": "def softmax(z):\n    z -= np.max(z, axis=-1, keepdims=True)\n    e = np.exp(z)\n    return e / e.sum(axis=-1, keepdims=True)",
            "shift_by_mean": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - z.mean(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)",
            "no_keepdims": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - np.max(z))\n    return e / np.sum(e, axis=-1)",
            "shift_by_min": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - z.min(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)",
            "rounded": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    return np.round(e / e.sum(axis=-1, keepdims=True), 4)",
        },
        "cross_entropy": {
            "clamps_in_place": "def cross_entropy(P, c):\n    P = np.atleast_2d(np.asarray(P))\n    P[P < 1e-300] = 1e-300\n    return float(-np.mean(np.log(P[np.arange(P.shape[0]), np.reshape(c, -1)])))",
            "no_minus": "def cross_entropy(P, c):\n    P = np.atleast_2d(P)\n    return float(np.mean(np.log(P[np.arange(P.shape[0]), np.reshape(c, -1)])))",
            "sum_over_batch": "def cross_entropy(P, c):\n    P = np.atleast_2d(P)\n    return float(-np.sum(np.log(P[np.arange(P.shape[0]), np.reshape(c, -1)])))",
            "all_classes": "def cross_entropy(P, c):\n    return float(-np.mean(np.sum(np.log(np.atleast_2d(P)), axis=-1)))",
            "log10": "def cross_entropy(P, c):\n    P = np.atleast_2d(P)\n    return float(-np.mean(np.log10(P[np.arange(P.shape[0]), np.reshape(c, -1)])))",
            "columns_not_rows": "def cross_entropy(P, c):\n    P = np.atleast_2d(P)\n    return float(-np.mean(np.log(P[:, np.reshape(c, -1)])))",
            "index_rows": "def cross_entropy(P, c):\n    P = np.asarray(P, dtype=float)\n    return float(-np.mean(np.log(P[c])))",
            "clipped_at_1e_7": "def cross_entropy(P, c):\n    P = np.clip(np.atleast_2d(P), 1e-7, 1.0)\n    return float(-np.mean(np.log(P[np.arange(P.shape[0]), np.reshape(c, -1)])))",
            "first_row_only": "def cross_entropy(P, c):\n    P = np.atleast_2d(P)\n    return float(-np.log(P[0, np.reshape(c, -1)[0]]))",
        },
        "cross_entropy_from_logits": {
            "through_probabilities": "def cross_entropy_from_logits(z, c):\n    return cross_entropy(softmax(z), c)",
            "no_max_shift": "def cross_entropy_from_logits(z, c):\n    Z = np.atleast_2d(np.asarray(z, dtype=float))\n    return float(np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(Z)), np.reshape(c, -1)]))",
            "global_max": "def cross_entropy_from_logits(z, c):\n    Z = np.atleast_2d(np.asarray(z, dtype=float)); m = Z.max()\n    return float(np.mean(m + np.log(np.exp(Z - m).sum(axis=1)) - Z[np.arange(len(Z)), np.reshape(c, -1)]))",
            "shift_forgotten": "def cross_entropy_from_logits(z, c):\n    Z = np.atleast_2d(np.asarray(z, dtype=float)); m = Z.max(axis=1)\n    return float(np.mean(np.log(np.exp(Z - m[:, None]).sum(axis=1)) - Z[np.arange(len(Z)), np.reshape(c, -1)]))",
            "sign_flipped": "def cross_entropy_from_logits(z, c):\n    Z = np.atleast_2d(np.asarray(z, dtype=float)); m = Z.max(axis=1)\n    return float(np.mean(Z[np.arange(len(Z)), np.reshape(c, -1)] - m - np.log(np.exp(Z - m[:, None]).sum(axis=1))))",
            "batch_sum": "def cross_entropy_from_logits(z, c):\n    Z = np.atleast_2d(np.asarray(z, dtype=float)); m = Z.max(axis=1)\n    return float(np.sum(m + np.log(np.exp(Z - m[:, None]).sum(axis=1)) - Z[np.arange(len(Z)), np.reshape(c, -1)]))",
            "shifts_its_input_in_place": "def cross_entropy_from_logits(z, c):\n    Z = np.atleast_2d(np.asarray(z))\n    Z -= Z.max(axis=1, keepdims=True)\n    return float(np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(Z)), np.reshape(c, -1)]))",
        },
        "ce_grad_logits": {
            "no_minus_one": "def ce_grad_logits(z, c):\n    return softmax(z)",
            "sign_flipped": "def ce_grad_logits(z, c):\n    P = softmax(z)\n    return np.eye(P.shape[-1])[c] - P",
            "batch_averaged": "def ce_grad_logits(z, c):\n    P = softmax(z)\n    G = P - np.eye(P.shape[-1])[c]\n    return G / (G.shape[0] if G.ndim == 2 else 1)",
            "columns_for_every_row": "def ce_grad_logits(z, c):\n    P = softmax(z).copy()\n    if P.ndim == 1:\n        P[c] -= 1.0\n    else:\n        P[:, c] -= 1.0\n    return P",
            "unstable_inline": "def ce_grad_logits(z, c):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z)\n    P = e / e.sum(axis=-1, keepdims=True)\n    return P - np.eye(P.shape[-1])[c]",
            "minus_half": "def ce_grad_logits(z, c):\n    P = softmax(z)\n    return P - 0.5 * np.eye(P.shape[-1])[c]",
            "in_place_on_z": "def ce_grad_logits(z, c):\n    z = np.asarray(z)\n    z -= z.max(axis=-1, keepdims=True)\n    e = np.exp(z); P = e / e.sum(axis=-1, keepdims=True)\n    return P - np.eye(P.shape[-1])[c]",
        },
        "ce_grad_weights": {
            "unstable_inline": "def ce_grad_weights(W, x, c):\n    X = np.atleast_2d(np.asarray(x, dtype=float))\n    E = np.exp(X @ W); P = E / E.sum(axis=1, keepdims=True)\n    P[np.arange(len(X)), np.reshape(c, -1)] -= 1.0\n    G = X.T @ P / len(X)\n    return G",
            "outer_transposed": "def ce_grad_weights(W, x, c):\n    x = np.asarray(x, dtype=float)\n    dz = ce_grad_logits(x @ W, c)\n    if x.ndim == 1:\n        return np.outer(dz, x)\n    return dz.T @ x / x.shape[0]",
            "sign_flipped": "def ce_grad_weights(W, x, c):\n    x = np.asarray(x, dtype=float)\n    dz = ce_grad_logits(x @ W, c)\n    if x.ndim == 1:\n        return -np.outer(x, dz)\n    return -x.T @ dz / x.shape[0]",
            "batch_sum": "def ce_grad_weights(W, x, c):\n    x = np.asarray(x, dtype=float)\n    dz = ce_grad_logits(x @ W, c)\n    if x.ndim == 1:\n        return np.outer(x, dz)\n    return x.T @ dz",
            "probabilities_only": "def ce_grad_weights(W, x, c):\n    x = np.asarray(x, dtype=float)\n    P = softmax(x @ W)\n    if x.ndim == 1:\n        return np.outer(x, P)\n    return x.T @ P / x.shape[0]",
            "divide_by_k": "def ce_grad_weights(W, x, c):\n    x = np.asarray(x, dtype=float)\n    dz = ce_grad_logits(x @ W, c)\n    if x.ndim == 1:\n        return np.outer(x, dz)\n    return x.T @ dz / W.shape[1]",
            "single_only": "def ce_grad_weights(W, x, c):\n    x = np.asarray(x, dtype=float)\n    return np.outer(x.reshape(-1)[:W.shape[0]], ce_grad_logits(x.reshape(-1)[:W.shape[0]] @ W, np.reshape(c, -1)[0]))",
            "scales_x_in_place": "def ce_grad_weights(W, x, c):\n    x = np.asarray(x)\n    dz = ce_grad_logits(x @ W, c)\n    if x.ndim == 1:\n        return np.outer(x, dz)\n    x /= x.shape[0]\n    return x.T @ dz",
        },
        "sgd_step": {
            "returns_W_when_lr_is_zero": "def sgd_step(W, x, c, lr):\n    if lr == 0:\n        return W\n    return W - lr * ce_grad_weights(W, x, c)",
            "ascent": "def sgd_step(W, x, c, lr):\n    return W + lr * ce_grad_weights(W, x, c)",
            "in_place": "def sgd_step(W, x, c, lr):\n    W -= lr * ce_grad_weights(W, x, c)\n    return W",
            "no_lr": "def sgd_step(W, x, c, lr):\n    return W - ce_grad_weights(W, x, c)",
            "lr_squared": "def sgd_step(W, x, c, lr):\n    return W - lr * lr * ce_grad_weights(W, x, c)",
            "returns_gradient": "def sgd_step(W, x, c, lr):\n    return -lr * ce_grad_weights(W, x, c)",
            "fixed_lr": "def sgd_step(W, x, c, lr):\n    return W - 0.1 * ce_grad_weights(W, x, c)",
        },
        "numerical_gradient": {
            "forward_difference": "def numerical_gradient(f, W, eps=1e-5):\n    W = np.array(W, dtype=float)\n    g = np.zeros_like(W)\n    for i in np.ndindex(W.shape):\n        o = W[i]; W[i] = o + eps; fp = f(W); W[i] = o\n        g[i] = (fp - f(W)) / eps\n    return g",
            "half_missing": "def numerical_gradient(f, W, eps=1e-5):\n    W = np.array(W, dtype=float)\n    g = np.zeros_like(W)\n    for i in np.ndindex(W.shape):\n        o = W[i]; W[i] = o + eps; fp = f(W); W[i] = o - eps; fm = f(W); W[i] = o\n        g[i] = (fp - fm) / eps\n    return g",
            "not_restored": "def numerical_gradient(f, W, eps=1e-5):\n    g = np.zeros_like(W, dtype=float)\n    for i in np.ndindex(W.shape):\n        o = W[i]; W[i] = o + eps; fp = f(W); W[i] = o - eps; fm = f(W)\n        g[i] = (fp - fm) / (2 * eps)\n    return g",
            "two_d_only": "def numerical_gradient(f, W, eps=1e-5):\n    W = np.array(W, dtype=float)\n    g = np.zeros_like(W)\n    for a in range(W.shape[0]):\n        for b in range(W.shape[1]):\n            o = W[a, b]; W[a, b] = o + eps; fp = f(W); W[a, b] = o - eps; fm = f(W); W[a, b] = o\n            g[a, b] = (fp - fm) / (2 * eps)\n    return g",
            "big_eps": "def numerical_gradient(f, W, eps=1e-5):\n    eps = 1e-2\n    W = np.array(W, dtype=float)\n    g = np.zeros_like(W)\n    for i in np.ndindex(W.shape):\n        o = W[i]; W[i] = o + eps; fp = f(W); W[i] = o - eps; fm = f(W); W[i] = o\n        g[i] = (fp - fm) / (2 * eps)\n    return g",
            "all_at_once": "def numerical_gradient(f, W, eps=1e-5):\n    W = np.array(W, dtype=float)\n    return np.full_like(W, (f(W + eps) - f(W - eps)) / (2 * eps))",
            "precedence": "def numerical_gradient(f, W, eps=1e-5):\n    W = np.array(W, dtype=float)\n    g = np.zeros_like(W)\n    for i in np.ndindex(W.shape):\n        o = W[i]; W[i] = o + eps; fp = f(W); W[i] = o - eps; fm = f(W); W[i] = o\n        g[i] = (fp - fm) / 2 * eps\n    return g",
            "ignores_eps": "def numerical_gradient(f, W, eps=1e-5):\n    W = np.array(W, dtype=float)\n    g = np.zeros_like(W)\n    for i in np.ndindex(W.shape):\n        o = W[i]; W[i] = o + 1e-4; fp = f(W); W[i] = o - 1e-4; fm = f(W); W[i] = o\n        g[i] = (fp - fm) / 2e-4\n    return g",
        },
    },
    "q2_mse_vs_cross_entropy": {
        "mse_loss": {
            "clamps_in_place": "def mse_loss(P, c):\n    P = np.asarray(P)\n    P[P < 1e-12] = 1e-12\n    return float(np.mean(np.mean((P - np.eye(P.shape[-1])[c]) ** 2, axis=-1)))",
            "sum_over_classes": "def mse_loss(P, c):\n    P = np.asarray(P, dtype=float)\n    return float(np.mean(np.sum((P - np.eye(P.shape[-1])[c]) ** 2, axis=-1)))",
            "correct_class_only": "def mse_loss(P, c):\n    P = np.atleast_2d(P)\n    return float(np.mean((1 - P[np.arange(P.shape[0]), np.reshape(c, -1)]) ** 2))",
            "sum_over_rows": "def mse_loss(P, c):\n    P = np.asarray(P, dtype=float)\n    return float(np.sum(np.mean((P - np.eye(P.shape[-1])[c]) ** 2, axis=-1)))",
            "root_mean": "def mse_loss(P, c):\n    P = np.asarray(P, dtype=float)\n    return float(np.mean(np.sqrt(np.mean((P - np.eye(P.shape[-1])[c]) ** 2, axis=-1))))",
            "absolute": "def mse_loss(P, c):\n    P = np.asarray(P, dtype=float)\n    return float(np.mean(np.abs(P - np.eye(P.shape[-1])[c])))",
            "half_mse": "def mse_loss(P, c):\n    P = np.asarray(P, dtype=float)\n    Y = np.eye(P.shape[-1])[c]\n    return float(0.5 * np.mean((P - Y) ** 2))",
            "label_as_probability_one": "def mse_loss(P, c):\n    P = np.asarray(P, dtype=float)\n    return float(np.mean((P - 1.0) ** 2))",
            "subtracts_in_place": "def mse_loss(P, c):\n    P = np.asarray(P)\n    P -= np.eye(P.shape[-1])[c]\n    return float(np.mean(np.mean(P ** 2, axis=-1)))",
        },
        "mse_grad_logits": {
            "no_jacobian": "def mse_grad_logits(z, c):\n    P = softmax(z)\n    return 2.0 / P.shape[-1] * (P - np.eye(P.shape[-1])[c])",
            "diagonal_jacobian": "def mse_grad_logits(z, c):\n    P = softmax(z)\n    v = 2.0 / P.shape[-1] * (P - np.eye(P.shape[-1])[c])\n    return P * (1 - P) * v",
            "sum_not_mean": "def mse_grad_logits(z, c):\n    P = softmax(z)\n    v = 2.0 * (P - np.eye(P.shape[-1])[c])\n    return P * (v - np.sum(v * P, axis=-1, keepdims=True))",
            "sign_flipped": "def mse_grad_logits(z, c):\n    P = softmax(z)\n    v = 2.0 / P.shape[-1] * (P - np.eye(P.shape[-1])[c])\n    return -P * (v - np.sum(v * P, axis=-1, keepdims=True))",
            "batch_axis_zero": "def mse_grad_logits(z, c):\n    P = softmax(z)\n    v = 2.0 / P.shape[-1] * (P - np.eye(P.shape[-1])[c])\n    return P * (v - np.sum(v * P, axis=0, keepdims=True))",
            "unstable_inline": "def mse_grad_logits(z, c):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z)\n    P = e / e.sum(axis=-1, keepdims=True)\n    v = 2.0 / P.shape[-1] * (P - np.eye(P.shape[-1])[c])\n    return P * (v - np.sum(v * P, axis=-1, keepdims=True))",
            "no_two": "def mse_grad_logits(z, c):\n    P = softmax(z); k = P.shape[-1]\n    d = 1.0 / k * (P - np.eye(k)[c])\n    return P * (d - np.sum(d * P, axis=-1, keepdims=True))",
            "no_over_k": "def mse_grad_logits(z, c):\n    P = softmax(z); k = P.shape[-1]\n    d = 2.0 * (P - np.eye(k)[c])\n    return P * (d - np.sum(d * P, axis=-1, keepdims=True))",
            "shifts_its_input_in_place": "def mse_grad_logits(z, c):\n    z = np.asarray(z)\n    z -= z.max(axis=-1, keepdims=True)\n    e = np.exp(z); P = e / e.sum(axis=-1, keepdims=True); k = P.shape[-1]\n    d = 2.0 / k * (P - np.eye(k)[c])\n    return P * (d - np.sum(d * P, axis=-1, keepdims=True))",
        },
        "train_softmax_regression": {
            "no_divide_by_n": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    W = np.array(W0, dtype=float); L = []; A = []\n    for t in range(epochs + 1):\n        Z = X @ W\n        L.append(cross_entropy(softmax(Z), y) if loss == 'ce' else mse_loss(softmax(Z), y))\n        A.append(np.mean(Z.argmax(axis=1) == y))\n        G = ce_grad_logits(Z, y) if loss == 'ce' else mse_grad_logits(Z, y)\n        if t < epochs:\n            W = W - lr * X.T @ G\n    return np.array(L), np.array(A)",
            "records_after_step": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    W = np.array(W0, dtype=float); L = []; A = []\n    for t in range(epochs + 1):\n        Z = X @ W\n        G = ce_grad_logits(Z, y) if loss == 'ce' else mse_grad_logits(Z, y)\n        W = W - lr * X.T @ G / X.shape[0]\n        Z = X @ W\n        L.append(cross_entropy(softmax(Z), y) if loss == 'ce' else mse_loss(softmax(Z), y))\n        A.append(np.mean(Z.argmax(axis=1) == y))\n    return np.array(L), np.array(A)",
            "changes_w0": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    W = W0; L = []; A = []\n    for t in range(epochs + 1):\n        Z = X @ W\n        L.append(cross_entropy(softmax(Z), y) if loss == 'ce' else mse_loss(softmax(Z), y))\n        A.append(np.mean(Z.argmax(axis=1) == y))\n        G = ce_grad_logits(Z, y) if loss == 'ce' else mse_grad_logits(Z, y)\n        if t < epochs:\n            W -= lr * X.T @ G / X.shape[0]\n    return np.array(L), np.array(A)",
            "ce_gradient_for_both": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    W = np.array(W0, dtype=float); L = []; A = []\n    for t in range(epochs + 1):\n        Z = X @ W\n        L.append(cross_entropy(softmax(Z), y) if loss == 'ce' else mse_loss(softmax(Z), y))\n        A.append(np.mean(Z.argmax(axis=1) == y))\n        if t < epochs:\n            W = W - lr * X.T @ ce_grad_logits(Z, y) / X.shape[0]\n    return np.array(L), np.array(A)",
            "accuracy_axis_zero": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    W = np.array(W0, dtype=float); L = []; A = []\n    for t in range(epochs + 1):\n        Z = X @ W\n        L.append(cross_entropy(softmax(Z), y) if loss == 'ce' else mse_loss(softmax(Z), y))\n        A.append(np.mean(Z.argmax(axis=0)[:len(y)] == y[:Z.shape[1]]))\n        if t < epochs:\n            G = ce_grad_logits(Z, y) if loss == 'ce' else mse_grad_logits(Z, y)\n            W = W - lr * X.T @ G / X.shape[0]\n    return np.array(L), np.array(A)",
            "one_step_short": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    W = np.array(W0, dtype=float); L = []; A = []\n    for t in range(epochs):\n        Z = X @ W\n        L.append(cross_entropy(softmax(Z), y) if loss == 'ce' else mse_loss(softmax(Z), y))\n        A.append(np.mean(Z.argmax(axis=1) == y))\n        G = ce_grad_logits(Z, y) if loss == 'ce' else mse_grad_logits(Z, y)\n        W = W - lr * X.T @ G / X.shape[0]\n    return np.array(L), np.array(A)",
            "ignores_lr": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    X = np.asarray(X, dtype=float); W = np.array(W0, dtype=float)\n    L, A = [], []\n    for t in range(epochs + 1):\n        Z = X @ W\n        if loss == 'ce':\n            L.append(cross_entropy(softmax(Z), y)); G = ce_grad_logits(Z, y)\n        else:\n            L.append(mse_loss(softmax(Z), y)); G = mse_grad_logits(Z, y)\n        A.append(np.mean(np.argmax(Z, axis=1) == y))\n        if t < epochs:\n            W = W - 1.0 * X.T @ G / len(y)\n    return np.array(L), np.array(A)",
            "accuracy_percent": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    X = np.asarray(X, dtype=float); W = np.array(W0, dtype=float)\n    L, A = [], []\n    for t in range(epochs + 1):\n        Z = X @ W\n        if loss == 'ce':\n            L.append(cross_entropy(softmax(Z), y)); G = ce_grad_logits(Z, y)\n        else:\n            L.append(mse_loss(softmax(Z), y)); G = mse_grad_logits(Z, y)\n        A.append(100.0 * np.mean(np.argmax(Z, axis=1) == y))\n        if t < epochs:\n            W = W - lr * X.T @ G / len(y)\n    return np.array(L), np.array(A)",
        },
    },
    "q3_gradient_descent": {
        "gradient_descent": {
            "ascent": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = np.array(w0, dtype=float); T = [w.copy()]\n    for _ in range(n_steps):\n        w = w + lr * np.asarray(grad_fn(w)); T.append(w.copy())\n    return np.array(T)",
            "no_start": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = np.array(w0, dtype=float); T = []\n    for _ in range(n_steps):\n        w = w - lr * np.asarray(grad_fn(w)); T.append(w.copy())\n    return np.array(T).reshape(-1, len(w0))",
            "in_place": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = w0; T = [w.copy()]\n    for _ in range(n_steps):\n        w -= lr * np.asarray(grad_fn(w)); T.append(w.copy())\n    return np.array(T)",
            "stops_when_flat": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = np.array(w0, dtype=float); T = [w.copy()]\n    for _ in range(n_steps):\n        g = np.asarray(grad_fn(w))\n        if np.linalg.norm(g) < 1e-12:\n            break\n        w = w - lr * g; T.append(w.copy())\n    return np.array(T)",
            "clipped_steps": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = np.array(w0, dtype=float); T = [w.copy()]\n    for _ in range(n_steps):\n        w = w - np.clip(lr * np.asarray(grad_fn(w)), -1, 1); T.append(w.copy())\n    return np.array(T)",
            "same_row_every_step": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = np.array(w0, dtype=float); T = [w]\n    for _ in range(n_steps):\n        w -= lr * np.asarray(grad_fn(w)); T.append(w)\n    return np.array(T)",
            "stale_gradient": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = np.array(w0, dtype=float); g = grad_fn(w)\n    out = [w.copy()]\n    for _ in range(n_steps):\n        w = w - lr * g; out.append(w.copy())\n    return np.array(out)",
            "returns_list": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = np.array(w0, dtype=float)\n    out = [w.copy()]\n    for _ in range(n_steps):\n        w = w - lr * np.asarray(grad_fn(w)); out.append(w.copy())\n    return out",
        },
        "batch_grad_loop": {
            "sum": "def batch_grad_loop(W, X, y):\n    G = np.zeros(W.shape)\n    for r in range(X.shape[0]):\n        z = X[r] @ W; e = np.exp(z - z.max()); p = e / e.sum(); p[y[r]] -= 1.0\n        G += np.outer(X[r], p)\n    return G",
            "unstable": "def batch_grad_loop(W, X, y):\n    G = np.zeros(W.shape)\n    for r in range(X.shape[0]):\n        e = np.exp(X[r] @ W); p = e / e.sum(); p[y[r]] -= 1.0\n        G += np.outer(X[r], p)\n    return G / X.shape[0]",
            "sign": "def batch_grad_loop(W, X, y):\n    G = np.zeros(W.shape)\n    for r in range(X.shape[0]):\n        z = X[r] @ W; e = np.exp(z - z.max()); p = e / e.sum(); p[y[r]] -= 1.0\n        G -= np.outer(X[r], p)\n    return G / X.shape[0]",
            "no_minus_one": "def batch_grad_loop(W, X, y):\n    G = np.zeros(W.shape)\n    for r in range(X.shape[0]):\n        z = X[r] @ W; e = np.exp(z - z.max()); p = e / e.sum()\n        G += np.outer(X[r], p)\n    return G / X.shape[0]",
            "accumulates_into_W": "def batch_grad_loop(W, X, y):\n    G = W\n    G[...] = 0.0\n    for r in range(X.shape[0]):\n        z = X[r] @ (W * 0); e = np.exp(z - z.max()); p = e / e.sum(); p[y[r]] -= 1.0\n        G += np.outer(X[r], p)\n    return G / X.shape[0]",
        },
        "batch_grad_vectorized": {
            "python_loop": "def batch_grad_vectorized(W, X, y):\n    G = np.zeros(W.shape)\n    for r in range(X.shape[0]):\n        z = X[r] @ W; e = np.exp(z - z.max()); p = e / e.sum(); p[y[r]] -= 1.0\n        G += np.outer(X[r], p)\n    return G / X.shape[0]",
            "comprehension": "def batch_grad_vectorized(W, X, y):\n    rows = [np.exp(X[r] @ W - (X[r] @ W).max()) for r in range(len(y))]\n    P = np.array([row / row.sum() for row in rows]); P[np.arange(len(y)), y] -= 1.0\n    return X.T @ P / len(y)",
            "sum": "def batch_grad_vectorized(W, X, y):\n    Z = X @ W; E = np.exp(Z - Z.max(axis=1, keepdims=True)); P = E / E.sum(axis=1, keepdims=True)\n    P[np.arange(len(y)), y] -= 1.0\n    return X.T @ P",
            "unstable": "def batch_grad_vectorized(W, X, y):\n    E = np.exp(X @ W); P = E / E.sum(axis=1, keepdims=True)\n    P[np.arange(len(y)), y] -= 1.0\n    return X.T @ P / len(y)",
            "softmax_whole_batch": "def batch_grad_vectorized(W, X, y):\n    Z = X @ W; E = np.exp(Z - Z.max()); P = E / E.sum()\n    P[np.arange(len(y)), y] -= 1.0\n    return X.T @ P / len(y)",
            "columns_for_every_row": "def batch_grad_vectorized(W, X, y):\n    Z = X @ W; E = np.exp(Z - Z.max(axis=1, keepdims=True)); P = E / E.sum(axis=1, keepdims=True)\n    P[:, y] -= 1.0 / len(y)\n    return X.T @ P / len(y)",
            # a loop moved out of sight: into the loop version, a helper, numpy's per-element helpers, recursion
            "calls_the_loop_version": "def batch_grad_vectorized(W, X, y):\n    return batch_grad_loop(W, X, y)",
            "loop_in_a_helper": "def _row_grad(W, x, c):\n    z = x @ W; e = np.exp(z - z.max()); p = e / e.sum(); p[c] -= 1.0\n    return np.outer(x, p)\n\ndef _all_rows(W, X, y):\n    G = np.zeros(W.shape)\n    for r in range(len(y)):\n        G += _row_grad(W, X[r], y[r])\n    return G\n\ndef batch_grad_vectorized(W, X, y):\n    return _all_rows(W, X, y) / len(y)",
            "apply_along_axis": "def batch_grad_vectorized(W, X, y):\n    def _sm(z):\n        e = np.exp(z - z.max()); return e / e.sum()\n    P = np.apply_along_axis(_sm, 1, X @ W)\n    P[np.arange(len(y)), y] -= 1.0\n    return X.T @ P / len(y)",
            "np_vectorize": "def batch_grad_vectorized(W, X, y):\n    Z = X @ W; E = np.exp(Z - Z.max(axis=1, keepdims=True)); P = E / E.sum(axis=1, keepdims=True)\n    onehot = np.vectorize(lambda j, c: 1.0 if j == c else 0.0)(np.arange(W.shape[1])[None, :], y[:, None])\n    return X.T @ (P - onehot) / len(y)",
            "map_rows": "def batch_grad_vectorized(W, X, y):\n    def _g(r):\n        z = X[r] @ W; e = np.exp(z - z.max()); p = e / e.sum(); p[y[r]] -= 1.0\n        return np.outer(X[r], p)\n    return sum(map(_g, range(len(y)))) / len(y)",
            "recursion": "def batch_grad_vectorized(W, X, y):\n    if len(y) == 0:\n        return np.zeros(W.shape)\n    z = X[0] @ W; e = np.exp(z - z.max()); p = e / e.sum(); p[y[0]] -= 1.0\n    n = len(y)\n    return (np.outer(X[0], p) + (n - 1) * batch_grad_vectorized(W, X[1:], y[1:])) / n",
            # dishonest: the text shows a def without a loop, and what runs is the loop version
            "decoy_rebound_through_globals": "def batch_grad_vectorized(W, X, y):\n    return X.T @ W\nglobals()['batch_grad_vectorized'] = batch_grad_loop",
            "decoy_code_swapped": "def batch_grad_vectorized(W, X, y):\n    return X.T @ W\nbatch_grad_vectorized.__code__ = batch_grad_loop.__code__",
            "decoy_rebound_by_exec": "def batch_grad_vectorized(W, X, y):\n    return X.T @ W\nexec('batch_grad_vectorized = batch_grad_' + 'loop')",
            "decoy_rebound_by_a_hook": "def batch_grad_vectorized(W, X, y):\n    return X.T @ W\ndef _once(*a):\n    get_ipython().user_ns['batch_grad_vectorized'] = batch_grad_loop\n    get_ipython().events.unregister('post_run_cell', _once)\nget_ipython().events.register('post_run_cell', _once)",  # once: the corpus's kernel is shared
            # the code that runs is not the code the text shows (each won against the deny-list of
            # rebinding forms and per-element callees that an earlier version read from the text)
            "decoy_then_time_magic": "def batch_grad_vectorized(W, X, y):\n    return X.T @ W\n%time batch_grad_vectorized = batch_grad_loop",
            "decoy_then_run_cell": "def batch_grad_vectorized(W, X, y):\n    return X.T @ W\nget_ipython().run_cell('batch_grad_vectorized = batch_grad_loop')",
            "class_instance_decorator": "class _Use:\n    def __call__(self, f):\n        return batch_grad_loop\n@_Use()\ndef batch_grad_vectorized(W, X, y):\n    return X.T @ W",
            "reduce_under_another_name": "from functools import reduce as _fold\ndef batch_grad_vectorized(W, X, y):\n    return _fold(lambda G, r: G + batch_grad_loop(W, X[r:r + 1], y[r:r + 1]), range(X.shape[0]), np.zeros(W.shape)) / X.shape[0]",
            "loop_through_sorted_key": "def batch_grad_vectorized(W, X, y):\n    G = [np.zeros(W.shape)]\n    def _add(r):\n        G[0] = G[0] + batch_grad_loop(W, X[r:r + 1], y[r:r + 1])\n        return r\n    sorted(range(X.shape[0]), key=_add)\n    return G[0] / X.shape[0]",
            "scales_X_in_place": "def batch_grad_vectorized(W, X, y):\n    Z = X @ W; E = np.exp(Z - Z.max(axis=1, keepdims=True)); P = E / E.sum(axis=1, keepdims=True)\n    P[np.arange(len(y)), y] -= 1.0\n    X /= len(y)\n    return X.T @ P",
        },
        "figure_1_facts": {
            "three_weights": "N_WEIGHTS = 3\nREACHES_GLOBAL_MIN_FROM_FLAT_START = False",
            "reaches": "N_WEIGHTS = 2\nREACHES_GLOBAL_MIN_FROM_FLAT_START = True",
            "float_weights": "N_WEIGHTS = 2.0\nREACHES_GLOBAL_MIN_FROM_FLAT_START = False",
        },
    },
    "q4_stacked_linear_layers": {
        "layer_shapes": {
            "row_convention": "def layer_shapes(s, t, u):\n    return {'W1': (s, t), 'b1': (t,), 'W2': (t, u), 'b2': (u,)}",
            "bias_swapped": "def layer_shapes(s, t, u):\n    return {'W1': (t, s), 'b1': (u,), 'W2': (u, t), 'b2': (t,)}",
            "w2_wrong": "def layer_shapes(s, t, u):\n    return {'W1': (t, s), 'b1': (t,), 'W2': (u, s), 'b2': (u,)}",
        },
        "linear": {
            "returns_x_for_the_identity": "def linear(x, W, b):\n    x = np.asarray(x, dtype=float)\n    if W.shape[0] == W.shape[1] and np.array_equal(W, np.eye(len(W))) and not np.any(b):\n        return x\n    return x @ W.T + b",
            "row_convention": "def linear(x, W, b):\n    return np.asarray(x, dtype=float) @ W + b",
            "no_bias": "def linear(x, W, b):\n    return np.asarray(x, dtype=float) @ W.T",
            "single_only": "def linear(x, W, b):\n    return W @ np.asarray(x, dtype=float) + b",
            "bias_twice": "def linear(x, W, b):\n    return np.asarray(x, dtype=float) @ W.T + 2 * b",
        },
        "compose_linear": {
            "wrong_order": "def compose_linear(W1, b1, W2, b2):\n    return W1 @ W2, W2 @ b1 + b2",
            "bias_b2_only": "def compose_linear(W1, b1, W2, b2):\n    return W2 @ W1, b2",
            "bias_added": "def compose_linear(W1, b1, W2, b2):\n    return W2 @ W1, b1 + b2",
            "elementwise": "def compose_linear(W1, b1, W2, b2):\n    return W2 * W1, W2 @ b1 + b2",
            "adds_into_b2": "def compose_linear(W1, b1, W2, b2):\n    b2 += W2 @ b1\n    return W2 @ W1, b2",
        },
        "relu": {
            "returns_input_when_nothing_negative": "def relu(a):\n    a = np.asarray(a, dtype=float)\n    if np.all(a >= 0):\n        return a\n    return np.maximum(a, 0.0)",
            "in_place": "def relu(a):\n    a[a < 0] = 0.0\n    return a",
            "absolute": "def relu(a):\n    return np.abs(np.asarray(a, dtype=float))",
            "max_of_array": "def relu(a):\n    return np.max(np.asarray(a, dtype=float), 0)",
            "leaky": "def relu(a):\n    a = np.asarray(a, dtype=float)\n    return np.where(a > 0, a, 0.01 * a)",
            "returns_mask": "def relu(a):\n    return (np.asarray(a, dtype=float) > 0).astype(float)",
            "small_threshold": "def relu(a):\n    a = np.asarray(a, dtype=float)\n    return np.where(a >= 1e-3, a, 0.0)",
        },
        "two_layer": {
            "returns_x_for_identity_layers": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    if all(W.shape[0] == W.shape[1] and np.array_equal(W, np.eye(len(W))) for W in (W1, W2)) and not np.any(b1) and not np.any(b2) and activation is None:\n        return x\n    h = linear(x, W1, b1)\n    if activation is not None:\n        h = activation(h)\n    return linear(h, W2, b2)",
            "activation_on_output": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    out = linear(linear(x, W1, b1), W2, b2)\n    return activation(out) if activation is not None else out",
            "ignores_activation": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    return linear(linear(x, W1, b1), W2, b2)",
            "always_relu": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    return linear(np.maximum(linear(x, W1, b1), 0.0), W2, b2)",
            "no_second_bias": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    h = linear(x, W1, b1)\n    if activation is not None:\n        h = activation(h)\n    return linear(h, W2, np.zeros_like(b2))",
            "activation_twice": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    h = linear(x, W1, b1)\n    if activation is not None:\n        h = activation(activation(h))\n    return linear(h, W2, b2)",
            "relu_whatever_is_given": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    h = linear(x, W1, b1)\n    if activation:\n        h = np.maximum(h, 0)\n    return linear(h, W2, b2)",
            "activation_before_bias": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    x = np.asarray(x, dtype=float)\n    h = x @ W1.T\n    if activation is not None:\n        h = activation(h)\n    return linear(h + b1, W2, b2)",
        },
    },
}

CORRECT = {
    "q1_cross_entropy_gradient": {
        "softmax": {
            "log_sum_exp": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    m = np.max(z, axis=-1, keepdims=True)\n    lse = m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))\n    return np.exp(z - lse)",
            "row_loop": "def softmax(z):\n    z = np.array(z, dtype=float)\n    rows = z.reshape(-1, z.shape[-1])\n    out = np.empty_like(rows)\n    for i, row in enumerate(rows):\n        e = np.exp(row - row.max())\n        out[i] = e / e.sum()\n    return out.reshape(z.shape)",
            "copy_then_in_place": "def softmax(z):\n    z = np.array(z, dtype=float)\n    z -= z.max(axis=-1, keepdims=True)\n    np.exp(z, out=z)\n    z /= z.sum(axis=-1, keepdims=True)\n    return z",
        },
        "cross_entropy": {
            "one_hot": "def cross_entropy(P, c):\n    P = np.atleast_2d(np.asarray(P, dtype=float))\n    Y = np.eye(P.shape[1])[np.reshape(c, -1)]\n    return float(-np.sum(Y * np.log(P)) / P.shape[0])",
            "take_along": "def cross_entropy(P, c):\n    P = np.atleast_2d(P)\n    return -np.log(np.take_along_axis(P, np.reshape(c, (-1, 1)), axis=1)).mean()",
            "clipped_at_1e_15": "def cross_entropy(P, c):\n    P = np.clip(np.atleast_2d(np.asarray(P, dtype=float)), 1e-15, 1.0)\n    return float(-np.mean(np.log(P[np.arange(P.shape[0]), np.reshape(c, -1)])))",
        },
        "cross_entropy_from_logits": {
            "log_softmax_row_loop": "def cross_entropy_from_logits(z, c):\n    Z = np.atleast_2d(np.asarray(z, dtype=float)); total = 0.0\n    for row, label in zip(Z, np.reshape(c, -1)):\n        m = row.max()\n        total += -(row[label] - m - np.log(np.sum(np.exp(row - m))))\n    return total / len(Z)",
            "logaddexp": "def cross_entropy_from_logits(z, c):\n    Z = np.atleast_2d(np.asarray(z, dtype=float))\n    lse = np.logaddexp.reduce(Z, axis=1)\n    return float(np.mean(lse - Z[np.arange(len(Z)), np.reshape(c, -1)]))",
        },
        "ce_grad_logits": {
            "eye": "def ce_grad_logits(z, c):\n    P = softmax(z)\n    return P - np.eye(P.shape[-1])[c]",
            "copy_and_subtract": "def ce_grad_logits(z, c):\n    G = np.array(softmax(z), dtype=float)\n    if G.ndim == 1:\n        G[c] -= 1\n    else:\n        G[np.arange(len(G)), c] -= 1\n    return G",
        },
        "ce_grad_weights": {
            "einsum": "def ce_grad_weights(W, x, c):\n    X = np.atleast_2d(x)\n    G = np.einsum('ni,nj->ij', X, ce_grad_logits(X @ W, np.reshape(c, -1))) / X.shape[0]\n    return G",
            "row_loop": "def ce_grad_weights(W, x, c):\n    X = np.atleast_2d(np.asarray(x, dtype=float)); labels = np.reshape(c, -1)\n    G = np.zeros_like(W, dtype=float)\n    for r in range(X.shape[0]):\n        G += np.outer(X[r], ce_grad_logits(X[r] @ W, int(labels[r])))\n    return G / X.shape[0]",
        },
        "sgd_step": {
            "copy_first": "def sgd_step(W, x, c, lr):\n    new = np.array(W, dtype=float, copy=True)\n    new -= lr * ce_grad_weights(W, x, c)\n    return new",
        },
        "numerical_gradient": {
            "flat_copy": "def numerical_gradient(f, W, eps=1e-5):\n    base = np.array(W, dtype=float)\n    g = np.zeros(base.size)\n    for k in range(base.size):\n        up = base.copy().reshape(-1); up[k] += eps\n        down = base.copy().reshape(-1); down[k] -= eps\n        g[k] = (f(up.reshape(base.shape)) - f(down.reshape(base.shape))) / (2 * eps)\n    return g.reshape(base.shape)",
        },
    },
    "q2_mse_vs_cross_entropy": {
        "mse_loss": {
            "explicit": "def mse_loss(P, c):\n    P = np.atleast_2d(np.asarray(P, dtype=float)); labels = np.reshape(c, -1)\n    k = P.shape[1]\n    rows = [(1 - p[l]) ** 2 + np.sum(np.delete(p, l) ** 2) for p, l in zip(P, labels)]\n    return float(np.mean(rows) / k)",
        },
        "mse_grad_logits": {
            "jacobian_matrix": "def mse_grad_logits(z, c):\n    Z = np.atleast_2d(np.asarray(z, dtype=float)); labels = np.reshape(c, -1)\n    out = np.empty_like(Z)\n    for r in range(Z.shape[0]):\n        P = softmax(Z[r]); k = P.size\n        v = 2.0 / k * (P - np.eye(k)[labels[r]])\n        J = np.diag(P) - np.outer(P, P)\n        out[r] = J.T @ v\n    return out.reshape(np.shape(z))",
            "einsum": "def mse_grad_logits(z, c):\n    P = softmax(z); k = P.shape[-1]\n    v = 2.0 / k * (P - np.eye(k)[c])\n    return P * v - P * np.einsum('...i,...i->...', v, P)[..., None]",
        },
        "train_softmax_regression": {
            "record_then_step": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    if loss not in ('ce', 'mse'):\n        raise ValueError(loss)\n    W = W0.copy(); n = len(y)\n    def record(W):\n        Z = X @ W; P = softmax(Z)\n        return (cross_entropy(P, y) if loss == 'ce' else mse_loss(P, y)), np.mean(np.argmax(Z, 1) == y)\n    L, A = [record(W)[0]], [record(W)[1]]\n    for _ in range(epochs):\n        Z = X @ W\n        G = ce_grad_logits(Z, y) if loss == 'ce' else mse_grad_logits(Z, y)\n        W = W - lr * (X.T @ G) / n\n        l, a = record(W); L.append(l); A.append(a)\n    return np.asarray(L, dtype=float), np.asarray(A, dtype=float)",
            "lists_and_else_branch": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    X = np.asarray(X, dtype=float); W = np.array(W0, dtype=float)\n    L, A = [], []\n    for t in range(epochs + 1):\n        Z = X @ W\n        if loss == 'ce':\n            L.append(cross_entropy(softmax(Z), y)); G = ce_grad_logits(Z, y)\n        else:\n            L.append(mse_loss(softmax(Z), y)); G = mse_grad_logits(Z, y)\n        A.append(float(np.mean(np.argmax(Z, axis=1) == y)))\n        if t < epochs:\n            W = W - lr * X.T @ G / len(y)\n    return L, A",
        },
    },
    "q3_gradient_descent": {
        "gradient_descent": {
            "list_of_rows": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    rows = [np.asarray(w0, dtype=float).copy()]\n    for _ in range(n_steps):\n        rows.append(rows[-1] - lr * np.asarray(grad_fn(rows[-1].copy()), dtype=float))\n    return np.stack(rows)",
        },
        "batch_grad_loop": {
            "log_softmax": "def batch_grad_loop(W, X, y):\n    total = 0.0\n    for x_r, y_r in zip(X, y):\n        z = x_r @ W\n        logp = z - z.max() - np.log(np.exp(z - z.max()).sum())\n        d = np.exp(logp); d[y_r] -= 1\n        total = total + np.outer(x_r, d)\n    return total / len(y)",
        },
        "batch_grad_vectorized": {
            "one_hot": "def batch_grad_vectorized(W, X, y):\n    Z = X @ W\n    Z = Z - Z.max(axis=1, keepdims=True)\n    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)\n    return X.T @ (P - np.eye(W.shape[1])[y]) / X.shape[0]",
            "vectorized_helpers": "def _softmax_rows(Z):\n    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n    return E / E.sum(axis=1, keepdims=True)\n\ndef _one_hot(y, k):\n    return np.eye(k)[y]\n\ndef batch_grad_vectorized(W, X, y):\n    return X.T @ (_softmax_rows(X @ W) - _one_hot(y, W.shape[1])) / len(y)",
            "ufunc_methods": "def batch_grad_vectorized(W, X, y):\n    Z = X @ W\n    Z = Z - np.maximum.reduce(Z, axis=1, keepdims=True)\n    E = np.exp(Z)\n    S = np.add.accumulate(E, axis=1)[:, -1:]\n    P = E / S\n    P[np.arange(len(y)), y] -= 1.0\n    return X.T @ P / len(y)",
        },
        "figure_1_facts": {
            "numpy_types": "N_WEIGHTS = np.int64(2)\nREACHES_GLOBAL_MIN_FROM_FLAT_START = np.bool_(False)",
        },
    },
    "q4_stacked_linear_layers": {
        "layer_shapes": {
            "built": "def layer_shapes(s, t, u):\n    shapes = {}\n    shapes['W1'] = (t, s); shapes['b1'] = (t,)\n    shapes['W2'] = (u, t); shapes['b2'] = (u,)\n    return shapes",
        },
        "linear": {
            "einsum": "def linear(x, W, b):\n    return np.einsum('ts,...s->...t', W, np.asarray(x, dtype=float)) + b",
            "matmul": "def linear(x, W, b):\n    x = np.asarray(x, dtype=float)\n    return (W @ x.T).T + b",
        },
        "compose_linear": {
            "matmul_calls": "def compose_linear(W1, b1, W2, b2):\n    return np.matmul(W2, W1), np.dot(W2, b1) + b2",
        },
        "relu": {
            "mask": "def relu(a):\n    a = np.asarray(a, dtype=float)\n    return a * (a > 0)",
            "where": "def relu(a):\n    a = np.asarray(a, dtype=float)\n    return np.where(a > 0, a, 0.0)",
        },
        "two_layer": {
            "inline": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    act = activation or (lambda h: h)\n    return linear(act(linear(x, W1, b1)), W2, b2)",
            "activation_by_truthiness": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    h = np.asarray(x, dtype=float) @ W1.T + b1\n    h = activation(h) if activation else h\n    return h @ W2.T + b2",
        },
    },
}

# Answers that do no work and still satisfy what a property-only check looks at: they ignore their
# callback, return a constant or a uniform answer, or shrink their input. Every test cell of a
# function must fail at least one of that function's (tests/test_mutation_corpus.py).
NO_WORK = {
    "q1_cross_entropy_gradient": {
        "softmax": {
            "uniform": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    return np.full(z.shape, 1.0 / z.shape[-1])",
            "one_hot_at_argmax": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    return (z == z.max(axis=-1, keepdims=True)) / np.sum(z == z.max(axis=-1, keepdims=True), axis=-1, keepdims=True)",
        },
        "cross_entropy": {
            "zero": "def cross_entropy(P, c):\n    return 0.0",
            "log_k": "def cross_entropy(P, c):\n    return float(np.log(np.shape(P)[-1]))",
        },
        "cross_entropy_from_logits": {
            "zero": "def cross_entropy_from_logits(z, c):\n    return 0.0",
            "log_k": "def cross_entropy_from_logits(z, c):\n    return float(np.log(np.shape(z)[-1]))",
        },
        "ce_grad_logits": {
            "zeros": "def ce_grad_logits(z, c):\n    return np.zeros(np.shape(z))",
            "uniform_minus_one_hot": "def ce_grad_logits(z, c):\n    z = np.asarray(z, dtype=float)\n    return np.full(z.shape, 1.0 / z.shape[-1]) - np.eye(z.shape[-1])[c]",
        },
        "ce_grad_weights": {
            "zeros": "def ce_grad_weights(W, x, c):\n    return np.zeros(np.shape(W))",
            "ignores_the_data": "def ce_grad_weights(W, x, c):\n    return np.asarray(W, dtype=float) * 0.1",
        },
        "sgd_step": {
            "unchanged": "def sgd_step(W, x, c, lr):\n    return np.array(W, dtype=float)",
            "shrinks": "def sgd_step(W, x, c, lr):\n    return np.array(W, dtype=float) * (1 - lr)",
        },
        "numerical_gradient": {
            "zeros": "def numerical_gradient(f, W, eps=1e-5):\n    return np.zeros(np.shape(W))",
            "never_calls_f": "def numerical_gradient(f, W, eps=1e-5):\n    return 2 * np.array(W, dtype=float)",
        },
    },
    "q2_mse_vs_cross_entropy": {
        "mse_loss": {
            "zero": "def mse_loss(P, c):\n    return 0.0",
            "bound": "def mse_loss(P, c):\n    return 1.0 / np.shape(P)[-1]",
        },
        "mse_grad_logits": {
            "zeros": "def mse_grad_logits(z, c):\n    return np.zeros(np.shape(z))",
            "tiny_ce_gradient": "def mse_grad_logits(z, c):\n    P = softmax(z)\n    return 1e-4 * P * (P - np.eye(P.shape[-1])[c])",
        },
        "train_softmax_regression": {
            "made_up_histories": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    return np.linspace(1.0, 0.1, epochs + 1), np.linspace(0.0, 1.0, epochs + 1)",
            "never_steps": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    P = softmax(X @ W0)\n    L = cross_entropy(P, y) if loss == 'ce' else mse_loss(P, y)\n    A = np.mean(np.argmax(X @ W0, axis=1) == y)\n    return np.full(epochs + 1, L), np.full(epochs + 1, A)",
        },
    },
    "q3_gradient_descent": {
        "gradient_descent": {
            "halves_w": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w0 = np.array(w0, dtype=float)\n    return np.array([w0 * 0.5 ** t for t in range(n_steps + 1)])",
            "stays_put": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    return np.tile(np.array(w0, dtype=float), (n_steps + 1, 1))",
            "calls_grad_once": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w0 = np.array(w0, dtype=float); g = np.asarray(grad_fn(w0.copy()), dtype=float)\n    return np.array([w0 - t * lr * g for t in range(n_steps + 1)])",
        },
        "batch_grad_loop": {
            "zeros": "def batch_grad_loop(W, X, y):\n    return np.zeros(np.shape(W))",
        },
        "batch_grad_vectorized": {
            "zeros": "def batch_grad_vectorized(W, X, y):\n    return np.zeros(np.shape(W))",
        },
        "figure_1_facts": {
            "zero_and_none": "N_WEIGHTS = 0\nREACHES_GLOBAL_MIN_FROM_FLAT_START = None",
        },
    },
    "q4_stacked_linear_layers": {
        "layer_shapes": {
            "empty": "def layer_shapes(s, t, u):\n    return {}",
            "all_square": "def layer_shapes(s, t, u):\n    return {'W1': (s, s), 'b1': (s,), 'W2': (s, s), 'b2': (s,)}",
        },
        "linear": {
            "zeros": "def linear(x, W, b):\n    x = np.asarray(x, dtype=float)\n    return np.zeros(x.shape[:-1] + (np.shape(W)[0],))",
            "bias_only": "def linear(x, W, b):\n    x = np.asarray(x, dtype=float)\n    return np.zeros(x.shape[:-1] + (np.shape(W)[0],)) + b",
        },
        "compose_linear": {
            "identity": "def compose_linear(W1, b1, W2, b2):\n    return np.eye(np.shape(W2)[0], np.shape(W1)[1]), np.zeros(np.shape(b2))",
            "second_layer_only": "def compose_linear(W1, b1, W2, b2):\n    return np.zeros((np.shape(W2)[0], np.shape(W1)[1])), np.array(b2, dtype=float)",
        },
        "relu": {
            "zeros": "def relu(a):\n    return np.zeros(np.shape(a))",
            "identity": "def relu(a):\n    return np.array(a, dtype=float)",
        },
        "two_layer": {
            "zeros": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    x = np.asarray(x, dtype=float)\n    return np.zeros(x.shape[:-1] + (np.shape(W2)[0],))",
            "second_bias_only": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    x = np.asarray(x, dtype=float)\n    return np.zeros(x.shape[:-1] + (np.shape(W2)[0],)) + b2",
        },
    },
}

# Answers of the wrong kind or shape (a forgotten return, a transposed result, one value per row
# instead of their mean, ints for shapes, a single value where a pair is due): each must fail with
# the test's own message, never with an error of the test's code (tests/test_mutation_corpus.py).
ODD_RETURNS = {
    "q1_cross_entropy_gradient": {
        "softmax": {
            "forgot_return": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    P = e / e.sum(axis=-1, keepdims=True)",
            "transposed": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    return (e / e.sum(axis=-1, keepdims=True)).T",
        },
        "cross_entropy": {
            "forgot_return": "def cross_entropy(P, c):\n    P = np.atleast_2d(P)\n    L = float(-np.mean(np.log(P[np.arange(P.shape[0]), np.reshape(c, -1)])))",
            "one_per_row": "def cross_entropy(P, c):\n    P = np.atleast_2d(P)\n    return -np.log(P[np.arange(P.shape[0]), np.reshape(c, -1)])",
        },
        "cross_entropy_from_logits": {
            "forgot_return": "def cross_entropy_from_logits(z, c):\n    Z = np.atleast_2d(np.asarray(z, dtype=float)); m = Z.max(axis=1)\n    L = float(np.mean(m + np.log(np.exp(Z - m[:, None]).sum(axis=1)) - Z[np.arange(len(Z)), np.reshape(c, -1)]))",
            "one_per_row": "def cross_entropy_from_logits(z, c):\n    Z = np.atleast_2d(np.asarray(z, dtype=float)); m = Z.max(axis=1)\n    return m + np.log(np.exp(Z - m[:, None]).sum(axis=1)) - Z[np.arange(len(Z)), np.reshape(c, -1)]",
        },
        "ce_grad_logits": {
            "forgot_return": "def ce_grad_logits(z, c):\n    G = softmax(z) - np.eye(np.shape(z)[-1])[c]",
            "transposed": "def ce_grad_logits(z, c):\n    return (softmax(z) - np.eye(np.shape(z)[-1])[c]).T",
            "one_row": "def ce_grad_logits(z, c):\n    return np.atleast_2d(softmax(z) - np.eye(np.shape(z)[-1])[c])",
        },
        "ce_grad_weights": {
            "forgot_return": "def ce_grad_weights(W, x, c):\n    X = np.atleast_2d(x)\n    G = X.T @ ce_grad_logits(X @ W, np.reshape(c, -1)) / X.shape[0]",
            "transposed": "def ce_grad_weights(W, x, c):\n    X = np.atleast_2d(x)\n    return (X.T @ ce_grad_logits(X @ W, np.reshape(c, -1)) / X.shape[0]).T",
            "flat": "def ce_grad_weights(W, x, c):\n    X = np.atleast_2d(x)\n    return (X.T @ ce_grad_logits(X @ W, np.reshape(c, -1)) / X.shape[0]).ravel()",
        },
        "sgd_step": {
            "forgot_return": "def sgd_step(W, x, c, lr):\n    W_new = W - lr * ce_grad_weights(W, x, c)",
            "returns_a_pair": "def sgd_step(W, x, c, lr):\n    G = ce_grad_weights(W, x, c)\n    return W - lr * G, G",
        },
        "numerical_gradient": {
            "forgot_return": "def numerical_gradient(f, W, eps=1e-5):\n    W = np.array(W, dtype=float); g = np.zeros_like(W)\n    for i in np.ndindex(W.shape):\n        o = W[i]; W[i] = o + eps; fp = f(W); W[i] = o - eps; fm = f(W); W[i] = o\n        g[i] = (fp - fm) / (2 * eps)",
            "flat": "def numerical_gradient(f, W, eps=1e-5):\n    W = np.array(W, dtype=float); g = np.zeros_like(W)\n    for i in np.ndindex(W.shape):\n        o = W[i]; W[i] = o + eps; fp = f(W); W[i] = o - eps; fm = f(W); W[i] = o\n        g[i] = (fp - fm) / (2 * eps)\n    return g.ravel()",
        },
    },
    "q2_mse_vs_cross_entropy": {
        "mse_loss": {
            "forgot_return": "def mse_loss(P, c):\n    P = np.asarray(P, dtype=float)\n    L = float(np.mean((P - np.eye(P.shape[-1])[c]) ** 2))",
            "one_per_row": "def mse_loss(P, c):\n    P = np.asarray(P, dtype=float)\n    return np.mean((P - np.eye(P.shape[-1])[c]) ** 2, axis=-1)",
        },
        "mse_grad_logits": {
            "forgot_return": "def mse_grad_logits(z, c):\n    P = softmax(z)\n    v = 2.0 / P.shape[-1] * (P - np.eye(P.shape[-1])[c])\n    G = P * (v - np.sum(v * P, axis=-1, keepdims=True))",
            "transposed": "def mse_grad_logits(z, c):\n    P = softmax(z)\n    v = 2.0 / P.shape[-1] * (P - np.eye(P.shape[-1])[c])\n    return (P * (v - np.sum(v * P, axis=-1, keepdims=True))).T",
            "a_scalar": "def mse_grad_logits(z, c):\n    P = softmax(z)\n    v = 2.0 / P.shape[-1] * (P - np.eye(P.shape[-1])[c])\n    return float(np.sum(P * (v - np.sum(v * P, axis=-1, keepdims=True))))",
        },
        "train_softmax_regression": {
            "forgot_return": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    W = W0.copy()\n    for _ in range(epochs):\n        W = W - lr * X.T @ ce_grad_logits(X @ W, y) / len(y)",
            "losses_only": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    W = np.array(W0, dtype=float); L = []\n    for t in range(epochs + 1):\n        Z = X @ W; P = softmax(Z)\n        L.append(cross_entropy(P, y) if loss == 'ce' else mse_loss(P, y))\n        G = ce_grad_logits(Z, y) if loss == 'ce' else mse_grad_logits(Z, y)\n        if t < epochs:\n            W = W - lr * X.T @ G / len(y)\n    return np.array(L)",
            "three_values": "def train_softmax_regression(X, y, W0, loss='ce', lr=1.0, epochs=50):\n    return np.zeros(epochs + 1), np.zeros(epochs + 1), W0",
        },
    },
    "q3_gradient_descent": {
        "gradient_descent": {
            "forgot_return": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = np.array(w0, dtype=float); traj = [w]\n    for _ in range(n_steps):\n        w = w - lr * grad_fn(w); traj.append(w)",
            "last_only": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = np.array(w0, dtype=float)\n    for _ in range(n_steps):\n        w = w - lr * np.asarray(grad_fn(w))\n    return w",
            "transposed": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = np.array(w0, dtype=float); traj = [w]\n    for _ in range(n_steps):\n        w = w - lr * np.asarray(grad_fn(w)); traj.append(w)\n    return np.array(traj).T",
            "aliased_rows": "def gradient_descent(grad_fn, w0, lr, n_steps):\n    w = np.array(w0, dtype=float); traj = []\n    for _ in range(n_steps):\n        traj.append(w)\n        w -= lr * np.asarray(grad_fn(w))\n    traj.append(w)\n    return np.array(traj)",
        },
        "batch_grad_loop": {
            "forgot_return": "def batch_grad_loop(W, X, y):\n    G = np.zeros(W.shape)\n    for r in range(len(y)):\n        z = X[r] @ W; e = np.exp(z - z.max()); p = e / e.sum(); p[y[r]] -= 1.0\n        G += np.outer(X[r], p) / len(y)",
            "transposed": "def batch_grad_loop(W, X, y):\n    G = np.zeros(W.shape)\n    for r in range(len(y)):\n        z = X[r] @ W; e = np.exp(z - z.max()); p = e / e.sum(); p[y[r]] -= 1.0\n        G += np.outer(X[r], p) / len(y)\n    return G.T",
        },
        "batch_grad_vectorized": {
            "forgot_return": "def batch_grad_vectorized(W, X, y):\n    Z = X @ W; E = np.exp(Z - Z.max(axis=1, keepdims=True)); P = E / E.sum(axis=1, keepdims=True)\n    P[np.arange(len(y)), y] -= 1.0\n    G = X.T @ P / len(y)",
            "transposed": "def batch_grad_vectorized(W, X, y):\n    Z = X @ W; E = np.exp(Z - Z.max(axis=1, keepdims=True)); P = E / E.sum(axis=1, keepdims=True)\n    P[np.arange(len(y)), y] -= 1.0\n    return P.T @ X / len(y)",
        },
        "figure_1_facts": {
            "strings": "N_WEIGHTS = 'two'\nREACHES_GLOBAL_MIN_FROM_FLAT_START = 'no'",
            "arrays": "N_WEIGHTS = np.array([2, 2])\nREACHES_GLOBAL_MIN_FROM_FLAT_START = np.array([False, True])",
        },
    },
    "q4_stacked_linear_layers": {
        "layer_shapes": {
            "sizes_not_shapes": "def layer_shapes(s, t, u):\n    return {'W1': t * s, 'b1': t, 'W2': u * t, 'b2': u}",
            "forgot_return": "def layer_shapes(s, t, u):\n    shapes = {'W1': (t, s), 'b1': (t,), 'W2': (u, t), 'b2': (u,)}",
            "strings": "def layer_shapes(s, t, u):\n    return {'W1': f'({t}, {s})', 'b1': f'({t},)', 'W2': f'({u}, {t})', 'b2': f'({u},)'}",
        },
        "linear": {
            "forgot_return": "def linear(x, W, b):\n    out = np.asarray(x, dtype=float) @ W.T + b",
            "transposed_batch": "def linear(x, W, b):\n    return (W @ np.asarray(x, dtype=float).T).T.T + (b if np.ndim(x) == 1 else b[:, None])",
        },
        "compose_linear": {
            "forgot_return": "def compose_linear(W1, b1, W2, b2):\n    W = W2 @ W1; b = W2 @ b1 + b2",
            "matrix_only": "def compose_linear(W1, b1, W2, b2):\n    return W2 @ W1",
            "pair_swapped": "def compose_linear(W1, b1, W2, b2):\n    return W2 @ b1 + b2, W2 @ W1",
        },
        "relu": {
            "forgot_return": "def relu(a):\n    out = np.maximum(np.asarray(a, dtype=float), 0.0)",
        },
        "two_layer": {
            "forgot_return": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    h = linear(x, W1, b1)\n    out = linear(activation(h) if activation else h, W2, b2)",
            "transposed": "def two_layer(x, W1, b1, W2, b2, activation=None):\n    h = linear(x, W1, b1)\n    return linear(activation(h) if activation else h, W2, b2).T",
        },
    },
}
