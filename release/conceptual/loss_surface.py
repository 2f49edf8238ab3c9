"""Figure 1 of question 3: a loss over two weights, its analytic gradient, and the figure.

The surface is built so that question 3(e) has a definite answer:

- a global minimum of ``GLOBAL_MIN_LOSS`` (below 0) at ``GLOBAL_MIN``,
- a shallower local minimum of ``LOCAL_MIN_LOSS`` (also below 0) at ``LOCAL_MIN``,
- a plateau at height exactly 0 around them that contains the start point ``FLAT_START`` =
  (-2, 2): there the loss is 0.0 and the gradient is exactly (0.0, 0.0), to the last bit,
- a bowl-shaped wall beyond radius ``WALL_RADIUS``, so that a learning rate that is too large
  throws the weights outwards and makes them diverge.

The minima are smooth bumps with compact support, b(r) = -a exp(1 - 1/(1 - (r/R)^2)) for r < R
and exactly 0 for r >= R: infinitely differentiable, and exactly flat outside the radius R.

You do not need to read this file to answer the questions. Weights are float64 arrays whose
last axis has length 2: ``w`` of shape (2,) for one point or (..., 2) for many.
"""
import numpy as np

from figure_text import describe

FLAT_START = (-2.0, 2.0)
# (centre, depth a, radius R) of each bump; their supports do not overlap, so each minimum sits
# exactly at its centre with loss -a.
BUMPS = (
    ((1.0, -1.0), 2.0, 1.8),  # the global minimum
    ((1.8, 1.6), 0.8, 0.9),  # a shallower local minimum
)
GLOBAL_MIN, GLOBAL_MIN_LOSS = BUMPS[0][0], -BUMPS[0][1]
LOCAL_MIN, LOCAL_MIN_LOSS = BUMPS[1][0], -BUMPS[1][1]
WALL_RADIUS = 3.5  # beyond it the loss rises as WALL_STIFFNESS * (r - WALL_RADIUS)^2
WALL_STIFFNESS = 0.5
BOX = 3.5  # the figures show w1, w2 in [-BOX, BOX]


def _as_points(w):
    w = np.asarray(w, dtype=np.float64)
    if w.shape[-1:] != (2,):
        raise ValueError(f"weights must have a last axis of length 2, got shape {w.shape}")
    return w


def loss(w):
    """The loss at w: shape (2,) gives a float, shape (..., 2) gives an array of shape (...)."""
    w = _as_points(w)
    total = np.zeros(w.shape[:-1])
    for centre, depth, radius in BUMPS:
        s = np.sum((w - centre) ** 2, axis=-1) / radius ** 2
        inside = s < 1.0
        total = total + np.where(inside, -depth * np.exp(1.0 - 1.0 / (1.0 - np.where(inside, s, 0.0))), 0.0)
    r = np.sqrt(np.sum(w ** 2, axis=-1))
    total = total + np.where(r > WALL_RADIUS, WALL_STIFFNESS * (r - WALL_RADIUS) ** 2, 0.0)
    return float(total) if total.ndim == 0 else total


def loss_grad(w):
    """The analytic gradient (dL/dw1, dL/dw2) at w, the same shape as w: (2,) or (..., 2)."""
    w = _as_points(w)
    grad = np.zeros(w.shape)
    for centre, depth, radius in BUMPS:
        diff = w - centre
        s = np.sum(diff ** 2, axis=-1) / radius ** 2
        inside = s < 1.0
        t = 1.0 / (1.0 - np.where(inside, s, 0.0))  # finite wherever inside is true
        # d/dw of -a exp(1 - t) with t = 1/(1 - s): -a exp(1 - t) * (-t^2) * ds/dw
        value = np.where(inside, -depth * np.exp(1.0 - t), 0.0)
        coef = np.where(inside, value * (-t ** 2) * 2.0 / radius ** 2, 0.0)
        grad = grad + coef[..., None] * diff
    r = np.sqrt(np.sum(w ** 2, axis=-1))
    outside = r > WALL_RADIUS
    coef = np.where(outside, 2.0 * WALL_STIFFNESS * (r - WALL_RADIUS) / np.where(outside, r, 1.0), 0.0)
    return grad + coef[..., None] * w


def grid(n=121, box=BOX):
    """W1, W2 (each (n, n), from np.meshgrid over [-box, box]) and the loss on them."""
    axis = np.linspace(-box, box, n)
    W1, W2 = np.meshgrid(axis, axis)
    return W1, W2, loss(np.stack([W1, W2], axis=-1))


def _pt(w):
    return f"({w[0]:g}, {w[1]:g})"


def plot_loss_surface(n=101, n_3d=49):
    """Figure 1, "Loss Manifold Visualization": the surface in 3D and its contour map, side by
    side, with the start point (-2, 2, 0) marked. n, n_3d: grid points per axis of the contour
    map and of the 3D surface. Returns the matplotlib Figure."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    ax3 = fig.add_subplot(1, 2, 1, projection="3d", computed_zorder=False)  # keep the start on top
    W1, W2, L = grid(n_3d)
    ax3.plot_surface(W1, W2, L, cmap="viridis", rstride=1, cstride=1, linewidth=0, antialiased=False)
    start = (*FLAT_START, loss(FLAT_START))
    ax3.scatter(*start, color="red", s=60, depthshade=False, zorder=10)
    ax3.text(start[0], start[1], start[2] + 0.4, "start (-2, 2, 0)", color="red", zorder=11)
    ax3.set_xlabel("$w_1$")
    ax3.set_ylabel("$w_2$")
    ax3.set_zlabel("loss", labelpad=14)  # clear of the tick labels it stands beside
    ax3.view_init(elev=40, azim=-110)
    ax2 = fig.add_subplot(1, 2, 2)
    W1, W2, L = grid(n)
    levels = np.linspace(GLOBAL_MIN_LOSS, L.max(), 30)
    filled = ax2.contourf(W1, W2, L, levels=levels, cmap="viridis")
    fig.colorbar(filled, ax=ax2, label="loss", ticks=np.arange(-2.0, L.max(), 0.5))
    ax2.plot(*FLAT_START, "o", color="red", label="start (-2, 2)")
    ax2.plot(*GLOBAL_MIN, "*", color="white", markersize=12, label="global minimum")
    ax2.plot(*LOCAL_MIN, "^", color="orange", markersize=9, label="local minimum")
    ax2.set_xlabel("$w_1$")
    ax2.set_ylabel("$w_2$")
    ax2.set_aspect("equal")
    ax2.legend(loc="lower left", fontsize="small")
    fig.suptitle("Figure 1: Loss Manifold Visualization")
    flat = float(np.mean(L == 0.0))
    alt = (f"Figure 1, the loss over two weights w1 and w2 from {-BOX:g} to {BOX:g}: a 3D surface "
           f"(left) and a contour map (right). The global minimum, loss {GLOBAL_MIN_LOSS:g}, is a deep "
           f"pit at {_pt(GLOBAL_MIN)}; a shallower local minimum, loss {LOCAL_MIN_LOSS:g}, is at "
           f"{_pt(LOCAL_MIN)}. Around them the loss is exactly 0, a flat plateau covering "
           f"{100 * flat:.0f}% of the map, and it holds the start point {_pt(FLAT_START)}, marked in "
           f"red. Beyond radius {WALL_RADIUS:g} from the origin the loss rises like a bowl, up to "
           f"{L.max():.2g} in the corners.")
    return describe(fig, alt)
