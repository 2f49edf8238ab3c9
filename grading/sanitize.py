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
  the resulting HTML cleaned. Cleaning after rendering (not the markdown source) leaves math,
  code spans and block quotes exactly as markdown renders them.

The cleaning itself is nh3 (ammonia) with an allowlist: ordinary markup, tables, images with
http(s), relative or ``data:image/...`` sources, links to http(s), mailto, relative and ``#``
targets. Everything else is dropped: ``<script>``, ``<style>``, ``<iframe>``, ``<object>``,
``<embed>``, ``<form>``, ``<base>``, ``<meta>``, ``<svg>``, every ``on*=`` attribute, ``style``,
``javascript:`` and other ``data:`` URLs.
"""
import base64
import re
from urllib.parse import urlsplit

import nh3
from jinja2 import pass_context
from nbconvert.preprocessors import Preprocessor
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


def _attribute_filter(tag, attr, value):
    if attr in ("href", "src"):
        url = value.strip()
        scheme = urlsplit(url).scheme.lower() if ":" in url else ""
        if scheme == "data":
            return url if tag == "img" and attr == "src" and DATA_IMAGE.match(url) else None
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


def clean_html(html):
    """``html`` (a fragment) with nothing left that can run script or leave the page."""
    return _CLEANER.clean(html if isinstance(html, str) else "".join(html))


# Output mimetypes shown as they are: none of them can hold markup the browser runs.
SAFE_OUTPUT = {"text/plain", "image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp",
               "text/latex", "application/json"}
# text/markdown is rendered by the markdown2html filter below, which cleans what it makes.
CLEANED_OUTPUT = {"text/html": clean_html, "text/markdown": None}


class SanitizeStudentHTML(Preprocessor):
    """Cell outputs and raw cells cleaned before nbconvert's template renders them."""

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)  # widget state: the HTML widget manager would render it
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "raw":
            cell.source = clean_html(cell.source)
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if "data" in output:
                    output["data"] = self._clean_data(output["data"])
                    output.setdefault("metadata", {}).pop("text/html", None)  # no "isolated" iframe
        return cell, resources

    @staticmethod
    def _clean_data(data):
        cleaned = {}
        for mime, value in data.items():
            if mime in SAFE_OUTPUT:
                cleaned[mime] = value
            elif mime in CLEANED_OUTPUT:
                clean = CLEANED_OUTPUT[mime]
                cleaned[mime] = clean(value) if clean else value
        svg = data.get("image/svg+xml")
        if svg and "text/html" not in cleaned:
            # an SVG as an image: the browser runs no script inside an <img>
            text = svg if isinstance(svg, str) else "".join(svg)
            encoded = base64.b64encode(text.encode()).decode()
            cleaned["text/html"] = f'<img src="data:image/svg+xml;base64,{encoded}" alt="SVG output">'
        if not cleaned:
            cleaned["text/plain"] = "[output removed: " + ", ".join(sorted(data)) + "]"
        return cleaned


class SanitizedMarkdown(Configurable):
    """The ``markdown2html`` filter: nbconvert's rendering (attachments, anchors, math left for
    MathJax), then cleaned. Configured as ``HTMLExporter.filters["markdown2html"]``; nbconvert
    builds it with the exporter as its parent."""

    jinja_pass_arg = pass_context(lambda: None).jinja_pass_arg  # jinja hands the filter its context

    def __call__(self, context, source):
        return clean_html(self.parent.markdown2html(context, source))
