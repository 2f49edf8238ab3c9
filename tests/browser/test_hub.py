"""The course on a real JupyterHub (docs/jupyterhub.md): real Linux accounts logging in through
PAM, JupyterHub's npm proxy, each server spawned as its user; students fetch, validate, submit and
fetch feedback in JupyterLab's Assignments panel; the instructor collects, grades (the parallel
sandboxed runner), grades a written answer in the formgrader inside JupyterLab, releases feedback.

One hub for the module (``hub``); the tests run in file order and build on each other's state
(the end-to-end test first). The instructor's commands run as the instructor's Linux account in
the course root on the hub, as they would type them in their JupyterLab terminal.
"""
import html
import json
import re
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hub_helpers import (
    TEST_STUDENTS,
    Hub,
    as_user,
    fresh_test_hub_setup,
    get_file,
    instructor,
    login,
    nbgrader_menu,
    open_assignments,
    put_notebook,
    refresh_assignments,
)
from nbgrader.utils import parse_utc
from playwright.sync_api import expect

from browser_helpers import formgrader_from_menu, grade_with_rubric, ready_to_grade
from course_helpers import hidden_test_lines
from grading import sample_class
from grading.course import ASSIGNMENT, notebook_names
from grading.hosting import hub as course_hub
from ml_conceptual import sample_class as course_class

ADA, BEN, CY, DEE = TEST_STUDENTS  # ada answers fully, ben has a misconception, cy is late, dee is unknown
Q1 = "q1_cross_entropy_gradient"
MISCONCEPTION = "q1_no_minus_one"
WRITTEN = "derivation"  # q1's written answer (8 points), graded by hand


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    layout = fresh_test_hub_setup(tmp_path_factory.mktemp("hub-state"))
    instructor(layout, "nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=WARN")
    for student in (ADA, BEN, CY):
        instructor(layout, "nbgrader", "db", "student", "add", student, "--log-level=WARN")
    instructor(layout, "nbgrader", "release_assignment", ASSIGNMENT, "--force", "--log-level=WARN")
    running = Hub(layout)
    yield running
    running.stop()


def _notebooks_of(sample_id):
    student = next(s for s in course_class.STUDENTS if s.id == sample_id)
    return {name: json.loads(text) for name, text in sample_class.student_notebooks(student).items()}


def _fetch(page, shot, who):
    open_assignments(page)
    shot(page, f"{who}_assignments_released")
    page.locator("#released_assignments_list button:text-is('Fetch')").click()
    page.wait_for_selector("#fetched_assignments_list .list_item:has-text('conceptual')", timeout=60000)
    shot(page, f"{who}_fetched")


def _validate_q1(page, shot, who):
    page.goto(page.url.split("/lab")[0] + f"/lab/tree/{ASSIGNMENT}/{Q1}.ipynb")
    page.wait_for_selector(".jp-NotebookPanel-toolbar .validate-button", timeout=120000)
    page.locator(".jp-NotebookPanel-toolbar .validate-button").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=120000)
    text = dialog.inner_text()
    shot(page, f"{who}_validated_q1")
    dialog.locator("button").last.click()
    return text


def _submit(page, shot, who):
    open_assignments(page)
    page.locator("#fetched_assignments_list .list_item:has-text('conceptual') button:text-is('Submit')").click()
    page.wait_for_selector("#submitted_assignments_list .list_item:has-text('conceptual')", timeout=60000)
    shot(page, f"{who}_submitted")


def _feedback_text(page, hub, user):
    """{notebook: text} of the newest feedback the student fetched, read through their server."""
    listing = get_file(page, hub, user, f"{ASSIGNMENT}/feedback")["content"]
    newest = max(item["name"] for item in listing)
    out = {}
    for item in get_file(page, hub, user, f"{ASSIGNMENT}/feedback/{newest}")["content"]:
        if item["name"].endswith(".html"):
            raw = get_file(page, hub, user, item["path"])["content"]
            text = re.sub(r"<(script|style)\b.*?</\1>", "", raw, flags=re.S)
            out[item["name"][:-5]] = html.unescape(re.sub(r"<[^>]+>", "", text))
    return out


