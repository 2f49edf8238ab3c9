"""Classes for the similarity report: independent students, and planted copies of each kind.

Honest students: for each graded function a handful of genuinely different implementations
(correct ones in several styles and a few plausibly wrong ones), and for the varied written
answers a handful of answers in different words. Each honest student draws, independently, one
variant per code cell and one variant per sentence of a written answer, and writes them with
habits of their own (Habits): which of two spellings of the same thing they lean to (SPELLINGS:
``np.asarray``/``np.array``, ``len(x)``/``x.shape[0]``, ``a @ b``/``np.dot``, ``x.sum()``/``np.sum(x)``,
augmented assignment, a named result before ``return``, ...; decided afresh at each occurrence),
small helper functions or not, loops or comprehensions, names, whitespace, comments, and their own
word choices in prose (VOICE). The cells without variants (``sgd_step``, ``layer_shapes``,
``compose_linear``, ``figure_1_facts`` and four written answers) stay the reference answer for
every student: the short canonical answer the whole class writes alike. (Honest students draw
their sentences from a shared pool, so two of them write the same sentence far more often than in
a real class: a hard case for the report, not an easy one.)

Planted (build_class): "full" a copier hands in another student's code, disguised (the same
variants and small decisions, but other names, whitespace and comments, helpers inlined or
introduced, loops turned into comprehensions or back, functions reordered) and the written
answers reworded (synonyms, sentences swapped); "code" the code only; "written" the written answers
only; "outside" two students who each pasted the same outside answer (a well-known course's
softmax-loss code, four cells) and wrote the rest themselves. One more student pasted a forum post
alone. outside_sources() gives both as an instructor would save them.
"""
import copy
import functools
import random
import re
from dataclasses import dataclass
from pathlib import Path

from grading import sample_class
from grading.cells import grade_id, is_answer_cell
from grading.course import notebook_names

# --- code variants: function bodies (4-space indented), put under the starter's def and docstring

