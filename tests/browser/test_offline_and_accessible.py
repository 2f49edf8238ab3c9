"""What students and instructors read renders without the internet and passes accessibility checks.

The sample class as graded once for the whole suite (conftest.graded_class), its feedback
written by ``nbgrader generate_feedback`` (conftest.class_feedback) and the instructor's report by
``grading.reports.report`` (conftest.class_report); nothing here changes them. Chromium opens them with
every request that does not go to the local server (or a file) aborted, as on a machine without
internet:

- the formgrader's page for question 1 of the reference student, and the reference student's
  question 1 feedback file: no ``$...$`` or ``\\frac`` left as text, MathML elements rendered
  (``grading/pages/sanitize.py`` converts the math when the markdown is rendered);
- no ``<img>`` without ``alt`` in any feedback file or the report, and ``generate_feedback``
  logs no "Alternative text is missing" (the helper modules give every figure a description);
- axe-core (bundled by ``axe-playwright-python``), WCAG 2.1 A and AA rules, on the feedback
  files of the reference and the question 1 feedback of a wrong answer, the report and the
  formgrader's grading page: no serious or critical violation.
"""
import re
from collections import Counter
from importlib.resources import files

import pytest
from playwright.sync_api import expect

from browser_helpers import Lab
from grading.course import ASSIGNMENT, notebook_names
from ml_conceptual.sample_class import Q1

# whose feedback axe reads: every notebook of the reference, and question 1 (where the two differ)
# of a wrong answer, whose feedback shows failed tests
AXE_PAGES = [("reference", name) for name in notebook_names()] + [("q1_flipped_sign", Q1)]
STUDENTS = sorted({student for student, _ in AXE_PAGES})
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LATEX_LEFT = re.compile(r"\$[^$\n]+\$|\\(frac|sum|partial|log|begin)\b")


@pytest.fixture(scope="module")
def course(class_feedback, class_report):
    """The graded sample class's course copy, with its feedback and report written."""
    return class_feedback["root"]


@pytest.fixture(scope="module")
def instructor_lab(course, tmp_path_factory):
    lab = Lab(course, tmp_path_factory.mktemp("state"))
    yield lab
    lab.stop()


