"""A small LTI 1.3 Advantage platform on loopback, written against the specifications, for the tests.

It does what an LMS does for a tool, over real HTTP, and checks every request the tool makes:

- launches: ``/launch?user=SUB`` sends the browser to the tool's login initiation URL (OIDC
  third-party login); ``/authorize`` checks the authentication request (response type, scope,
  mode, prompt, client id, the registered redirect URI, the login hint) and answers with a page
  that posts a signed ``id_token`` (RS256, the platform's key, its JWKS at ``/jwks``) and the
  tool's ``state`` to the tool's redirect URI. ``tamper`` changes the next id_token (claims, or a
  key the platform does not publish) to try forged, expired and wrong-audience launches.
- ``/token``: the client-credentials grant with a JWT assertion (RFC 7523, as LTI's security
  framework requires): grant and assertion types, the assertion's signature against the tool's
  JWKS (fetched from the tool, as a platform does), iss = sub = client id, aud = this URL, exp,
  a jti never seen before, and the requested scopes within the registered ones.
- ``/lineitems`` (GET by tag, POST to create), ``/lineitems/ID`` and ``/lineitems/ID/scores``
  (Assignment and Grade Services 2.0) and ``/memberships`` (Names and Role Provisioning 2.0):
  bearer token and scope, the exact media types (Accept, Content-Type), and each score's body
  (userId a member, numbers, the progress vocabularies, ISO timestamps, a score older than the
  last one refused as the spec allows).

Anything wrong is answered 400/401/403/415 and recorded in ``problems``; ``gradebook`` holds each
line item's latest score per user, ``scores`` every score received. ``fail`` makes the next
requests to a path answer a given status, to try a platform that errs.
"""
import base64
import html
import json
import threading
import time
import urllib.parse
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from grading.hosting import lti

CLIENT_ID = "tool-client-1"
DEPLOYMENT = "deployment-1"
CONTEXT = {"id": "course-42", "label": "ML101", "title": "Machine learning, conceptual questions"}
INSTRUCTOR = f"{lti.MEMBERSHIP}#Instructor"
TA = f"{lti.MEMBERSHIP}/Instructor#TeachingAssistant"
LEARNER = f"{lti.MEMBERSHIP}#Learner"
ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}
SCOPES = {lti.SCOPE_LINEITEM, lti.SCOPE_SCORE, lti.SCOPE_MEMBERS,
          "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
          "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"}


def _b64(n):
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