CODE = {
    "softmax": [
        """    z = np.asarray(z, dtype=float)
    m = np.max(z, axis=-1, keepdims=True)
    ez = np.exp(z - m)
    return ez / np.sum(ez, axis=-1, keepdims=True)""",
        """    arr = np.array(z, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr - arr.max()
        ex = np.exp(arr)
        return ex / ex.sum()
    out = np.empty_like(arr)
    for i in range(arr.shape[0]):
        row = np.exp(arr[i] - arr[i].max())
        out[i] = row / row.sum()
    return out""",
        """    z = np.atleast_1d(np.asarray(z, dtype=float))
    logsum = np.log(np.sum(np.exp(z - z.max(axis=-1, keepdims=True)), axis=-1, keepdims=True))
    return np.exp(z - z.max(axis=-1, keepdims=True) - logsum)""",
        """    # overflow: subtract max first
    z = np.asarray(z, dtype=np.float64)
    stable = z - np.amax(z, axis=z.ndim - 1, keepdims=True)
    numerator = np.exp(stable)
    denominator = numerator.sum(axis=z.ndim - 1, keepdims=True)
    return numerator / denominator""",
        """    e = np.exp(np.asarray(z, dtype=float))
    return e / e.sum(axis=-1, keepdims=True)""",  # plausibly wrong: no shift, overflows
    ],
    "cross_entropy": [
        """    P = np.asarray(P, dtype=float)
    if P.ndim == 1:
        return -np.log(P[c])
    return -np.log(P[np.arange(len(P)), c]).mean()""",
        """    probs = np.atleast_2d(np.asarray(P, dtype=np.float64))
    labels = np.atleast_1d(c)
    total = 0.0
    for row, label in zip(probs, labels):
        total += -np.log(row[label])
    return float(total / len(labels))""",
        """    P = np.asarray(P, dtype=np.float64)
    onehot = np.eye(P.shape[-1])[c]
    losses = -np.sum(onehot * np.log(P), axis=-1)
    return float(np.mean(losses))""",
        """    P = np.asarray(P)
    if P.ndim == 1:
        return float(-np.log(P[c]))
    return float(-np.sum(np.log(P[np.arange(P.shape[0]), c])))""",  # plausibly wrong: sum not mean
        """    P = np.atleast_2d(np.asarray(P, dtype=float))
    labels = np.atleast_1d(c)
    losses = []
    for i in range(len(labels)):
        losses.append(-np.log(P[i, labels[i]]))
    return float(np.mean(losses))""",
    ],
    "ce_grad_logits": [
        """    g = softmax(z).copy()
    if g.ndim == 1:
        g[c] -= 1
    else:
        g[np.arange(g.shape[0]), c] -= 1
    return g""",
        """    P = softmax(z)
    Y = np.eye(P.shape[-1])[c]
    return P - Y""",
        """    probs = softmax(np.atleast_2d(z))
    labels = np.atleast_1d(c)
    for r, label in enumerate(labels):
        probs[r, label] = probs[r, label] - 1.0
    return probs.reshape(np.shape(z))""",
        """    P = softmax(z)
    y = np.zeros(P.shape)
    np.put_along_axis(y, np.reshape(c, P.shape[:-1] + (1,)), 1.0, axis=-1)
    return P - y""",
    ],
    "ce_grad_weights": [
        """    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return np.outer(x, ce_grad_logits(x @ W, c))
    return x.T @ ce_grad_logits(x @ W, c) / len(x)""",
        """    X = np.atleast_2d(x)
    labels = np.atleast_1d(c)
    G = np.zeros_like(W, dtype=float)
    for xi, ci in zip(X, labels):
        G += np.outer(xi, softmax(xi @ W) - np.eye(W.shape[1])[ci])
    return G / X.shape[0]""",
        """    inputs = np.atleast_2d(np.asarray(x, dtype=np.float64))
    delta = ce_grad_logits(inputs @ W, np.atleast_1d(c))
    return np.einsum("ni,nj->ij", inputs, delta) / inputs.shape[0]""",
        """    x = np.asarray(x, dtype=float)
    dz = ce_grad_logits(x @ W, c)
    if x.ndim == 1:
        return np.outer(x, dz)
    return x.T @ dz""",  # plausibly wrong: batch sum, not mean
    ],
    "numerical_gradient": [
        """    W = np.asarray(W, dtype=float)
    grad = np.zeros(W.shape)
    for i in range(W.size):
        step = np.zeros(W.size)
        step[i] = eps
        step = step.reshape(W.shape)
        grad.flat[i] = (f(W + step) - f(W - step)) / (2 * eps)
    return grad""",
        """    base = np.array(W, dtype=np.float64)
    out = np.empty_like(base)
    it = np.nditer(base, flags=["multi_index"])
    while not it.finished:
        ix = it.multi_index
        up = base.copy()
        up[ix] += eps
        down = base.copy()
        down[ix] -= eps
        out[ix] = (f(up) - f(down)) / (2.0 * eps)
        it.iternext()
    return out""",
        """    flat = np.array(W, dtype=float).ravel()
    result = []
    for k in range(len(flat)):
        plus, minus = flat.copy(), flat.copy()
        plus[k] += eps
        minus[k] -= eps
        result.append((f(plus.reshape(np.shape(W))) - f(minus.reshape(np.shape(W)))) / (2 * eps))
    return np.array(result).reshape(np.shape(W))""",
        """    W = np.array(W, dtype=float)
    g = np.zeros_like(W)
    f0 = f(W)
    for idx in np.ndindex(*W.shape):
        bumped = W.copy()
        bumped[idx] = bumped[idx] + eps
        g[idx] = (f(bumped) - f0) / eps
    return g""",  # plausibly wrong: forward difference
    ],
    "mse_loss": [
        """    P = np.asarray(P, dtype=float)
    onehot = np.zeros_like(P)
    if P.ndim == 1:
        onehot[c] = 1
    else:
        onehot[np.arange(P.shape[0]), c] = 1
    return float(((P - onehot) ** 2).mean())""",
        """    probs = np.atleast_2d(np.asarray(P, dtype=np.float64))
    k = probs.shape[1]
    per_row = []
    for row, label in zip(probs, np.atleast_1d(c)):
        target = np.zeros(k)
        target[label] = 1.0
        per_row.append(np.sum((row - target) ** 2) / k)
    return float(np.mean(per_row))""",
        """    P = np.asarray(P, dtype=float)
    diff = P - np.eye(P.shape[-1])[c]
    return float(np.mean(np.square(diff)))""",
        """    P = np.asarray(P, dtype=float)
    Y = np.eye(P.shape[-1])[c]
    return float(np.mean(np.sum((P - Y) ** 2, axis=-1)))""",  # plausibly wrong: sums over classes
        """    P = np.atleast_2d(np.asarray(P, dtype=float))
    k = P.shape[1]
    errors = []
    for row, label in zip(P, np.atleast_1d(c)):
        errors.append(np.sum((row - np.eye(k)[label]) ** 2) / k)
    return float(np.mean(errors))""",
    ],
    "mse_grad_logits": [
        """    P = softmax(z)
    k = P.shape[-1]
    g = 2 * (P - np.eye(k)[c]) / k
    inner = (g * P).sum(axis=-1, keepdims=True)
    return P * (g - inner)""",
        """    probs = np.atleast_2d(softmax(z))
    labels = np.atleast_1d(c)
    n, k = probs.shape
    out = np.zeros((n, k))
    for r in range(n):
        p = probs[r]
        J = np.diag(p) - np.outer(p, p)
        y = np.zeros(k)
        y[labels[r]] = 1.0
        out[r] = J @ (2.0 / k * (p - y))
    return out.reshape(np.shape(z))""",
        """    P = softmax(z)
    k = P.shape[-1]
    dP = (2.0 / k) * (P - np.eye(k)[c])
    jac = P[..., :, None] * (np.eye(k) - P[..., None, :])
    return np.einsum("...ij,...i->...j", jac, dP)""",
        """    P = softmax(z)
    k = P.shape[-1]
    return 2.0 / k * (P - np.eye(k)[c]) * P * (1 - P)""",  # plausibly wrong: diagonal Jacobian only
    ],
    "train_softmax_regression": [
        """    assert loss in ("ce", "mse"), loss
    W = W0.astype(float).copy()
    n = len(X)
    loss_fn = cross_entropy if loss == "ce" else mse_loss
    grad_fn = ce_grad_logits if loss == "ce" else mse_grad_logits
    hist_loss = [loss_fn(softmax(X @ W), y)]
    hist_acc = [np.mean((X @ W).argmax(axis=1) == y)]
    for _ in range(epochs):
        W -= lr * X.T @ grad_fn(X @ W, y) / n
        hist_loss.append(loss_fn(softmax(X @ W), y))
        hist_acc.append(np.mean((X @ W).argmax(axis=1) == y))
    return np.array(hist_loss, dtype=float), np.array(hist_acc, dtype=float)""",
        """    if loss == "ce":
        lossf, gradf = cross_entropy, ce_grad_logits
    elif loss == "mse":
        lossf, gradf = mse_loss, mse_grad_logits
    else:
        raise ValueError("unknown loss " + str(loss))
    weights = np.copy(np.asarray(W0, dtype=np.float64))
    L = np.zeros(epochs + 1)
    A = np.zeros(epochs + 1)
    t = 0
    while True:
        logits = X @ weights
        L[t] = lossf(softmax(logits), y)
        A[t] = (np.argmax(logits, axis=-1) == y).mean()
        if t == epochs:
            break
        weights = weights - lr * (X.T @ gradf(logits, y)) / X.shape[0]
        t += 1
    return L, A""",
        """    def evaluate(Wt):
        Z = X @ Wt
        P = softmax(Z)
        value = cross_entropy(P, y) if loss == "ce" else mse_loss(P, y)
        return value, float(np.mean(np.argmax(P, axis=1) == y)), Z

    if loss not in {"ce", "mse"}:
        raise ValueError(loss)
    W = np.array(W0, dtype=float)
    losses, accs = [], []
    for epoch in range(epochs + 1):
        value, acc, Z = evaluate(W)
        losses.append(value)
        accs.append(acc)
        if epoch == epochs:
            break
        G = ce_grad_logits(Z, y) if loss == "ce" else mse_grad_logits(Z, y)
        W = W - lr / len(y) * (X.T @ G)
    return np.asarray(losses), np.asarray(accs)""",
        """    W = np.array(W0, dtype=float)
    losses, accuracies = [], []
    for _ in range(epochs):
        Z = X @ W
        P = softmax(Z)
        if loss == "ce":
            losses.append(cross_entropy(P, y))
            W = W - lr * X.T @ ce_grad_logits(Z, y) / len(X)
        else:
            losses.append(mse_loss(P, y))
            W = W - lr * X.T @ mse_grad_logits(Z, y) / len(X)
        accuracies.append(np.mean(P.argmax(1) == y))
    return np.array(losses), np.array(accuracies)""",  # plausibly wrong: epochs entries, not epochs + 1
    ],
    "gradient_descent": [
        """    w = np.asarray(w0, dtype=float).copy()
    path = [w.copy()]
    for _ in range(n_steps):
        w = w - lr * np.asarray(grad_fn(w))
        path.append(w.copy())
    return np.array(path, dtype=np.float64)""",
        """    traj = np.zeros((n_steps + 1, len(w0)))
    traj[0] = w0
    for k in range(1, n_steps + 1):
        traj[k] = traj[k - 1] - lr * np.asarray(grad_fn(traj[k - 1]), dtype=float)
    return traj""",
        """    current = np.array(w0, dtype=np.float64, copy=True)
    steps = [current]
    step = 0
    while step < n_steps:
        g = np.array(grad_fn(current), dtype=np.float64)
        current = current - lr * g
        steps.append(current)
        step += 1
    return np.vstack(steps)""",
        """    w = np.array(w0, dtype=float)
    out = [w]
    for i in range(n_steps):
        w = w + lr * np.asarray(grad_fn(w))
        out.append(w)
    return np.array(out)""",  # plausibly wrong: climbs the gradient
    ],
    "batch_grad_loop": [
        """    grad = np.zeros_like(W, dtype=float)
    for i in range(len(X)):
        p = softmax_row = np.exp(X[i] @ W - np.max(X[i] @ W))
        p = softmax_row / softmax_row.sum()
        target = np.zeros(W.shape[1])
        target[y[i]] = 1.0
        grad += np.outer(X[i], p - target)
    return grad / len(X)""",
        """    total = np.zeros(W.shape)
    for xi, yi in zip(X, y):
        scores = xi @ W
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        probs[yi] -= 1
        total = total + xi[:, None] * probs[None, :]
    return total / X.shape[0]""",
        """    d, k = W.shape
    G = np.zeros((d, k))
    n = X.shape[0]
    r = 0
    while r < n:
        logits = X[r] @ W
        e = np.exp(logits - logits.max())
        delta = e / e.sum() - (np.arange(k) == y[r])
        for i in range(d):
            G[i] += X[r, i] * delta
        r += 1
    return G / n""",
        """    G = np.zeros(W.shape)
    for r in range(X.shape[0]):
        z = X[r] @ W
        p = np.exp(z) / np.exp(z).sum()
        p[y[r]] -= 1.0
        G += np.outer(X[r], p)
    return G""",  # plausibly wrong: the sum, not the mean
    ],
    "batch_grad_vectorized": [
        """    Z = X @ W
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    Y = np.eye(W.shape[1])[y]
    return X.T @ (P - Y) / len(X)""",
        """    logits = np.dot(X, W)
    logits -= np.max(logits, axis=-1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(y)), y] = 1
    return np.dot(X.T, probs - onehot) / X.shape[0]""",
        """    n = X.shape[0]
    S = np.exp(X @ W - (X @ W).max(1)[:, None])
    S = S / S.sum(1)[:, None]
    S[range(n), y] = S[range(n), y] - 1
    return np.einsum("nd,nk->dk", X, S) / n""",
        """    Z = X @ W
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    P[np.arange(X.shape[0]), y] -= 1.0
    return X.T @ P""",  # plausibly wrong: not divided by n
    ],
    "linear": [
        """    return np.asarray(x, dtype=float) @ np.asarray(W).T + b""",
        """    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return W @ x + b
    return (W @ x.T).T + b""",
        """    return np.einsum("ts,...s->...t", W, x) + b""",
    ],
    "relu": [
        """    return np.maximum(a, 0).astype(float)""",
        """    a = np.array(a, dtype=float)
    a[a < 0] = 0.0
    return a""",
        """    return np.where(np.asarray(a) > 0, a, 0.0)""",
        """    flat = np.ravel(np.asarray(a, dtype=float))
    kept = []
    for v in flat:
        kept.append(v if v > 0 else 0.0)
    return np.array(kept).reshape(np.shape(a))""",
    ],
    "two_layer": [
        """    hidden = linear(x, W1, b1)
    if activation:
        hidden = activation(hidden)
    return linear(hidden, W2, b2)""",
        """    act = activation if activation is not None else (lambda v: v)
    return linear(act(linear(x, W1, b1)), W2, b2)""",
        """    x = np.asarray(x, dtype=float)
    h = x @ W1.T + b1
    if activation is not None:
        h = activation(h)
    return h @ W2.T + b2""",
    ],
}

