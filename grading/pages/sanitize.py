"""Student work rendered as HTML runs nothing: the formgrader's pages and the feedback files.

nbgrader renders a submission (formgrader) and a graded copy (``generate_feedback``) with
nbconvert's HTMLExporter, and nbconvert passes HTML through as written: raw HTML in a markdown
answer, and a cell's ``text/html`` or ``application/javascript`` output. A written answer holding
``<img src=x onerror=...>`` then runs in the instructor's session. Two hooks, both configured on
the HTMLExporter in ``nbgrader_config.py`` (so both the formgrader and ``generate_feedback`` use
them):

- ``SanitizeStudentHTML``, a preprocessor: every cell output reduced to mimetypes that cannot
  carry script (HTML cleaned, SVG shown as an image, JavaScript and widget views dropped), raw
  cells cleaned, the notebook's stored widget state dropped.
- ``SanitizedMarkdown``, the ``markdown2html`` filter: nbconvert's own markdown rendering, then
  the resulting HTML cleaned. Cleaning after rendering (not the markdown source) leaves code
  spans and block quotes exactly as markdown renders them.

Math (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``, ``\\begin{env}...``) is converted to MathML
while the markdown is rendered (latex2mathml), so it shows without MathJax: offline, in a
feedback file opened from disk, and under the formgrader's CSP (MathJax 2 needs eval). Only
MathML made by that conversion reaches the page: it is cleaned with a MathML-only allowlist
(presentation elements, no links, no ``annotation-xml``) and put in after the student's HTML was
cleaned, so raw ``<math>`` typed by a student is still dropped. LaTeX the converter cannot read
is left as written (MathJax, where it loads, may still typeset it).

The cleaning itself is nh3 (ammonia) with an allowlist: ordinary markup, tables, images with
http(s), relative or ``data:image/...`` sources, links to http(s), mailto, relative and ``#``
targets. Everything else is dropped: ``<script>``, ``<style>``, ``<iframe>``, ``<object>``,
``<embed>``, ``<form>``, ``<base>``, ``<meta>``, ``<svg>``, every ``on*=`` attribute, ``style``,
``javascript:`` and other ``data:`` URLs.
"""
from __future__ import annotations

import base64
import html
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import nh3
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets.config import Configurable

# ammonia's default tags (ordinary text, lists, tables, images, links), plus what nbconvert's
# markdown and pandas' tables produce
TAGS = set(nh3.ALLOWED_TAGS) | {"tfoot", "th", "thead", "caption", "section"}
ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
ATTRIBUTES["*"] = {"class", "id", "title", "lang", "dir", "align"}
ATTRIBUTES["img"] = {"src", "alt", "width", "height"}
ATTRIBUTES["a"] = {"href", "hreflang"}
# Removed with everything inside them (not just the tags).
CONTENT_DROPPED = {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg",
                   "math", "textarea", "select", "title", "input", "button"}
URL_SCHEMES = {"http", "https", "mailto", "data"}  # data: narrowed to images below
DATA_IMAGE = re.compile(r"data:image/(png|jpeg|jpg|gif|webp|bmp|svg\+xml)[;,]", re.I)
# Student ids must not collide with the formgrader's own (its score inputs are id=<grade id>).
ID_PREFIX = "student-content-"


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    return _url_filter(tag, attr, value) if attr in ("href", "src") else value


def _data_url(tag: str, attr: str, url: str) -> str | None:
    """A data: URL is kept only as the src of an image, and only of an image type."""
    return url if tag == "img" and attr == "src" and DATA_IMAGE.match(url) else None


def _url_filter(tag: str, attr: str, value: str) -> str | None:
    """An href or src kept, rewritten (in-page links) or dropped (None)."""
    url = value.strip()
    scheme = urlsplit(url).scheme.lower() if ":" in url else ""
    if scheme == "data":
        return _data_url(tag, attr, url)
    if scheme and scheme not in URL_SCHEMES:
        return None
    if attr == "href" and url.startswith("#") and not url.startswith("#" + ID_PREFIX):
        return "#" + ID_PREFIX + url[1:]  # in-page links follow the prefixed ids
    return value


_CLEANER = nh3.Cleaner(
    tags=TAGS - CONTENT_DROPPED,
    clean_content_tags=CONTENT_DROPPED,
    attributes=ATTRIBUTES,
    attribute_filter=_attribute_filter,
    url_schemes=URL_SCHEMES,
    strip_comments=True,
    link_rel="noopener noreferrer",
    id_prefix=ID_PREFIX,
)


def clean_html(html: str | list[str]) -> str:
    """``html`` (a fragment) with nothing left that can run script or leave the page."""
    return _CLEANER.clean(html if isinstance(html, str) else "".join(html))


