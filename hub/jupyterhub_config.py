"""JupyterHub for the course (docs/jupyterhub.md). `make hub` starts it; the tests start their own.

It reads the layout that grading/hosting/hub.py's set-up wrote (accounts, exchange, state folder, port):
``COURSE_HUB_LAYOUT`` names that file (default: the default layout's). Everything else is here.

- Loopback only, JupyterHub's own proxy (configurable-http-proxy from npm, hub/package-lock.json).
- Login: JupyterHub's default PAMAuthenticator against the machine's Linux accounts; only the
  layout's instructor and students may log in. Servers: the default LocalProcessSpawner, each
  one started as its own Linux user from the shared environment (grading/hosting/hub.py: HUB_ENV).
- Students' servers run without nbgrader's instructor extensions (formgrader, Create
  Assignment, course list): neither their server parts (``jpserver_extensions``) nor their
  JupyterLab parts, so a student's Nbgrader menu has only Assignment List (hub/student-config/,
  installed in HUB_ENV by hub-setup, is on their JUPYTER_CONFIG_PATH). The instructor's server
  has them. What a student can read is decided by file permissions, not by which extensions
  run (tests/browser/test_hub.py: the isolation tests).
- The formgrader in the instructor's JupyterLab: JupyterHub >= 4.1 gives every single-user
  page ``Content-Security-Policy: frame-ancestors 'none'``, which blocks the formgrader's iframe
  (nbgrader#1870). The course's nbgrader_config.py installs grading/pages/formgrader_csp.py in the
  instructor's server, which replaces that header on the formgrader's own pages only
  (``frame-ancestors 'self'`` and a strict script policy); every other page keeps JupyterHub's.
"""
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from grading.hosting.hub import HUB_ENV, PROXY, STUDENT_CONFIG, HubLayout  # noqa: E402

c = get_config()  # noqa: F821

layout = HubLayout.load(os.environ.get("COURSE_HUB_LAYOUT", HubLayout().layout_file))
state = Path(layout.state)

c.JupyterHub.bind_url = f"http://127.0.0.1:{layout.port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = layout.port + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{layout.port + 2}"
c.ConfigurableHTTPProxy.command = [str(PROXY)]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
# State kept across a restart: users, their servers' records, the cookie secret (logins survive)
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

c.Authenticator.allowed_users = set(layout.users)
c.Authenticator.admin_users = set()  # nobody may open another user's server

c.Spawner.cmd = [str(HUB_ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 90  # a first spawn on a busy 2-core machine took 13 s
c.Spawner.start_timeout = 120
# the exchange every server uses (HUB_ENV's etc/jupyter/nbgrader_config.py reads this override)
c.Spawner.environment = {"NBGRADER_EXCHANGE_ROOT": layout.exchange}

_INSTRUCTOR_ONLY = ["nbgrader.server_extensions.formgrader",
                    "nbgrader.server_extensions.course_list"]


def pre_spawn_hook(spawner):
    if spawner.user.name != layout.instructor:
        spawner.args = [*spawner.args,
                        *(f"--ServerApp.jpserver_extensions={name}=False" for name in _INSTRUCTOR_ONLY)]
        # labconfig/page_config.json there: JupyterLab leaves the instructor's plugins out
        spawner.environment = {**spawner.environment, "JUPYTER_CONFIG_PATH": str(STUDENT_CONFIG)}


c.Spawner.pre_spawn_hook = pre_spawn_hook

# LTI 1.3 instead of PAM (docs/lti.md): when the course's nbgrader_config.py sets c.Lti.enabled,
# users arrive from the LMS (grading/hosting/lti_hub.py: the launch verified by jupyterhub-ltiauthenticator,
# accounts made at a student's first launch, instructors and TAs on the instructor's server).
from grading.course import load_config  # noqa: E402
from grading.hosting.lti import Lti  # noqa: E402

_lti = Lti(config=load_config(layout.course_dir))
if _lti.enabled:
    from grading.hosting.lti_hub import configure as _configure_lti
    _configure_lti(c, layout, _lti, student_hook=pre_spawn_hook)