def _scores(layout, student):
    proc = instructor(layout, "python", "-c",
                      "import sys; sys.path.insert(0, '.');"
                      "from grading.course import nbgrader_api; from nbgrader.api import Gradebook;"
                      "api = nbgrader_api();"
                      f"gb = Gradebook(api.coursedir.db_url); s = gb.find_submission('conceptual', {student!r});"
                      "print(s.score, s.max_score, s.late_submission_penalty, "
                      "','.join(n.name + '=' + str(n.score) for n in s.notebooks))")
    score, max_score, penalty, per_nb = proc.stdout.split()
    return float(score), float(max_score), float(penalty), dict(kv.split("=") for kv in per_nb.split(","))


def test_students_submit_and_read_feedback_instructor_grades_in_the_formgrader(hub, browser, shots, capsys):
    layout = hub.layout
    # dee, who is not in the gradebook, submits too (from a terminal): named, not graded, kept
    _submit_as(layout, DEE, _texts("reference"))
    # --- two students: log in, fetch, work, validate, submit
    sessions = {}
    for who, sample_id in ((ADA, "reference"), (BEN, MISCONCEPTION)):
        context, page = login(browser, hub, who, shots)
        sessions[who] = (context, page)
        shots(page, f"{who}_lab")
        # a student's JupyterLab offers nbgrader's student parts only (no Formgrader, no Create
        # Assignment, no course list: their server does not serve them)
        assert nbgrader_menu(page) == ["Assignment List"]
        _fetch(page, shots, who)
        for name, nb in _notebooks_of(sample_id).items():  # the student's work, saved as JupyterLab saves
            put_notebook(page, hub, who, f"{ASSIGNMENT}/{name}.ipynb", nb)
        verdict = _validate_q1(page, shots, who)
        if who == ADA:
            assert "Success! Your notebook passes all the tests." in verdict, verdict
        else:
            assert "Success!" not in verdict and "failed" in verdict.lower(), verdict
        _submit(page, shots, who)

    # --- a real submission folder is its owner's alone: a classmate cannot add or remove a file in it
    inbound = Path(layout.exchange) / course_hub.course_id() / "inbound"
    ada_folder = next(p for p in inbound.iterdir() if p.name.startswith(f"{ADA}+"))
    assert ada_folder.stat().st_mode & 0o777 == 0o755, oct(ada_folder.stat().st_mode)
    for attempt in (f"touch {str(ada_folder / 'extra.ipynb')!r}", f"rm -f {str(ada_folder / (Q1 + '.ipynb'))!r}"):
        assert as_user(layout, BEN, "sh", "-c", attempt, check=False).returncode != 0, attempt
    assert (ada_folder / f"{Q1}.ipynb").exists() and not (ada_folder / "extra.ipynb").exists()

    # --- hand-made folders in inbound/, from the students' own accounts (their terminal)
    forged = _forge_submissions(layout)

    # --- the instructor: collect, grade with the runner, a written answer in the formgrader
    collect = instructor(layout, "nbgrader", "collect", ASSIGNMENT, "--log-level=WARN")
    for name, reason in forged.items():  # each refused and named, with the reason and who made it
        assert any(f"REFUSED inbound/{name!r}" in line and reason in line for line in collect.stderr.splitlines()), \
            (name, reason, collect.stderr[-3000:])
    for who in (ADA, BEN):
        collected = layout.course_dir / "submitted" / who / ASSIGNMENT
        assert sorted(p.stem for p in collected.glob("*.ipynb")) == notebook_names()
        # what they saved and submitted, byte for byte: not dee's forgery in ben's name, not the source
        for name in notebook_names():
            assert (collected / f"{name}.ipynb").read_bytes() == \
                (layout.home(who) / ASSIGNMENT / f"{name}.ipynb").read_bytes(), (who, name)
    graded, unknown = course_hub.grade_roster(layout)  # the gradebook's students who submitted
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert sorted(p.name for p in (layout.course_dir / "autograded").iterdir()) == sorted([ADA, BEN])
    assert unknown == [DEE]
    assert f"{DEE} submitted {ASSIGNMENT} but is not in the gradebook" in capsys.readouterr().err
    assert DEE not in course_hub.gradebook_students(layout)
    assert (layout.course_dir / "submitted" / DEE / ASSIGNMENT / f"{Q1}.ipynb").exists()

    context, page = login(browser, hub, layout.instructor, shots)
    assert {"Assignment List", "Course List", "Formgrader"} <= set(nbgrader_menu(page))
    frame = formgrader_from_menu(page)
    frame.locator(f"a[href*='manage_submissions/{ASSIGNMENT}']").first.wait_for(timeout=60000)
    shots(page, "instructor_formgrader")
    frame.locator("a[href*='/gradebook']").first.click()
    frame.locator(f"a[href*='gradebook/{ASSIGNMENT}']").first.click()
    frame.locator(f"a[href*='gradebook/{ASSIGNMENT}/{Q1}']").first.click()
    frame.locator("table tbody tr", has_text=ADA).locator("a[href*='submissions/']").first.click()
    score = frame.locator(f"input.score[id='{WRITTEN}']")  # the derivation, a written answer
    score.wait_for(timeout=60000)
    ready_to_grade(frame)
    expected = grade_with_rubric(frame, WRITTEN, ("1", "2"), Q1)  # rubric items, by keyboard
    expect(score).to_have_value(f"{expected:g}", timeout=10000)
    shots(page, "instructor_manual_grade")
    context.close()

    instructor(layout, "nbgrader", "generate_feedback", ASSIGNMENT, "--force", "--log-level=WARN")
    instructor(layout, "nbgrader", "release_feedback", ASSIGNMENT, "--log-level=WARN")

    # --- each student fetches feedback and sees their own score, hidden tests absent
    ada_score, max_score, _, _ = _scores(layout, ADA)
    ben_score, _, _, _ = _scores(layout, BEN)
    assert ben_score < ada_score
    hidden = hidden_test_lines()
    for who, expected in ((ADA, ada_score), (BEN, ben_score)):
        _, page = sessions[who]
        open_assignments(page)
        submitted = "#submitted_assignments_list .list_item:has-text('conceptual')"
        with page.expect_response(lambda r: "/assignments/fetch_feedback" in r.url and r.ok, timeout=60000):
            page.locator(f"{submitted} button:text-is('Fetch Feedback')").first.click()
        refresh_assignments(page)
        shots(page, f"{who}_feedback_fetched")
        texts = _feedback_text(page, hub, who)
        assert sorted(texts) == notebook_names()
        shown = sum(float(re.search(r"Score(?: so far)?:\s*([\d.]+)\s*/\s*[\d.]+", t).group(1)) for t in texts.values())
        assert shown == pytest.approx(expected), (who, shown, expected)
        leaked = [line for t in texts.values() for line in hidden if line in t]
        assert not leaked, f"hidden test code in {who}'s feedback"
        for source_only in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION"):  # nothing of source/
            assert source_only not in "".join(texts.values()), (who, source_only)
        # the rubric's table is not shown (the items a grader applied are, as the comment)
        assert not re.search(r"Rubric \([\d.]+ points;", "".join(texts.values())), who
    ada_q1 = _feedback_text(sessions[ADA][1], hub, ADA)[Q1]
    assert "One-hot labels reduce" in ada_q1 and "States softmax and the logits" in ada_q1  # the items applied
    for context, _ in sessions.values():
        context.close()


