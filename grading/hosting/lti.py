"""LTI 1.3 for the course's hub (docs/lti.md): students and staff arrive from the LMS, grades go back.

The hub's side of a launch (verifying it, accounts, roles) is grading/hosting/lti_hub.py, on top of
jupyterhub-ltiauthenticator. This module holds what both sides share and the passback:

- ``Lti``: the settings (``c.Lti.*`` in the course's nbgrader_config.py): the platform's
  registration (issuer, client id, deployments, its endpoints), the claim that names a user, how
  passback retries.
- the tool's key: an RSA key pair made by the hub's set-up and kept with the hub's state
  (``<state>/lti/tool-key.pem``, root only; never in the course or in git). The hub publishes
  its public half as a JWKS (``/hub/lti13/jwks``), which the platform reads to check the tool's
  signed requests.
- who applies the late penalty is the course's one setting, ``c.LatePenalty.applied_by``
  (grading/settings.py, shared with the LMS grades files): passback sends what it says.
- ``hub_username``: the hub's (and Linux's, and the gradebook's) name for a platform user, from
  the configured claim: ``<prefix><value>`` when the value is a short lower-case name, else
  ``<prefix>`` and a hash of it. Two platform users never get one name, and no platform user
  gets the name of an account the set-up did not make for LTI (the prefix).
- the launch records (``<state>/lti/launches.json``): what each user's latest verified launch
  said (their platform id, roles, the course, the grade and roster services' URLs). The hub
  writes them; passback reads them to find the services and to match its users to members.
- ``passback``: Assignment and Grade Services. A client-credentials token (a JWT signed with the
  tool's key, PyJWT), the assignment's line item (the platform's declarative one from the launch,
  else found by tag or created), the course's members (Names and Role Provisioning), and one score
  per gradebook student matched to a member: ``scoreGiven``/``scoreMaximum``,
  ``activityProgress``, ``gradingProgress`` (``PendingManual`` while a written answer awaits
  grading, ``FullyGraded`` after) and ``submission.submittedAt``. What was acknowledged is kept
  (``<state>/lti/passback.jsonl``): a second run sends only what changed. A request that fails
  on the network, 429 or 5xx is retried with backoff; a 4xx names the student and the platform's
  answer. Nothing in the gradebook changes: a failed run is simply run again.

    python -m grading.hosting.lti keys              make the tool's key (the set-up does) and print its JWKS
    python -m grading.hosting.lti passback          post the class's scores to the LMS (as root, like grading)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from traitlets import Bool, Float, Int, List, Unicode
from traitlets.config import Configurable

from grading.course import ASSIGNMENT
from grading.hosting.hub import HubLayout
from grading.hosting.lti_keys import ensure_key, jwks, key_dir, load_key, public_jwk

if TYPE_CHECKING:
    from grading.step.late_penalty import AppliedBy

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_MEMBERS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
MEMBERS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"
STAFF = {"Instructor", "Administrator", "ContentDeveloper"}  # and every sub-role of Instructor (TAs)


class Lti(Configurable):
    """LTI 1.3 login and grade passback (docs/lti.md: registering the tool in Canvas or Moodle)."""

    enabled = Bool(False, help=(
        "Log users in through LTI 1.3 launches from the LMS instead of the machine's passwords "
        "(PAM). The hub reads it at start (hub/jupyterhub_config.py).")).tag(config=True)
    issuer = Unicode("", help="The platform's issuer (Canvas: https://canvas.instructure.com; "
                              "Moodle: the site's URL).").tag(config=True)
    client_id = Unicode("", help="The client id the platform gave the tool.").tag(config=True)
    deployment_ids = List(Unicode(), help=(
        "Deployment ids of the tool the hub accepts launches from; empty: any of this client "
        "id.")).tag(config=True)
    context_ids = List(Unicode(), help=(
        "LMS course ids (the launch's context id) the hub accepts launches from; empty: any course "
        "the tool is installed in (a tool installed for a whole Canvas account is in every "
        "course).")).tag(config=True)
    authorize_url = Unicode("", help="The platform's OIDC authorization end-point.").tag(config=True)
    jwks_url = Unicode("", help="The platform's public keyset URL (checks launches).").tag(config=True)
    token_url = Unicode("", help="The platform's OAuth 2 access token URL (passback).").tag(config=True)
    token_audience = Unicode("", help="The 'aud' of the tool's token request; empty: "
                                      "token_url.").tag(config=True)
    username_claim = Unicode("sub", help=(
        "The launch claim that names a user: 'sub' (the platform's stable id), 'email', or "
        "'custom_NAME' for a custom parameter NAME.")).tag(config=True)
    username_prefix = Unicode("lti-", help=(
        "Every hub user (and Linux account) made from a launch starts with it.")).tag(config=True)
    lineitems_url = Unicode("", help="The course's line items URL; empty: from the launches.").tag(config=True)
    memberships_url = Unicode("", help="The course's memberships URL (Names and Role Provisioning); "
                                       "empty: from the launches.").tag(config=True)
    lineitem_label = Unicode("", help="A created line item's label (its column in the LMS); empty: "
                                      "the assignment's name.").tag(config=True)
    retries = Int(4, help="Times a request is tried again after a network error, 429 or 5xx.").tag(config=True)
    backoff = Float(1.0, help="Seconds before the first retry; doubled each time.").tag(config=True)
    timeout = Float(30.0, help="Seconds one request may take.").tag(config=True)
    cross_site_cookies = Bool(False, help=(
        "Give the hub's cookies SameSite=None; Secure, so a browser sends the launch's state cookie "
        "with the LMS's cross-site POST. Needed when the LMS is another site than the hub (any real "
        "deployment; the hub must then be served over HTTPS).")).tag(config=True)


# ----------------------------------------------------------------------------- users
SAFE_VALUE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def hub_username(value: object, prefix: str = "lti-") -> str:
    """The hub's and Linux's name for a platform user's claim value (at most 32 characters)."""
    value = str(value).strip()
    if not value:
        raise ValueError("an empty user id")
    name = prefix + value
    if SAFE_VALUE.match(value) and len(name) <= 32:
        return name
    return prefix + hashlib.sha256(value.encode()).hexdigest()[:max(8, min(20, 32 - len(prefix)))]