# q2's first cell holds three functions: whole-cell variants
Q1_FUNCTIONS = [
    '''def softmax(z):
    """Probabilities along the last axis of the logits z, shape (k,) or (n, k)."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(P, c):
    """-log P[c]; for P of shape (n, k) and labels c of shape (n,), the mean over the rows."""
    P = np.atleast_2d(P)
    return float(-np.mean(np.log(P[np.arange(P.shape[0]), np.atleast_1d(c)])))


def ce_grad_logits(z, c):
    """softmax(z) - onehot(c), shape of z: (k,) or (n, k), one row per example."""
    return softmax(z) - np.eye(np.shape(z)[-1])[c]''',
    '''def softmax(z):
    """Probabilities along the last axis of the logits z, shape (k,) or (n, k)."""
    arr = np.array(z, dtype=np.float64)
    arr -= arr.max(axis=-1, keepdims=True)
    np.exp(arr, out=arr)
    arr /= arr.sum(axis=-1, keepdims=True)
    return arr


def cross_entropy(P, c):
    """-log P[c]; for P of shape (n, k) and labels c of shape (n,), the mean over the rows."""
    P = np.asarray(P)
    if P.ndim == 1:
        return float(-np.log(P[c]))
    total = 0.0
    for row, label in zip(P, c):
        total -= np.log(row[label])
    return float(total / len(c))


def ce_grad_logits(z, c):
    """softmax(z) - onehot(c), shape of z: (k,) or (n, k), one row per example."""
    g = softmax(z)
    if g.ndim == 1:
        g[c] -= 1.0
    else:
        g[np.arange(len(g)), c] -= 1.0
    return g''',
    '''def softmax(z):
    """Probabilities along the last axis of the logits z, shape (k,) or (n, k)."""
    shifted = np.asarray(z, dtype=float) - np.amax(z, axis=-1, keepdims=True)
    return np.exp(shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True)))


def cross_entropy(P, c):
    """-log P[c]; for P of shape (n, k) and labels c of shape (n,), the mean over the rows."""
    P = np.asarray(P, dtype=float)
    Y = np.eye(P.shape[-1])[c]
    return float(np.mean(-(Y * np.log(P)).sum(axis=-1)))


def ce_grad_logits(z, c):
    """softmax(z) - onehot(c), shape of z: (k,) or (n, k), one row per example."""
    P = softmax(z)
    onehot = np.zeros_like(P)
    np.put_along_axis(onehot, np.reshape(c, P.shape[:-1] + (1,)), 1.0, axis=-1)
    return P - onehot''',
    '''def softmax(z):
    """Probabilities along the last axis of the logits z, shape (k,) or (n, k)."""
    z = np.atleast_2d(np.asarray(z, dtype=float))
    out = np.zeros_like(z)
    for i, row in enumerate(z):
        ex = np.exp(row - row.max())
        out[i] = ex / ex.sum()
    return out.reshape(np.shape(np.asarray(z))) if out.shape[0] > 1 else out[0]


def cross_entropy(P, c):
    """-log P[c]; for P of shape (n, k) and labels c of shape (n,), the mean over the rows."""
    logs = -np.log(np.atleast_2d(P))
    labels = np.atleast_1d(c)
    return float(sum(logs[i, labels[i]] for i in range(len(labels))) / len(labels))


def ce_grad_logits(z, c):
    """softmax(z) - onehot(c), shape of z: (k,) or (n, k), one row per example."""
    P = np.atleast_2d(softmax(z)).copy()
    for i, label in enumerate(np.atleast_1d(c)):
        P[i, label] -= 1
    return P.reshape(np.shape(z))''',
]