def _forge_submissions(layout):
    """Folders written by hand into inbound/ instead of `nbgrader submit`, each from a student's
    own account (as typed in their JupyterLab terminal), after ben's genuine submission:
    {folder name: the reason collect must give}. Stock nbgrader collect would take dee's folder
    as ben's (its name is later), grade ben's link to the instructor's source/ notebook as his
    work, and hang on the FIFO."""
    inbound = Path(layout.exchange) / course_hub.course_id() / "inbound"
    source_q1 = layout.course_dir / "source" / ASSIGNMENT / f"{Q1}.ipynb"
    later = f"{ASSIGNMENT}+2999-01-01 00:00:00.000000 UTC"
    copy = f"cp -r ~/{ASSIGNMENT}/. \"$f\"; "  # their own work, as a start
    folders = {  # (who writes it, what they do in it)
        f"{BEN}+{later}+by-dee": (DEE, copy + "echo '2000-01-01 00:00:00.000000 UTC' > \"$f/timestamp.txt\""),
        f"{BEN}+{later}+source-link": (BEN, copy + f"ln -sf {source_q1} \"$f/{Q1}.ipynb\""),
        f"{DEE}+{later}+hard-link": (DEE, copy + f"ln -f \"$f/{Q1}.ipynb\" \"$f/copy.ipynb\""),
        f"{DEE}+{later}+fifo": (DEE, copy + f"rm \"$f/{Q1}.ipynb\"; mkfifo \"$f/{Q1}.ipynb\""),
    }
    for name, (who, script) in folders.items():
        as_user(layout, who, "sh", "-ec", f"f={str(inbound / name)!r}; mkdir \"$f\"; " + script)
    assert (inbound / f"{BEN}+{later}+source-link" / f"{Q1}.ipynb").is_symlink()
    return {f"{BEN}+{later}+by-dee": f"the folder belongs to {DEE!r}, not to {BEN!r}",
            f"{BEN}+{later}+source-link": f"{Q1 + '.ipynb'!r} is a symbolic link (to {str(source_q1)!r})",
            f"{DEE}+{later}+hard-link": "is a hard link (one file with 2 names)",
            f"{DEE}+{later}+fifo": f"{Q1 + '.ipynb'!r} is a FIFO"}


