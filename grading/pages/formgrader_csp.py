"""A Content-Security-Policy on every formgrader page: no script from student content runs.

The sanitizer (grading/pages/sanitize.py) keeps script out of the rendered submission; this policy is
the second wall if it ever misses something. On ``<base_url>/formgrader/...``:

    script-src  nbgrader's static files, the rubric's (grading/pages/rubric_server.py), and by hash
                exactly the inline scripts that nbgrader's own templates write (no
                'unsafe-inline', no 'unsafe-eval')
    connect-src 'self' (the formgrader's API), object-src/frame-src/base-uri 'none',
    form-action 'self', frame-ancestors 'self' (JupyterLab shows the formgrader in an iframe)

Its pages also get ``accessible_formgrader_page`` (a lang, readable colours, labels on the
grading fields: what axe-core found). And files a student submitted, served by the formgrader next to a submission
(``SubmissionFilesHandler``), additionally get ``sandbox``: an HTML file there opened by the
instructor runs in an opaque origin without scripts.

No page loads anything from off the server: nbconvert's MathJax (a CDN script, and an inline
``text/x-mathjax-config`` block) is cut out of every formgrader page (``without_mathjax``); the
math is MathML (grading/pages/sanitize.py), which shows without any script, online or not. The
submission page also gets the rubric's panel script (``with_rubric_panel``).

Hashes are computed, not pasted: each inline ``<script>`` in nbgrader's formgrader templates
becomes a pattern (its text, with every ``{{ ... }}`` inside a quoted JS string matching a value
that cannot leave the string). An inline script in a response is allowed (its sha256 listed in
the header) only if it is one of those. A script a student managed to smuggle in is not.

How it is switched on: the Jupyter server reads no configuration from the course root, but its
formgrader extension reads ``nbgrader_config.py`` there on start-up, and that file calls
``install()``. ``install()`` does nothing outside a running Jupyter server (nbgrader commands).
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import sys
from functools import lru_cache, partial
from typing import Any

# the value of a {{ }} placeholder: no quote, backslash, newline or "<" (it stays in its string)
_VALUE = r"""[^"'`\\<>\r\n\u2028\u2029]*"""
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_EXECUTABLE_TYPES = {"", "text/javascript", "application/javascript", "module"}
_HANDLER_ATTR = re.compile(r"""\son[a-z]+\s*=\s*"([^"{}]*)\"""", re.I)


def _script_type(attrs: str) -> str:
    m = re.search(r"""\btype\s*=\s*["']?([^"'\s>]+)""", attrs, re.I)
    return m.group(1).lower() if m else ""


def _template_pattern(body: str) -> re.Pattern[str] | None:
    """The regex a rendered copy of this template script body matches, or None if the body has
    Jinja logic or a placeholder outside a quoted string."""
    if "{%" in body or "{#" in body:
        return None
    parts: list[str] = []
    pos = 0
    for m in re.finditer(r"\{\{-?(.*?)-?\}\}", body, re.S):
        line_before = body[:m.start()].rsplit("\n", 1)[-1]
        line_after = body[m.end():].split("\n", 1)[0]
        # inside a double-quoted JS string: an odd number of quotes before it on its line
        if line_before.count('"') % 2 != 1 or '"' not in line_after or "'" in line_before + line_after:
            return None
        parts.append(re.escape(body[pos:m.start()]))
        parts.append(_VALUE)
        pos = m.end()
    parts.append(re.escape(body[pos:]))
    return re.compile("".join(parts), re.S)


@lru_cache(maxsize=1)
def template_scripts() -> tuple[list[re.Pattern[str]], frozenset[str]]:
    """(patterns of nbgrader's inline scripts, hashes of its static inline event handlers)."""
    from nbgrader.server_extensions.formgrader import handlers
    patterns: list[re.Pattern[str]] = []
    handler_hashes: set[str] = set()
    for folder, _, files in os.walk(handlers.template_path):
        for name in files:
            if not name.endswith((".tpl", ".j2")):
                continue
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                text = f.read()
            for attrs, body in _SCRIPT.findall(text):
                if "src" in attrs or _script_type(attrs) not in _EXECUTABLE_TYPES or not body.strip():
                    continue
                pattern = _template_pattern(body)
                if pattern is not None:
                    patterns.append(pattern)
            handler_hashes.update(_sha256(code) for code in _HANDLER_ATTR.findall(text))
    return patterns, frozenset(handler_hashes)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# formgrade.js's init() calls ``MathJax.Hub.Startup.signal.Interest(...)`` (in
# configureScrolling) on the window's load event and throws where MathJax did not load (offline:
# nbconvert's MathJax comes from a CDN), so the formgrader's keyboard shortcuts (Tab to the next
# field, Ctrl+. to the next submission...) and its focus on the first field were never set up.
# This script, put right after formgrade.js, wraps that method: when it runs (at load, when MathJax
# has had its chance) and MathJax is absent, a stand-in answers the one call as MathJax would
# once done. Math still shows, as MathML (grading/pages/sanitize.py). Allowed by its hash, like
# nbgrader's own inline scripts. (A stand-in defined earlier would stop a MathJax that is still
# loading: MathJax 2 does not start where ``MathJax.Hub`` already exists.)
MATHJAX_STANDIN = ("(function () { var configure = FormGrader.prototype.configureScrolling;"
                   " FormGrader.prototype.configureScrolling = function () {"
                   " if (!(window.MathJax && window.MathJax.Hub)) {"
                   " window.MathJax = {Hub: {Startup: {signal: {Interest: function (f) { f('End'); }}}}}; }"
                   " return configure.apply(this, arguments); }; })();")
_FORMGRADE_JS = re.compile(r'<script\b[^>]*\bsrc="[^"<>]*/formgrader/static/js/formgrade\.js"[^>]*>\s*</script>')


def with_mathjax_standin(page: str) -> str:
    """A submission page with MATHJAX_STANDIN right after its formgrade.js (other pages unchanged)."""
    return _FORMGRADE_JS.sub(lambda m: f"{m.group(0)}\n<script>{MATHJAX_STANDIN}</script>", page, count=1)


def with_rubric_panel(page: str) -> str:
    """A submission page with the rubric's panel script (grading/pages/rubric_server.py) after formgrade.js."""
    def add(m: re.Match[str]) -> str:
        found = re.search(r'src="([^"<>]*)/formgrader/static/js/formgrade\.js"', m.group(0))
        assert found is not None  # _FORMGRADE_JS matched this src
        src = found.group(1)
        return f'{m.group(0)}\n<script src="{src}/formgrader/rubric/static/rubric.js"></script>'
    return _FORMGRADE_JS.sub(add, page, count=1)


def inline_script_hashes(page: str) -> list[str]:
    """Hashes of the inline scripts in ``page`` that nbgrader's templates (or
    ``with_mathjax_standin``) wrote."""
    patterns, _ = template_scripts()
    found = []
    for attrs, body in _SCRIPT.findall(page):
        if "src" in attrs.lower() or _script_type(attrs) not in _EXECUTABLE_TYPES:
            continue
        if body == MATHJAX_STANDIN or any(p.fullmatch(body) for p in patterns):
            found.append(_sha256(body))
    return sorted(set(found))


def policy(origin: str, base_url: str, page: str = "", sandbox: bool = False) -> str:
    """The Content-Security-Policy for one formgrader response."""
    static = f"{origin}{base_url}formgrader/static/"
    scripts = [static, f"{origin}{base_url}formgrader/rubric/static/"] + inline_script_hashes(page)
    handler_hashes = template_scripts()[1]
    if handler_hashes:  # nbgrader's onclick="toggle_name(true);" and the like, by hash
        scripts += ["'unsafe-hashes'", *sorted(handler_hashes)]
    directives = [
        "default-src 'self'",
        "script-src " + " ".join(scripts),
        "style-src 'self' 'unsafe-inline'",  # nbconvert inlines its CSS
        "img-src 'self' data: http: https:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
        f"report-uri {base_url}api/security/csp-report",
    ]
    if sandbox:
        directives.append("sandbox")
    return "; ".join(directives)


def _route_table() -> list[tuple[re.Pattern[str], type]]:
    """(compiled pattern, handler class) of nbgrader's formgrader routes, in tornado's order."""
    from nbgrader.server_extensions.formgrader import apihandlers, handlers
    return [(re.compile(spec[0].lstrip("/") + "$"), spec[1])
            for spec in handlers.default_handlers + apihandlers.default_handlers]


def _field(tag: str, css_class: str, id_suffix: str) -> re.Pattern[str]:
    return re.compile(rf'<{tag}\b(?=[^>]*\bclass="{css_class}")(?=[^>]*\bid="([^"<>]+){id_suffix}")'
                      r'(?![^>]*\baria-label=)')


# nbgrader's grading fields (formgrade/index.html.j2), in any attribute order, and their labels
_GRADING_FIELDS = (
    (_field("input", "score tabbable", ""), "input", "score for {}"),
    (_field("input", "extra-credit tabbable", "_extra_credit"), "input", "extra credit for {}"),
    (_field("textarea", "comment tabbable", "-comment"), "textarea", "comment on {}"),
)
# its navigation bar puts a <ul> straight inside a <ul> (axe: "list")
_NESTED_NAV = re.compile(r'<ul class="nav text-center">(\s*<ul class="breadcrumb">.*?</ul>\s*)</ul>', re.S)


def _labelled(tag: str, label: str, m: re.Match[str]) -> str:
    return f'<{tag} aria-label="{label.format(m.group(1))}"'


def accessible_formgrader_page(page: str) -> str:
    """A formgrader page with what axe-core found fixed: grading/pages/sanitize.py's
    ``accessible_page`` (a lang, readable colours), a label on each of nbgrader's unlabelled
    grading fields (score, extra credit, comment of a cell, named by the cell's grade id), and
    the navigation bar's breadcrumb not nested as a list item-less list."""
    from grading.pages.sanitize import accessible_page
    for pattern, tag, label in _GRADING_FIELDS:
        page = pattern.sub(partial(_labelled, tag, label), page)
    page = _NESTED_NAV.sub(lambda m: f'<div class="nav text-center">{m.group(1)}</div>', page, count=1)
    return accessible_page(page)


def without_mathjax(page: str) -> str:
    from grading.pages.sanitize import without_mathjax as cut
    return cut(page)


def make_transform(base_url: str) -> type:
    """A tornado OutputTransform class setting the policy on ``<base_url>formgrader/...``."""
    from nbgrader.server_extensions.formgrader.handlers import SubmissionFilesHandler
    from tornado.web import OutputTransform
    base_url = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
    prefix = base_url + "formgrader"
    routes = _route_table()

    class FormgraderCSP(OutputTransform):
        installed_by = __name__  # how install() finds it among the server's transforms

        def __init__(self, request: Any) -> None:
            self.request = request
            super().__init__(request)

        def transform_first_chunk(self, status_code: int, headers: Any, chunk: bytes,
                                  finishing: bool) -> tuple[int, Any, bytes]:
            path = self.request.path
            if path == prefix or path.startswith(prefix + "/"):
                local = path[len(base_url):]
                handler = next((cls for pattern, cls in routes if pattern.match(local)), None)
                origin = f"{self.request.protocol}://{self.request.host}"
                page = chunk.decode("utf-8", "replace") if "html" in headers.get("Content-Type", "") else ""
                if page and finishing and handler is not SubmissionFilesHandler and "<html" in page[:500]:
                    page = with_rubric_panel(with_mathjax_standin(without_mathjax(accessible_formgrader_page(page))))
                    chunk = page.encode("utf-8")
                    if "Content-Length" in headers:
                        headers["Content-Length"] = str(len(chunk))
                headers["Content-Security-Policy"] = policy(
                    origin, base_url, page, sandbox=handler is SubmissionFilesHandler)
            return status_code, headers, chunk

    return FormgraderCSP


def install(serverapp: Any = None) -> bool:
    """Put the policy on the running Jupyter server's formgrader pages (once). Returns True if
    installed now or before, False when not inside a Jupyter server."""
    if serverapp is None:
        if "jupyter_server.serverapp" not in sys.modules:  # an nbgrader command, not a server
            return False
        from jupyter_server.serverapp import ServerApp
        if not ServerApp.initialized():
            return False
        serverapp = ServerApp.instance()
    web_app = getattr(serverapp, "web_app", None)
    if web_app is None:
        return False
    if any(getattr(t, "installed_by", None) == __name__ for t in web_app.transforms):
        return True
    # first in the list: it must see the page before any compressing transform
    web_app.transforms.insert(0, make_transform(web_app.settings.get("base_url", "/")))
    from grading.pages import rubric_server
    rubric_server.install(web_app, web_app.settings.get("base_url", "/"))
    serverapp.log.info("formgrader pages get a Content-Security-Policy (grading/pages/formgrader_csp.py)"
                       " and rubric items (grading/pages/rubric_server.py)")
    return True