# --- written answers ---------------------------------------------------------------------------

WRITTEN = {
    "mse_vs_ce_answer": [
        "MSE can be used, it is still a loss that is zero when the prediction equals the one-hot "
        "label. The problem is the gradient: through the softmax it gets multiplied by P times (1 - P) "
        "terms, so when the network is sure of the wrong class the gradient is almost zero and training "
        "hardly moves. With cross-entropy the log undoes the exponential and the logit gradient is just "
        "P minus y, which stays large when the model is wrong. Cross-entropy is also the negative log "
        "likelihood, so it is the natural choice for probabilities.",
        "Technically yes, you can minimise the squared distance between the predicted probabilities "
        "and the target vector and the classifier will learn something. But squared error assumes "
        "Gaussian noise on a real number, and our outputs are bounded between zero and one, so a very "
        "wrong prediction is punished only a little more than a slightly wrong one. Cross-entropy "
        "goes to infinity as the probability of the right class goes to zero. In the experiment the "
        "MSE run started confidently wrong and stalled while cross-entropy recovered within a few epochs.",
        "We could, but we shouldn't. The mean squared error saturates: its derivative with respect to "
        "a logit contains the softmax Jacobian, whose entries shrink towards zero for saturated outputs. "
        "Cross-entropy has a gradient of P - y with respect to the logits, no vanishing factor. It comes "
        "from maximum likelihood for a categorical distribution and is convex for softmax regression.",
        "Yes, MSE works and is even a little simpler to think about because it is the same loss as in "
        "linear regression. It is bounded by 2/k so it is numerically safer than cross-entropy, which "
        "can blow up to infinity. The two losses have the same minimum, so they end at the same answer; "
        "cross-entropy is mostly used because it is the convention.",  # plausibly wrong
    ],
    "negated_update": [
        "The gradient tells us which way the loss goes up the fastest. We want the loss to go down, so "
        "we walk the opposite way, which is why the update subtracts the gradient times the learning rate.",
        "Because we are minimising. Adding the gradient would be gradient ascent and increase the "
        "loss; taking minus the gradient gives the direction of steepest decrease.",
        "For a small step the change in loss is about the gradient dotted with the step. Choosing the "
        "step as minus alpha times the gradient makes this change minus alpha times the squared norm "
        "of the gradient, which is negative, so the loss decreases.",
        "The negative sign keeps the weights from growing too large, like a form of regularisation, "
        "so that the learning is stable.",  # plausibly wrong
    ],
    "every_weight": [
        "Each weight has its own effect on the loss. If we skip the derivative for some weights they "
        "are never updated and stay at their random start, so the model only learns along some directions.",
        "The gradient is the vector of all partial derivatives; leaving some out means we no longer "
        "step against the gradient, and the weights we left out keep their initial values for ever.",
        "Every parameter changes the output of the network and therefore the error. To know how to "
        "change each of them we need its own partial derivative, otherwise that parameter cannot improve.",
        "We do not really need all of them: computing the derivative for a random subset of weights "
        "each step is cheaper and on average works as well.",  # plausibly wrong
    ],
    "vectorization": [
        "Vectorised code hands whole arrays to numpy, which runs compiled loops instead of the Python "
        "interpreter touching one number at a time. A GPU has thousands of cores doing the same "
        "operation in parallel, which is exactly what a matrix product needs.",
        "Matrix operations run in optimised BLAS libraries written in C and Fortran, so one call does "
        "the work of a slow Python loop. On GPUs the same multiply-add is applied to many numbers "
        "simultaneously, so vectorised training is much faster.",
        "Looping over examples in Python has a big overhead per iteration. Written as matrix products "
        "the computation is done in bulk, and graphics cards are built for bulk parallel arithmetic.",
        "Vectorization makes the code shorter and easier to read, and it uses less memory, which is why "
        "it is faster.",  # plausibly wrong
    ],
    "figure_1_answer": [
        "It should reach the global minimum around (1, -1), unless it starts near the local dip at "
        "about (1.8, 1.6) and gets stuck there. There are two weights, w1 and w2; the height is the "
        "loss. From (-2, 2) it never gets to the minimum because the plateau is flat, the gradient is "
        "zero and no step is ever taken.",
        "Ideally the lowest point of the surface, but descent only goes downhill locally so a start on "
        "the wrong slope ends in the smaller local minimum. The model has 2 weights (the third axis is "
        "the loss value). Starting on the flat region at (-2, 2, 0) the weights do not change at all: "
        "zero gradient means zero update, whatever the learning rate.",
        "Gradient descent finds a minimum of the basin it starts in: the deep one at (1, -1) or the "
        "shallow one near (1.8, 1.6). Two weights. No, from the flat start it stays put forever since "
        "the derivative there is exactly 0.",
        "It goes to the global minimum at (1, -1). The model has three weights because the plot has "
        "three axes. From (-2, 2, 0) it gets there eventually but slowly, so a bigger learning rate "
        "helps.",  # plausibly wrong
    ],
    "stacking_helps": [
        "No. Two linear layers collapse into one linear layer with W = W2 W1 and b = W2 b1 + b2, so "
        "nothing new can be represented; it still draws a straight boundary and fails on XOR. We need "
        "a nonlinearity like ReLU in between.",
        "Stacking does not help: the composition of affine maps is affine, so the deep model is exactly "
        "as expressive as a single layer, just with more parameters. Only an activation function "
        "between the layers breaks this.",
        "Not without an activation. By part (a) any stack equals one layer, so the set of functions is "
        "the same (a small middle layer even limits the rank). The XOR experiment shows it: 3 of 4 "
        "points at most.",
        "Yes, more layers means more parameters, so the model has more capacity and can fit more "
        "complicated data.",  # plausibly wrong
    ],
}

