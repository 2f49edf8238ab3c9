"""Figure 1's surface (source/conceptual/loss_surface.py) has the properties question 3(e) needs."""
import loss_surface as ls  # source/conceptual/, on the path by pytest.ini's pythonpath
import numpy as np
import pytest


def _fd_grad(w, eps=1e-6):
    w = np.asarray(w, dtype=float)
    g = np.zeros(2)
    for i in range(2):
        e = np.zeros(2)
        e[i] = eps
        g[i] = (ls.loss(w + e) - ls.loss(w - e)) / (2 * eps)
    return g


def _near_an_edge(w, margin=0.05):
    """Within margin of a bump's rim or the wall, where a finite difference straddles a seam."""
    w = np.asarray(w)
    rims = [abs(np.hypot(*(w - c)) - R) for c, _, R in ls.BUMPS]
    return min(rims) < margin or abs(np.hypot(*w) - ls.WALL_RADIUS) < margin


def test_flat_start_is_exactly_flat():
    assert ls.loss(ls.FLAT_START) == 0.0
    g = ls.loss_grad(np.array(ls.FLAT_START))
    assert g.shape == (2,) and g[0] == 0.0 and g[1] == 0.0, g
    assert ls.FLAT_START == (-2.0, 2.0)


def test_plateau_around_the_start_is_exactly_flat():
    rng = np.random.default_rng(1)
    pts = np.array(ls.FLAT_START) + rng.uniform(-0.5, 0.5, size=(500, 2))
    assert np.all(ls.loss(pts) == 0.0)
    assert np.all(ls.loss_grad(pts) == 0.0)


def test_minima_values_and_order():
    assert ls.loss(ls.GLOBAL_MIN) == ls.GLOBAL_MIN_LOSS
    assert ls.loss(ls.LOCAL_MIN) == ls.LOCAL_MIN_LOSS
    assert ls.GLOBAL_MIN_LOSS < ls.LOCAL_MIN_LOSS < 0.0
    assert np.all(ls.loss_grad(np.array(ls.GLOBAL_MIN)) == 0.0)
    assert np.all(ls.loss_grad(np.array(ls.LOCAL_MIN)) == 0.0)


def test_global_min_is_the_lowest_point_and_local_min_is_a_local_minimum():
    W1, W2, L = ls.grid(301, box=5.0)
    assert L.min() >= ls.GLOBAL_MIN_LOSS
    # every point within 0.3 of the local minimum is at least as high as it (strictly, except the centre)
    rng = np.random.default_rng(2)
    offsets = rng.normal(size=(400, 2))
    offsets *= rng.uniform(1e-3, 0.3, size=(400, 1)) / np.linalg.norm(offsets, axis=1, keepdims=True)
    assert np.all(ls.loss(np.array(ls.LOCAL_MIN) + offsets) > ls.LOCAL_MIN_LOSS)
    assert np.all(ls.loss(np.array(ls.GLOBAL_MIN) + offsets) > ls.GLOBAL_MIN_LOSS)


def test_gradient_matches_finite_differences_away_from_seams():
    rng = np.random.default_rng(3)
    checked = 0
    for w in rng.uniform(-5, 5, size=(2000, 2)):
        if _near_an_edge(w):
            continue
        analytic, numeric = ls.loss_grad(w), _fd_grad(w)
        scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
        if scale == 0.0:
            continue
        checked += 1
        assert np.linalg.norm(analytic - numeric) / scale < 1e-6, (w, analytic, numeric)
    assert checked > 500


def test_inside_the_bumps_the_gradient_check_is_tight():
    for (c, _, R) in ls.BUMPS:
        for frac in (0.1, 0.4, 0.7):
            for angle in np.linspace(0, 2 * np.pi, 7, endpoint=False):
                w = np.array(c) + frac * R * np.array([np.cos(angle), np.sin(angle)])
                a, n = ls.loss_grad(w), _fd_grad(w, eps=1e-5)
                assert np.linalg.norm(a - n) / max(np.linalg.norm(a), 1e-300) < 1e-7, (w, a, n)


def test_batched_evaluation_matches_pointwise():
    rng = np.random.default_rng(4)
    pts = rng.uniform(-4, 4, size=(5, 3, 2))
    L, G = ls.loss(pts), ls.loss_grad(pts)
    assert L.shape == (5, 3) and G.shape == (5, 3, 2)
    for idx in np.ndindex(5, 3):
        assert L[idx] == ls.loss(pts[idx])
        assert np.array_equal(G[idx], ls.loss_grad(pts[idx]))
    assert isinstance(ls.loss(np.zeros(2)), float)


def test_wall_throws_a_large_step_outwards():
    """Beyond the wall a step of lr * gradient with lr too large overshoots further each time."""
    w = np.array([6.0, 0.0])
    for _ in range(5):
        w = w - 10.0 * ls.loss_grad(w)
    assert np.linalg.norm(w) > 1e3


def test_no_warnings_on_the_plotted_grid():
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        ls.grid(101)
        W1, W2, _ = ls.grid(51)
        ls.loss_grad(np.stack([W1, W2], axis=-1))


def test_rejects_wrong_shapes():
    with pytest.raises(ValueError):
        ls.loss(np.zeros(3))


def test_figure_has_a_3d_surface_and_a_contour_map():
    fig = ls.plot_loss_surface(n=31)
    kinds = [ax.name for ax in fig.axes]
    assert "3d" in kinds and "rectilinear" in kinds
    assert "Loss Manifold Visualization" in fig.get_suptitle()
