"""Courses without a hub (grading/lms.py): an LMS bulk download in, the LMS's gradebook out.

Archives are built here in Canvas's and Moodle's layouts from the sample class, with the things
real downloads hold (a re-upload, a late file, a student not in the roster, a stray PDF, a zip
inside the zip, a notebook under a wrong name); they go through `python -m grading.lms import`
(nbgrader zip_collect), the runner grades them, and the exported CSVs are checked cell by cell
against rows built from the gradebook.
"""
import csv
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from course_helpers import course_env, make_course, run  # course_helpers puts the repository on sys.path
from grading import sample_class
from grading.course import ASSIGNMENT, notebook_names

DUE = "2026-01-15 23:59 UTC"
CANVAS_NAME, CANVAS_ID = "Conceptual questions", "4242"
# course student id, sample student whose notebooks they submit, name, email, Canvas id, Moodle id
PEOPLE = [("alice", "reference", "Alice Liddell", "alice@example.edu", "1001", "501"),
          ("bob", "q1_no_minus_one", "Bob Builder", "bob@example.edu", "1002", "502"),
          ("carol", "untouched", "Carol Danvers", "carol@example.edu", "1003", "503"),
          ("dave", None, "Dave Lister", "dave@example.edu", "1004", "504")]  # submits nothing


def lms(root, *args):
    return subprocess.run([sys.executable, "-m", "grading.lms", *map(str, args)], cwd=root,
                          env=course_env(), capture_output=True, text=True)


def write_roster(path, column):
    """column: 4 (Canvas ids) or 5 (Moodle ids)."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "lms_id", "name", "email"])
        for p in PEOPLE:
            w.writerow([p[0], p[column], p[2], p[3]])
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A fresh course, and every sample student's notebooks as bytes."""
    root = make_course(tmp_path_factory.mktemp("lms") / "course")
    out = tmp_path_factory.mktemp("sample")
    wanted = {p[1] for p in PEOPLE if p[1]}
    sample_class.build(out, [s for s in sample_class.STUDENTS if s.id in wanted],
                       root / "source" / ASSIGNMENT, root / "release" / ASSIGNMENT)
    notebooks = {sid: {nb: (out / sid / ASSIGNMENT / f"{nb}.ipynb").read_bytes() for nb in notebook_names()}
                 for sid in wanted}
    return root, notebooks


def fresh(template, dest):
    shutil.copytree(template[0], dest)
    return dest


def zip_of(path, files):
    """files: {name in the archive: bytes}."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def canvas_archive(path, nbs, carol_q4=None):
    """Canvas's bulk download: flat, <name>[_LATE]_<userid>_<submissionid>_<file>."""
    q1, q2, q4 = notebook_names()[0], notebook_names()[1], notebook_names()[3]
    files = {}
    for nb in notebook_names():
        files[f"alice_1001_7001_{nb}.ipynb"] = nbs["untouched"][nb] if nb == q1 else nbs["reference"][nb]
        files[f"bob_LATE_1002_7002_{nb}.ipynb"] = nbs["q1_no_minus_one"][nb]
        files[f"carol_1003_7003_{nb}.ipynb"] = (carol_q4 if nb == q4 and carol_q4 else nbs["untouched"][nb])
    files[f"alice_1001_7001_{q1}-1.ipynb"] = b"older re-upload: must lose to -2"
    files[f"alice_1001_7001_{q1}-2.ipynb"] = nbs["reference"][q1]  # the latest upload wins
    files["alice_1001_7001_notes.pdf"] = b"%PDF-1.4 stray"
    files["bob_LATE_1002_7002_everything.zip"] = _inner_zip(nbs["q1_no_minus_one"])
    files["carol_1003_7003_question2.ipynb"] = nbs["untouched"][q2]
    files[f"erin_1099_7099_{q1}.ipynb"] = nbs["reference"][q1]  # not in the roster
    return zip_of(path, files)


def _inner_zip(nbs):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for nb, data in nbs.items():
            zf.writestr(f"{nb}.ipynb", data)
    return buf.getvalue()