# word choices an honest student makes one way or the other (their own voice)
VOICE = [("the", "this"), ("is", "remains"), ("so", "hence"), ("we", "you"), ("and", "as well as"),
         ("because", "as"), ("a", "one"), ("loss", "cost"), ("gradient", "derivative vector"),
         ("weights", "parameters"), ("model", "classifier"), ("zero", "0"), ("not", "never"),
         ("with", "using"), ("of", "for"), ("to", "towards"), ("it", "this"), ("only", "merely"),
         ("much", "far"), ("in", "within"), ("at", "near"), ("can", "may"), ("which", "that")]
VARIED = list(CODE) + ["q1_functions"] + list(WRITTEN)


def _variants(grade_id):
    if grade_id == "q1_functions":
        return Q1_FUNCTIONS
    return CODE.get(grade_id) or WRITTEN[grade_id]


def _sentences(text):
    return re.split(r"(?<=[.!?])\s+", text)


def _slots(grade_id):
    """Sentence slots of a written answer: the most sentences any of its variants has."""
    return max(len(_sentences(v)) for v in WRITTEN[grade_id])


# --- habits: how one student writes whatever variant they chose --------------------------------

def _reduction(m, method):
    """``x.sum(`` as ``np.sum(x, `` (method False) or the other way round."""
    if m.group("x"):  # x.f( ... ) written as a method
        if method or m.group("x") == "np":
            return m.group(0)
        return f"np.{m.group('f')}({m.group('x')}" + (")" if m.group("close") else ", ")
    if not method:
        return m.group(0)
    return f"{m.group('x2')}.{m.group('f2')}(" + (")" if m.group("sep") == ")" else "")


def _matmul(m, at):
    if m.group("a"):
        return m.group(0) if at else f"np.dot({m.group('a')}, {m.group('b')})"
    return f"{m.group('c')} @ {m.group('d')}" if at else m.group(0)


def _augmented(m, augmented):
    if m.group("op"):  # v = v op rest
        return f"{m.group('i')}{m.group('v')} {m.group('op')}= {m.group('rest')}" if augmented else m.group(0)
    rest = m.group("rest2")
    rest = f"({rest})" if " " in rest and m.group("op2") in "-/*" else rest
    return m.group(0) if augmented else f"{m.group('i2')}{m.group('v2')} = {m.group('v2')} {m.group('op2')} {rest}"


def _index(a, i, j, together):
    return f"{a}[{i}, {j}]" if together else f"{a}[{i}][{j}]"


def _either(first, second):
    """A rule between two spellings: group 1 matched means ``first`` is written."""
    return lambda m, pick: (first if pick else second)


# Spellings of the same thing (regex, rewrite(match, pick_first) -> text). Every student leans one
# way or the other on each (a probability of the first between 0.15 and 0.85) and decides afresh at
# every occurrence, so two students who chose the same variant still differ here and there, as
# people do; a copy keeps the decisions of the student it copied.
SPELLINGS = [
    (r"np\.(?:asarray|array)\((?!\[)", _either("np.asarray(", "np.array(")),
    (r"dtype=(?:float|np\.float64)\b", _either("dtype=float", "dtype=np.float64")),
    (r"\blen\((?P<l>\w+)\)|\b(?P<s>\w+)\.shape\[0\]",
     lambda m, pick: f"len({m.group('l') or m.group('s')})" if pick else f"{m.group('l') or m.group('s')}.shape[0]"),
    (r"(?P<a>\b\w+(?:\.T)?) @ (?P<b>\w+)\b(?![\w(.\[])|np\.dot\((?P<c>\w+(?:\.T)?), (?P<d>\w+)\)", _matmul),
    (r"\b(?P<x>\w+)\.(?P<f>sum|max|mean)\((?P<close>\)?)|\bnp\.(?P<f2>sum|max|mean)\((?P<x2>\w+)(?P<sep>\)|, )",
     _reduction),
    (r"^(?P<i>[ \t]*)(?P<v>\w+) = (?P=v) (?P<op>[-+*/]) (?P<rest>[^\n]+)$"
     r"|^(?P<i2>[ \t]*)(?P<v2>[\w\[\], ]+?) (?P<op2>[-+*/])= (?P<rest2>[^\n]+)$", _augmented),
    (r"(?:(?<=, )|(?<=\())axis=(?=-?\d[,)])", lambda m, pick: m.group(0) if pick else ""),
    (r"np\.zeros_like\((?P<z>\w+)\)|np\.zeros\((?P<s>\w+)\.shape\)",
     lambda m, pick: f"np.zeros_like({m.group('z') or m.group('s')})" if pick
     else f"np.zeros({m.group('z') or m.group('s')}.shape)"),
    (r"np\.(?:eye|identity)\(", _either("np.eye(", "np.identity(")),
    (r"np\.newaxis|(?<=[\[,] )None(?=\])|(?<=\[)None(?=[,\]])", _either("None", "np.newaxis")),
    (r"\brange\(0, |\brange\(", _either("range(", "range(0, ")),
    (r"\b(?P<o>\w+)\.copy\(\)|np\.copy\((?P<c>\w+)\)",
     lambda m, pick: f"{m.group('o') or m.group('c')}.copy()" if pick else f"np.copy({m.group('o') or m.group('c')})"),
    (r"\b(?P<a>[A-Za-z_]\w*)\[(?P<i>\w+), (?P<j>\w+)\]|\b(?P<a2>[A-Za-z_]\w*)\[(?P<i2>\w+)\]\[(?P<j2>\w+)\]",
     lambda m, pick: _index(m.group("a") or m.group("a2"), m.group("i") or m.group("i2"), m.group("j") or m.group("j2"),
                            pick)),
    (r"^(?P<i>[ \t]+)return (?P<e>[^\n]*[-+*/@][^\n]*)$",
     lambda m, pick: m.group(0) if pick else f"{m.group('i')}result = {m.group('e')}\n{m.group('i')}return result"),
    (r"keepdims=(?:True|1)\b", _either("keepdims=True", "keepdims=1")),
]
SPELLINGS = [(re.compile(rx, re.M), fn) for rx, fn in SPELLINGS]