def claim_value(token: dict[str, Any], claim: str) -> Any:
    """The value of the configured claim in a launch (``custom_NAME``: the custom parameter)."""
    if claim.startswith("custom_"):
        return (token.get(LTI + "custom") or {}).get(claim[len("custom_"):])
    return token.get(claim)


def is_staff(roles: Iterable[object] | None) -> bool:
    """Instructors, TAs (sub-roles of Instructor), content developers and course administrators of
    the course (context roles; an institution's instructor who is a learner here is a student)."""
    for role in roles or ():
        role = str(role)
        if role in STAFF or role == "TeachingAssistant":  # NRPS's short names
            return True
        if role.startswith(MEMBERSHIP + "#") and role.split("#", 1)[1] in STAFF:
            return True
        if role.startswith(MEMBERSHIP + "/Instructor#"):
            return True
    return False


def launch_record(token: dict[str, Any]) -> dict[str, Any]:
    """What passback and the spawner need from a verified launch (no signature, no nonce)."""
    context = token.get(LTI + "context") or {}
    return {
        "sub": token.get("sub"), "iss": token.get("iss"),
        "deployment_id": token.get(LTI + "deployment_id"),
        "roles": list(token.get(LTI + "roles") or []),
        "staff": is_staff(token.get(LTI + "roles")),
        "name": token.get("name", ""), "email": token.get("email", ""),
        "context": {k: context.get(k) for k in ("id", "label", "title")},
        "resource_link": (token.get(LTI + "resource_link") or {}).get("id"),
        "ags": token.get(AGS_CLAIM) or {},
        "nrps": (token.get(NRPS_CLAIM) or {}).get("context_memberships_url"),
        "at": time.time(),
    }


