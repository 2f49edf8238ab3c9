"""Helpers for the browser tests: JupyterLab and Chromium.

Playwright from PyPI drives Debian's chromium (``executable_path``), not a browser Playwright
downloads: this machine reaches only the package registries, not Playwright's browser host.

The server runs on loopback with a token and every Jupyter state folder in a temporary
directory, so a test sees exactly what a fresh student or instructor would.
"""
import base64
import io
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
from playwright.sync_api import expect

from course_helpers import course_env, free_port

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / ".screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def wait_until_serving(url, proc, seconds, failure):
    """Poll ``url`` until it answers 200; RuntimeError(failure) if ``proc`` exits or time runs out."""
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(failure)
        time.sleep(0.3)


class Lab:
    """A running JupyterLab server rooted at `root`."""

    def __init__(self, root, state):
        self.root, self.token, self.port = Path(root), "browser-test-token", free_port()
        state = Path(state)
        settings = state / "settings"
        (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
        (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        # JupyterLab 4 attaches a long notebook's cells to the page a few at a time (windowing):
        # a test counting cells right after opening would see only the first ones.
        (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
        (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
            json.dumps({"windowingMode": "none"}))
        # data dir is isolated: the venv's own share/jupyter still provides the kernelspec and extensions
        env = course_env(JUPYTER_CONFIG_DIR=str(state / "config"), JUPYTER_DATA_DIR=str(state / "data"),
                         JUPYTER_RUNTIME_DIR=str(state / "runtime"), IPYTHONDIR=str(state / "ipython"),
                         MPLCONFIGDIR=str(state / "mpl"))
        self.log = open(state / "lab.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--allow-root", "--no-browser",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
             f"--LabApp.workspaces_dir={state / 'workspaces'}", f"--LabApp.user_settings_dir={settings}",
             "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        # Start-up poll of the server (no browser involved): Jupyter Server binds its port in its
        # event loop's first callback, after it has logged its URL, so there is no line to wait for.
        wait_until_serving(f"{self.base}/api/status?token={self.token}", self.proc, 60,
                           f"JupyterLab did not start: see {state / 'lab.log'}")

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def url(self, path):
        return f"{self.base}/{path}{'&' if '?' in path else '?'}token={self.token}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def open_notebook(page, lab, path):
    page.goto(lab.url(f"lab/tree/{path}?reset"))
    kernel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-kernelName").first
    expect(kernel).to_contain_text("Python", timeout=60000)
    wait_idle(page)


def wait_idle(page, timeout=60000):
    idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    expect(idle.first).to_be_attached(timeout=timeout)


RAN = re.compile(r"^\s*\[\d+\]:\s*$")  # a code cell's prompt once it has run: [12]:


def run_all(page, notebook, timeout=120000):
    """Run All Cells, and wait until every code cell of ``notebook`` (its file: the number of code
    cells is read from it, not from the page, which may not have attached them all yet) shows an
    execution count in the page (none queued [*] or unrun [ ]) and the kernel is idle."""
    cells = nbformat.read(notebook, as_version=4).cells
    n_code = sum(c.cell_type == "code" for c in cells)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    code = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell")
    expect(code).to_have_count(n_code, timeout=timeout)
    expect(code.locator(".jp-InputArea-prompt").filter(has_text=RAN)).to_have_count(n_code, timeout=timeout)
    wait_idle(page, timeout=timeout)


def save(page):
    """Save the notebook (Ctrl+S) and wait until JupyterLab says it is saved: its tab is no
    longer marked dirty."""
    page.keyboard.press("Control+s")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").first
    expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"))


def open_formgrader(page, lab):
    """The formgrader in a fresh JupyterLab page of ``lab``: its frame."""
    page.goto(lab.url("lab?reset"))
    return formgrader_from_menu(page)


def formgrader_from_menu(page):
    """JupyterLab's Nbgrader menu, Formgrader, in the page as it is (a local Lab or a hub's
    user server): the formgrader's frame."""
    menu = page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first
    expect(menu).to_be_visible(timeout=60000)
    menu.click()
    page.locator(".lm-Menu .lm-Menu-itemLabel").filter(has_text=re.compile(r"^Formgrader$")).click()
    return page.frame_locator("#formgrader-iframe iframe")


def ready_to_grade(frame, timeout=60):
    """Wait until the formgrader's submission page can take a grade. Its script binds the score
    and comment inputs only after the window's load event (every figure of the notebook loaded)
    and after it has fetched the submission's grades and comments: a score typed before that
    fires a change event nothing listens to, and the fetch then re-renders the empty value, so
    no PUT is ever sent (seen on a loaded CI machine). Polled with evaluate(), which the
    formgrader's Content-Security-Policy (no 'unsafe-eval') does not block. "init done" fails
    where the page's script stopped half-way (it did offline, before
    grading/pages/formgrader_csp.py's MathJax stand-in)."""
    if hasattr(frame, "owner"):  # a FrameLocator: the Frame of its iframe
        frame = frame.owner.element_handle().content_frame()
    state = ("() => { const f = window.formgrader; return f === undefined ? 'no formgrader' :"
             " [f.loaded, !!(f.grades && f.grades.loaded), !!(f.comments && f.comments.loaded)].join(); }")
    deadline = time.monotonic() + timeout
    while (seen := frame.evaluate(state)) != "true,true,true":
        assert time.monotonic() < deadline, f"the formgrader page never got ready to grade " \
            f"(init done, grades loaded, comments loaded: {seen}) at {frame.url}"
        frame.page.wait_for_timeout(100)


def saved(page, what):
    """Context manager: wait for the formgrader's save of a grade (what="grade") or a comment
    (what="comment"): the PUT to its API and the answer."""
    return page.expect_response(lambda r: f"/formgrader/api/{what}/" in r.url and r.request.method == "PUT"
                                and r.ok)


def settled(page):
    """Every frame of the page has fired its load event: every image has loaded or failed and
    every subframe has loaded, so whatever a payload hangs on those events has had its turn."""
    for frame in page.frames:
        try:
            frame.wait_for_load_state("load")
        except Exception:  # noqa: BLE001 - a frame that went away (navigated, detached)
            continue


def png_is_drawn(data):
    """True if a PNG (bytes, or base64 text as in a notebook) has real content: more than one
    colour and not fully transparent."""
    import matplotlib.image as mpimg
    import numpy as np
    raw = base64.b64decode(data) if isinstance(data, str) else data
    img = mpimg.imread(io.BytesIO(raw), format="png")
    if img.ndim == 3 and img.shape[2] == 4 and float(img[..., 3].max()) == 0.0:
        return False
    return float(np.std(img[..., :3])) > 0.01


def grade_with_rubric(frame, cell, keys, notebook, timeout=60000):
    """Grade a written cell as a grader now does on nbgrader's submission page: keys on the cell's
    rubric panel (grading/pages/static/rubric.js), which sets the score to the sum of the items applied
    and saves it. Returns that sum, from the rubric in source/ (grading/pages/rubric.py)."""
    from grading.pages.rubric import parse_source
    panel = frame.locator(f".rubric-panel[aria-label='Rubric items for {cell}']")
    panel.wait_for(timeout=timeout)
    panel.focus()
    for key in keys:
        panel.press(key)
    expect(panel.locator(".rubric-status")).to_have_text("saved", timeout=15000)
    rubric = parse_source()[(notebook, cell)]
    total = sum(item.points for item in rubric.items if item.key in keys)
    return max(0.0, min(total, rubric.points))
