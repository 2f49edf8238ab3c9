"""`make bench SECTIONS=hub`: the course through a real JupyterHub (its own accounts, exchange and
state, as the tests use), driven in Chromium. Medians over three students, each on a first spawn:

    login       the login button's click to a usable JupyterLab (the Nbgrader menu is there)
    fetch       Fetch in the Assignments panel to the assignment listed as fetched (target <= 2 s)
    validate    q1's Validate button to its result dialog (target <= 4 s)
    submit      Submit in the Assignments panel to the assignment listed as submitted (target <= 2 s)

and once: collect + grade (the sandboxed runner) for the sample class, every student an account
that submitted through the exchange.
"""
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "browser"))


def bench_hub():
    import hub_helpers as hh
    from playwright.sync_api import sync_playwright

    from browser_helpers import CHROMIUM, CHROMIUM_ARGS
    from grading import sample_class
    from grading.course import ASSIGNMENT
    from grading.hosting import hub as course_hub
    from ml_conceptual import sample_class as course_class

    accounts = {f"hubbench-{i:02d}": s for i, s in enumerate(course_class.STUDENTS)}
    timed = list(accounts)[:3]
    with tempfile.TemporaryDirectory() as tmp:
        layout = hh.test_layout(tmp)
        layout.instructor, layout.students = "hubbench-teacher", list(accounts)
        layout.exchange = "/srv/nbgrader/bench-exchange"
        shutil.rmtree(layout.exchange, ignore_errors=True)
        for user in layout.users:
            try:
                course_hub.reset_student(layout, user)
            except KeyError:
                pass
        course_hub.setup(layout)
        hh.instructor(layout, "nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=WARN")
        for user in accounts:
            hh.instructor(layout, "nbgrader", "db", "student", "add", user, "--log-level=WARN")
        hh.instructor(layout, "nbgrader", "release_assignment", ASSIGNMENT, "--force", "--log-level=WARN")
        hub = hh.Hub(layout)
        times: dict[str, list[float]] = {"login": [], "fetch": [], "validate": [], "submit": []}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for user in timed:
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    page = context.new_page()
                    page.goto(f"{hub.url}/hub/login")
                    page.fill("#username_input", user)
                    page.fill("#password_input", hub.password(user))
                    start = time.perf_counter()
                    page.click("#login_submit")
                    hh.wait_lab(page, user)
                    times["login"].append(time.perf_counter() - start)
                    hh.open_assignments(page)
                    start = time.perf_counter()
                    page.locator("#released_assignments_list button:text-is('Fetch')").click()
                    page.wait_for_selector("#fetched_assignments_list .list_item:has-text('conceptual')", timeout=60000)
                    times["fetch"].append(time.perf_counter() - start)
                    texts = sample_class.student_notebooks(accounts[user])
                    for name, text in texts.items():
                        hh.put_notebook(page, hub, user, f"{ASSIGNMENT}/{name}.ipynb", json.loads(text))
                    page.goto(f"{hub.url}/user/{user}/lab/tree/{ASSIGNMENT}/q1_cross_entropy_gradient.ipynb")
                    button = page.locator(".jp-NotebookPanel-toolbar .validate-button").first
                    button.wait_for(timeout=120000)
                    start = time.perf_counter()
                    button.click()
                    page.locator(".jp-Dialog").wait_for(timeout=120000)
                    times["validate"].append(time.perf_counter() - start)
                    page.locator(".jp-Dialog button").last.click()
                    hh.open_assignments(page)
                    start = time.perf_counter()
                    fetched = "#fetched_assignments_list .list_item:has-text('conceptual')"
                    page.locator(f"{fetched} button:text-is('Submit')").click()
                    page.wait_for_selector("#submitted_assignments_list .list_item:has-text('conceptual')",
                                           timeout=60000)
                    times["submit"].append(time.perf_counter() - start)
                    context.close()
                browser.close()
            # the rest of the class submits from their accounts (what Submit runs), not timed
            for user, student in accounts.items():
                if user in timed:
                    continue
                hh.as_user(layout, user, "nbgrader", "fetch_assignment", ASSIGNMENT, "--log-level=WARN")
                folder = layout.home(user) / ASSIGNMENT
                for name, text in sample_class.student_notebooks(student).items():
                    _write_as(layout, user, folder / f"{name}.ipynb", text)
                hh.as_user(layout, user, "nbgrader", "submit", ASSIGNMENT, "--log-level=WARN", check=False)
            start = time.perf_counter()
            hh.instructor(layout, "nbgrader", "collect", ASSIGNMENT, "--update", "--log-level=WARN")
            proc, _ = course_hub.grade_roster(layout, check=False)
            collect_grade = time.perf_counter() - start
        finally:
            hub.stop()
    targets = {"login": None, "fetch": 2, "validate": 4, "submit": 2}
    print("the course on a JupyterHub (Chromium; median of 3 students, each on a first spawn):")
    for key, values in times.items():
        target = f" (target <= {targets[key]} s)" if targets[key] else ""
        print(f"  {key:9s} median {statistics.median(values):5.2f} s{target}   runs: "
              + " ".join(f"{v:.2f}" for v in values))
    print(f"  collect + grade, {len(accounts)} students through the hub's exchange: {collect_grade:.1f} s"
          + ("" if proc is not None and proc.returncode == 0 else " (the runner reported problems: "
             "the sample class has a damaged notebook and a deleted test cell)"))


def _write_as(layout, user, path, text):
    import os
    import pwd
    entry = pwd.getpwnam(user)
    Path(path).write_text(text)
    os.chown(path, entry.pw_uid, entry.pw_gid)