def offline_context(browser, allowed_prefix, **options):
    """A browser context that reaches nothing but ``allowed_prefix`` (the local server, or files)."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, **options)
    context.blocked = []

    def route(r):
        if r.request.url.startswith((allowed_prefix, "data:")):
            r.continue_()
        else:
            context.blocked.append(r.request.url)
            r.abort()
    context.route("**/*", route)
    return context


def assert_math_rendered(page, root_selector):
    """No LaTeX left as visible text under root_selector; MathML there, laid out as math."""
    root = page.locator(root_selector).first
    # visible text, code left out (code may quote "$...$" on purpose)
    text = root.evaluate("""r => { const c = r.cloneNode(true);
        c.querySelectorAll('code, pre, .highlight, .jp-InputArea-editor, .input_area').forEach(e => e.remove());
        document.body.appendChild(c); const t = c.innerText; c.remove(); return t; }""")
    left = [m.group(0) for m in LATEX_LEFT.finditer(text)]
    assert not left, f"LaTeX shown as text: {left[:5]}"
    math = root.evaluate("""r => [...r.querySelectorAll('math')].map(m => {
        const box = m.getBoundingClientRect();
        return [getComputedStyle(m).display, box.width, box.height, m.querySelectorAll('mfrac').length];
    })""")
    assert len(math) >= 5, f"too few rendered formulas: {len(math)}"
    assert all(display.endswith("math") and w > 0 and h > 0 for display, w, h, _ in math), math[:5]
    assert any(fracs for *_, fracs in math), "no fraction rendered as <mfrac>"
    return len(math)


def axe_violations(page):
    """axe-core's WCAG 2.1 A/AA violations on the page: [(rule id, impact, node count)] (and the
    first few nodes of each printed)."""
    page.add_script_tag(path=str(files("axe_playwright_python") / "axe.min.js"))
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    for v in result["violations"]:
        for node in v["nodes"][:4]:
            message = " ".join(check["message"] for check in node.get("any", [])[:1])
            print(f"  {page.url[-60:]} {v['id']} {node['target']} {node['html'][:80]!r} {message[:160]}")
    return [(v["id"], v["impact"], len(v["nodes"])) for v in result["violations"]]


def serious(violations):
    return [v for v in violations if v[1] in ("serious", "critical")]


def test_feedback_logs_no_missing_alt_and_every_image_has_one(course, class_feedback):
    log = class_feedback["log"]
    assert "Alternative text is missing" not in log, log[-3000:]
    pages = sorted((course / "feedback").glob(f"*/{ASSIGNMENT}/*.html")) + [course / "reports" / "report.html"]
    graded = list((course / "autograded").glob(f"*/{ASSIGNMENT}/*.ipynb"))  # a page for each
    assert len(graded) >= len(STUDENTS) * len(notebook_names()) and len(pages) == len(graded) + 1, pages
    figures = 0
    for page in pages:
        html = page.read_text()
        images = re.findall(r"<img\b[^>]*>", html)
        missing = [i[:80] for i in images if not re.search(r'\balt="[^"]{20,}"', i)]
        assert not missing, f"{page.name}: images without a description: {missing}"
        assert "No description has been provided" not in html, page
        figures += len(images)
    assert figures >= 6, figures  # Figure 1, the explorer's picture, Q2's two plots, XOR, histograms


def test_feedback_math_offline_and_accessible(course, browser, shots):
    context = offline_context(browser, "file:", bypass_csp=True)
    page = context.new_page()
    found = {}
    try:
        page.goto((course / "feedback" / "reference" / ASSIGNMENT / f"{Q1}.html").as_uri())
        expect(page.locator("math").first).to_be_visible()
        shots(page, "q1_feedback")
        count = assert_math_rendered(page, "body")
        page.locator("math").nth(count // 2).scroll_into_view_if_needed()
        shots(page, "q1_feedback_math")
        for student, name in AXE_PAGES:
            page.goto((course / "feedback" / student / ASSIGNMENT / f"{name}.html").as_uri())
            found[(student, name)] = axe_violations(page)
        assert not context.blocked, context.blocked  # a feedback page asks nothing of the network
    finally:
        context.close()
    impacts = Counter(impact for v in found.values() for _, impact, _ in v)
    print("axe on feedback, violations by impact:", dict(impacts), found)
    bad = {k: serious(v) for k, v in found.items() if serious(v)}
    assert not bad, bad


def test_report_accessible(course, browser, shots):
    context = offline_context(browser, "file:", bypass_csp=True)
    page = context.new_page()
    try:
        page.goto((course / "reports" / "report.html").as_uri())
        shots(page, "report")
        found = axe_violations(page)
    finally:
        context.close()
    print("axe on the report:", found)
    assert not serious(found), found


def test_formgrader_math_offline_and_accessible(course, instructor_lab, browser, shots):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        sub_id = gb.find_submission_notebook(Q1, ASSIGNMENT, "reference").id
    context = offline_context(browser, instructor_lab.base)
    page = context.new_page()
    try:
        page.goto(instructor_lab.url(f"formgrader/submissions/{sub_id}/"))
        page.locator("input#derivation.score").wait_for(timeout=30000)
        expect(page.locator("#notebook math").first).to_be_visible()
        shots(page, "formgrader_q1")
        assert_math_rendered(page, "#notebook")
        page.locator("input#derivation.score").scroll_into_view_if_needed()
        shots(page, "formgrader_q1_derivation")
        assert not context.blocked, context.blocked  # nothing asked of the network (no MathJax CDN)
    finally:
        context.close()
    context = offline_context(browser, instructor_lab.base, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(instructor_lab.url(f"formgrader/submissions/{sub_id}/"))
        page.locator("input#derivation.score").wait_for(timeout=30000)
        # the whole page, the rendered submission (#notebook-container) with it: one axe run
        # (about 14 s on this page), and a violation there is a violation of the page
        whole = axe_violations(page)
    finally:
        context.close()
    print("axe on the formgrader's grading page:", whole)
    assert not serious(whole), whole


def test_figure_descriptions_follow_the_data():
    """Each helper's figure carries alt text (as image/png metadata for IPython) computed from what
    it draws: other data, other words."""
    import descent_explorer  # source/conceptual/, on the path by pytest.ini's pythonpath
    import loss_surface
    import mse_ce_data
    import numpy as np
    import xor_data

    def alt(fig):
        data, metadata = fig._repr_mimebundle_()
        assert data == {} and metadata["image/png"]["alt"] == fig.alt_text
        return fig.alt_text

    assert "(1, -1)" in alt(loss_surface.plot_loss_surface(n=31, n_3d=11))
    runs = [("CE", np.array([2.0, 1.0, 0.5]), np.array([0.2, 0.5, 0.9]))]
    first = alt(mse_ce_data.plot_training(runs))
    runs[0][2][-1] = 0.4
    assert "0.90 after 2 epochs" in first and "0.40 after 2 epochs" in alt(mse_ce_data.plot_training(runs))
    p = np.logspace(-4, 0, 9)
    assert "9.21" in alt(mse_ce_data.plot_loss_and_gradient(p, {"ce": -np.log(p)}, {"ce": p - 1}))
    X, y = xor_data.xor_points()
    text = alt(xor_data.plot_decision_boundaries([("linear", lambda P: P[:, 0] + P[:, 1] - 0.5)], X, y))
    assert "3 of 4 points right, wrong at (1, 1)" in text

    def descent(grad, w, lr, n):
        out = [w.copy()]
        for _ in range(n):
            w = w - lr * grad(w)
            out.append(w.copy())
        return np.array(out)
    png = descent_explorer.static_view(descent, n_steps=5)
    assert png.startswith(b"\x89PNG") and "after 5 steps" in png.alt and "learning rate 0.3" in png.alt
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import Image
    shell = InteractiveShell.instance()
    try:
        descent_explorer._alt_for_images()
        _, metadata = shell.display_formatter.format(Image(data=png))
        assert metadata["image/png"]["alt"] == png.alt
        _, plain = shell.display_formatter.format(Image(data=bytes(png)))  # any other image: as before
        assert "alt" not in plain.get("image/png", {})
    finally:
        InteractiveShell.clear_instance()
