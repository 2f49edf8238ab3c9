"""Helpers for question 2 (MSE versus cross-entropy): a fixed synthetic data set, logits with a
chosen probability for the label, and the plots (which take your functions as arguments).

Row convention, as in question 1: logits z = x @ W with W of shape (d, k); a batch stacks examples
as rows. You do not need to read this file to answer the question.
"""
import matplotlib.pyplot as plt
import numpy as np

from figure_text import describe


# --- data -----------------------------------------------------------------------------------

def make_blobs(n_per_class=20, k=3, seed=0):
    """A fixed synthetic data set: k Gaussian blobs in the plane, centred on a circle of radius 2.5.

    Returns X of shape (k * n_per_class, 2) (float64) and y of shape (k * n_per_class,) (ints).
    """
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(k) / k
    centres = 2.5 * np.column_stack([np.cos(angles), np.sin(angles)])
    y = np.repeat(np.arange(k), n_per_class)
    X = centres[y] + rng.normal(scale=0.6, size=(len(y), 2))
    return X, y


def confidently_wrong_start(k=3, scale=1.5):
    """Weights W0 of shape (2, k) for make_blobs' data that give every point's label a tiny
    probability: column j points at the centre of blob j - 1, so a point of class c gets its largest
    logit at class c + 1 (mod k). The larger `scale`, the more confident the wrong answers."""
    angles = 2 * np.pi * (np.arange(k) - 1) / k
    return scale * 2.5 * np.vstack([np.cos(angles), np.sin(angles)])


def logits_with_pc(p_c, k=3, c=0):
    """Logits z of shape (k,) with softmax(z)[c] == p_c (0 < p_c < 1); of the rest, 90% goes to
    the next class (c + 1) % k and the remainder is shared by the others (k > 2)."""
    probs = np.full(k, (1.0 - p_c) * 0.1 / max(k - 2, 1))
    probs[(c + 1) % k] = (1.0 - p_c) * (0.9 if k > 2 else 1.0)
    probs[c] = p_c
    return np.log(probs)


# --- plots ----------------------------------------------------------------------------------

def _no_figure_left_on_error(plot):
    """A plot that fails (say on a None from an unfinished function) leaves no half-drawn
    figure behind: the notebook would show it at the end of the cell, empty and undescribed."""
    import functools

    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        before = set(plt.get_fignums())
        try:
            return plot(*args, **kwargs)
        except BaseException:
            for number in set(plt.get_fignums()) - before:
                plt.close(number)
            raise
    return wrapper


def _g(x):
    return f"{float(x) + 0.0:.3g}"


def _trend(name, x, values, x_name):
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    if not finite.any():
        return f"{name}: no finite values"
    first, last = np.flatnonzero(finite)[[0, -1]]
    return (f"{name} goes from {_g(values[first])} at {x_name} {_g(x[first])} to {_g(values[last])} "
            f"at {x_name} {_g(x[last])}")

@_no_figure_left_on_error
def plot_loss_and_gradient(p_c, losses, gradients, bound=None):
    """Two panels side by side against p_c (log scale): the losses, and |dL/dz_c|.

    p_c: (m,) probabilities of the correct class.
    losses, gradients: {name: (m,) array}, e.g. {"cross-entropy": ..., "MSE": ...}.
    bound: optional value to mark with a dashed line on the loss panel (MSE's largest value).
    Returns the Figure.
    """
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(10, 3.8))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.92, wspace=0.22)
    for name, values in losses.items():
        ax_loss.plot(p_c, values, label=name, lw=2)
    if bound is not None:
        ax_loss.axhline(bound, color="gray", ls="--", lw=1, label=f"MSE's largest value, {bound:.3g}")
    for name, values in gradients.items():
        ax_grad.plot(p_c, np.abs(values), label=name, lw=2)
    for ax, title, ylabel in [(ax_loss, "loss", "L"),
                              (ax_grad, "gradient at the correct class", "|dL/dz_c|")]:
        ax.set_xscale("log")
        # plain tick labels and no minor ticks: log axes' defaults cost most of the drawing time
        decades = np.arange(np.floor(np.log10(p_c.min())), 1)
        ax.set_xticks(10.0 ** decades, [f"1e{int(e)}" if e < 0 else "1" for e in decades])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_xlabel("P_c, the probability given to the correct class (log scale)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.axvspan(p_c.min(), 1e-2, color="#fbe3e3", zorder=0)
        ax.legend(loc="upper right", fontsize=8)
    ax_loss.text(1.2 * p_c.min(), ax_loss.get_ylim()[1] * 0.5, "confidently\nwrong", color="#b03030", fontsize=9)
    p_c = np.asarray(p_c, dtype=float)
    alt = ("Two line plots against P_c, the probability given to the correct class, on a log scale "
           f"from {_g(p_c.min())} to {_g(p_c.max())}; below 0.01 is shaded as confidently wrong. "
           "Left, the loss: " + "; ".join(_trend(n, p_c, v, "P_c") for n, v in losses.items())
           + (f"; a dashed line marks MSE's largest value, {bound:.3g}" if bound is not None else "")
           + ". Right, the gradient at the correct class, |dL/dz_c|: "
           + "; ".join(_trend(n, p_c, np.abs(v), "P_c") for n, v in gradients.items()) + ".")
    return describe(fig, alt)


@_no_figure_left_on_error
def plot_training(runs):
    """Training curves side by side: accuracy, and loss divided by its starting value.

    runs: list of (label, losses, accuracies), each history an array of shape (epochs + 1,).
    Returns the Figure.
    """
    styles = [dict(color="C0", ls="-"), dict(color="C1", ls="-"), dict(color="C0", ls="--"),
              dict(color="C1", ls="--")]
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.8))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.95, wspace=0.22)
    for i, (label, losses, accuracies) in enumerate(runs):
        style = styles[i % len(styles)]
        losses = np.asarray(losses, dtype=float)
        ax_acc.plot(np.asarray(accuracies, dtype=float), label=label, lw=2, **style)
        ax_loss.plot(losses / losses[0], label=label, lw=2, **style)
    ax_acc.set_ylim(-0.03, 1.03)
    ax_acc.set_ylabel("training accuracy")
    ax_loss.set_ylabel("loss / loss at the start")
    for ax in (ax_acc, ax_loss):
        ax.set_xlabel("epoch (full-batch gradient step)")
        ax.legend(loc="center right", fontsize=8)
    parts = []
    for label, losses, accuracies in runs:
        losses, accuracies = np.asarray(losses, dtype=float), np.asarray(accuracies, dtype=float)
        parts.append(f"{label}: accuracy {accuracies[0]:.2f} at the start, {accuracies[-1]:.2f} after "
                     f"{len(accuracies) - 1} epochs; loss ends at {_g(losses[-1] / losses[0])} of its start")
    alt = ("Training curves, two line plots against the epoch: training accuracy (left) and the loss "
           "divided by its starting value (right). " + ". ".join(parts) + ".")
    return describe(fig, alt)