def _write_json(path: str | Path, data: object) -> None:
    tmp = Path(f"{path}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text()) if Path(path).exists() else {}


def launches_file(state: str | Path) -> Path:
    return key_dir(state) / "launches.json"


def record_launch(state: str | Path, username: str, token: dict[str, Any]) -> dict[str, Any]:
    key_dir(state).mkdir(parents=True, exist_ok=True)
    records = _read_json(launches_file(state))
    records[username] = launch_record(token)
    _write_json(launches_file(state), records)
    return records[username]


def launches(state: str | Path) -> dict[str, dict[str, Any]]:
    return _read_json(launches_file(state))


# ----------------------------------------------------------------------------- platform client
# how the assignment's line item was found: named by the launch, found by its tag, or made here
LineitemKind = Literal["declarative", "found", "created"]
# why a gradebook student gets no score (the Summary's field that lists them)
NoScore = Literal["not_in_lms", "staff_skipped", "no_submission"]


class PlatformError(Exception):
    """A request the platform refused or never answered (after the retries)."""


class PlatformClient:
    """The tool's requests to the platform's services, with a client-credentials token."""

    def __init__(self, lti: Lti, key: Any, sleep: Callable[[float], object] = time.sleep) -> None:
        self.lti, self.key, self.sleep = lti, key, sleep
        self.token: str | None = None

    def assertion(self) -> str:
        import jwt
        now = int(time.time())
        claims = {"iss": self.lti.client_id, "sub": self.lti.client_id,
                  "aud": self.lti.token_audience or self.lti.token_url,
                  "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": public_jwk(self.key)["kid"]})

    def authorize(self, scopes: Iterable[str]) -> Any:
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                                       "client_assertion": self.assertion(), "scope": " ".join(scopes)}).encode()
        answer, _ = self._send("POST", self.lti.token_url, form, {"Content-Type": "application/x-www-form-urlencoded",
                                                                 "Accept": "application/json"})
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            raise PlatformError(f"the token end-point answered without an access_token: {str(answer)[:200]}")
        self.token = token
        return answer

    def request(self, method: str, url: str, body: object = None, content_type: str | None = None,
                accept: str | None = None) -> tuple[Any, Message]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        data = json.dumps(body).encode() if body is not None else None
        return self._send(method, url, data, headers)

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> tuple[Any, Message]:
        """(JSON answer or None, response headers); retried on the network, 429 and 5xx."""
        for attempt in range(self.lti.retries + 1):
            try:
                req = urllib.request.Request(url, data=data, headers=headers, method=method)
                with urllib.request.urlopen(req, timeout=self.lti.timeout) as resp:
                    raw = resp.read()
                    return (json.loads(raw) if raw.strip() else None), resp.headers
            except urllib.error.HTTPError as err:
                reason = f"{method} {url}: HTTP {err.code} {_excerpt(err.read())}"
                if err.code != 429 and err.code < 500:
                    raise PlatformError(reason) from None
            except (urllib.error.URLError, OSError, ValueError) as err:
                reason = f"{method} {url}: {getattr(err, 'reason', err)}"
            if attempt < self.lti.retries:
                self.sleep(self.lti.backoff * 2 ** attempt)
        raise PlatformError(f"{reason} (tried {self.lti.retries + 1} times)")

    def members(self, url: str | None) -> list[dict[str, Any]]:
        """Every member of the course (NRPS), following the container's ``next`` links."""
        found: list[dict[str, Any]] = []
        while url:
            answer, headers = self.request("GET", url, accept=MEMBERS_TYPE)
            found += (answer or {}).get("members", [])
            url = _next_link(headers.get("Link", ""))
        return found

    def lineitem(self, ags: dict[str, Any], resource_link: str | None, max_score: float,
                 label: str) -> tuple[str, LineitemKind]:
        """The assignment's line item URL: the launch's declarative one, else the container's item
        with this assignment's tag, else a new one (programmatic)."""
        if ags.get("lineitem"):
            return ags["lineitem"], "declarative"
        container = ags.get("lineitems")
        if not container:
            raise PlatformError("the launches name no line item and no line items URL: launch the tool from "
                                "the course's assignment once as an instructor, or set c.Lti.lineitems_url")
        items, _ = self.request("GET", _with_query(container, tag=ASSIGNMENT), accept=LINEITEMS_TYPE)
        for item in items or []:
            if item.get("tag") == ASSIGNMENT and item.get("id"):
                return item["id"], "found"
        body = {"scoreMaximum": max_score, "label": label, "tag": ASSIGNMENT, "resourceId": ASSIGNMENT}
        if resource_link:
            body["resourceLinkId"] = resource_link
        made, _ = self.request("POST", container, body, content_type=LINEITEM_TYPE, accept=LINEITEM_TYPE)
        if not (made or {}).get("id"):
            raise PlatformError(f"the platform made a line item without an id: {str(made)[:200]}")
        return made["id"], "created"

    def post_score(self, lineitem: str, score: dict[str, Any]) -> None:
        self.request("POST", scores_url(lineitem), score, content_type=SCORE_TYPE)