def snapshot(root):
    """{relative path: (bytes, mtime_ns, inode)} of everything in submitted/."""
    base = Path(root) / "submitted"
    return {str(p.relative_to(base)): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino)
            for p in sorted(base.rglob("*")) if p.is_file()} if base.exists() else {}


def contents(root):
    return {k: v[0] for k, v in snapshot(root).items()}


def expected_canvas(nbs, carol_q4=None):
    q4 = notebook_names()[3]
    out = {}
    for nb in notebook_names():
        out[f"alice/{ASSIGNMENT}/{nb}.ipynb"] = nbs["reference"][nb]
        out[f"bob/{ASSIGNMENT}/{nb}.ipynb"] = nbs["q1_no_minus_one"][nb]
        out[f"carol/{ASSIGNMENT}/{nb}.ipynb"] = carol_q4 if nb == q4 and carol_q4 else nbs["untouched"][nb]
    out[f"bob/{ASSIGNMENT}/timestamp.txt"] = b"2026-01-15 23:59:01"  # late: the due date plus 1 s
    return out


@pytest.fixture(scope="module")
def canvas(template, tmp_path_factory):
    """A course with the Canvas archive imported and graded."""
    tmp = tmp_path_factory.mktemp("canvas")
    root = fresh(template, tmp / "course")
    archive = canvas_archive(tmp / "submissions.zip", template[1])
    roster = write_roster(tmp / "roster.csv", 4)
    proc = lms(root, "import", archive, roster, "--duedate", DUE)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # 1: imported, with files to look at
    imported = contents(root)
    run([sys.executable, "-m", "grading.runner", "--workers", "2"], cwd=root)
    return {"root": root, "archive": archive, "roster": roster, "tmp": tmp, "out": proc.stdout,
            "imported": imported}


def test_canvas_import_puts_exactly_the_latest_notebooks_in_place(canvas, template):
    assert canvas["imported"] == expected_canvas(template[1])
    out = canvas["out"]
    assert "3 new, 0 updated, 0 unchanged" in out
    q1 = notebook_names()[0]
    # each bad file is named with what to do
    assert f"alice_1001_7001_{q1}-1.ipynb" in out and "replaced by the same student's newer one" in out
    for name, words in (("alice_1001_7001_notes.pdf", "not a notebook"),
                        ("bob_LATE_1002_7002_everything.zip", "an archive inside the archive"),
                        ("carol_1003_7003_question2.ipynb", "a notebook the assignment does not have"),
                        (f"erin_1099_7099_{q1}.ipynb", "Canvas user 1099 (erin) is not in the roster")):
        line = next((text for text in out.splitlines() if name in text), "")
        assert words in line and " -- " in line, (name, out)
    assert "(its cells are those of q2_mse_vs_cross_entropy.ipynb)" in out
    assert "4 files NOT imported" in out


def test_roster_students_are_in_the_gradebook_and_late_is_late(canvas):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{canvas['root']}/gradebook.db") as gb:
        students = {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gb.students}
        for sid, _, name, email, canvas_id, _ in PEOPLE:
            assert students[sid] == (*name.split(" "), email, canvas_id)
        assert "erin" not in students
        assert str(gb.find_assignment(ASSIGNMENT).duedate) == "2026-01-15 23:59:00"
        late = {s.student_id: s.total_seconds_late for s in gb.assignment_submissions(ASSIGNMENT)}
    assert late == {"alice": 0, "bob": 1, "carol": 0}


def test_reimporting_the_same_archive_changes_nothing(canvas):
    before = snapshot(canvas["root"])
    proc = lms(canvas["root"], "import", canvas["archive"], canvas["roster"], "--duedate", DUE)
    assert "0 new, 0 updated, 3 unchanged" in proc.stdout, proc.stdout
    assert snapshot(canvas["root"]) == before


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def expected_grades(root):
    """{student: grade string or ""} from the gradebook, as nbgrader export computes a grade."""
    from nbgrader.api import Gradebook, MissingEntry
    out = {}
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        points = gb.find_assignment(ASSIGNMENT).max_score
        for sid, *_ in PEOPLE:
            try:
                sub = gb.find_submission(ASSIGNMENT, sid)
                out[sid] = max(0.0, sub.score - sub.late_submission_penalty)
            except MissingEntry:
                out[sid] = ""
    return points, out


