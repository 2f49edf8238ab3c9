"""The hub's side of LTI 1.3 (docs/lti.md): hub/jupyterhub_config.py calls ``configure`` when the
course's ``c.Lti.enabled`` is set; otherwise the hub logs in with PAM as before.

jupyterhub-ltiauthenticator does the launch: OIDC login initiation (``/hub/lti13/oauth_login``),
the authentication request to the platform with a state and a nonce kept in encrypted cookies,
and at ``/hub/lti13/oauth_callback`` the id_token's signature against the platform's JWKS, its
issuer, audience, expiry and age, the LTI claims, the state and the nonce (a replayed id_token
has no cookie matching its nonce). On top of it, here:

- a refused launch (forged, expired, replayed, for another client, from a deployment or an
  LMS course not listed) gets a page that says so and what to do, and a line in the hub's log with the reason;
- the username is ``grading.hosting.lti.hub_username`` of the configured claim; a student's Linux
  account is made at their first verified launch (the hub runs as root, as PAM's hub does);
- the course roles of the launch decide the server: instructors and TAs get the instructor's
  server (it runs as the course's instructor account: its course root, gradebook and
  formgrader), students a student's server as their own account;
- every verified launch is recorded (``grading.hosting.lti.record_launch``) for passback;
- the tool's public key at ``/hub/lti13/jwks`` (the platform checks the tool's signed token
  requests with it).
"""
from __future__ import annotations

import json
import pwd
import typing

from jupyterhub.handlers import BaseHandler
from jupyterhub.spawner import LocalProcessSpawner
from ltiauthenticator.lti13.auth import LTI13Authenticator
from ltiauthenticator.lti13.error import LoginError
from ltiauthenticator.lti13.handlers import LTI13CallbackHandler, LTI13LoginInitHandler
from tornado.web import HTTPError
from traitlets import Any, Unicode

from grading.hosting import lti

if typing.TYPE_CHECKING:
    from traitlets.config import Config

    from grading.hosting.hub import HubLayout

REFUSED = ("This launch from the LMS was refused: {reason}. Open the assignment again from your "
           "course in the LMS; if this page comes back, tell your instructor.")


def _refuse(handler: BaseHandler, err: HTTPError) -> HTTPError:
    reason = (err.log_message % err.args if err.args else err.log_message) if err.log_message else err.reason
    handler.log.warning("LTI launch refused (%s %s from %s): %s", handler.request.method, handler.request.path,
                        handler.request.remote_ip, reason)
    return HTTPError(err.status_code, "%s", REFUSED.format(reason=reason or "not a valid launch"))


class LoginInitHandler(LTI13LoginInitHandler):
    def post(self) -> typing.Any:
        try:
            return super().post()
        except HTTPError as err:
            raise _refuse(self, err) from None

    get = post


class CallbackHandler(LTI13CallbackHandler):
    async def post(self) -> None:
        try:
            await super().post()
        except HTTPError as err:
            raise _refuse(self, err) from None


class JwksHandler(BaseHandler):
    """The tool's public key set (no login: the platform reads it)."""

    def initialize(self, state: str) -> None:
        self.state = state

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(lti.jwks(self.state)))


def _check_origin(settings: lti.Lti, data: dict[str, typing.Any]) -> None:
    """LoginError unless the launch comes from a deployment and a course this hub accepts."""
    deployment = data.get(lti.LTI + "deployment_id")
    if settings.deployment_ids and deployment not in settings.deployment_ids:
        raise LoginError(f"deployment {deployment!r} of the tool is not one this hub accepts")
    context = (data.get(lti.LTI + "context") or {}).get("id")
    if settings.context_ids and context not in settings.context_ids:
        raise LoginError(f"the course {context!r} in the LMS is not this hub's course")


class CourseLtiAuthenticator(LTI13Authenticator):
    """The hub's LTI 1.3 login for the course (docs/lti.md); ``configure`` sets its options."""

    login_handler = LoginInitHandler
    callback_handler = CallbackHandler
    course_lti = Any(help="The course's grading.hosting.lti.Lti (its c.Lti.* options), "
                          "set by ``configure``.").tag(config=True)
    state = Unicode(help="The hub's state folder (launch records, the tool's key), set by ``configure`` "
                         "from the hub's layout.").tag(config=True)

    def get_handlers(self, app: typing.Any) -> list[tuple[typing.Any, ...]]:
        return [*super().get_handlers(app), (r"/lti13/jwks", JwksHandler, {"state": self.state})]

    async def authenticate(self, handler: BaseHandler,
                           data: dict[str, typing.Any] | None = None) -> dict[str, typing.Any]:
        data = data or {}
        settings = self.course_lti
        _check_origin(settings, data)
        value = lti.claim_value(data, settings.username_claim)
        if not value:
            raise LoginError(f"the launch carries no {settings.username_claim!r} to name the user by")
        name = lti.hub_username(value, settings.username_prefix)
        record = lti.record_launch(self.state, name, data)
        if not record["staff"]:
            from grading.hosting.hub import _account
            try:
                _account(name)
            except Exception as err:  # noqa: BLE001 (useradd's failure, whatever it is, refuses the login)
                raise LoginError(f"no account could be made for {name}: {err}") from None
        self.log.info("LTI launch of %s (%s, %s) from %s", name, "staff" if record["staff"] else "student",
                      record["context"].get("id"), data.get("iss"))
        return {"name": name, "auth_state": data}


class CourseSpawner(LocalProcessSpawner):
    """LocalProcessSpawner that may run a hub user's server as another Linux account
    (``system_user``): staff from the LMS run the instructor's."""
    system_user = Unicode("")

    def _account(self) -> str:
        return self.system_user or self.user.name

    def make_preexec_fn(self, name: str) -> typing.Callable[[], None]:
        return super().make_preexec_fn(self._account())

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        entry = pwd.getpwnam(self._account())
        env.update(USER=entry.pw_name, HOME=entry.pw_dir, SHELL=entry.pw_shell or "/bin/bash")
        return env


def configure(c: Config, layout: HubLayout, settings: lti.Lti,
              student_hook: typing.Callable[[typing.Any], None]) -> None:
    """LTI login on the hub ``c`` configures; ``student_hook`` is the hub's pre-spawn hook for a
    student's server."""
    c.JupyterHub.authenticator_class = CourseLtiAuthenticator
    c.CourseLtiAuthenticator.course_lti = settings
    c.CourseLtiAuthenticator.state = str(layout.state)
    c.LTI13Authenticator.issuer = settings.issuer
    c.LTI13Authenticator.client_id = {settings.client_id}
    c.LTI13Authenticator.authorize_url = settings.authorize_url
    c.LTI13Authenticator.jwks_endpoint = settings.jwks_url
    c.LTI13Authenticator.username_key = settings.username_claim
    c.Authenticator.allow_all = True  # every verified launch of this registration (accounts come from it)
    c.Authenticator.allowed_users = set()
    c.JupyterHub.spawner_class = CourseSpawner
    if settings.cross_site_cookies:
        c.JupyterHub.tornado_settings = {"cookie_options": {"samesite": "None", "secure": True}}

    def pre_spawn_hook(spawner: CourseSpawner) -> None:
        record = lti.launches(layout.state).get(spawner.user.name, {})
        if record.get("staff"):
            spawner.system_user = layout.instructor
        else:
            spawner.system_user = spawner.user.name
            student_hook(spawner)

    c.Spawner.pre_spawn_hook = pre_spawn_hook
