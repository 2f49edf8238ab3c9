"""Helpers for the browser tests: JupyterLab and Chromium.

Playwright from PyPI drives Debian's chromium (``executable_path``), not a browser Playwright
downloads: this machine reaches only the package registries, not Playwright's browser host.

The server runs on loopback with a token and every Jupyter state folder in a temporary
directory, so a test sees exactly what a fresh student or instructor would.
"""
import base64
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / ".screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab server rooted at `root`."""

    def __init__(self, root, state):
        self.root, self.token, self.port = Path(root), "browser-test-token", _free_port()
        state = Path(state)
        settings = state / "settings"
        (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
        (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = dict(os.environ,
                   PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
                   JUPYTER_CONFIG_DIR=str(state / "config"), JUPYTER_DATA_DIR=str(state / "data"),
                   JUPYTER_RUNTIME_DIR=str(state / "runtime"), IPYTHONDIR=str(state / "ipython"),
                   MPLCONFIGDIR=str(state / "mpl"))
        env.pop("GRADEBOOK_URL", None)
        env.pop("NBGRADER_EXECUTION", None)
        # data dir is isolated: the venv's own share/jupyter still provides the kernelspec and extensions
        self.log = open(state / "lab.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--allow-root", "--no-browser",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
             f"--LabApp.workspaces_dir={state / 'workspaces'}", f"--LabApp.user_settings_dir={settings}",
             "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"JupyterLab did not start: see {state / 'lab.log'}")
            time.sleep(0.3)

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
    page.wait_for_selector(".jp-Notebook", timeout=60000)
    page.wait_for_function(
        "() => { const k = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-kernelName');"
        " return k && /Python/.test(k.textContent); }", timeout=60000)
    wait_idle(page)


def wait_idle(page, timeout=60000):
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout)


def run_all(page):
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_timeout(500)
    wait_idle(page, timeout=120000)


def save(page):
    page.keyboard.press("Control+s")
    page.wait_for_timeout(800)


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
