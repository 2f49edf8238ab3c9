"""A real JupyterHub for the tests (and the hub benchmark): its own accounts, exchange, course and
state, started and stopped by the test; students and the instructor driven in Chromium.

The accounts are real Linux accounts (``useradd``), logged in through JupyterHub's PAM
authenticator; each server is spawned as its user from the hub environment (grading/hosting/hub.py).
The test accounts are not the ones ``make hub`` makes: a test never touches a hub a person uses.
Their homes, the test exchange and the course copy are wiped when a test hub starts.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from browser_helpers import wait_until_serving
from grading.hosting import hub as course_hub
from grading.hosting.hub import HUB_ENV, HubLayout

TEST_INSTRUCTOR = "hubtest-teacher"
TEST_STUDENTS = ["hubtest-ada", "hubtest-ben", "hubtest-cy", "hubtest-dee"]
TEST_EXCHANGE = "/srv/nbgrader/test-exchange"
HUB_CONFIG = course_hub.HUB_DIR / "jupyterhub_config.py"


def _free_base_port():
    """A port p with p, p+1 and p+2 free (hub, its API, the proxy's API)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p > 65000:
            continue
        try:
            socks = []
            for q in (p, p + 1, p + 2):
                s = socket.socket()
                s.bind(("127.0.0.1", q))
                socks.append(s)
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no three free ports in a row")


def test_layout(state):
    return HubLayout(instructor=TEST_INSTRUCTOR, students=list(TEST_STUDENTS), exchange=TEST_EXCHANGE,
                     state=str(state), port=_free_base_port(), course_folder="course")


def fresh_test_hub_setup(state):
    """The test layout set up from nothing: homes and exchange emptied, then grading/hosting/hub.setup."""
    layout = test_layout(state)
    shutil.rmtree(layout.exchange, ignore_errors=True)
    for user in layout.users:
        try:
            course_hub.reset_student(layout, user)
        except KeyError:
            pass  # the account does not exist yet: setup makes it
    return course_hub.setup(layout)


class Hub:
    """A running JupyterHub (``jupyterhub -f hub/jupyterhub_config.py``) with the layout's state."""

    def __init__(self, layout):
        self.layout = layout
        self.start()

    def start(self):
        state = Path(self.layout.state)
        self.log = open(state / "hub.log", "a")
        env = dict(os.environ, COURSE_HUB_LAYOUT=str(self.layout.layout_file))
        env.pop("GRADEBOOK_URL", None)
        self.proc = subprocess.Popen([str(HUB_ENV / "bin" / "jupyterhub"), "-f", str(HUB_CONFIG)],
                                     cwd=state, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until_serving(f"{self.url}/hub/api", self.proc, 90, f"JupyterHub did not start: see {state / 'hub.log'}")

    @property
    def url(self):
        return self.layout.url

    def stop(self):
        """SIGTERM: JupyterHub stops the users' servers and its proxy, then exits."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def restart(self):
        self.stop()
        self.start()

    def password(self, user):
        return self.layout.logins()[user]


def as_user(layout, user, *cmd, cwd=None, check=True, timeout=600):
    """Run a command as ``user`` (a login environment with the hub's Python first on PATH), as
    that person would in their JupyterLab terminal."""
    home = layout.home(user)
    env = {"HOME": str(home), "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
           "PATH": f"{HUB_ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
           "NBGRADER_EXCHANGE_ROOT": layout.exchange, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(["setpriv", "--reuid", user, "--regid", user, "--init-groups", "--", *cmd],
                          cwd=cwd or home, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} as {user} exited {proc.returncode}:\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def instructor(layout, *args, check=True):
    """An nbgrader (or other) command of the instructor's, run in the course root on the hub."""
    return as_user(layout, layout.instructor, *args, cwd=layout.course_dir, check=check)


def login(browser, hub, user, shot=None):
    """A new browser session logged in as ``user``, with JupyterLab loaded: (context, page)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.password(user))
    if shot:
        shot(page, f"login_{user}")
    page.click("#login_submit")
    wait_lab(page, user)
    return context, page


def wait_lab(page, user):
    page.wait_for_url(f"**/user/{user}/lab**", timeout=120000)
    page.wait_for_selector(".lm-MenuBar-itemLabel:text-is('Nbgrader')", timeout=120000)


def nbgrader_menu(page):
    """The labels of JupyterLab's Nbgrader menu, as the user sees them (the menu is closed again)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    items = page.locator(".lm-Menu .lm-Menu-item:not(.lm-mod-hidden) .lm-Menu-itemLabel")
    items.first.wait_for(timeout=30000)
    labels = [label.strip() for label in items.all_inner_texts()]
    page.keyboard.press("Escape")
    return labels


def open_assignments(page):
    """nbgrader's Assignments panel (Nbgrader → Assignment List)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    page.locator(".lm-Menu .lm-Menu-itemLabel:text-is('Assignment List')").click()
    page.wait_for_selector("#released_assignments_list", timeout=60000)
    refresh_assignments(page)


def refresh_assignments(page):
    page.locator("#refresh_assignments_list").first.click()
    page.wait_for_function(
        "() => !document.querySelector('#released_assignments_list_loading') ||"
        " document.querySelector('#released_assignments_list_loading').hidden", timeout=60000)
    page.wait_for_timeout(300)


def xsrf_headers(page, user):
    """The user's server's XSRF token (the hub sets its own _xsrf cookie on /hub/ too)."""
    token = next((c["value"] for c in page.context.cookies()
                  if c["name"] == "_xsrf" and c["path"].startswith(f"/user/{user}")), "")
    return {"X-XSRFToken": token, "Content-Type": "application/json"}


def put_notebook(page, hub, user, path, nb):
    """Save a notebook into the user's server through the Jupyter contents API (as JupyterLab's
    save does)."""
    body = json.dumps({"type": "notebook", "format": "json", "content": nb})
    r = page.request.put(f"{hub.url}/user/{user}/api/contents/{path}", data=body, headers=xsrf_headers(page, user))
    assert r.ok, f"saving {path} as {user}: {r.status} {r.text()[:300]}"


def get_file(page, hub, user, path):
    r = page.request.get(f"{hub.url}/user/{user}/api/contents/{path}?content=1", headers=xsrf_headers(page, user))
    assert r.ok, f"reading {path} as {user}: {r.status}"
    return r.json()

