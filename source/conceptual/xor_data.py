"""XOR for question 4: the four points, hand-set weights of a tiny network, a decision-boundary plot.

Column-vector convention, as in question 4: a layer maps x to W x + b, W has one row per output.
You do not need to read this file to answer the question.
"""
import matplotlib.pyplot as plt
import numpy as np

from figure_text import describe


def xor_points():
    """The XOR problem: X of shape (4, 2) (one point per row, float64), labels y of shape (4,)
    (ints), y = x1 XOR x2."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    return X, y


def hand_set_weights():
    """Weights of a 2 -> 2 -> 1 network, as a dict of float64 arrays W1 (2, 2), b1 (2,), W2 (1, 2),
    b2 (1,).

    Hidden unit 1 computes x1 + x2, hidden unit 2 computes x1 + x2 - 1, and the output is
    h1 - 2 h2 - 0.5. The predicted class is 1 where the output is above 0.
    """
    return {"W1": np.array([[1.0, 1.0], [1.0, 1.0]]), "b1": np.array([0.0, -1.0]),
            "W2": np.array([[1.0, -2.0]]), "b2": np.array([-0.5])}


def plot_decision_boundaries(panels, X, y, lim=(-0.5, 1.5), resolution=101):
    """Decision regions of several models side by side; returns the Figure.

    panels: list of (title, score_fn); score_fn maps a batch of points (m, 2) to scores of shape
    (m,) or (m, 1), and the predicted class is 1 where the score is above 0.
    X (n, 2), y (n,): the points drawn on top, coloured by their label, ringed in red where the
    panel's model gets them wrong.
    """
    grid = np.linspace(lim[0], lim[1], resolution)
    G1, G2 = np.meshgrid(grid, grid)
    points = np.column_stack([G1.ravel(), G2.ravel()])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.0), squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.86, wspace=0.3)
    try:
        return describe(fig, _draw_panels(axes[0], panels, X, y, lim, G1, G2, points))
    except BaseException:
        plt.close(fig)  # a model that fails leaves no half-drawn figure (and no undescribed image)
        raise


def _draw_panels(axes, panels, X, y, lim, G1, G2, points):
    """Draw each panel; returns the figure's description."""
    described = []
    for ax, (title, score_fn) in zip(axes, panels):
        scores = np.asarray(score_fn(points), dtype=float).reshape(-1)
        ax.contourf(G1, G2, (scores > 0).reshape(G1.shape), levels=[-0.5, 0.5, 1.5],
                    colors=["#cfe0f3", "#f7d9c4"])
        ax.contour(G1, G2, scores.reshape(G1.shape), levels=[0.0], colors="k", linewidths=1.0)
        predicted = np.asarray(score_fn(X), dtype=float).reshape(-1) > 0
        wrong = predicted != (y == 1)
        ax.scatter(X[:, 0], X[:, 1], c=np.where(y == 1, "#d95f02", "#1f78b4"), s=120,
                   edgecolors="k", zorder=3)
        ax.scatter(X[wrong, 0], X[wrong, 1], s=420, facecolors="none", edgecolors="red",
                   linewidths=2.0, zorder=4)
        ax.set_title(f"{title}\n{int(np.sum(~wrong))} of {len(y)} points right")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_xlim(*lim)
        ax.set_ylim(*lim)
        ax.set_aspect("equal")
        share = float(np.mean(scores > 0))
        missed = ", ".join(f"({X[i, 0]:g}, {X[i, 1]:g})" for i in np.flatnonzero(wrong))
        described.append(f"{title}: {int(np.sum(~wrong))} of {len(y)} points right"
                         + (f", wrong at {missed}" if missed else "")
                         + f"; class 1 predicted on {100 * share:.0f}% of the square")
    alt = (f"Decision regions of {len(panels)} models over x1, x2 from {lim[0]:g} to {lim[1]:g}, with the "
           f"{len(y)} points coloured by label (class 1 at "
           + ", ".join(f"({X[i, 0]:g}, {X[i, 1]:g})" for i in np.flatnonzero(y == 1)) + "). "
           + ". ".join(described) + ".")
    return alt