KERNEL_EXEC_JS = """
async ([user, code, xsrf]) => {
  // page.evaluate has no timeout of its own: a kernel that never starts or answers fails here
  const late = (what) => new Promise((_, reject) => setTimeout(() => reject(new Error(what)), 120000));
  const h = {'X-XSRFToken': xsrf, 'Content-Type': 'application/json'};
  const started = await fetch(`/user/${user}/api/kernels`, {method: 'POST', headers: h,
                                                         body: JSON.stringify({name: 'python3'})});
  if (!started.ok) throw new Error(`starting a kernel: ${started.status} ${await started.text()}`);
  const k = await started.json();
  const ws = new WebSocket(`ws://${location.host}/user/${user}/api/kernels/${k.id}/channels`);
  await Promise.race([new Promise(r => ws.onopen = r), late('the kernel websocket never opened')]);
  const msg_id = 'probe-' + Math.random();
  const out = [];
  const done = new Promise(resolve => { ws.onmessage = ev => {
    const m = JSON.parse(ev.data);
    if (!m.parent_header || m.parent_header.msg_id !== msg_id) return;
    if (m.msg_type === 'stream') out.push(m.content.text);
    if (m.msg_type === 'error') out.push(m.content.ename + ': ' + m.content.evalue);
    if (m.msg_type === 'status' && m.content.execution_state === 'idle') resolve();
  }; });
  ws.send(JSON.stringify({header: {msg_id, username: user, session: msg_id, msg_type: 'execute_request',
                                   version: '5.3', date: new Date().toISOString()},
                          parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
                          content: {code, silent: false, store_history: false, user_expressions: {},
                                    allow_stdin: false, stop_on_error: true}}));
  await Promise.race([done, late('the kernel never finished the probe')]);
  ws.close();
  await fetch(`/user/${user}/api/kernels/${k.id}`, {method: 'DELETE', headers: h});
  return out.join('');
}
"""

PROBE = """
import glob, json, os
results = {}
for key, path in json.loads(%r).items():
    try:
        if os.path.isdir(path):
            os.listdir(path)
            results[key] = "listed"
        elif "*" in path:
            results[key] = "found" if glob.glob(path) else "nothing found"
        else:
            with open(path, "rb") as f:
                f.read(1)
            results[key] = "read"
    except OSError as err:
        results[key] = type(err).__name__
print(json.dumps(results))
"""


