"""Question 3's explorer in a real browser: the sliders render, moving them redraws the picture
and the status line, the flat start says stuck, a large learning rate says diverged, and the
picture is never blank. The slider-to-picture time is measured and printed (for `make bench`),
never asserted."""
import json
import re
import statistics
import time

import pytest
from playwright.sync_api import expect

from browser_helpers import REPO, open_notebook, png_is_drawn, run_all
from grading import sample_class
from grading.cells import grade_id

Q3 = "q3_gradient_descent"
TIMING_FILE = REPO / ".bench" / "browser_explorer.json"


@pytest.fixture(scope="module")
def expected():
    """status(lr, start, steps) -> the exact status text, from the helper and the reference."""
    import descent_explorer  # source/conceptual/, on the path by pytest.ini's pythonpath
    nb = sample_class.solved_notebook(Q3)
    namespace = {}
    exec("import numpy as np\n" + next(c.source for c in nb.cells
                                        if grade_id(c) == "gradient_descent"), namespace)
    gd = namespace["gradient_descent"]
    return lambda lr, start, steps: descent_explorer.run_descent(gd, lr, start, steps)[1], descent_explorer


def _status(page, prefixes):
    """The status line: the first label that starts with one of the status texts."""
    starts = re.compile("^(" + "|".join(map(re.escape, prefixes)) + ")")
    return page.locator(".descent-status").filter(has_text=starts).first


def _slider(page, label):
    return page.locator(".widget-slider", has_text=label).first


def _type_value(page, label, value):
    readout = _slider(page, label).locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+a")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def _picture(page):
    return page.locator(".widget-image").first


def _src(page):
    """The picture's data URL (the Image widget is an <img>, or holds one)."""
    img = _picture(page).locator("img")
    return img.get_attribute("src") if img.count() else _picture(page).get_attribute("src")


def _wait_for_new_picture(page, old, timeout=15000):
    page.wait_for_function(
        "(old) => { const i = document.querySelector('.widget-image');"
        " return i && (i.getAttribute('src') || (i.querySelector('img') || {}).src) !== old; }",
        arg=old, timeout=timeout)


def _wait_for(page, prefixes, want, timeout=15000):
    """Wait until the status line reads exactly `want` (fails with what it reads instead)."""
    expect(_status(page, prefixes)).to_have_text(want, use_inner_text=True, timeout=timeout)
    status = _status(page, prefixes)
    # all of it readable: nothing cut off or hidden past the edge of the cell's output
    fits = status.evaluate("(el) => { const out = el.closest('.jp-OutputArea-output') || el.parentElement;"
                           " const a = el.getBoundingClientRect(), b = out.getBoundingClientRect();"
                           " return {scroll: el.scrollWidth, client: el.clientWidth,"
                           "         right: a.right, edge: b.right}; }")
    assert fits["scroll"] <= fits["client"] + 1 and fits["right"] <= fits["edge"] + 1, (want, fits)
    return status.inner_text()


def test_explorer_in_jupyterlab(student_lab, browser, shots, expected):
    status_for, de = expected
    prefixes = (de.GLOBAL, de.LOCAL, de.STUCK, de.DIVERGED, de.MOVING, de.NOT_WRITTEN, de.BROKEN)
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    try:
        open_notebook(page, student_lab, f"explorer/{Q3}.ipynb")
        run_all(page, student_lab.root / "explorer" / f"{Q3}.ipynb")
        lr = _slider(page, "learning rate")
        lr.wait_for(timeout=60000)
        lr.scroll_into_view_if_needed()
        shots(page, "explorer_rendered")
        for label in ("learning rate", "steps", "start w1", "start w2"):
            assert _slider(page, label).is_visible(), f"slider {label!r} did not render"
        lo, hi = de.DEFAULTS["start"]
        _wait_for(page, prefixes, status_for(de.DEFAULTS["lr"], (lo, hi), de.DEFAULTS["n_steps"]))
        picture = _picture(page).screenshot()
        assert png_is_drawn(picture), "the first picture is blank"

        # the flat start, exactly (-2, 2), by the button
        before = _src(page)
        page.locator(".widget-button", has_text="start at (-2, 2)").click()
        now = _wait_for(page, prefixes, status_for(de.DEFAULTS["lr"], (-2.0, 2.0), de.DEFAULTS["n_steps"]))
        assert now.startswith(de.STUCK)
        _wait_for_new_picture(page, before)
        shots(page, "flat_start_stuck")
        assert png_is_drawn(_picture(page).screenshot())

        # a large learning rate from a start off the plateau diverges
        _type_value(page, "start w1", "0")
        _wait_for(page, prefixes, status_for(de.DEFAULTS["lr"], (0.0, 2.0), de.DEFAULTS["n_steps"]))
        _type_value(page, "start w2", "0.2")
        _wait_for(page, prefixes, status_for(de.DEFAULTS["lr"], (0.0, 0.2), de.DEFAULTS["n_steps"]))
        before = _src(page)
        _type_value(page, "learning rate", "10")
        now = _wait_for(page, prefixes, status_for(10.0, (0.0, 0.2), de.DEFAULTS["n_steps"]))
        assert now.startswith(de.DIVERGED)
        _wait_for_new_picture(page, before)
        shots(page, "large_lr_diverged")
        # a narrow window (a laptop with the file browser open): the longest line wraps, all of it shown
        page.set_viewport_size({"width": 640, "height": 1100})
        page.wait_for_timeout(300)
        _wait_for(page, prefixes, now)
        shots(page, "narrow_window_status_wraps")
        page.set_viewport_size({"width": 1400, "height": 1100})

        # back to a moderate rate, then time slider moves (arrow keys) until the picture changes
        _type_value(page, "learning rate", "0.3")
        _wait_for(page, prefixes, status_for(0.3, (0.0, 0.2), de.DEFAULTS["n_steps"]))
        handle = _slider(page, "start w1").locator(".noUi-handle")
        handle.focus()
        times, blank = [], 0
        for k in range(1, 13):
            before_src = _src(page)
            start = time.perf_counter()
            page.keyboard.press("ArrowRight")  # start w1 moves by one step of 0.05
            _wait_for_new_picture(page, before_src)
            times.append(time.perf_counter() - start)
            _wait_for(page, prefixes, status_for(0.3, (round(0.05 * k, 10), 0.2), de.DEFAULTS["n_steps"]))
            blank += not png_is_drawn(_picture(page).screenshot())
        shots(page, "after_slider_moves")
        assert blank == 0, f"{blank} of {len(times)} pictures came back blank"
        median = statistics.median(times) * 1e3
        TIMING_FILE.parent.mkdir(exist_ok=True)
        TIMING_FILE.write_text(json.dumps({"moves": len(times), "median_ms": median,
                                           "times_ms": [t * 1e3 for t in times]}))
        print(f"explorer in the browser: slider to new picture, median {median:.0f} ms over {len(times)} moves")
    finally:
        page.close()
