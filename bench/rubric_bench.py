"""Grading one written cell across a class on the grade-by-question page (grading/pages/rubric_server.py):
keystrokes and seconds, and how fast the next answer is shown.

    python -m bench rubric

Two classes: the sample class (ml_conceptual/sample_class.py) and a synthetic class of 300 students
whose answers to q3's ``negated_update`` are drawn from a few variants (so the alike groups are
large, as in a real class). Neither is autograded: a written cell is a markdown cell nbgrader
copies as it is, so each submission is written to autograded/ directly and recorded in the
gradebook as needing a grade. A run opens the page in Chromium (Playwright) and grades every
answer by keyboard: items 1 and 2, then ``u`` (next ungraded). Measured per run: the seconds from
the first key to the last save, the keystrokes, and for each ``u`` the time until the next answer
is on screen (two animation frames after the key). Medians of three runs (the marks are reset
between runs).
"""
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from course_helpers import make_course
from grading import sample_class
from grading.course import ASSIGNMENT
from ml_conceptual import sample_class as course_class

Q3 = "q3_gradient_descent"
CELL = "negated_update"
RUNS = 3
VARIANTS = [
    "The gradient points uphill, so we subtract it to go downhill and lower the loss.",
    "Gradient descent minimises the loss; the gradient is the direction of steepest ascent, hence the minus.",
    "We want to make the loss smaller, and the negative gradient is the steepest descent direction.",
    "Because the derivative is negative.",
    "",
]


def _write_class(root, answers):
    """answers: {student: written answer or None (the sample student's own)}; each student's q3
    into submitted/ and autograded/, recorded in the gradebook with the cell needing a grade."""
    from nbgrader.api import Gradebook
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{Q3}.ipynb", as_version=4)
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        for student, text in answers.items():
            path = root / "submitted" / student / ASSIGNMENT / f"{Q3}.ipynb"
            if text is not None:
                nb = nbformat.from_dict(release)
                for cell in nb.cells:
                    if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == CELL:
                        cell.source = text
                path.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, path)
            graded = root / "autograded" / student / ASSIGNMENT
            graded.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, graded / f"{Q3}.ipynb")
            gb.update_or_create_student(student)
            gb.add_submission(ASSIGNMENT, student)
            gb.find_grade(CELL, Q3, ASSIGNMENT, student).needs_manual_grade = True
        gb.db.commit()


def sample_course(folder):
    root = make_course(Path(folder) / "course")
    sample_class.build(root / "submitted", course_class.STUDENTS, root / "source" / ASSIGNMENT,
                       root / "release" / ASSIGNMENT)
    _write_class(root, {s.id: None for s in course_class.STUDENTS
                        if (root / "submitted" / s.id / ASSIGNMENT / f"{Q3}.ipynb").exists()})
    return root


def synthetic_course(folder, n=300):
    root = make_course(Path(folder) / "course")
    _write_class(root, {f"s{i:03d}": VARIANTS[i % len(VARIANTS)] + ("" if i % 7 else " Also, alpha matters.")
                        for i in range(n)})
    return root


def _reset(root):
    from nbgrader.api import Gradebook
    from sqlalchemy import delete

    from grading.pages import rubric
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        rubric.migrate(gb.engine)
        gb.db.execute(delete(rubric.rubric_applied))
        gb.db.execute(delete(rubric.rubric_mark))
        for sub in gb.notebook_submissions(Q3, ASSIGNMENT):
            grade = gb.find_grade(CELL, Q3, ASSIGNMENT, sub.student.id)
            grade.manual_score, grade.needs_manual_grade = None, True
        gb.db.commit()


NEXT = """async () => {
  const t0 = performance.now();
  document.dispatchEvent(new KeyboardEvent('keydown', {key: 'u', code: 'KeyU', bubbles: true}));
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}"""


def grade_once(page, lab):
    """One pass over the class: (seconds, keystrokes, [ms to show the next answer])."""
    from playwright.sync_api import expect
    start = time.perf_counter()
    page.goto(lab.url(f"formgrader/rubric/question/{Q3}/{CELL}"))
    expect(page.locator("body[data-rubric-ready='true']")).to_have_count(1, timeout=60000)
    loaded = time.perf_counter() - start
    n = page.evaluate("window.rubricQuestion.markers.filter(m => m.state.needs_manual_grade).length")
    keys, shown = 0, []
    start = time.perf_counter()
    for _ in range(n):
        page.keyboard.press("1")
        page.keyboard.press("2")
        keys += 2
        shown.append(page.evaluate(NEXT))
        keys += 1
    page.wait_for_function("window.rubricQuestion.markers.every(m => !m.state.needs_manual_grade)", timeout=120000)
    return time.perf_counter() - start, loaded, keys, n, shown


def bench_rubric():
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "browser"))
    from playwright.sync_api import sync_playwright

    from browser_helpers import CHROMIUM, CHROMIUM_ARGS, Lab
    print(f"grading {Q3}: {CELL} across a class on the grade-by-question page (keyboard only), "
          f"median of {RUNS} runs:")
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for label, make in (("sample class", sample_course), ("synthetic class of 300", synthetic_course)):
            root = make(Path(tmp) / label.replace(" ", "_"))
            lab = Lab(root, Path(tmp) / f"{label.replace(' ', '_')}_state")
            try:
                page = browser.new_page()
                runs = []
                for _ in range(RUNS):
                    _reset(root)
                    runs.append(grade_once(page, lab))
                page.close()
            finally:
                lab.stop()
            seconds = statistics.median(r[0] for r in runs)
            loaded = statistics.median(r[1] for r in runs)
            shown = [ms for r in runs for ms in r[4]]
            keys, n = runs[-1][2], runs[-1][3]
            print(f"  {label:24s} {n:4d} answers, {keys} keystrokes ({keys / max(n, 1):.0f} per answer); "
                  f"median {seconds:5.1f} s to grade them all ({seconds / max(n, 1) * 1000:.0f} ms per answer "
                  f"of machine time); page load median {loaded:.2f} s; next answer shown: median "
                  f"{statistics.median(shown):.1f} ms, max {max(shown):.1f} ms (target <= 100 ms)")
        browser.close()