def test_a_students_kernel_reads_none_of_source_gradebook_other_submissions_or_homes(hub, browser):
    """Run from ada's own kernel (started by her server, so as her Linux account)."""
    from hub_helpers import xsrf_headers
    layout = hub.layout
    course = layout.course_dir
    inbound = Path(layout.exchange) / course_hub.course_id() / "inbound"
    ben_submission = next(p for p in inbound.glob(f"{BEN}+{ASSIGNMENT}+*")  # the test (root) knows its name
                          if p.lstat().st_uid == layout.home(BEN).stat().st_uid and "2999" not in p.name)
    targets = {
        "own work": str(layout.home(ADA) / ASSIGNMENT / f"{Q1}.ipynb"),  # the control: must be "read"
        "source": str(course / "source" / ASSIGNMENT / f"{Q1}.ipynb"),
        "source folder": str(course / "source"),
        "gradebook": str(course / "gradebook.db"),
        "instructor home": str(layout.home(layout.instructor)),
        "other submissions (list)": str(inbound),
        "ben's submission (guess)": str(inbound / f"{BEN}+{ASSIGNMENT}+*" / f"{Q1}.ipynb"),
        "ben's collected submission": str(course / "submitted" / BEN / ASSIGNMENT / f"{Q1}.ipynb"),
        "ben's home": str(layout.home(BEN)),
        "ben's work": str(layout.home(BEN) / ASSIGNMENT / f"{Q1}.ipynb"),
        "ben's nbgrader cache": str(layout.home(BEN) / ".local" / "share" / "jupyter" / "nbgrader_cache"),
    }
    assert ben_submission.is_dir() and (layout.home(BEN) / ASSIGNMENT / f"{Q1}.ipynb").exists()
    context, page = login(browser, hub, ADA)
    out = page.evaluate(KERNEL_EXEC_JS, [ADA, PROBE % json.dumps(targets), xsrf_headers(page, ADA)["X-XSRFToken"]])
    # her server has no formgrader, and the hub lets her into nobody else's server
    assert page.request.get(f"{hub.url}/user/{ADA}/formgrader", max_redirects=0).status == 404
    other = page.request.get(f"{hub.url}/user/{layout.instructor}/api/contents")
    assert other.status == 403 and '"content"' not in other.text(), (other.status, other.url)
    context.close()
    # nor rename (replace) it from her terminal, even knowing its name: inbound/ is sticky
    tried = as_user(layout, ADA, "mv", str(ben_submission), f"{ben_submission}-moved", check=False)
    assert tried.returncode != 0 and "Operation not permitted" in tried.stderr, tried.stderr
    assert (ben_submission / f"{Q1}.ipynb").is_file()
    results = json.loads(out.strip().splitlines()[-1])
    assert results.pop("own work") == "read", out
    assert results.pop("ben's submission (guess)") == "nothing found", out
    assert results == {key: "PermissionError" for key in results}, results


def _submit_as(layout, student, files, expect_ok=True):
    """The student's work written into their folder and `nbgrader submit` run as them (what the
    Assignments panel's Submit runs); returns its output."""
    folder = layout.home(student) / ASSIGNMENT
    if not folder.exists():
        as_user(layout, student, "nbgrader", "fetch_assignment", ASSIGNMENT)
    for name, text in files.items():
        as_user(layout, student, "python", "-c", f"open({str(folder / name)!r}, 'w').write({text!r})")
    proc = as_user(layout, student, "nbgrader", "submit", ASSIGNMENT, check=False)
    assert (proc.returncode == 0) == expect_ok, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def _texts(sample_id):
    return {f"{name}.ipynb": json.dumps(nb) for name, nb in _notebooks_of(sample_id).items()}


def test_a_renamed_notebook_is_refused_with_the_reason_and_the_work_kept(hub):
    layout = hub.layout
    texts = _texts("reference")
    q2 = next(n for n in texts if n.startswith("q2"))
    texts[q2.replace(".ipynb", " (copy).ipynb")] = texts.pop(q2)
    as_user(layout, CY, "nbgrader", "fetch_assignment", ASSIGNMENT)
    as_user(layout, CY, "rm", str(layout.home(CY) / ASSIGNMENT / q2))
    message = _submit_as(layout, CY, texts, expect_ok=False)
    assert "not submitted" in message and "missing notebooks" in message and q2 in message, message
    assert (layout.home(CY) / ASSIGNMENT / q2.replace(".ipynb", " (copy).ipynb")).exists()
    inbound = Path(layout.exchange) / course_hub.course_id() / "inbound"
    assert not list(inbound.glob(f"{CY}+*"))