# --- math as MathML -------------------------------------------------------------------------
# Presentation MathML as latex2mathml writes it; nothing that links, embeds HTML or actions.
MATHML_TAGS = {"math", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "msub", "msup",
               "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable",
               "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose", "merror", "semantics",
               "annotation"}
MATHML_ATTRIBUTES = {
    "math": {"display", "alttext"},
    "mo": {"stretchy", "fence", "separator", "lspace", "rspace", "form", "largeop",
           "movablelimits", "symmetric", "minsize", "maxsize", "accent"},
    "mi": {"mathvariant"}, "mn": {"mathvariant"}, "mtext": {"mathvariant"},
    "mspace": {"width", "height", "depth", "linebreak"},
    "mfrac": {"linethickness"},
    "mover": {"accent"}, "munder": {"accentunder"}, "munderover": {"accent", "accentunder"},
    "mstyle": {"displaystyle", "scriptlevel", "mathvariant", "mathsize"},
    "mtable": {"columnalign", "rowspacing", "columnspacing", "columnlines", "rowlines", "frame",
               "displaystyle"},
    "mtr": {"columnalign"}, "mtd": {"columnalign", "columnspan", "rowspan"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
    "menclose": {"notation"},
    "annotation": {"encoding"},
}
_MATHML_CLEANER = nh3.Cleaner(tags=MATHML_TAGS, attributes=MATHML_ATTRIBUTES, url_schemes=set(),
                              strip_comments=True)


def latex_to_mathml(latex: str, display: bool = False) -> str | None:
    """MathML for a LaTeX formula (``None`` if latex2mathml cannot read it). The LaTeX source
    goes with it as ``alttext`` (what a screen reader may fall back on)."""
    from latex2mathml.converter import convert
    try:
        mathml = convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - the student's LaTeX: anything can be wrong with it
        return None
    if "<merror" in mathml or re.search(r">\\[A-Za-z]", mathml):  # a command it does not know
        return None
    mathml = mathml.replace("<math ", f'<math alttext="{html.escape(latex.strip(), quote=True)}" ', 1)
    return _MATHML_CLEANER.clean(mathml)


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer with math written as placeholders, each later replaced by its
    MathML (``SanitizedMarkdown``): the student's HTML is cleaned before any MathML is put in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nonce = secrets.token_hex(8)
        self.formulas: list[str] = []

    def _formula(self, latex: str, display: bool, as_written: str) -> str:
        mathml = latex_to_mathml(latex, display)
        if mathml is None:
            return self.escape_html(as_written)
        self.formulas.append(mathml)
        return f"mathml{self.nonce}n{len(self.formulas) - 1}e"

    def block_math(self, body: str) -> str:
        return self._formula(body, True, f"$${body}$$")

    def inline_math(self, body: str) -> str:
        return self._formula(body, False, f"${body}$")

    def multiline_math(self, text: str) -> str:  # older mistune hands over the delimiters too
        body = text.strip()
        for start, end in (("$$", "$$"), ("\\[", "\\]"), ("$", "$")):
            if body.startswith(start) and body.endswith(end) and len(body) > len(start + end):
                return self._formula(body[len(start):-len(end)], True, text)
        return self._formula(body, True, text)

    def latex_environment(self, name: str, body: str) -> str:
        source = f"\\begin{{{name}}}{body}\\end{{{name}}}"
        return self._formula(source, True, source)

    def put_back(self, cleaned: str) -> str:
        """``cleaned`` HTML with every placeholder in its text replaced by its (cleaned) MathML;
        a placeholder inside a tag (a heading's generated id) is dropped."""
        token = re.compile(f"mathml{self.nonce}n([0-9]+)e")
        parts = re.split(r"(<[^>]*>)", cleaned)
        return "".join(token.sub("", part) if part.startswith("<") else
                       token.sub(lambda m: self.formulas[int(m.group(1))], part) for part in parts)


def latex_output_to_html(latex: str | list[str]) -> str | None:
    """A ``text/latex`` output (``$...$``, ``$$...$$``, ``\\[...\\]`` or an environment) as
    MathML, or ``None``."""
    text = (latex if isinstance(latex, str) else "".join(latex)).strip()
    for start, end in (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$")):
        if text.startswith(start) and text.endswith(end) and len(text) > len(start + end):
            text = text[len(start):-len(end)]
            break
    return latex_to_mathml(text, display=True)


# Output mimetypes shown as they are: none of them can hold markup the browser runs.
SAFE_OUTPUT = {"text/plain", "image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp",
               "text/latex", "application/json"}
# text/markdown is rendered by the markdown2html filter below, which cleans what it makes.
CLEANED_OUTPUT: dict[str, Callable[[Any], str] | None] = {"text/html": clean_html, "text/markdown": None}


class SanitizeStudentHTML(Preprocessor):
    """Cell outputs and raw cells cleaned before nbconvert's template renders them."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        nb.metadata.pop("widgets", None)  # widget state: the HTML widget manager would render it
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any],
                        index: int) -> tuple[NotebookNode, dict[str, Any]]:
        if cell.cell_type == "raw":
            cell.source = clean_html(cell.source)
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if "data" in output:
                    output["data"] = self._clean_data(output["data"])
                    output.setdefault("metadata", {}).pop("text/html", None)  # no "isolated" iframe
        return cell, resources

    @staticmethod
    def _clean_data(data: dict[str, Any]) -> dict[str, Any]:
        cleaned: dict[str, Any] = {}
        for mime, value in data.items():
            if mime in SAFE_OUTPUT:
                cleaned[mime] = value
            elif mime in CLEANED_OUTPUT:
                clean = CLEANED_OUTPUT[mime]
                cleaned[mime] = clean(value) if clean else value
        stand_in = None if "text/html" in cleaned else _html_stand_in(data)
        if stand_in:
            cleaned["text/html"] = stand_in
        if not cleaned:
            cleaned["text/plain"] = "[output removed: " + ", ".join(sorted(data)) + "]"
        return cleaned


def _html_stand_in(data: dict[str, Any]) -> str | None:
    """HTML for an output without any: its LaTeX as MathML (shown without MathJax), else its SVG
    as an image (the browser runs no script inside an <img>); None if it has neither."""
    if "text/latex" in data:
        mathml = latex_output_to_html(data["text/latex"])
        if mathml:
            return mathml
    svg = data.get("image/svg+xml")
    if svg:
        text = svg if isinstance(svg, str) else "".join(svg)
        encoded = base64.b64encode(text.encode()).decode()
        return f'<img src="data:image/svg+xml;base64,{encoded}" alt="SVG output">'
    return None


class SanitizedMarkdown(Configurable):
    """The ``markdown2html`` filter: nbconvert's rendering (attachments, anchors; the exporter's
    ``markdown2html`` with math as MathML), then cleaned. Configured as
    ``HTMLExporter.filters["markdown2html"]``; nbconvert builds it with the exporter as its parent."""

    # jinja hands the filter its context (the marker pass_context sets, read off a function it marked)
    jinja_pass_arg = pass_context(lambda: None).jinja_pass_arg  # type: ignore[attr-defined]

    def __call__(self, context: Any, source: str) -> str:
        exporter = self.parent
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=getattr(exporter, "embed_images", False),
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=getattr(exporter, "anchor_link_text", "¶"),
            exclude_anchor_links=getattr(exporter, "exclude_anchor_links", False),
            **getattr(exporter, "lexer_options", {}),
        )
        rendered = MarkdownWithMath(renderer=renderer).render(source)
        return renderer.put_back(clean_html(rendered))


# --- pages people can read: accessibility fixes on the rendered page ------------------------
# axe-core (WCAG 2.1 AA) on nbconvert's classic page as nbgrader styles it found: syntax colours
# below 4.5:1 on the code background, links told from text by colour alone, long code lines in
# scrolling boxes a keyboard cannot reach, no ``lang`` on <html>. Fixed by a style sheet added at
# the end of <head> and a lang attribute (feedback: ``FeedbackHTMLExporter``; formgrader: its
# response transform in grading/pages/formgrader_csp.py).
CODE_BACKGROUND = "#f5f5f5"


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(colour: str, background: str = CODE_BACKGROUND, ratio: float = 4.6) -> str:
    """``colour`` darkened just enough to reach ``ratio`` against ``background``."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    while contrast("#%02x%02x%02x" % tuple(rgb), background) < ratio and any(rgb):
        rgb = [max(0, int(c * 0.95)) for c in rgb]
    return "#%02x%02x%02x" % tuple(rgb)


def accessible_css() -> str:
    """The style sheet: darker syntax colours where the pygments style nbconvert uses is too
    light, underlined links, wrapped code, readable links on the blue panel headings."""
    from pygments.formatters import HtmlFormatter
    rules = []
    for line in HtmlFormatter(style="default").get_style_defs(".highlight").splitlines():
        m = re.match(r"(\.highlight \.[\w-]+) \{.*?(?<![-\w])color: #([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})\b", line)
        if not m:
            continue
        hex_colour = m.group(2) if len(m.group(2)) == 6 else "".join(c * 2 for c in m.group(2))
        if contrast("#" + hex_colour, CODE_BACKGROUND) < 4.5:
            rules.append(f"{m.group(1)} {{ color: {readable('#' + hex_colour)} }}")
    rules += [
        "a { text-decoration: underline; }",
        "a, a:visited { color: #1f5a8f; }",
        "div.nbgrader_cell.panel-primary .panel-heading a, .panel-primary > .panel-heading a { color: #ffffff; }",
        # bootstrap 3's buttons and navigation bar (the formgrader): white on these is 4.5:1 or more
        ".btn-success { background-color: #2d7a2d; border-color: #266a26; }",
        ".btn-danger { background-color: #b52b27; border-color: #a02622; }",
        ".btn-warning { background-color: #9a5b00; border-color: #8a5100; }",
        ".btn-primary { background-color: #286090; border-color: #204d74; }",
        ".btn-info { background-color: #1b6d85; border-color: #175e72; }",
        # the formgrader's own (formgrade.css: translucent colours over the blue panel heading)
        ".scoring-buttons button { background-color: #286090; }",
        ".scoring-buttons button.btn-success, .scoring-buttons button.btn-success:hover "
        "{ background-color: #2d7a2d; border-color: #1e521e; }",
        ".scoring-buttons button.btn-danger, .scoring-buttons button.btn-danger:hover "
        "{ background-color: #b52b27; border-color: #782d2d; }",
        ".scoring-buttons button.btn-warning, .scoring-buttons button.btn-warning:hover "
        "{ background-color: #9a5b00; border-color: #6b3f00; }",
        ".navbar-default a, .navbar-default .navbar-nav > li > a, .breadcrumb > .active { color: #555555; }",
        ".highlight pre, .output_area pre, .output pre "
        "{ white-space: pre-wrap; overflow-wrap: anywhere; overflow: visible; }",
    ]
    return "\n".join(rules)


def accessible_page(page: str, lang: str = "en") -> str:
    """An HTML page with ``lang`` on <html> (if missing) and the style sheet at the end of <head>."""
    page = re.sub(r"<html(?![^>]*\blang=)", f'<html lang="{lang}"', page, count=1, flags=re.I)
    return page.replace("</head>", f'<style type="text/css">\n{accessible_css()}\n</style>\n</head>', 1)


# nbconvert's MathJax: a CDN script and its configuration block. Cut from every page we serve or
# write (the math is MathML already): opening a page sends no request off the machine.
_MATHJAX = re.compile(r'<!-- Loading mathjax macro -->'
                      r'|(?:<!-- Load mathjax -->\s*)?<script\b[^>]*\bsrc="[^"<>]*mathjax[^"<>]*"[^>]*>\s*</script>'
                      r'|(?:<!-- MathJax configuration -->\s*)?<script type="text/x-mathjax-config">.*?</script>'
                      r'(?:\s*<!-- End of mathjax configuration -->)?', re.S | re.I)


def without_mathjax(page: str) -> str:
    """A page without nbconvert's MathJax: its CDN script and its configuration block."""
    return _MATHJAX.sub("", page)


# grading/pages/feedback.py's PendingWritten gives an ungraded cell the score NaN
_NAN_SCORE = re.compile(r"Score: nan / ([0-9.]+)")
_NOTEBOOK_SCORE = re.compile(r"(<h4>[^<]*)\(Score: ([^)<]*)\)(</h4>)")


def pending_page(page: str, pending: list[tuple[str, float]]) -> str:
    """A feedback page that says what is not graded yet: "not graded yet" for each such cell (not a
    0), the notebook's score "so far", and a notice at the top. ``pending``: [(grade_id, points)]."""
    page = _NAN_SCORE.sub(lambda m: f"not graded yet ({float(m.group(1)):g} points)", page)
    if not pending:
        return page
    points = sum(p for _, p in pending)
    answers = "answer" if len(pending) == 1 else "answers"
    notice = (f'<p class="pending-notice" role="note"><strong>Partial feedback:</strong> {len(pending)} written '
              f"{answers} worth {points:g} points {'is' if len(pending) == 1 else 'are'} not graded yet. "
              "The score counts what is graded so far; you will get this page again once grading is done.</p>")
    return _NOTEBOOK_SCORE.sub(lambda m: f"{m.group(1)}(Score so far: {m.group(2)}; {points:g} points not graded "
                               f"yet){m.group(3)}\n{notice}", page, count=1)


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTMLExporter (as ``generate_feedback`` configures it) whose pages pass axe
    (``accessible_page``), load nothing from the network (``without_mathjax``) and show an
    ungraded written answer as not graded yet (``pending_page``). Set as
    ``GenerateFeedback.exporter_class``."""

    # nbconvert's Exporter says a notebook comes back; an HTMLExporter returns the page's text
    def from_notebook_node(self, nb: NotebookNode, resources: dict[str, Any] | None = None,  # type: ignore[override]
                           **kw: Any) -> tuple[str, dict[str, Any]]:
        output, resources = super().from_notebook_node(nb, resources, **kw)
        output = pending_page(without_mathjax(output), resources.get("pending_written", []))
        return accessible_page(output, self.language_code or "en"), resources
