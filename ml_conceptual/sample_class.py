"""This course's sample class: the reference, an untouched release, one student per common
mistake, a damaged file and a deleted test cell, each built from the source solutions by the
engine's grading.sample_class (nbgrader_config.py names this module: c.Course.sample_class).

    python -m grading.sample_class [--out submitted]

``tests/test_autograde_sample_class.py`` holds which test cells each student must fail.
"""
from grading.sample_class import Edit, SampleStudent

Q1 = "q1_cross_entropy_gradient"
Q2 = "q2_mse_vs_cross_entropy"
Q3 = "q3_gradient_descent"
Q4 = "q4_stacked_linear_layers"


STUDENTS = [
    SampleStudent("reference", "submits the instructor's solution"),
    SampleStudent("untouched", "submits the release unchanged", untouched=True, written=False),
    SampleStudent("q1_no_minus_one", "leaves out the -1 of the correct class in dL/dz",
                  edits=(Edit(Q1, "ce_grad_logits", "return P - onehot", "return P"),)),
    SampleStudent("q1_flipped_sign", "returns x (y - P)^T: the gradient with its sign flipped",
                  edits=(Edit(Q1, "ce_grad_weights", "return np.outer(x, dz)", "return -np.outer(x, dz)"),
                         Edit(Q1, "ce_grad_weights", "return x.T @ dz / x.shape[0]",
                              "return -(x.T @ dz) / x.shape[0]"))),
    SampleStudent("q1_overflowing_softmax", "exponentiates the raw logits, so np.exp(1000) overflows",
                  edits=(Edit(Q1, "softmax", "e = np.exp(shifted)", "e = np.exp(z)"),)),
    SampleStudent("q1_forward_difference", "uses the one-sided difference (f(W+eps) - f(W)) / eps",
                  edits=(Edit(Q1, "numerical_gradient",
                              "W_work[idx] = original - eps\n        f_minus = f(W_work)",
                              "W_work[idx] = original\n        f_minus = f(W_work)"),
                         Edit(Q1, "numerical_gradient", "(f_plus - f_minus) / (2 * eps)",
                              "(f_plus - f_minus) / eps"))),
    SampleStudent("q2_mse_grad_no_jacobian",
                  "returns dL/dP = (2/k)(P - y) as the logit gradient, skipping the softmax Jacobian",
                  edits=(Edit(Q2, "mse_grad_logits",
                              "return P * (dL_dP - np.sum(dL_dP * P, axis=-1, keepdims=True))",
                              "return dL_dP"),)),
    SampleStudent("q2_mse_grad_diagonal_jacobian", "keeps only the diagonal P_j (1 - P_j) of the softmax Jacobian",
                  edits=(Edit(Q2, "mse_grad_logits",
                              "return P * (dL_dP - np.sum(dL_dP * P, axis=-1, keepdims=True))",
                              "return P * (1 - P) * dL_dP"),)),
    SampleStudent("q2_mse_sum_over_classes", "sums the squared errors over the classes instead of averaging",
                  edits=(Edit(Q2, "mse_loss", "np.mean((P - Y) ** 2, axis=-1)", "np.sum((P - Y) ** 2, axis=-1)"),)),
    SampleStudent("q4_compose_wrong_order", "composes the layers as W1 @ W2: the first layer on the left",
                  edits=(Edit(Q4, "compose_linear", "W = W2 @ W1", "W = W1 @ W2"),)),
    SampleStudent("q4_compose_missing_w2_b1", "keeps only b2 as the composed bias, dropping W2 @ b1",
                  edits=(Edit(Q4, "compose_linear", "b = W2 @ b1 + b2", "b = b2"),)),
    SampleStudent("q4_row_convention_shapes", "gives the row-convention shapes W1 (s, t), W2 (t, u)",
                  edits=(Edit(Q4, "layer_shapes", '"W1": (t, s)', '"W1": (s, t)'),
                         Edit(Q4, "layer_shapes", '"W2": (u, t)', '"W2": (t, u)'))),
    SampleStudent("q4_row_convention_linear", "computes x @ W + b as in question 1, not W x + b",
                  edits=(Edit(Q4, "linear", "return x @ W.T + b", "return x @ W + b"),)),
    SampleStudent("q3_gradient_ascent", "adds the gradient: w + lr * grad climbs uphill",
                  edits=(Edit(Q3, "gradient_descent", "w = w - lr *", "w = w + lr *"),)),
    SampleStudent("q3_missing_start", "returns only the n_steps iterates after the start, not w0 itself",
                  edits=(Edit(Q3, "gradient_descent", "np.empty((n_steps + 1, w.size))", "np.empty((n_steps, w.size))"),
                         Edit(Q3, "gradient_descent", "    trajectory[0] = w\n", ""),
                         Edit(Q3, "gradient_descent", "trajectory[t + 1] = w", "trajectory[t] = w"))),
    SampleStudent("q3_in_place_update", "steps with w -= lr * grad on w0 itself, changing the caller's array",
                  edits=(Edit(Q3, "gradient_descent", "w = np.array(w0, dtype=np.float64)", "w = w0"),
                         Edit(Q3, "gradient_descent", "w = w - lr *", "w -= lr *"))),
    SampleStudent("q3_summed_batch_gradient", "sums the batch gradient in the vectorized version instead of "
                  "taking the mean; counts the loss axis as a weight",
                  edits=(Edit(Q3, "batch_grad_vectorized", "return X.T @ P / X.shape[0]", "return X.T @ P"),
                         Edit(Q3, "figure_1_facts", "N_WEIGHTS = 2", "N_WEIGHTS = 3"))),
    SampleStudent("q1_wrong_q2_right", "gets question 1 wrong (overflowing softmax, no -1, a summed loss), also in "
                  "the question-1 cell of q2, and question 2 right: question 2 must not cost points",
                  edits=(Edit(Q1, "softmax", "e = np.exp(shifted)", "e = np.exp(z)"),
                         Edit(Q1, "ce_grad_logits", "return P - onehot", "return P"),
                         Edit(Q2, "q1_functions", "np.exp(logits - np.max(logits, axis=-1, keepdims=True))",
                              "np.exp(logits)"),
                         Edit(Q2, "q1_functions", "return probs - is_label", "return probs"),
                         Edit(Q2, "q1_functions", "return float(np.mean(-np.log(picked)))",
                              "return float(np.sum(-np.log(picked)))"))),
    SampleStudent("broken_json", "uploads a q1 file cut off half-way (not valid JSON)", invalid_json=Q1),
    SampleStudent("deleted_test_cell", "deletes the large-logits test cell of q1",
                  deleted_cell=(Q1, "test_softmax_large_logits")),
]