def test_late_submission_penalty_and_extension_and_the_latest_of_two_quick_submissions(hub):
    layout = hub.layout
    # cy now submits properly, twice a second apart: a damaged q1 first, then the right one
    texts = _texts("reference")
    q2 = next(n for n in texts if n.startswith("q2"))
    as_user(layout, CY, "mv", str(layout.home(CY) / ASSIGNMENT / f"{q2[:-6]} (copy).ipynb"),
            str(layout.home(CY) / ASSIGNMENT / q2))
    _submit_as(layout, CY, dict(texts, **{f"{Q1}.ipynb": texts[f"{Q1}.ipynb"][:500]}))
    time.sleep(1)
    _submit_as(layout, CY, texts)
    # then, by hand from his terminal, a copy of his last submission (nbgrader keeps one in his
    # cache) re-dated 2000 in its timestamp.txt, in a folder whose name is later than the others':
    # collected as his latest, at the time it was made (stock collect: on time, no penalty)
    forged = Path(layout.exchange) / course_hub.course_id() / "inbound" / \
        f"{CY}+{ASSIGNMENT}+2999-01-01 00:00:00.000000 UTC+dated-2000"
    as_user(layout, CY, "sh", "-ec", f"f={str(forged)!r}; mkdir \"$f\"; "
            f"last=$(ls -d ~/.local/share/jupyter/nbgrader_cache/*/*+{ASSIGNMENT}+* | sort | tail -n 1); "
            "cp -r \"$last\"/. \"$f\"; echo '2000-01-01 00:00:00.000000 UTC' > \"$f/timestamp.txt\"")
    # the due date: 3 days less an hour before now (the gradebook's, set by nbgrader's command)
    due = datetime.now(timezone.utc) - timedelta(days=3) + timedelta(hours=1)
    instructor(layout, "nbgrader", "db", "assignment", "add", ASSIGNMENT,
               "--duedate=" + due.strftime("%Y-%m-%d %H:%M:%S UTC"), "--log-level=WARN")
    hub.restart()  # a restart between submit and collect loses nothing
    with sqlite3.connect(Path(layout.state) / "jupyterhub.sqlite") as db:  # the hub kept its users
        assert {ADA, BEN} <= {name for (name,) in db.execute("select name from users")}
    instructor(layout, "nbgrader", "collect", ASSIGNMENT, "--update", "--log-level=WARN")
    latest = layout.course_dir / "submitted" / CY / ASSIGNMENT / f"{Q1}.ipynb"
    assert json.loads(latest.read_text())  # the latest: whole
    stamp = parse_utc((latest.parent / "timestamp.txt").read_text())  # when it was made: not 2000, not 2999
    assert abs(stamp - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(minutes=30), stamp
    course_hub.grade(layout, [CY])
    score, max_score, penalty, _ = _scores(layout, CY)
    # 3 started days late: 30 % of each notebook's score (the gradebook's score is before the penalty)
    assert score > 50 and penalty == pytest.approx(0.3 * score, abs=0.05), (score, penalty)
    feedback = _released_feedback(layout, CY)
    assert "Late submission penalty" in feedback[Q1] and "(3 started days)" in feedback[Q1], feedback[Q1][:2000]
    assert f"Due: {due:%Y-%m-%d %H:%M} UTC" in feedback[Q1]
    # an extension of 4 days: no longer late
    instructor(layout, "python", "-m", "grading.step.late_penalty", "extend", CY, "--hours", "96")
    course_hub.grade(layout, [CY])
    score2, _, penalty2, _ = _scores(layout, CY)
    assert penalty2 == 0 and score2 == pytest.approx(score), (score2, penalty2)
    feedback = _released_feedback(layout, CY)
    assert "Late submission penalty" not in feedback[Q1]
    assert f"Due: {due + timedelta(hours=96):%Y-%m-%d %H:%M} UTC (including your extension of 96 hours)" in feedback[Q1]
    assert ", on time." in feedback[Q1]


def _released_feedback(layout, student):
    """Feedback generated and released for one student and fetched by them (as Fetch Feedback
    does); {notebook: text} of the newest."""
    instructor(layout, "nbgrader", "generate_feedback", ASSIGNMENT, "--student", student, "--force", "--log-level=WARN")
    instructor(layout, "nbgrader", "release_feedback", ASSIGNMENT, "--student", student, "--log-level=WARN")
    as_user(layout, student, "nbgrader", "fetch_feedback", ASSIGNMENT, "--log-level=WARN")
    newest = max((layout.home(student) / ASSIGNMENT / "feedback").iterdir())

    def text(page):
        return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)))
    return {p.stem: text(p.read_text())
            for p in newest.glob("*.html")}