def _excerpt(raw: object) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return re.sub(r"\s+", " ", text)[:200]


def _next_link(header: str) -> str | None:
    for part in header.split(","):
        match = re.match(r'\s*<([^>]+)>\s*;.*rel="?next"?', part)
        if match:
            return match.group(1)
    return None


def _with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def scores_url(lineitem: str) -> str:
    """The line item's scores end-point: ``/scores`` after its path, its query kept (AGS 2.0)."""
    parts = urllib.parse.urlsplit(lineitem)
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


# ----------------------------------------------------------------------------- grades
@dataclass
class Grade:
    student: str
    score: float | None = None  # None: no submission
    max_score: float = 0.0
    pending_manual: bool = False
    submitted_at: str = ""

    def payload(self, user_id: str) -> dict[str, Any]:
        """The AGS score, without its timestamp (what makes two sends the same)."""
        assert self.score is not None, f"{self.student} has no submission: no score to send"
        score = {"userId": user_id, "scoreGiven": round(self.score, 2), "scoreMaximum": self.max_score,
                 "activityProgress": "Submitted" if self.pending_manual else "Completed",
                 "gradingProgress": "PendingManual" if self.pending_manual else "FullyGraded"}
        if self.submitted_at:  # nbgrader's timestamp of the graded submission (none: not known)
            score["submission"] = {"submittedAt": self.submitted_at}
        return score


