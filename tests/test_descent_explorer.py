"""The explorer of question 3 (source/conceptual/descent_explorer.py), driven from Python.

Sliders are set the way the browser sets them (their .value, which fires the observers); the
status line, the path data and the PNG are read back. Redraw speed is measured by
`python -m bench widget`, not asserted here.
"""
import io

import descent_explorer as de  # source/conceptual/, on the path by pytest.ini's pythonpath
import loss_surface as ls
import numpy as np
import pytest

GLOBAL = "Reached the global minimum"
LOCAL = "Stopped in a local minimum"
STUCK = "Stuck on the flat region"
DIVERGED = "Diverged"
MOVING = "Still on the way"
NOT_WRITTEN = "Write gradient_descent first"


def reference_descent(grad_fn, w0, lr, n_steps):
    w = np.array(w0, dtype=float)
    out = [w.copy()]
    for _ in range(n_steps):
        w = w - lr * grad_fn(w)
        out.append(w.copy())
    return np.array(out)


def not_written(grad_fn, w0, lr, n_steps):
    raise NotImplementedError()


def decoded(png):
    from matplotlib.image import imread
    return imread(io.BytesIO(png), format="png")


@pytest.fixture(scope="module")
def explorer():
    return de.build_explorer(reference_descent)


def test_status_prefixes_are_the_agreed_texts():
    assert (de.GLOBAL, de.LOCAL, de.STUCK, de.DIVERGED, de.NOT_WRITTEN) == (GLOBAL, LOCAL, STUCK, DIVERGED, NOT_WRITTEN)


def test_default_view_reaches_the_global_minimum(explorer):
    explorer.set_start(*de.DEFAULTS["start"])
    explorer.lr_slider.value = de.DEFAULTS["lr"]
    explorer.steps_slider.value = de.DEFAULTS["n_steps"]
    assert explorer.status_text.startswith(GLOBAL + " — "), explorer.status_text
    assert explorer.trajectory.shape == (de.DEFAULTS["n_steps"] + 1, 2)


def test_flat_start_button_sets_exactly_minus_two_two_and_is_stuck(explorer):
    explorer.set_start(0.5, 0.5)
    explorer.flat_button.click()
    assert (explorer.w1_slider.value, explorer.w2_slider.value) == (-2.0, 2.0)
    for lr in (0.001, 0.3, 10.0):
        explorer.lr_slider.value = lr
        assert explorer.status_text.startswith(STUCK), (lr, explorer.status_text)
        assert np.all(explorer.trajectory == np.array([-2.0, 2.0]))


def test_large_learning_rate_diverges(explorer):
    explorer.set_start(0.5, -0.5)
    explorer.lr_slider.value = 10.0
    assert explorer.status_text.startswith(DIVERGED), explorer.status_text
    assert explorer.png() and decoded(explorer.png()).std() > 0.05  # drawn despite inf/huge values


def test_start_near_the_global_minimum(explorer):
    explorer.lr_slider.value = 0.3
    explorer.set_start(0.8, -0.7)
    assert explorer.status_text.startswith(GLOBAL), explorer.status_text
    assert np.hypot(*(explorer.trajectory[-1] - ls.GLOBAL_MIN)) < 1e-6


def test_start_near_the_local_minimum(explorer):
    explorer.lr_slider.value = 0.3
    explorer.set_start(1.6, 1.4)
    assert explorer.status_text.startswith(LOCAL), explorer.status_text
    assert np.hypot(*(explorer.trajectory[-1] - ls.LOCAL_MIN)) < 1e-6


def test_bouncing_off_a_bump_onto_the_plateau_is_stuck(explorer):
    explorer.set_start(0.5, -0.5)
    explorer.lr_slider.value = 3.0
    assert explorer.status_text.startswith(STUCK), explorer.status_text
    assert not np.array_equal(explorer.trajectory[0], explorer.trajectory[-1])


def test_a_run_creeping_onto_the_plateau_is_stuck_not_told_to_add_steps():
    """Steps that keep shrinking next to the flat region never get out: more steps do not help."""
    trajectory, status = de.run_descent(reference_descent, 0.1413, (2.971, 2.694), 170)
    assert status.startswith(STUCK) and "add steps" not in status, status
    longer, _ = de.run_descent(reference_descent, 0.1413, (2.971, 2.694), 1700)
    assert abs(ls.loss(longer[-1])) < 1e-6, "ten times the steps should not have got it anywhere"


def test_a_run_creeping_into_a_dip_is_on_its_way_but_says_it_is_slow():
    trajectory, status = de.run_descent(reference_descent, 0.0169, (-0.573, -1.809), 29)
    assert status.startswith(MOVING) and "tiny" in status, status