class Platform:
    """One course on a platform, with its members; ``start()`` serves it on 127.0.0.1."""

    def __init__(self, members, tool_login_url="", tool_redirect_url="", tool_jwks=None,
                 declarative_lineitem=False, page_size=100):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "platform-key-1"
        self.members = members  # {sub: {"name", "email", "roles", "status"?}}
        self.tool_login_url, self.tool_redirect_url = tool_login_url, tool_redirect_url
        self.tool_jwks = tool_jwks  # a URL (fetched per token request) or a JWKS dict
        self.page_size = page_size
        self.problems, self.scores, self.requests, self.tokens = [], [], [], {}
        self.gradebook, self.lineitems, self.jtis, self.faults = {}, {}, set(), {}
        self.tamper = None
        self.lock = threading.Lock()
        self.declarative = declarative_lineitem
        self.server = None

    # ------------------------------------------------------------------ serving
    def start(self):
        platform = self

        class Handler(_Handler):
            pass
        Handler.platform = platform
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.declarative:
            self._new_lineitem({"label": "Conceptual questions", "scoreMaximum": 100,
                                "resourceLinkId": "link-1"})
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def issuer(self):
        return self.url

    def settings(self):
        """The c.Lti.* a tool registered with this platform is configured with."""
        return {"issuer": self.issuer, "client_id": CLIENT_ID, "deployment_ids": [DEPLOYMENT],
                "authorize_url": f"{self.url}/authorize", "jwks_url": f"{self.url}/jwks",
                "token_url": f"{self.url}/token"}

    def jwks(self):
        n = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig",
                          "n": _b64(n.n), "e": _b64(n.e)}]}

    def fail(self, path, status, times=1):
        """The next ``times`` requests whose path starts with ``path`` answer ``status``."""
        self.faults[path] = [status] * times

    def problem(self, text):
        with self.lock:
            self.problems.append(text)

    # ------------------------------------------------------------------ launches
    def launch_url(self, sub, target):
        return f"{self.url}/launch?" + urllib.parse.urlencode({"user": sub, "target": target})

    def id_token(self, sub, nonce, target):
        member = self.members[sub]
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": CLIENT_ID, "sub": sub, "iat": now, "exp": now + 300, "nonce": nonce,
            "name": member["name"], "email": member["email"],
            lti.LTI + "message_type": "LtiResourceLinkRequest", lti.LTI + "version": "1.3.0",
            lti.LTI + "deployment_id": DEPLOYMENT, lti.LTI + "target_link_uri": target,
            lti.LTI + "resource_link": {"id": "link-1", "title": "Conceptual questions"},
            lti.LTI + "roles": member["roles"], lti.LTI + "context": CONTEXT,
            lti.LTI + "custom": {"login": member.get("login", "")},
            lti.AGS_CLAIM: {"scope": sorted(SCOPES - {lti.SCOPE_MEMBERS}), "lineitems": f"{self.url}/lineitems",
                            **({"lineitem": next(iter(self.lineitems))} if self.declarative else {})},
            lti.NRPS_CLAIM: {"context_memberships_url": f"{self.url}/memberships", "service_versions": ["2.0"]},
        }
        key, kid = self.key, self.kid
        tamper, self.tamper = self.tamper, None
        if tamper:
            claims.update(tamper.get("claims", {}))
            if tamper.get("foreign_key"):
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    # ------------------------------------------------------------------ services
    def check_token(self, headers, scope):
        auth = headers.get("Authorization", "")
        token = self.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if token is None:
            return 401, "no valid bearer token"
        if scope not in token:
            return 403, f"the token lacks the scope {scope}"
        return None

    def grant(self, form):
        """The client-credentials grant (RFC 7523 assertion); (status, body)."""
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_assertion_type") != lti.ASSERTION_TYPE:
            return 400, {"error": "invalid_request", "error_description": "client_assertion_type"}
        try:
            keyset = self.tool_jwks if isinstance(self.tool_jwks, dict) else json.load(
                urllib.request.urlopen(self.tool_jwks, timeout=10))
            header = jwt.get_unverified_header(form.get("client_assertion", ""))
            jwk = next(k for k in keyset["keys"] if k["kid"] == header.get("kid"))
            claims = jwt.decode(form["client_assertion"], jwt.PyJWK(jwk).key, algorithms=["RS256"],
                                audience=f"{self.url}/token", issuer=CLIENT_ID,
                                options={"require": ["exp", "iat", "jti", "sub"]})
        except (StopIteration, jwt.PyJWTError, KeyError, OSError, ValueError) as err:
            self.problem(f"token: bad assertion: {err!r}")
            return 401, {"error": "invalid_client", "error_description": str(err)}
        if claims["sub"] != CLIENT_ID or claims["jti"] in self.jtis:
            self.problem(f"token: sub {claims['sub']!r} or a replayed jti")
            return 401, {"error": "invalid_client"}
        self.jtis.add(claims["jti"])
        scopes = set(form.get("scope", "").split())
        if not scopes or not scopes <= SCOPES:
            self.problem(f"token: scopes {scopes - SCOPES}")
            return 400, {"error": "invalid_scope"}
        token = uuid.uuid4().hex
        self.tokens[token] = scopes
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": " ".join(scopes)}

    def _new_lineitem(self, body):
        item_id = f"{self.url}/lineitems/{len(self.lineitems) + 1}"
        self.lineitems[item_id] = {**body, "id": item_id}
        self.gradebook[item_id] = {}
        return self.lineitems[item_id]

    def check_score(self, item_id, body):
        """None, or the reason a score is refused (AGS 2.0, 3.4)."""
        if set(body) - {"userId", "scoreGiven", "scoreMaximum", "activityProgress", "gradingProgress",
                        "timestamp", "comment", "submission"}:
            return f"unknown fields {sorted(set(body))}"
        if body.get("userId") not in self.members:
            return f"userId {body.get('userId')!r} is not a member"
        if body.get("activityProgress") not in ACTIVITY or body.get("gradingProgress") not in GRADING:
            return "activityProgress or gradingProgress outside the vocabulary"
        given, maximum = body.get("scoreGiven"), body.get("scoreMaximum")
        if given is not None and not (isinstance(given, (int, float)) and isinstance(maximum, (int, float))
                                      and maximum > 0 and given >= 0):
            return "scoreGiven needs a scoreMaximum above 0, both numbers"
        try:
            stamp = datetime.fromisoformat(body["timestamp"])
            if "submission" in body:
                datetime.fromisoformat(body["submission"]["submittedAt"])
        except (KeyError, TypeError, ValueError) as err:
            return f"timestamp or submission.submittedAt not ISO 8601: {err!r}"
        last = self.gradebook[item_id].get(body["userId"])
        if last and datetime.fromisoformat(last["timestamp"]) >= stamp:
            return "a score older than the last one"
        return None