# loops and comprehensions: one-line loop bodies that append or add up, both ways
_APPEND_LOOP = re.compile(r"^(?P<i>[ \t]*)(?P<v>\w+) = \[\]\n(?P=i)for (?P<t>[^\n]+?) in (?P<it>[^\n]+):\n"
                          r"(?P=i)[ \t]+(?P=v)\.append\((?P<e>[^\n]+)\)$(?!\n(?P=i)[ \t])", re.M)
_SUM_LOOP = re.compile(r"^(?P<i>[ \t]*)(?P<v>\w+) = 0(?:\.0)?\n(?P=i)for (?P<t>[^\n]+?) in (?P<it>[^\n]+):\n"
                       r"(?P=i)[ \t]+(?P=v) \+= (?P<e>[^\n]+)$(?!\n(?P=i)[ \t])", re.M)
_LIST_COMP = re.compile(r"^(?P<i>[ \t]*)(?P<v>\w+) = \[(?P<e>[^\n]+) for (?P<t>[^\n]+?) in (?P<it>[^\n]+)\]$", re.M)
_SUM_COMP = re.compile(r"^(?P<i>[ \t]*)(?P<v>\w+) = sum\((?P<e>[^\n]+) for (?P<t>[^\n]+?) in (?P<it>[^\n]+)\)$",
                       re.M)


def comprehensions(code):
    """Single-line loops that append or add up, written as comprehensions."""
    code = _APPEND_LOOP.sub(lambda m: f"{m['i']}{m['v']} = [{m['e']} for {m['t']} in {m['it']}]", code)
    return _SUM_LOOP.sub(lambda m: f"{m['i']}{m['v']} = sum({m['e']} for {m['t']} in {m['it']})", code)


def loops(code):
    """Comprehensions assigned to a name, written as loops."""
    code = _LIST_COMP.sub(lambda m: f"{m['i']}{m['v']} = []\n{m['i']}for {m['t']} in {m['it']}:\n"
                                    f"{m['i']}    {m['v']}.append({m['e']})", code)
    return _SUM_COMP.sub(lambda m: f"{m['i']}{m['v']} = 0.0\n{m['i']}for {m['t']} in {m['it']}:\n"
                                   f"{m['i']}    {m['v']} += {m['e']}", code)


_AS_FLOAT = re.compile(r"np\.(?:asarray|array)\((\w+), dtype=(?:float|np\.float64)\)")
_ONE_HOT = re.compile(r"np\.(?:eye|identity)\(([^()\n]+?(?:\([^()\n]*\))?[^()\n]*?)\)\[(\w+)\]")
HELPERS = {"as_float": "def {name}(a):\n    return np.asarray(a, dtype=float)\n\n\n",
           "one_hot": "def {name}(labels, k):\n    return np.eye(k)[labels]\n\n\n"}


def with_helpers(code, names):
    """Conversions and one-hot encodings through small helper functions defined at the top of the
    cell (``names``: the student's names for them)."""
    used = []
    new = _AS_FLOAT.sub(lambda m: f"{names['as_float']}({m.group(1)})", code)
    if new != code:
        used.append("as_float")
    code, new = new, _ONE_HOT.sub(lambda m: f"{names['one_hot']}({m.group(2)}, {m.group(1)})", new)
    if new != code:
        used.append("one_hot")
    return "".join(HELPERS[h].format(name=names[h]) for h in used) + new


@dataclass
class Habits:
    """How one student writes: leans on each of SPELLINGS, helpers or not, loops or comprehensions,
    names, whitespace, comments; ``seed`` decides each occurrence."""
    seed: int
    leans: tuple
    helpers: bool
    comprehension: bool
    names: dict
    spacing: bool
    comments: str

    @classmethod
    def draw(cls, rng):
        pool = [RENAMES[0], RENAMES[1], {}, {"P": "p_mat", "z": "zs", "x": "X_", "W": "weights"}]
        return cls(rng.randrange(1 << 30), tuple(rng.uniform(0.15, 0.85) for _ in SPELLINGS), rng.random() < 0.3,
                   rng.random() < 0.5, rng.choice(pool), rng.random() < 0.5,
                   rng.choice(["", "", "compute", "then", "note"]))


def restyle(code, habits, grade_id):
    """``code`` as the student with these habits writes it (function order kept)."""
    rng = random.Random(f"{habits.seed}:{grade_id}")
    for (rx, fn), lean in zip(SPELLINGS, habits.leans, strict=True):
        code = _outside_docstrings(code, lambda piece, rx=rx, fn=fn, lean=lean:
                                   rx.sub(lambda m: fn(m, rng.random() < lean), piece))
    code = comprehensions(code) if habits.comprehension else loops(code)
    if habits.helpers:
        code = with_helpers(code, {"as_float": "to_float", "one_hot": "onehot_of"})
    code = rename(code, habits.names)
    if habits.comments:
        code = recomment(code, habits.comments)
    return respace(code) if habits.spacing else code


def honest_choices(n, seed=0):
    """n independent students {grade_id: choice, "_voice": seed, "_habits": Habits}. A code
    cell's choice is a variant index; a written answer's is one variant index per sentence slot,
    so honest students write their own mix of sentences and rarely the same paragraph."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        choice = {g: tuple(rng.randrange(len(WRITTEN[g])) for _ in range(_slots(g))) if g in WRITTEN
                  else rng.randrange(len(_variants(g))) for g in VARIED}
        choice["_voice"] = rng.randrange(1 << 30)
        choice["_habits"] = Habits.draw(rng)
        out.append(choice)
    return out


def written_answer(grade_id, choice, voice=None):
    """Sentence i from variant choice[i] (when that variant has an i-th sentence), in the
    student's own words: with a ``voice`` (a seed), each of the VOICE word choices is made one way
    or the other, as two people who had the same idea still phrase it differently."""
    picked = []
    for i, v in enumerate(choice):
        sentences = _sentences(WRITTEN[grade_id][v])
        if i < len(sentences):
            picked.append(sentences[i])
    text = " ".join(picked) or WRITTEN[grade_id][choice[0]]
    if voice is not None:
        rng = random.Random(f"{voice}:{grade_id}")
        for old, new in VOICE:
            if rng.random() < 0.5:
                text = re.sub(rf"\b{re.escape(old)}\b", new, text)
    return text


_DOCSTRING_END = re.compile(r'^(.*?\n[ \t]*""".*?"""[^\n]*\n)', re.S)


def _with_body(reference, body):
    """The reference cell's def line and docstring, then ``body``."""
    m = _DOCSTRING_END.match(reference)
    if not m:
        raise ValueError(f"no docstring in {reference[:60]!r}")
    return m.group(1) + body