def test_a_slider_change_redraws_path_and_loss(explorer):
    explorer.lr_slider.value = 0.3
    explorer.set_start(0.0, 0.2)
    before = explorer.png()
    explorer.steps_slider.value = 7  # the observer redraws, nobody calls redraw()
    assert explorer.trajectory.shape == (8, 2)
    x, y = explorer.path_line.get_data()
    assert explorer.loss_ax is explorer.loss_line.axes
    assert np.allclose(x, explorer.trajectory[:, 0]) and np.allclose(y, explorer.trajectory[:, 1])
    assert len(explorer.loss_line.get_data()[0]) == 8
    assert np.allclose(explorer.loss_line.get_data()[1], ls.loss(explorer.trajectory))
    assert explorer.png() != before
    explorer.w2_slider.value = 0.4
    assert np.array_equal(explorer.trajectory[0], [0.0, 0.4])


def test_same_settings_give_the_same_picture(explorer):
    """The kept bitmaps (one per loss-panel scale) and the curve drawn over them stay in step."""
    settings = [((0.0, 0.2), 0.3, 50), ((0.5, -0.5), 3.0, 80), ((1.6, 1.4), 0.05, 120)]
    pictures = []
    for (start, lr, steps) in settings + settings:
        explorer.steps_slider.value, explorer.lr_slider.value = steps, lr
        explorer.set_start(*start)
        pictures.append(explorer.png())
        lo, hi = explorer.loss_ax.get_ylim()
        losses = ls.loss(explorer.trajectory)
        assert lo <= losses.min() and losses.max() <= hi, (explorer.loss_ax.get_ylim(), losses.min(), losses.max())
        assert explorer.loss_ax.get_xlim()[1] >= steps
    assert pictures[:3] == pictures[3:]
    assert len(set(pictures[:3])) == 3


def test_picture_is_drawn_not_blank(explorer):
    explorer.set_start(0.0, 0.2)
    image = decoded(explorer.png())
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 500
    assert image[..., :3].std() > 0.05, "the PNG is (nearly) one colour"
    assert explorer.image.value == explorer.png()
    assert explorer.image.format == "png"


def test_missing_gradient_descent_says_so_instead_of_raising():
    ex = de.build_explorer(not_written)
    assert ex.status_text.startswith(NOT_WRITTEN), ex.status_text
    ex.lr_slider.value = 1.0  # still no exception on a slider change
    assert ex.status_text.startswith(NOT_WRITTEN)
    assert decoded(ex.png())[..., :3].std() > 0.05


@pytest.mark.parametrize("broken, fragment", [
    (lambda g, w0, lr, n: 1 / 0, "ZeroDivisionError"),
    (lambda g, w0, lr, n: np.zeros((n, 2)), "returned shape"),
    (lambda g, w0, lr, n: None, "returned shape"),
])
def test_a_broken_gradient_descent_is_reported(broken, fragment):
    ex = de.build_explorer(broken)
    assert ex.status_text.startswith(de.BROKEN) and fragment in ex.status_text, ex.status_text


def test_the_status_line_shows_a_message_as_text_and_wraps():
    def raises(g, w0, lr, n):
        raise ValueError("<img src=x onerror=alert(1)> " + "a long message " * 20)
    ex = de.build_explorer(raises)
    assert "<img src=x" in ex.status_text and "<img" not in ex.status.value, ex.status.value
    assert "&lt;img src=x onerror=alert(1)&gt;" in ex.status.value
    assert "white-space: normal" in ex.status.value  # the browser test checks it is not cut off


def test_the_students_function_gets_a_copy_of_the_start():
    def in_place(grad_fn, w0, lr, n_steps):
        w = w0
        out = [w.copy()]
        for _ in range(n_steps):
            w -= lr * grad_fn(w)
            out.append(w.copy())
        return np.array(out)
    ex = de.build_explorer(in_place, start=(0.0, 0.2))
    assert (ex.w1_slider.value, ex.w2_slider.value) == (0.0, 0.2)
    assert ex.status_text.startswith(GLOBAL)


def test_learning_rate_slider_is_logarithmic(explorer):
    import ipywidgets
    assert isinstance(explorer.lr_slider, ipywidgets.FloatLogSlider)
    assert explorer.lr_slider.base == 10 and explorer.lr_slider.min <= -3 and explorer.lr_slider.max >= 1


def test_static_view_draws_the_default_view():
    image = decoded(de.static_view(reference_descent))
    assert image[..., :3].std() > 0.05
    assert decoded(de.static_view(not_written))[..., :3].std() > 0.05


def test_classify_names_each_ending():
    assert de.classify(np.array([[0.0, 0.0], [np.inf, np.nan]])).startswith(DIVERGED)
    assert de.classify(np.array([ls.FLAT_START])).startswith(STUCK)
    assert de.classify(np.array([ls.GLOBAL_MIN])).startswith(GLOBAL)
    assert de.classify(np.array([ls.LOCAL_MIN])).startswith(LOCAL)
    assert de.classify(np.array([[0.5, -0.5]])).startswith(de.MOVING)