def _iso(stamp: datetime | None) -> str:
    if stamp is None:
        return ""
    if stamp.tzinfo is None:  # nbgrader keeps UTC without a zone
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def gradebook_grades(db_url: str, applied_by: AppliedBy = "course") -> list[Grade]:
    """A Grade per gradebook student: the score as ``nbgrader export`` computes it (less the late
    penalty, at least 0) when the course applies the penalty, before it when the LMS does."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(db_url) as gb:
        max_score = gb.find_assignment(ASSIGNMENT).max_score
        grades = []
        for student in sorted(gb.students, key=lambda s: s.id):
            try:
                sub = gb.find_submission(ASSIGNMENT, student.id)
            except MissingEntry:
                grades.append(Grade(student.id, max_score=max_score))
                continue
            penalty = sub.late_submission_penalty if applied_by == "course" else 0.0
            grades.append(Grade(student.id, max(0.0, sub.score - penalty), max_score,
                                bool(sub.needs_manual_grade), _iso(sub.timestamp)))
        return grades


# ----------------------------------------------------------------------------- passback
_ANY_SUBMISSION = Grade("", 0.0)  # a submitted grade: _classify then says only who the member is
@dataclass
class Summary:
    lineitem: str = ""
    lineitem_kind: LineitemKind | Literal[""] = ""
    sent: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # {student: why}
    not_in_lms: dict[str, str] = field(default_factory=dict)  # {student: why}
    staff_skipped: list[str] = field(default_factory=list)
    no_submission: list[str] = field(default_factory=list)
    not_in_gradebook: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"line item: {self.lineitem} ({self.lineitem_kind})",
               f"sent: {len(self.sent)}" + (f" ({', '.join(self.sent)})" if self.sent else ""),
               f"unchanged since the last passback (not sent again): {len(self.unchanged)}"]
        out += [f"FAILED {s}: {reason} (nothing lost: run passback again)" for s, reason in self.failed.items()]
        out += [f"not in the LMS {s}: {reason}; not sent" for s, reason in self.not_in_lms.items()]
        if self.staff_skipped:
            out.append(f"staff, skipped: {', '.join(self.staff_skipped)}")
        if self.no_submission:
            out.append(f"no submission, nothing sent: {', '.join(self.no_submission)}")
        if self.not_in_gradebook:
            out.append(f"learners in the LMS not in the gradebook: {', '.join(self.not_in_gradebook)}")
        return out


def _latest(ordered: Iterable[dict[str, Any]], key: str) -> Any:
    return next((r[key] for r in ordered if r.get(key)), None)


def service_endpoints(lti: Lti, records: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], str | None, str]:
    """(AGS claim, resource link id, memberships URL): the settings', else the latest launch's (a
    staff member's first: they launch from the course's own assignment)."""
    ordered = sorted(records.values(), key=lambda r: (bool(r.get("staff")), r.get("at", 0)), reverse=True)
    with_ags = [r for r in ordered if r.get("ags")]
    ags = {"lineitems": lti.lineitems_url} if lti.lineitems_url else dict(_latest(with_ags, "ags") or {})
    memberships = lti.memberships_url or _latest(ordered, "nrps")
    if not memberships:
        raise PlatformError("no memberships URL: launch the tool once from the course, or set c.Lti.memberships_url")
    return ags, _latest(with_ags, "resource_link"), memberships


def match_members(lti: Lti, members: list[dict[str, Any]], records: dict[str, dict[str,
                  Any]]) -> dict[str, dict[str, Any]]:
    """{hub username: member} of the course's members: by the sub each user's launch carried,
    or by the username the configured claim gives (sub is NRPS's user_id, email its email)."""
    by_id = {m.get("user_id"): m for m in members if m.get("user_id")}
    matched: dict[str, dict[str, Any]] = {}
    for username, record in records.items():
        if record.get("sub") in by_id:
            matched[username] = by_id[record["sub"]]
    field_of = {"sub": "user_id", "email": "email"}.get(lti.username_claim)
    for member in members:
        value = member.get(field_of) if field_of else None
        if value:
            matched.setdefault(hub_username(value, lti.username_prefix), member)
    return matched


def _classify(grade: Grade, member: dict[str, Any] | None) -> tuple[NoScore | None, str | None]:
    """Why a gradebook student gets no score, or None to send one."""
    if member is None:
        return "not_in_lms", "no member of the LMS course has this hub user's platform id"
    if member.get("status", "Active") != "Active":
        return "not_in_lms", f"the LMS lists them as {member.get('status')}"
    if is_staff(member.get("roles")):
        return "staff_skipped", None
    if grade.score is None:
        return "no_submission", None
    return None, None


def passback(lti: Lti, state: str | Path, grades: list[Grade], force: bool = False,
             client: PlatformClient | None = None) -> Summary:
    """Send ``grades`` (gradebook_grades) to the LMS (see the module's docstring); a Summary."""
    client = client or PlatformClient(lti, load_key(state))
    records = launches(state)
    ags, link, memberships = service_endpoints(lti, records)
    client.authorize([SCOPE_LINEITEM, SCOPE_SCORE, SCOPE_MEMBERS])
    members = client.members(memberships)
    matched = match_members(lti, members, records)
    max_score = grades[0].max_score if grades else 0
    summary = Summary()
    summary.lineitem, summary.lineitem_kind = client.lineitem(ags, link, max_score, lti.lineitem_label or ASSIGNMENT)
    _send_class(client, summary, grades, matched, key_dir(state) / "passback.jsonl", force)
    gradebook = {g.student for g in grades}
    summary.not_in_gradebook = sorted(
        str(m.get("name") or m.get("user_id")) for u, m in matched.items()
        if u not in gradebook and _classify(_ANY_SUBMISSION, m)[0] is None)
    return summary


def _ledger(path: str | Path, lineitem: str) -> dict[str, Any]:
    """{member id: the score the platform last acknowledged} for ``lineitem``: the ledger is one
    JSON line per acknowledged score, appended, the latest line of a member counting (a line cut
    off by a crash is ignored: that score is sent again)."""
    sent: dict[str, Any] = {}
    if Path(path).exists():
        for line in Path(path).read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("lineitem") == lineitem:
                sent[entry["user_id"]] = entry["score"]
    return sent


def _send_class(client: PlatformClient, summary: Summary, grades: list[Grade], matched: dict[str, dict[str, Any]],
                ledger_path: str | Path, force: bool) -> None:
    """Each gradebook student's score to their member, or the reason not; each acknowledged score
    appended to the ledger at once."""
    sent_before = _ledger(ledger_path, summary.lineitem)
    fd = os.open(ledger_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as ledger:
        for grade in grades:
            member = matched.get(grade.student)
            why, reason = _classify(grade, member)
            if why is None:
                assert member is not None  # _classify: a member to send to
                if _send_one(client, summary, grade, member["user_id"], sent_before, force):
                    ledger.write(json.dumps({"lineitem": summary.lineitem, "user_id": member["user_id"],
                                             "score": sent_before[member["user_id"]]}) + "\n")
                    ledger.flush()
            elif why == "not_in_lms":
                summary.not_in_lms[grade.student] = reason or ""
            else:
                getattr(summary, why).append(grade.student)


def _send_one(client: PlatformClient, summary: Summary, grade: Grade, user_id: str, sent_before: dict[str, Any],
              force: bool) -> bool:
    payload = grade.payload(user_id)
    if not force and sent_before.get(user_id) == payload:
        summary.unchanged.append(grade.student)
        return False
    score = dict(payload, timestamp=datetime.now(timezone.utc).isoformat(timespec="microseconds"))
    try:
        client.post_score(summary.lineitem, score)
    except PlatformError as err:
        summary.failed[grade.student] = str(err)
        return False
    sent_before[user_id] = payload
    summary.sent.append(grade.student)
    return True


# ----------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grading.hosting.lti", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["keys", "passback"])
    parser.add_argument("--layout", help="a hub's layout.json (default: the default layout's)")
    parser.add_argument("--force", action="store_true", help="send every score again, changed or not")
    args = parser.parse_args(argv)
    layout = HubLayout.load(args.layout) if args.layout else HubLayout()
    if args.command == "keys":
        ensure_key(layout.state)
        print(json.dumps(jwks(layout.state), indent=1))
        return 0
    from grading.course import load_config
    config = load_config(layout.course_dir)
    lti = Lti(config=config)
    started = time.monotonic()
    try:
        from grading.settings import LatePenalty
        grades = gradebook_grades(config.CourseDirectory.db_url, LatePenalty(config=config).applied_by)
        summary = passback(lti, layout.state, grades, force=args.force)
    except PlatformError as err:
        print(f"passback stopped, nothing was sent after this: {err}\nThe gradebook is unchanged; "
              "run passback again once the LMS answers.", file=sys.stderr)
        return 1
    print("\n".join(summary.lines()))
    print(f"passback took {time.monotonic() - started:.1f} s")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