def check_cells(got, want):
    assert len(got) == len(want), (got, want)
    for r, (g_row, w_row) in enumerate(zip(got, want, strict=True)):
        assert len(g_row) == len(w_row), (r, g_row, w_row)
        for c, (g, w) in enumerate(zip(g_row, w_row, strict=True)):
            if isinstance(w, float):
                assert g != "" and abs(float(g) - w) < 0.005, (r, c, g, w)
            else:
                assert g == w, (r, c, g, w)


def export_and_check(root):
    proc = lms(root, "export", "--canvas-assignment", CANVAS_NAME, "--canvas-assignment-id", CANVAS_ID)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    points, grades = expected_grades(root)
    canvas_rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{CANVAS_NAME} ({CANVAS_ID})"],
                   ["Points Possible", "", "", "", "", float(points)]]
    moodle_rows = [["First name", "Surname", "ID number", "Email address", ASSIGNMENT]]
    for sid, _, name, email, canvas_id, _ in PEOPLE:
        first, last = name.split(" ")
        canvas_rows.append([f"{last}, {first}", canvas_id, "", "", "", grades[sid]])
        moodle_rows.append([first, last, sid, email, grades[sid]])
    check_cells(read_csv(root / "grades-canvas.csv"), canvas_rows)
    check_cells(read_csv(root / "grades-moodle.csv"), moodle_rows)
    return grades


def test_export_matches_the_gradebook_with_manual_grades_and_no_zero_for_no_submission(canvas):
    root = canvas["root"]
    before = export_and_check(root)
    assert before["dave"] == "" and before["alice"] > before["carol"]
    assert "" not in (before["alice"], before["bob"], before["carol"])
    # a grader gives alice points by hand on a written answer: the export follows
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        sub = gb.find_submission(ASSIGNMENT, "alice")
        grade = next(g for nb in sub.notebooks for g in nb.grades
                     if g.cell_type == "markdown" and g.max_score >= 2)
        old = grade.score
        grade.manual_score = old - 1 if old >= 1 else old + 1
        gb.db.commit()
        delta = grade.manual_score - old
    after = export_and_check(root)
    assert abs(after["alice"] - (before["alice"] + delta)) < 1e-9
    assert after["bob"] == before["bob"]