@functools.cache
def _solved(name):
    return sample_class.solved_notebook(name)


def answer_code(grade_id, choice, reference):
    """The code a student with ``choice`` writes in cell ``grade_id`` (reference: the solved cell)."""
    if grade_id == "q1_functions":
        code = Q1_FUNCTIONS[choice[grade_id]]
    elif grade_id in CODE:
        code = _with_body(reference, CODE[grade_id][choice[grade_id]])
    else:
        code = reference
    habits = choice.get("_habits")
    return restyle(code, habits, grade_id) if habits else code


def student(choice, code_from=None, pasted=None):
    """{notebook: notebook node} of a student with the given choices; ``code_from``: another
    choice whose code cells this student hands in instead (a copy); ``pasted``: {grade_id: body}
    pasted into those cells under the starter's def line and docstring."""
    out = {}
    for name in notebook_names():
        nb = copy.deepcopy(_solved(name))
        for cell in nb.cells:
            gid = grade_id(cell)
            if not is_answer_cell(cell):
                continue
            if gid in WRITTEN:
                cell.source = written_answer(gid, choice[gid], choice.get("_voice"))
            elif pasted and gid in pasted:
                cell.source = _with_body(cell.source, pasted[gid])
            elif cell.cell_type == "code":
                cell.source = answer_code(gid, code_from or choice, cell.source)
        out[name] = nb
    return out


# --- disguises -------------------------------------------------------------------------------

RENAMES = [{"P": "probs", "W": "weights", "z": "logits", "e": "ex", "grad": "g", "w": "current",
            "x": "inp", "G": "acc", "total": "running", "Z": "scores_mat", "out": "result", "n": "count",
            "h": "hidden_act", "probs": "pr", "g": "gg", "k": "ncls", "onehot": "targets", "Y": "target"},
           {"W": "Wt", "P": "prob", "e": "expz", "G": "gradient", "grad": "gr", "x": "xs", "y": "labels_",
            "traj": "history", "path": "history", "arr": "a_", "row": "line", "total": "acc_sum",
            "Z": "logit_mat", "S": "soft", "logits": "zz", "hidden": "hid", "onehot": "oh", "w": "wt"}]
SYNONYMS = [("gradient", "slope vector"), ("weights", "parameters"), ("the loss", "the error"),
            ("because", "since"), ("exactly", "precisely"), ("minimum", "lowest point"),
            ("which", "that"), ("model", "network"), ("Yes", "Indeed"), ("learning rate", "step size"),
            ("never", "not ever"), ("also", "as well"), ("we ", "one "), ("is ", "remains "),
            ("much", "a lot"), ("large", "big"), ("zero", "0"), ("does not", "doesn't"),
            ("only", "just"), ("more", "extra"), ("layer", "level"), ("prediction", "output"),
            ("parallel", "concurrently"), ("numbers", "values"), ("faster", "quicker")]


def _outside_docstrings(code, fn):
    """fn applied to the code between docstrings (docstrings kept as they are)."""
    pieces = code.split('"""')  # even pieces are code, odd ones docstrings
    return '"""'.join(fn(piece) if i % 2 == 0 else piece for i, piece in enumerate(pieces))


def rename(code, mapping):
    """Rename identifiers (whole words, not after a dot, not in docstrings)."""
    def swap(m):
        if m.start() and m.string[m.start() - 1] == ".":
            return m.group(0)
        return mapping.get(m.group(0), m.group(0))
    return _outside_docstrings(code, lambda piece: re.sub(r"\b[A-Za-z_]\w*\b", swap, piece))


def recomment(code, note):
    """Drop every comment line and trailing comment, put new ones in."""
    lines = []
    for line in code.split("\n"):
        stripped = line.split("  #")[0].rstrip() if "  #" in line else line
        if stripped.strip().startswith("#") and not stripped.strip().startswith("#   "):
            continue
        lines.append(stripped)
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        if line.rstrip().endswith(":") and line.lstrip().startswith(("for ", "while ", "if ")):
            indent = len(line) - len(line.lstrip()) + 4
            out.append(" " * indent + f"# {note} {i}")
    return "\n".join(out)


def respace(code):
    """Other whitespace: spaces around operators and after commas changed, blank lines added,
    two-space indentation (docstrings only re-indented)."""
    return _outside_docstrings(code, _respace).replace("\n    ", "\n  ")


def _respace(code):
    out = []
    for line in code.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        body = line.lstrip(" ")
        if '"' not in body and "'" not in body:
            body = re.sub(r"\s*([=+\-*/])\s*(?=[^=])", r" \1 ", body).replace(", ", ",").replace("  ", " ")
            body = body.replace("* *", "**").replace("= =", "==").replace("- =", "-=").replace("+ =", "+=")
            body = body.replace("/ =", "/=").replace("* =", "*=").replace("! =", "!=").replace("< =", "<=")
            body = body.replace("> =", ">=").replace("e - ", "e-").replace("e -", "e-")
        out.append(" " * indent + body)
        if body.startswith("return") or body.endswith(":") is False and body.startswith("for"):
            out.append("")
    return "\n".join(out)


def reorder_functions(code):
    """The cell's top-level functions in reverse order."""
    parts = re.split(r"\n(?=def )", code)
    return "\n\n\n".join(p.strip("\n") for p in reversed(parts)) if len(parts) > 1 else code


def reword(text, k):
    """Change a few words (up to five of SYNONYMS, which ones and in what order depends on k, so
    two copiers do not reword alike) and swap the first two sentences."""
    count = 0
    pool = list(SYNONYMS)
    random.Random(f"reword:{k}").shuffle(pool)
    for old, new in pool:
        pattern = rf"\b{re.escape(old.strip())}\b"
        if re.search(pattern, text) and count < 5:
            text = re.sub(pattern, new.strip(), text, count=1)
            count += 1
    sentences = re.split(r"(?<=[.!?])\s+", text)
    if len(sentences) >= 3:
        sentences[0], sentences[1] = sentences[1], sentences[0]
    return " ".join(sentences)


def disguised_code(source, rng):
    """The source student's code choices as a copier hands them in: the same variants and the
    same small decisions, but helpers inlined (or introduced), loops turned into comprehensions
    (or back), other names, whitespace and comments; functions reordered afterwards."""
    h = source["_habits"]
    habits = Habits(h.seed, h.leans, not h.helpers, not h.comprehension, rng.choice(RENAMES),
                    not h.spacing, rng.choice(["now", "step", "here"]))
    return dict(source, _habits=habits)