class _Handler(BaseHTTPRequestHandler):
    platform = None

    def log_message(self, *args):
        pass

    def _reply(self, status, body=None, content_type="application/json", headers=()):
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
        self.send_response(status)
        if data:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, path):
        p = self.platform
        with p.lock:
            for prefix, statuses in p.faults.items():
                if path.startswith(prefix) and statuses:
                    return statuses.pop(0)
        return None

    def _body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def _route(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        body = self._body() if method == "POST" else b""
        p = self.platform
        with p.lock:
            p.requests.append((method, url.path, dict(self.headers), body))
        status = self._fault(url.path)
        if status:
            return self._reply(status, {"error": "injected"})
        routes = {("GET", "/jwks"): self._jwks, ("GET", "/launch"): self._launch,
                  ("GET", "/authorize"): self._authorize, ("POST", "/authorize"): self._authorize,
                  ("POST", "/token"): self._token, ("GET", "/memberships"): self._memberships,
                  ("GET", "/lineitems"): self._lineitems, ("POST", "/lineitems"): self._create}
        if (method, url.path) in routes:
            return routes[(method, url.path)](query, body)
        if method == "POST" and url.path.startswith("/lineitems/") and url.path.endswith("/scores"):
            return self._score(p.url + url.path.removesuffix("/scores"), body)
        if method == "GET" and url.path.startswith("/lineitems/"):
            return self._lineitem(p.url + url.path)
        self._reply(404, {"error": "not found"})

    def _jwks(self, query, body):
        self._reply(200, self.platform.jwks())

    def _launch(self, query, body):
        p = self.platform
        params = {"iss": p.issuer, "login_hint": query["user"], "target_link_uri": query["target"],
                  "lti_message_hint": "link-1", "client_id": CLIENT_ID, "lti_deployment_id": DEPLOYMENT}
        self._reply(302, headers=[("Location", p.tool_login_url + "?" + urllib.parse.urlencode(params))])

    def _authorize(self, query, body):
        p = self.platform
        args = {**query, **dict(urllib.parse.parse_qsl(body.decode()))}
        expected = {"response_type": "id_token", "scope": "openid", "response_mode": "form_post",
                    "prompt": "none", "client_id": CLIENT_ID, "redirect_uri": p.tool_redirect_url,
                    "lti_message_hint": "link-1"}
        wrong = {k: args.get(k) for k, v in expected.items() if args.get(k) != v}
        if wrong or args.get("login_hint") not in p.members or not args.get("nonce") or not args.get("state"):
            p.problem(f"authorize: {wrong} login_hint={args.get('login_hint')!r}")
            return self._reply(400, {"error": "invalid_request", "wrong": wrong})
        token = p.id_token(args["login_hint"], args["nonce"], p.tool_redirect_url)
        page = (f'<html><body><form id="launch" method="post" action="{html.escape(p.tool_redirect_url)}">'
                f'<input type="hidden" name="id_token" value="{html.escape(token)}">'
                f'<input type="hidden" name="state" value="{html.escape(args["state"])}"></form>'
                '<script>document.getElementById("launch").submit()</script></body></html>')
        self._reply(200, page.encode(), "text/html")

    def _token(self, query, body):
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            self.platform.problem("token: not a form")
            return self._reply(415, {"error": "invalid_request"})
        status, answer = self.platform.grant(dict(urllib.parse.parse_qsl(body.decode())))
        self._reply(status, answer)

    def _guard(self, scope, accept=None, content_type=None):
        p = self.platform
        denied = p.check_token(self.headers, scope)
        if denied:
            p.problem(f"{self.path}: {denied[1]}")
            self._reply(denied[0], {"error": denied[1]})
            return False
        if accept and self.headers.get("Accept") != accept:
            p.problem(f"{self.path}: Accept {self.headers.get('Accept')!r}, not {accept}")
            self._reply(406, {"error": "not acceptable"})
            return False
        if content_type and self.headers.get("Content-Type") != content_type:
            p.problem(f"{self.path}: Content-Type {self.headers.get('Content-Type')!r}, not {content_type}")
            self._reply(415, {"error": "unsupported media type"})
            return False
        return True

    def _memberships(self, query, body):
        p = self.platform
        if not self._guard(lti.SCOPE_MEMBERS, accept=lti.MEMBERS_TYPE):
            return
        everyone = sorted(p.members.items())
        start = int(query.get("page", 0)) * p.page_size
        page = [{"user_id": sub, "name": m["name"], "email": m["email"], "status": m.get("status", "Active"),
                 "roles": m["roles"]} for sub, m in everyone[start:start + p.page_size]]
        headers = []
        if start + p.page_size < len(everyone):
            headers.append(("Link", f'<{p.url}/memberships?page={int(query.get("page", 0)) + 1}>; rel="next"'))
        self._reply(200, {"id": f"{p.url}/memberships", "context": CONTEXT, "members": page},
                    lti.MEMBERS_TYPE, headers)

    def _lineitems(self, query, body):
        if not self._guard(lti.SCOPE_LINEITEM, accept=lti.LINEITEMS_TYPE):
            return
        items = [i for i in self.platform.lineitems.values() if "tag" not in query or i.get("tag") == query["tag"]]
        self._reply(200, items, lti.LINEITEMS_TYPE)

    def _lineitem(self, item_id):
        if not self._guard(lti.SCOPE_LINEITEM, accept=lti.LINEITEM_TYPE):
            return
        item = self.platform.lineitems.get(item_id)
        self._reply(200 if item else 404, item or {"error": "no such line item"}, lti.LINEITEM_TYPE)

    def _create(self, query, body):
        if not self._guard(lti.SCOPE_LINEITEM, accept=lti.LINEITEM_TYPE, content_type=lti.LINEITEM_TYPE):
            return
        item = json.loads(body)
        if not (isinstance(item.get("scoreMaximum"), (int, float)) and item["scoreMaximum"] > 0 and item.get("label")):
            self.platform.problem(f"lineitem: {item}")
            return self._reply(400, {"error": "a line item needs a label and a scoreMaximum above 0"})
        with self.platform.lock:
            made = self.platform._new_lineitem(item)
        self._reply(201, made, lti.LINEITEM_TYPE)

    def _score(self, item_id, body):
        p = self.platform
        if not self._guard(lti.SCOPE_SCORE, content_type=lti.SCORE_TYPE):
            return
        if item_id not in p.lineitems:
            return self._reply(404, {"error": "no such line item"})
        try:
            score = json.loads(body)
        except ValueError:
            p.problem("score: not JSON")
            return self._reply(400, {"error": "not JSON"})
        with p.lock:
            reason = p.check_score(item_id, score)
            if reason:
                p.problems.append(f"score: {reason}")
                return self._reply(400, {"error": reason})
            p.scores.append((item_id, score))
            p.gradebook[item_id][score["userId"]] = score
        self._reply(200, {})