def test_a_newer_archive_updates_only_the_students_in_it(canvas, template):
    root, nbs = canvas["root"], template[1]
    q4 = notebook_names()[3]
    before = snapshot(root)
    newer = zip_of(canvas["tmp"] / "newer.zip", {
        f"carol_1003_7003_{nb}.ipynb": nbs["reference"][q4] if nb == q4 else nbs["untouched"][nb]
        for nb in notebook_names()})
    proc = lms(root, "import", newer, canvas["roster"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 new, 1 updated, 0 unchanged" in proc.stdout and "updated: carol" in proc.stdout
    after = snapshot(root)
    assert {k: v for k, v in after.items() if not k.startswith("carol/")} == \
           {k: v for k, v in before.items() if not k.startswith("carol/")}
    assert contents(root) == expected_canvas(nbs, carol_q4=nbs["reference"][q4])


def _damaged_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"alice_1001_7002_{notebook_names()[0]}.ipynb", b"x" * 2000)  # a newer submission id
    data = bytearray(buf.getvalue())
    data[500] ^= 0xFF  # one flipped byte inside the file's data
    return bytes(data)


@pytest.mark.parametrize("data, message", [
    (b"this is a CSV, not a zip\n", "is not a zip archive: nothing imported"),
    (b"PK\x03\x04 cut off", "is not a zip archive: nothing imported"),
    (_damaged_zip(), "Bad CRC-32")])
def test_an_archive_that_is_not_a_zip_changes_nothing(canvas, data, message):
    root = canvas["root"]
    before = snapshot(root)
    bad = canvas["tmp"] / "submissions.zip.txt"
    bad.write_bytes(data)
    proc = lms(root, "import", bad, canvas["roster"])
    assert proc.returncode == 2
    assert message in proc.stdout and "nothing imported" in proc.stdout, proc.stdout
    assert snapshot(root) == before
    assert not list(root.glob(".lms-import-*"))


@pytest.mark.parametrize("text, message", [
    ("id,name\nalice,Alice\n", "missing: lms_id, student_id"),
    ("student_id,lms_id\nalice,1001\nalicia,1001\n", "appears twice"),
    ("student_id,lms_id\n../alice,1001\n", "cannot be a folder name")])
def test_a_bad_roster_is_refused(canvas, text, message):
    roster = canvas["tmp"] / "bad-roster.csv"
    roster.write_text(text)
    before = snapshot(canvas["root"])
    proc = lms(canvas["root"], "import", canvas["archive"], roster)
    assert proc.returncode == 2 and message in proc.stdout and "nothing imported" in proc.stdout, proc.stdout
    assert snapshot(canvas["root"]) == before


def test_moodle_download_all_submissions(template, tmp_path):
    root = fresh(template, tmp_path / "course")
    nbs = template[1]
    q1 = notebook_names()[0]
    files = {}
    for nb in notebook_names():
        files[f"Alice Liddell_501_assignsubmission_file_/{nb}.ipynb"] = nbs["reference"][nb]
        files[f"Bob Builder_502_assignsubmission_file_/{nb}.ipynb"] = nbs["q1_no_minus_one"][nb]
    files["Bob Builder_502_assignsubmission_file_/answers.pdf"] = b"%PDF-1.4"
    files["Bob Builder_502_assignsubmission_onlinetext_/onlinetext.html"] = b"<p>hi</p>"
    files["Carol Danvers_503_assignsubmission_file_/work.zip"] = _inner_zip(nbs["untouched"])
    files["Carol Danvers_503_assignsubmission_file_/Q1.ipynb"] = nbs["untouched"][q1]
    files[f"Zed Zero_599_assignsubmission_file_/{q1}.ipynb"] = nbs["reference"][q1]
    files[f"../{q1}.ipynb"] = nbs["reference"][q1]  # nbgrader's extraction skips it silently
    files["__MACOSX/._Alice Liddell_501_assignsubmission_file_"] = b"zip tool litter"
    archive = zip_of(tmp_path / "moodle.zip", files)
    roster = write_roster(tmp_path / "roster.csv", 5)
    proc = lms(root, "import", archive, roster)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    want = {}
    for nb in notebook_names():
        want[f"alice/{ASSIGNMENT}/{nb}.ipynb"] = nbs["reference"][nb]
        want[f"bob/{ASSIGNMENT}/{nb}.ipynb"] = nbs["q1_no_minus_one"][nb]
    assert contents(root) == want
    out = proc.stdout
    assert "2 new, 0 updated, 0 unchanged" in out and "6 files NOT imported" in out and "MACOSX" not in out
    for name, words in (("answers.pdf", "not a notebook"), ("onlinetext.html", "onlinetext submission"),
                        ("work.zip", "an archive inside the archive"),
                        ("Q1.ipynb", f"does not have, from carol (Moodle 503) (its cells are those of {q1}.ipynb)"),
                        ("Zed Zero_599", "Moodle user 599 (Zed Zero) is not in the roster"),
                        (f"../{q1}.ipynb", "a path outside the archive")):
        line = next((text for text in out.splitlines() if name in text), "")
        assert words in line and " -- " in line, (name, out)
    assert lms(root, "import", archive, roster).stdout.count("0 new, 0 updated, 2 unchanged") == 1
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        assert {s.id: s.lms_user_id for s in gb.students} == {p[0]: p[5] for p in PEOPLE}


def test_late_without_a_due_date_is_imported_and_named(template, tmp_path):
    root = fresh(template, tmp_path / "course")
    archive = canvas_archive(tmp_path / "submissions.zip", template[1])
    proc = lms(root, "import", archive, write_roster(tmp_path / "roster.csv", 4))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    want = expected_canvas(template[1])
    del want[f"bob/{ASSIGNMENT}/timestamp.txt"]  # no due date: nothing to be late after
    assert contents(root) == want
    line = next(text for text in proc.stdout.splitlines() if "no due date" in text)
    assert "bob" in line and "alice" not in line and "DUEDATE=" in line