def _reworded_from(nbs, source_nbs, k):
    """nbs with every written answer of WRITTEN replaced by source_nbs's, reworded (the others are
    the reference answer everyone writes)."""
    texts = {grade_id(c): c.source for nb in source_nbs.values() for c in nb.cells if c.cell_type == "markdown"}
    for nb in nbs.values():
        for cell in nb.cells:
            if is_answer_cell(cell) and cell.cell_type == "markdown" and grade_id(cell) in WRITTEN:
                cell.source = reword(texts[grade_id(cell)], k)
    return nbs


def _reordered(nbs):
    for nb in nbs.values():
        for cell in nb.cells:
            if is_answer_cell(cell) and cell.cell_type == "code":
                cell.source = reorder_functions(cell.source)
    return nbs


# --- an outside answer: a well-known course's softmax-loss code, pasted into four cells ---------

OUTSIDE = {
    "softmax": """    scores = np.array(z, dtype=np.float64, copy=True)
    single = scores.ndim == 1
    if single:
        scores = scores[np.newaxis, :]
    scores -= np.max(scores, axis=1)[:, np.newaxis]
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1)[:, np.newaxis]
    if single:
        return probs[0]
    return probs""",
    "cross_entropy": """    probs = np.array(P, dtype=np.float64, ndmin=2)
    num_train = probs.shape[0]
    correct_logprobs = -np.log(probs[range(num_train), np.array(c, ndmin=1)])
    data_loss = np.sum(correct_logprobs) / num_train
    return float(data_loss)""",
    "ce_grad_logits": """    dscores = np.array(softmax(z), dtype=np.float64, ndmin=2)
    num_train = dscores.shape[0]
    dscores[range(num_train), np.array(c, ndmin=1)] -= 1
    if np.ndim(z) == 1:
        return dscores[0]
    return dscores""",
    "ce_grad_weights": """    X = np.array(x, dtype=np.float64, ndmin=2)
    num_train = X.shape[0]
    dscores = ce_grad_logits(np.dot(X, W), c).reshape(num_train, -1)
    dW = np.dot(X.T, dscores) / num_train
    return dW""",
}
FORUM = {"numerical_gradient": """    grad = np.zeros_like(W, dtype=np.float64)
    it = np.nditer(W, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        ix = it.multi_index
        oldval = W[ix]
        W[ix] = oldval + eps
        fxph = f(W)
        W[ix] = oldval - eps
        fxmh = f(W)
        W[ix] = oldval
        grad[ix] = (fxph - fxmh) / (2 * eps)
        it.iternext()
    return grad"""}


def outside_sources():
    """{file name: text}: the outside answers as an instructor would save them (a solution file
    of another course, a forum post with the code in a fenced block)."""
    names = {"softmax": "stable_softmax", "cross_entropy": "softmax_loss", "ce_grad_logits": "dscores_of",
             "ce_grad_weights": "softmax_loss_grad"}
    course = "\n\n".join(f"def {names[g]}(z, c, x=None, W=None):\n{body}\n" for g, body in OUTSIDE.items())
    forum = ("Re: gradient check keeps failing\n\nThis is what worked for me, centered differences over "
             "every index:\n\n```python\ndef eval_numerical_gradient(f, W, eps=1e-5):\n"
             f"{FORUM['numerical_gradient']}\n```\n\nHope it helps!\n")
    return {"cs231n_softmax.py": "import numpy as np\n\n\n" + course, "forum_post.md": forum}


# --- the class ---------------------------------------------------------------------------------

KINDS = ("full", "code", "written", "outside")


def build_class(n_honest=32, seed=0, copies=None):
    """(submissions {student: {notebook: nb}}, planted [(student, student, kind)], outside
    sources {file name: text}).

    n_honest independent students, then for each kind in ``copies`` ({kind: how many}; default one
    or two of each) planted pairs: "full" a copier hands in another student's code disguised and
    their written answers reworded; "code" the code only (written answers their own); "written"
    the written answers only, reworded; "outside" two more students who each pasted the outside
    answer (OUTSIDE) into four cells and wrote the rest themselves. One more student pasted the
    forum post (FORUM) alone. Students get neutral ids in a shuffled order."""
    copies = copies or {"full": 2, "code": 2, "written": 1, "outside": 1}
    rng = random.Random(f"class:{seed}")
    n_sources = sum(copies.get(k, 0) for k in ("full", "code", "written"))
    extra = 2 * copies.get("outside", 0) + 1
    choices = honest_choices(n_honest + n_sources + extra, seed)
    own, copiers, others = choices[:n_honest], choices[n_honest:n_honest + n_sources], choices[n_honest + n_sources:]
    named = {}  # internal name -> notebooks
    for i, c in enumerate(own):
        named[f"h{i}"] = student(c)
    planted, sources = [], rng.sample(range(n_honest), n_sources)
    k = 0
    for kind in ("full", "code", "written"):
        for _ in range(copies.get(kind, 0)):
            src, mine = sources[k], copiers[k]
            name = f"c{k}"
            if kind == "written":
                nbs = _reworded_from(student(mine), named[f"h{src}"], f"{seed}:{k}")
            else:
                nbs = _reordered(student(mine, code_from=disguised_code(own[src], rng)))
                if kind == "full":
                    nbs = _reworded_from(nbs, named[f"h{src}"], f"{seed}:{k}")
            named[name] = nbs
            planted.append((name, f"h{src}", kind))
            k += 1
    pasters = []  # everyone who pasted the outside answer: each pair of them shares it
    for j in range(copies.get("outside", 0)):
        a, b = f"o{j}a", f"o{j}b"
        named[a] = student(others[2 * j], pasted=OUTSIDE)
        named[b] = student(others[2 * j + 1], pasted=OUTSIDE)
        planted.append((a, b, "outside"))
        planted.extend((p, q, "outside") for p in (a, b) for q in pasters)
        pasters += [a, b]
    named["forum"] = student(others[-1], pasted=FORUM)
    order = list(named)
    rng.shuffle(order)
    ids = {name: f"s{i:03d}" for i, name in enumerate(order)}
    subs = {ids[name]: named[name] for name in named}
    return subs, [(ids[a], ids[b], kind) for a, b, kind in planted], outside_sources(), ids


def write_class(subs, submitted):
    """The submissions {student: {notebook: nb}} as files: submitted/<student>/conceptual/<nb>.ipynb."""
    import nbformat

    from grading.course import ASSIGNMENT
    for name, nbs in subs.items():
        folder = Path(submitted) / name / ASSIGNMENT
        folder.mkdir(parents=True)
        for notebook, nb in nbs.items():
            nbformat.write(nb, folder / f"{notebook}.ipynb")
