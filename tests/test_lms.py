"""Courses without a hub (grading/hosting/lms.py): an LMS bulk download in, the LMS's gradebook out.

Every archive here is built with the LMS's own naming rules (tests/lms_layouts.py, each rule
citing the Canvas or Moodle source it follows), from the sample class's notebooks, with what real
downloads hold (re-uploads, late files, a student not in the roster, a stray PDF, a zip inside
the zip, a notebook under a wrong name, Moodle 3.x and 4.1+, team and group submissions,
anonymous grading, zip bombs). What lands in submitted/ and in the gradebook's roster is checked
file by file; one Canvas class is graded (three students) and exported, and the exported files
are read back with Canvas's and Moodle's own matching rules: every row must find its student.
"""
import csv
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lms_layouts import (
    canvas_entry,
    canvas_import,
    canvas_sortable,
    canvas_unique_filename,
    moodle_csv_import,
    moodle_entry,
    moodle_worksheet_import,
)

from course_helpers import REPO, course_env, make_course, run  # course_helpers puts the repository on sys.path
from grading import sample_class
from grading.course import ASSIGNMENT, notebook_names
from grading.hosting import lms_names
from ml_conceptual import sample_class as course_class

DUE = "2026-01-15 23:59 UTC"
CANVAS_NAME, CANVAS_ID = "Conceptual questions", "4242"
# course student id, sample student whose notebooks they submit, first, last, email, Canvas id, Moodle id
PEOPLE = [("alice", "reference", "Alice", "Liddell", "alice@example.edu", "1001", "501"),
          ("bob", "q1_no_minus_one", "Bob", "Builder", "bob@example.edu", "1002", "502"),
          ("carol", "untouched", "Carol", "Danvers", "carol@example.edu", "1003", "503"),
          ("dave", None, "Dave", "Lister", "dave@example.edu", "1004", "504")]  # submits nothing
Q1, Q2, Q3, Q4 = notebook_names()


def lms(root, *args):
    return subprocess.run([sys.executable, "-m", "grading.hosting.lms", *map(str, args)], cwd=root,
                          env=course_env(), capture_output=True, text=True)


def write_roster(path, column, extra=None, people=PEOPLE):
    """column: 5 (Canvas ids) or 6 (Moodle ids); ``extra``: {column name: {student: value}}."""
    extra = extra or {}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "lms_id", "name", "email", *extra])
        for p in people:
            w.writerow([p[0], p[column], f"{p[2]} {p[3]}", p[4], *(values.get(p[0], "") for values in extra.values())])
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A fresh course, and every sample student's notebooks as bytes."""
    root = make_course(tmp_path_factory.mktemp("lms") / "course")
    out = tmp_path_factory.mktemp("sample")
    wanted = {p[1] for p in PEOPLE if p[1]}
    sample_class.build(out, [s for s in course_class.STUDENTS if s.id in wanted],
                       root / "source" / ASSIGNMENT, root / "release" / ASSIGNMENT)
    notebooks = {sid: {nb: (out / sid / ASSIGNMENT / f"{nb}.ipynb").read_bytes() for nb in notebook_names()}
                 for sid in wanted}
    return root, notebooks


def fresh(template, dest):
    shutil.copytree(template[0], dest)
    return dest


def zip_of(path, files):
    """files: {name in the archive: bytes}; an entry under an ``/old/`` folder is dated 1990."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, (1990, 1, 1, 0, 0, 0) if "/old/" in name else (2026, 1, 10, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def _inner_zip(nbs):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for nb, data in nbs.items():
            zf.writestr(f"{nb}.ipynb", data)
    return buf.getvalue()


def person(sid):
    return next(p for p in PEOPLE if p[0] == sid)


def canvas_files(sid, nbs, attachment, late=False, names=None, **kw):
    """{entry: bytes} of one student's Canvas submission of every notebook in ``nbs``."""
    p = person(sid)
    return {canvas_entry(p[5], attachment + i, (names or {}).get(nb, f"{nb}.ipynb"),
                         kw.get("sortable", canvas_sortable(p[2], p[3])), late, kw.get("anonymous_id")): data
            for i, (nb, data) in enumerate(nbs.items())}


def canvas_archive(path, nbs, carol_q4=None):
    """Canvas's bulk download (lib/content_zipper.rb): alice re-uploaded q1 twice (Canvas named the
    uploads q1-1 and q1-2 in her Submissions folder, each a newer attachment), bob is late."""
    files = {}
    files.update(canvas_files("alice", {nb: nbs["reference"][nb] for nb in (Q2, Q3, Q4)}, 7001))
    files.update(canvas_files("bob", nbs["q1_no_minus_one"], 7101, late=True))
    carol = dict(nbs["untouched"], **({Q4: carol_q4} if carol_q4 else {}))
    files.update(canvas_files("carol", carol, 7201))
    first = canvas_unique_filename(f"{Q1}.ipynb", {f"{Q1}.ipynb"})
    second = canvas_unique_filename(f"{Q1}.ipynb", {f"{Q1}.ipynb", first})
    files[canvas_entry("1001", 7010, first, "Liddell, Alice")] = b"older re-upload: must lose to the newer"
    files[canvas_entry("1001", 7011, second, "Liddell, Alice")] = nbs["reference"][Q1]  # the latest upload wins
    files[canvas_entry("1001", 7012, "notes.pdf", "Liddell, Alice")] = b"%PDF-1.4 stray"
    files[canvas_entry("1002", 7110, "everything.zip", "Builder, Bob", late=True)] = _inner_zip(nbs["q1_no_minus_one"])
    files[canvas_entry("1003", 7210, "question2.ipynb", "Danvers, Carol")] = nbs["untouched"][Q2]
    files[canvas_entry("1099", 7901, f"{Q1}.ipynb", "Erin, Eve")] = nbs["reference"][Q1]  # not in the roster
    return zip_of(path, files)


def snapshot(root):
    """{relative path: (bytes, mtime_ns, inode)} of everything in submitted/."""
    base = Path(root) / "submitted"
    return {str(p.relative_to(base)): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino)
            for p in sorted(base.rglob("*")) if p.is_file()} if base.exists() else {}


def contents(root, notebooks_only=False):
    return {k: v[0] for k, v in snapshot(root).items() if not notebooks_only or k.endswith(".ipynb")}


def expected_canvas(nbs, carol_q4=None):
    out = {}
    for nb in notebook_names():
        out[f"alice/{ASSIGNMENT}/{nb}.ipynb"] = nbs["reference"][nb]
        out[f"bob/{ASSIGNMENT}/{nb}.ipynb"] = nbs["q1_no_minus_one"][nb]
        out[f"carol/{ASSIGNMENT}/{nb}.ipynb"] = carol_q4 if nb == Q4 and carol_q4 else nbs["untouched"][nb]
    out[f"bob/{ASSIGNMENT}/timestamp.txt"] = b"2026-01-15 23:59:01"  # late: the due date plus 1 s
    out[f"bob/{ASSIGNMENT}/.lms-late"] = (b"Canvas marks this submission late and does not say when: "
                                          b"recorded as late by one second\n")
    return out


def line_naming(out, name):
    return next((text for text in out.splitlines() if name in text), "")


# ----------------------------------------------------------------------------- names, without a course
NAMES = [("Liddell", "Alice"), ("O'Brien", "Seán"), ("Nguyễn", "Thị Minh"), ("van der Berg", "Jo_12_Anne"),
         ("Smith", "John 3rd"), ("Ünal", "Zoë"), ("王", "小明"), ("Dupont-Durand", "Marie")]


@pytest.mark.parametrize("last, first", NAMES)
@pytest.mark.parametrize("late", [False, True])
def test_canvas_names_read_back(last, first, late):
    """Every name Canvas can write (lib/content_zipper.rb) parses back to its user, attachment,
    file and late mark; re-upload suffixes come off the notebook's name."""
    for display, again in ((f"{Q1}.ipynb", 0), (canvas_unique_filename(f"{Q1}.ipynb", {f"{Q1}.ipynb"}), 1),
                           (f"{Q1} (2).ipynb", 2),
                           (canvas_unique_filename(f"{Q1}.ipynb", {f"{Q1}.ipynb"} | {f"{Q1}-{n}.ipynb" for n in
                                                                                      range(1, 8)}), 8)):
        entry = canvas_entry("123", 98765, display, canvas_sortable(first, last), late)
        upload = lms_names.parse((entry,), frozenset({"123"}))
        assert (upload.layout, upload.owner, upload.lms_id, upload.rank, upload.late) == \
               ("Canvas", "user", "123", (98765,), late), entry
        assert {upload.name} == lms_names.canvas_names(f"{last}, {first}")
        assert upload.name in lms_names.canvas_names(f"{first} {last}")
        assert lms_names.notebook_stem(upload.file, notebook_names()) == (Q1, ".ipynb", again), entry


@pytest.mark.parametrize("late", [False, True])
def test_canvas_anonymous_names_read_back(late):
    entry = canvas_entry(None, 555, f"{Q2}.ipynb", late=late, anonymous_id="Ab3xZ")
    assert entry.startswith("LATE_anon_" if late else "anon_")
    upload = lms_names.parse((entry,))
    assert (upload.owner, upload.lms_id, upload.late, upload.file) == ("anonymous", "Ab3xZ", late, f"{Q2}.ipynb")


@pytest.mark.parametrize("version", ["3", "4"])
@pytest.mark.parametrize("folders", [True, False])
@pytest.mark.parametrize("last, first", NAMES[:4] + [("", "Participant")])
def test_moodle_names_read_back(version, folders, last, first):
    """Every Moodle shape (3.x and 4.1+, with and without folders, blind marking) parses back
    to its participant id and file, whatever the name holds."""
    fullname = f"{first} {last}".strip()
    entry = moodle_entry(version, fullname, 4711, f"{Q3}.ipynb", folders=folders)
    upload = lms_names.parse(tuple(entry.split("/")))
    assert (upload.layout, upload.lms_id, upload.file, upload.kind) == ("Moodle", "4711", f"{Q3}.ipynb", "file"), entry
    assert upload.name == fullname.replace("_", " ")


def test_moodle_team_and_other_plugin_names():
    team = moodle_entry("4", None, None, f"{Q1}.ipynb", team_group=("Team_A", 17))
    assert team == f"Team A_17_assignsubmission_file/{Q1}.ipynb"
    upload = lms_names.parse(tuple(team.split("/")))
    assert (upload.layout, upload.lms_id, upload.name) == ("Moodle", "17", "Team A")  # whose: the roster says
    default = moodle_entry("4", None, None, f"{Q1}.ipynb", team_group=("Default group", None))
    assert lms_names.parse(tuple(default.split("/"))).owner == "default team"
    text = moodle_entry("4", "Jane Doe", 9, "onlinetext.html", plugin="onlinetext")
    assert lms_names.parse(tuple(text.split("/"))).kind == "onlinetext"
    nested = moodle_entry("4", "Jane Doe", 9, f"{Q1}.ipynb", filepath="/week 3/")
    upload = lms_names.parse(tuple(nested.split("/")))
    assert (upload.lms_id, upload.name, upload.file) == ("9", "Jane Doe", f"{Q1}.ipynb")
    assert lms_names.parse(("random.ipynb",)) is None and lms_names.parse(("x_1_y.ipynb",)) is None
    for entry, kind in (("doejane_LATE_123_text.html", "text"), ("anon_Ab3xZ_link.html", "link")):  # Canvas
        upload = lms_names.parse((entry,))  # ContentZipper#add_text_or_url: no attachment id
        assert (upload.layout, upload.kind, upload.late) == ("Canvas", kind, "LATE" in entry), entry


# ----------------------------------------------------------------------------- Canvas, graded
@pytest.fixture(scope="module")
def canvas(template, tmp_path_factory):
    """A course with the Canvas archive imported and graded."""
    tmp = tmp_path_factory.mktemp("canvas")
    root = fresh(template, tmp / "course")
    archive = canvas_archive(tmp / "submissions.zip", template[1])
    roster = write_roster(tmp / "roster.csv", 5)
    proc = lms(root, "import", archive, roster, "--duedate", DUE)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # 1: imported, with files to look at
    imported = contents(root)
    run([sys.executable, "-m", "grading.batch.runner", "--workers", "2"], cwd=root)
    return {"root": root, "archive": archive, "roster": roster, "tmp": tmp, "out": proc.stdout,
            "imported": imported}


def test_canvas_import_puts_exactly_the_latest_notebooks_in_place(canvas, template):
    assert canvas["imported"] == expected_canvas(template[1])
    out = canvas["out"]
    assert "3 new, 0 updated, 0 unchanged" in out
    assert f"{Q1}-1.ipynb" in line_naming(out, "replaced by the same student's newer one")
    for name, words in (("notes.pdf", "not a notebook"),
                        ("everything.zip", "an archive inside the archive"),
                        ("question2.ipynb", "a notebook the assignment does not have"),
                        ("erineve_1099_7901", "Canvas user 1099 (erineve) is not in the roster")):
        line = line_naming(out, name)
        assert words in line and " -- " in line, (name, out)
    assert f"(its cells are those of {Q2}.ipynb)" in out
    assert "4 files NOT imported" in out
    assert "bob" in line_naming(out, "LATE per the LMS, which does not say by how much")


def test_roster_students_are_in_the_gradebook_and_late_is_late(canvas):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{canvas['root']}/gradebook.db") as gb:
        students = {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gb.students}
        for sid, _, first, last, email, canvas_id, _ in PEOPLE:
            assert students[sid] == (first, last, email, canvas_id)
        assert "erin" not in students
        assert str(gb.find_assignment(ASSIGNMENT).duedate) == "2026-01-15 23:59:00"
        late = {s.student_id: s.total_seconds_late for s in gb.assignment_submissions(ASSIGNMENT)}
    assert late == {"alice": 0, "bob": 1, "carol": 0}


def test_reimporting_the_same_archive_changes_nothing(canvas):
    before = snapshot(canvas["root"])
    proc = lms(canvas["root"], "import", canvas["archive"], canvas["roster"], "--duedate", DUE)
    assert "0 new, 0 updated, 3 unchanged" in proc.stdout, proc.stdout
    assert snapshot(canvas["root"]) == before


def expected_grades(root, penalty=True):
    """{student: grade} from the gradebook, as nbgrader export computes a grade (students with a
    submission only)."""
    from nbgrader.api import Gradebook, MissingEntry
    out = {}
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        points = gb.find_assignment(ASSIGNMENT).max_score
        for sid, *_ in PEOPLE:
            try:
                sub = gb.find_submission(ASSIGNMENT, sid)
                out[sid] = max(0.0, sub.score - (sub.late_submission_penalty if penalty else 0))
            except MissingEntry:
                pass
    return points, out


def export(root, *args):
    proc = lms(root, "export", "--canvas-assignment", CANVAS_NAME, "--canvas-assignment-id", CANVAS_ID, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def imported_by_the_lms(root):
    """The grades of the three files as Canvas's and Moodle's importers would read them, each
    row matched to its student by that LMS's own rule: {file: {student: grade}}."""
    roster = {p[5]: p[0] for p in PEOPLE}
    emails = {p[4]: p[0] for p in PEOPLE}
    canvas_grades = canvas_import(root / "grades-canvas.csv", roster)
    moodle_grades = moodle_csv_import(root / "grades-moodle.csv", emails)
    points, _ = expected_grades(root)
    sheet, skipped = moodle_worksheet_import(root / "grades-moodle-worksheet.csv", roster, points)
    assert not skipped
    return {"canvas": {roster[k]: float(v) for k, v in canvas_grades.items()},
            "moodle": {k: float(v) for k, v in moodle_grades.items()},
            "worksheet": {k: float(v) for k, v in sheet.items()}}


def assert_close(got, want):
    assert got.keys() == want.keys(), (got, want)
    for k in want:
        assert abs(got[k] - want[k]) < 0.005, (k, got[k], want[k])


def test_every_row_of_every_grades_file_finds_its_student(canvas):
    root = canvas["root"]
    out = export(root)
    points, grades = expected_grades(root)
    assert set(grades) == {"alice", "bob", "carol"} and grades["alice"] > grades["carol"]
    for got in imported_by_the_lms(root).values():
        assert_close(got, grades)
    rows = list(csv.reader(open(root / "grades-canvas.csv", encoding="utf-8")))
    assert rows[0][-1] == f"{CANVAS_NAME} ({CANVAS_ID})" and rows[1] == ["Points Possible", "", "", "", "", "100"]
    assert "not exported: dave: no submission" in out  # no row: the LMS keeps what it has
    assert all(r[1] for r in rows[2:])  # every student row has its Canvas user id


def test_export_follows_manual_grades_and_who_applies_the_late_penalty(canvas):
    root = canvas["root"]
    from nbgrader.api import Gradebook
    _, before = expected_grades(root)
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        sub = gb.find_submission(ASSIGNMENT, "alice")
        grade = next(g for nb in sub.notebooks for g in nb.grades if g.cell_type == "markdown" and g.max_score >= 2)
        old = grade.score
        grade.manual_score = old - 1 if old >= 1 else old + 1
        gb.db.commit()
        delta = grade.manual_score - old
        late_penalty = gb.find_submission(ASSIGNMENT, "bob").late_submission_penalty
    assert late_penalty > 0  # bob is late by the least amount: one started day of the course's penalty
    export(root)
    got = imported_by_the_lms(root)
    assert abs(got["canvas"]["alice"] - (before["alice"] + delta)) < 1e-9
    assert abs(got["canvas"]["bob"] - before["bob"]) < 1e-9
    config = root / "nbgrader_config.py"
    original = config.read_text()
    try:  # the LMS applies its late policy: the files hold the score before any penalty
        config.write_text(original + '\nc.LatePenalty.applied_by = "lms"\n')
        export(root)
        _, raw = expected_grades(root, penalty=False)
        for grades in imported_by_the_lms(root).values():
            assert_close(grades, raw)
        assert abs(raw["bob"] - before["bob"] - late_penalty) < 1e-9
    finally:
        config.write_text(original)


def test_feedback_says_the_lateness_is_unknown_instead_of_a_time(canvas):
    root = canvas["root"]
    run(["nbgrader", "generate_feedback", ASSIGNMENT, "--student", "bob", "--force", "--log-level=WARN"], cwd=root)
    html = (root / "feedback" / "bob" / ASSIGNMENT / f"{Q1}.html").read_text()
    assert "late, not when" in html and "23:59:01" not in html and "late by 0.0 hours" not in html


def test_rows_an_lms_would_misplace_are_left_out_and_named(canvas, tmp_path):
    root = shutil.copytree(canvas["root"], tmp_path / "course")
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        gb.find_student("carol").email = ""  # Moodle would put carol's grade on the row before
        gb.find_student("bob").email = "ALICE@example.edu"  # the same address as alice's, in other case
        gb.db.commit()
    out = export(root)
    for student, why in (("carol", "no email address"), ("alice", "shared with another student"),
                         ("bob", "shared with another student")):
        assert why in line_naming(out, f"left out of grades-moodle.csv: {student}"), out
    _, grades = expected_grades(root)
    moodle = moodle_csv_import(root / "grades-moodle.csv", {"alice@example.edu": "alice"})
    assert moodle == {}
    assert_close({PEOPLE_BY_LMS[k]: float(v) for k, v in canvas_import(root / "grades-canvas.csv",
                                                                        PEOPLE_BY_LMS).items()}, grades)


PEOPLE_BY_LMS = {p[5]: p[0] for p in PEOPLE}


def test_a_newer_archive_updates_only_the_students_in_it(canvas, template):
    root, nbs = canvas["root"], template[1]
    before = snapshot(root)
    newer = zip_of(canvas["tmp"] / "newer.zip",
                   canvas_files("carol", dict(nbs["untouched"], **{Q4: nbs["reference"][Q4]}), 7301))
    proc = lms(root, "import", newer, canvas["roster"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 new, 1 updated, 0 unchanged" in proc.stdout and "updated: carol" in proc.stdout
    after = snapshot(root)
    assert {k: v for k, v in after.items() if not k.startswith("carol/")} == \
           {k: v for k, v in before.items() if not k.startswith("carol/")}
    assert contents(root) == expected_canvas(nbs, carol_q4=nbs["reference"][Q4])


def _damaged_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(canvas_entry("1001", 7999, f"{Q1}.ipynb", "Liddell, Alice"), b"x" * 2000)  # a newer upload
    data = bytearray(buf.getvalue())
    data[500] ^= 0xFF  # one flipped byte inside the file's data
    return bytes(data)


@pytest.mark.parametrize("data, code, message", [
    (b"this is a CSV, not a zip\n", 2, "is not a zip archive: nothing imported"),
    (b"PK\x03\x04 cut off", 2, "is not a zip archive: nothing imported"),
    (_damaged_zip(), 1, "damaged in the archive (Bad CRC-32")])
def test_an_archive_that_is_not_a_zip_or_is_damaged_changes_nothing(canvas, data, code, message):
    root = canvas["root"]
    before = snapshot(root)
    bad = canvas["tmp"] / "submissions.zip.txt"
    bad.write_bytes(data)
    proc = lms(root, "import", bad, canvas["roster"])
    assert proc.returncode == code
    assert message in proc.stdout, proc.stdout
    assert snapshot(root) == before
    assert not list(root.glob(".lms-import-*"))


@pytest.mark.parametrize("text, message", [
    ("id,name\nalice,Alice\n", "missing: lms_id, student_id"),
    ("student_id,lms_id\nalice,1001\nalicia,1001\n", "appears twice"),
    ("student_id,lms_id\n../alice,1001\n", "cannot be a folder name"),
    ("student_id,lms_id,name\nzoe,1001,Zo\xeb M\xfcller\n".encode("cp1252"),
     "not UTF-8 text (byte 0xeb at offset 34); save it as UTF-8: Excel: File > Save As > 'CSV UTF-8")])
def test_a_bad_roster_is_refused(canvas, text, message):
    roster = canvas["tmp"] / "bad-roster.csv"
    roster.write_bytes(text if isinstance(text, bytes) else text.encode())
    before = snapshot(canvas["root"])
    proc = lms(canvas["root"], "import", canvas["archive"], roster)
    assert proc.returncode == 2 and message in proc.stdout and "nothing imported" in proc.stdout, proc.stdout
    assert snapshot(canvas["root"]) == before


# ----------------------------------------------------------------------------- Moodle, imported
def moodle_class(nbs, version, folders=True):
    """alice and bob as Moodle names them, with what Moodle downloads also hold."""
    files = {}
    for nb in notebook_names():
        files[moodle_entry(version, "Alice Liddell", 501, f"{nb}.ipynb", folders=folders)] = nbs["reference"][nb]
        files[moodle_entry(version, "Bob Builder", 502, f"{nb}.ipynb", folders=folders,
                           filepath="/my work/")] = nbs["q1_no_minus_one"][nb]
    files[moodle_entry(version, "Bob Builder", 502, "answers.pdf", folders=folders)] = b"%PDF-1.4"
    files[moodle_entry(version, "Bob Builder", 502, "onlinetext.html", plugin="onlinetext")] = b"<p>hi</p>"
    files[moodle_entry(version, "Carol Danvers", 503, "work.zip", folders=folders)] = _inner_zip(nbs["untouched"])
    files[moodle_entry(version, "Carol Danvers", 503, "Q1.ipynb", folders=folders)] = nbs["untouched"][Q1]
    files[moodle_entry(version, "Zed Zero", 599, f"{Q1}.ipynb", folders=folders)] = nbs["reference"][Q1]
    files[f"../{Q1}.ipynb"] = nbs["reference"][Q1]  # nbgrader's extraction would skip it silently
    if folders:  # alice's older copy of q1 in a subfolder (zip_of dates it 1990): the newer file wins
        files[moodle_entry(version, "Alice Liddell", 501, f"{Q1}.ipynb", filepath="/old/")] = nbs["untouched"][Q1]
    files["__MACOSX/._Alice Liddell_501_assignsubmission_file"] = b"zip tool litter"
    return files


@pytest.mark.parametrize("version, folders", [("4", True), ("4", False), ("3", True)])
def test_moodle_download_all_submissions(template, tmp_path, version, folders):
    root = fresh(template, tmp_path / "course")
    nbs = template[1]
    archive = zip_of(tmp_path / "moodle.zip", moodle_class(nbs, version, folders))
    roster = write_roster(tmp_path / "roster.csv", 6)
    proc = lms(root, "import", archive, roster)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    want = {}
    for nb in notebook_names():
        want[f"alice/{ASSIGNMENT}/{nb}.ipynb"] = nbs["reference"][nb]
        want[f"bob/{ASSIGNMENT}/{nb}.ipynb"] = nbs["q1_no_minus_one"][nb]
    assert contents(root) == want
    out = proc.stdout
    assert "2 new, 0 updated, 0 unchanged" in out and "6 files NOT imported" in out and "MACOSX" not in out
    assert ("/old/" in line_naming(out, "replaced by the same student's newer one")) == folders
    for name, words in (("answers.pdf", "not a notebook"), ("onlinetext.html", "onlinetext submission"),
                        ("work.zip", "an archive inside the archive"),
                        ("Q1.ipynb", f"does not have, from carol (Moodle 503) (its cells are those of {Q1}.ipynb)"),
                        ("Zed Zero_599", "Moodle participant or group 599 (Zed Zero) is in no row of the roster"),
                        (f"../{Q1}.ipynb", "a path outside the archive")):
        line = line_naming(out, name)
        assert words in line and " -- " in line, (name, out)
    assert lms(root, "import", archive, roster).stdout.count("0 new, 0 updated, 2 unchanged") == 1
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        assert {s.id: s.lms_user_id for s in gb.students} == {p[0]: p[6] for p in PEOPLE}


def test_moodle_blind_marking(template, tmp_path):
    root = fresh(template, tmp_path / "course")
    nbs = template[1]
    files = {moodle_entry("4", "Participant", 502, f"{nb}.ipynb"): nbs["q1_no_minus_one"][nb] for nb in (Q1, Q2)}
    # re-zipped by a Windows tool (backslashes), and a file name in capitals
    files[moodle_entry("4", "Participant", 502, f"{Q3}.ipynb").replace("/", "\\")] = nbs["q1_no_minus_one"][Q3]
    files[moodle_entry("4", "Participant", 502, f"{Q4}.IPYNB")] = nbs["q1_no_minus_one"][Q4]
    proc = lms(root, "import", zip_of(tmp_path / "blind.zip", files), write_roster(tmp_path / "roster.csv", 6))
    assert proc.returncode == 0, proc.stdout
    assert contents(root) == {f"bob/{ASSIGNMENT}/{nb}.ipynb": nbs["q1_no_minus_one"][nb] for nb in notebook_names()}


def test_moodle_team_submissions_reach_every_member(template, tmp_path):
    """Moodle 4.1+ names a team's folder by its group (``Team A_17``) and the team of students in
    no group ``Default group`` without an id; the roster's group column holds a group's name or id."""
    root = fresh(template, tmp_path / "course")
    nbs = template[1]
    files = {}
    for nb in notebook_names():
        files[moodle_entry("4", None, None, f"{nb}.ipynb", team_group=("Team_A", 17))] = nbs["reference"][nb]
        files[moodle_entry("4", None, None, f"{nb}.ipynb", team_group=("Team B", 18))] = nbs["untouched"][nb]
    files[moodle_entry("4", None, None, f"{Q1}.ipynb", team_group=("Default group", None))] = \
        nbs["q1_no_minus_one"][Q1]
    roster = write_roster(tmp_path / "roster.csv", 6, {"group": {"alice": "Team A", "bob": "team_a", "carol": "18"}})
    proc = lms(root, "import", zip_of(tmp_path / "team.zip", files), roster)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # 1: dave is in no group
    want = {}
    for nb in notebook_names():
        want[f"alice/{ASSIGNMENT}/{nb}.ipynb"] = want[f"bob/{ASSIGNMENT}/{nb}.ipynb"] = nbs["reference"][nb]
        want[f"carol/{ASSIGNMENT}/{nb}.ipynb"] = nbs["untouched"][nb]
    want[f"dave/{ASSIGNMENT}/{Q1}.ipynb"] = nbs["q1_no_minus_one"][Q1]  # the default team: students in no group
    assert contents(root) == want
    out = proc.stdout
    assert "alice, bob" in line_naming(out, "group Team A (Moodle 17)")
    assert "carol" in line_naming(out, "group Team B (Moodle 18)")
    assert "dave" in line_naming(out, "in no group")
    # without a group column, a team folder is named with what to do (17 is a group, maybe)
    proc = lms(fresh(template, tmp_path / "course2"), "import", tmp_path / "team.zip",
               write_roster(tmp_path / "plain.csv", 6))
    assert "for a team submission a group column naming group 17 (Team A)" in proc.stdout, proc.stdout
    assert "Moodle does not say who they are: give the roster a group column" in proc.stdout


# ----------------------------------------------------------------------------- Canvas groups, anonymous
def test_canvas_group_assignment_gives_every_member_the_notebooks(template, tmp_path):
    """Canvas names a group's files after the group, under one member's user id
    (Assignment#representatives); its group export says who the members are."""
    root = fresh(template, tmp_path / "course")
    nbs = template[1]
    files = {canvas_entry("1002", 8000 + i, f"{nb}.ipynb", "Team Rocket", late=True): nbs["reference"][nb]
             for i, nb in enumerate(notebook_names())}
    files.update({canvas_entry("1003", 8100 + i, f"{nb}.ipynb", "Solo"): nbs["untouched"][nb]
                  for i, nb in enumerate(notebook_names())})
    archive = zip_of(tmp_path / "group.zip", files)
    groups = tmp_path / "groups.csv"  # Canvas: People > Groups > the group set > Export
    groups.write_text("name,canvas_user_id,user_id,login_id,sections,group_name,canvas_group_id,group_id\n"
                      '"Liddell, Alice",1001,,alice,Section 1,Team Rocket,77,\n'
                      '"Builder, Bob",1002,,bob,Section 1,Team Rocket,77,\n'
                      '"Danvers, Carol",1003,,carol,Section 1,Solo,78,\n')
    proc = lms(root, "import", archive, write_roster(tmp_path / "roster.csv", 5), "--groups", groups, "--duedate", DUE)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # dave is in no group
    got = contents(root)
    for nb in notebook_names():
        assert got[f"alice/{ASSIGNMENT}/{nb}.ipynb"] == got[f"bob/{ASSIGNMENT}/{nb}.ipynb"] == nbs["reference"][nb]
        assert got[f"carol/{ASSIGNMENT}/{nb}.ipynb"] == nbs["untouched"][nb]
    for student in ("alice", "bob"):  # the group's late mark reaches every member
        assert got[f"{student}/{ASSIGNMENT}/timestamp.txt"] == b"2026-01-15 23:59:01"
        assert f"{student}/{ASSIGNMENT}/.lms-late" in got
    assert f"carol/{ASSIGNMENT}/timestamp.txt" not in got
    assert "alice, bob" in line_naming(proc.stdout, "group Team Rocket") and "dave" in line_naming(proc.stdout,
                                                                                                   "in no group")
    # without the groups, only the representative gets them, and the summary says why it looks like a group
    proc = lms(fresh(template, tmp_path / "course2"), "import", archive, write_roster(tmp_path / "r2.csv", 5))
    assert proc.stdout.count("bob's files are named 'teamrocket', not after them") == 1, proc.stdout


def test_canvas_anonymous_grading(template, tmp_path):
    root = fresh(template, tmp_path / "course")
    nbs = template[1]
    files = {canvas_entry(None, 9000 + i, f"{nb}.ipynb", late=True, anonymous_id="Ab3xZ"): nbs["reference"][nb]
             for i, nb in enumerate(notebook_names())}
    files.update({canvas_entry(None, 9100, f"{Q1}.ipynb", anonymous_id="Qq9Zz"): nbs["untouched"][Q1]})
    roster = write_roster(tmp_path / "roster.csv", 5, {"anonymous_id": {"alice": "Ab3xZ"}})
    proc = lms(root, "import", zip_of(tmp_path / "anon.zip", files), roster, "--duedate", DUE)
    assert proc.returncode == 1, proc.stdout
    got = contents(root)
    assert {k: v for k, v in got.items() if k.endswith(".ipynb")} == {
        **{f"alice/{ASSIGNMENT}/{nb}.ipynb": nbs["reference"][nb] for nb in notebook_names()},
        f"anon-Qq9Zz/{ASSIGNMENT}/{Q1}.ipynb": nbs["untouched"][Q1]}
    assert got[f"alice/{ASSIGNMENT}/timestamp.txt"] == b"2026-01-15 23:59:01"  # LATE_anon_...: late
    assert "anon-Qq9Zz" in line_naming(proc.stdout, "anonymous (Canvas anonymous grading")


# ----------------------------------------------------------------------------- archives judged before writing
def _limits(root, entry="64K", total="200K"):
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write(f'\nc.FlatExtractor.max_entry_size = "{entry}"\nc.FlatExtractor.max_total_size = "{total}"\n')


def _declare(data, name, size):
    """A zip archive's bytes with entry ``name`` declaring ``size`` bytes (a lying size header), in
    its local header (size at offset 22, name at 30) and its central directory (24, 46)."""
    data, name = bytearray(data), name.encode()
    for sig, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = data.find(sig)
        while data[at + name_at:at + name_at + len(name)] != name:
            at = data.find(sig, at + 1)
            assert at >= 0
        data[at + size_at:at + size_at + 4] = size.to_bytes(4, "little")
    return bytes(data)


def _wchar():
    with open("/proc/self/io") as fh:
        return int(next(line for line in fh if line.startswith("wchar")).split()[1])


def test_zip_bombs_and_lying_sizes_are_named_and_the_rest_imported(template, tmp_path, monkeypatch):
    """A 64 MB notebook of zeros (64 KB packed) over a 64 KB limit per file, a header that says 100
    bytes for 64 MB, and files past 200 KB in all: each named, nothing of them written, the rest of
    the class imported; the bytes this process writes during the import are measured."""
    root = fresh(template, tmp_path / "course")
    _limits(root)
    nbs = template[1]
    bomb = b"0" * (64 << 20)
    files = {canvas_entry("1001", 7001 + i, f"{nb}.ipynb", "Liddell, Alice"): nbs["reference"][nb]
             for i, nb in enumerate((Q1, Q2))}
    files[canvas_entry("1001", 7003, f"{Q3}.ipynb", "Liddell, Alice")] = bomb  # per entry
    files[canvas_entry("1001", 7004, "notes\x1b[2J.pdf", "Liddell, Alice")] = bomb  # not a notebook: never unpacked
    files.update({canvas_entry("1003", 7300 + i, f"{nb}.ipynb", "Danvers, Carol"): b'{"pad": "' + b"1" * 60_000
                  + bytes(str(i), "ascii") + b'"}' for i, nb in enumerate(notebook_names())})
    entry = canvas_entry("1002", 7100, f"{Q1}.ipynb", "Builder, Bob")
    files[entry] = bomb  # a lying header: it will declare 100 bytes
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(_declare(zip_of(tmp_path / "honest.zip", files).read_bytes(), entry, 100))
    with zipfile.ZipFile(archive) as zf:
        sizes = {i.filename: i.file_size for i in zf.infolist()}
    assert sizes[entry] == 100 and sum(sizes.values()) > 64 << 20

    roster = write_roster(tmp_path / "roster.csv", 5)
    monkeypatch.chdir(root)
    from grading.hosting.lms import import_archive
    before = _wchar()
    result = import_archive(archive, roster, root=root)
    written = _wchar() - before
    assert not result.error, result.error
    got = contents(root)
    assert got[f"alice/{ASSIGNMENT}/{Q1}.ipynb"] == nbs["reference"][Q1] and f"alice/{ASSIGNMENT}/{Q3}.ipynb" not in got
    problems = {p.file: p.reason for p in result.problems}
    assert "declares 67,108,864 bytes, over the limit of 65,536 per file" in problems[canvas_entry(
        "1001", 7003, f"{Q3}.ipynb", "Liddell, Alice")]
    assert "damaged in the archive (Bad CRC-32" in problems[entry]
    assert "not a notebook" in problems[canvas_entry("1001", 7004, "notes\x1b[2J.pdf", "Liddell, Alice")]
    assert all("\x1b" not in str(p) and "\\x1b" in str(p) for p in result.problems if "notes" in p.file)
    carol = sorted(k for k in got if k.startswith("carol/"))
    past = sum("would take the import past its limit of 204,800 bytes in all" in r for r in problems.values())
    assert len(carol) + past == 4 and carol and past
    assert got[f"alice/{ASSIGNMENT}/{Q2}.ipynb"] == nbs["reference"][Q2]
    assert result.unpacked <= 200 << 10 and result.written < 400 << 10
    assert written < 4 << 20, written  # everything this process wrote: the files, the gradebook, logs


def test_make_import_fails_exactly_when_nothing_was_imported(template, tmp_path):
    """make's own status is 2 for any failed recipe: make import fails when nothing was imported
    and succeeds, saying so, when files were imported with some to look at (the command's 1)."""
    root = fresh(template, tmp_path / "course")
    roster = write_roster(tmp_path / "roster.csv", 5)

    def make(archive):
        return subprocess.run(["make", "-f", str(REPO / "Makefile"), "-o", "setup", "import", f"ARCHIVE={archive}",
                               f"ROSTER={roster}"], cwd=root, env=course_env(), capture_output=True, text=True)
    proc = make(canvas_archive(tmp_path / "submissions.zip", template[1]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 files NOT imported" in proc.stdout and "imported, with the files or students listed above" in proc.stdout
    assert (root / "submitted" / "alice" / ASSIGNMENT / f"{Q1}.ipynb").is_file()
    (tmp_path / "not.zip").write_text("student_id,lms_id\n")
    proc = make(tmp_path / "not.zip")
    assert proc.returncode == 2 and "nothing imported" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("applied_by, penalty", [("course", 2.0), ("lms", 0.0)])
def test_the_course_penalty_follows_who_applies_it(applied_by, penalty):
    """c.LatePenalty.applied_by "lms": nbgrader takes nothing off (the LMS will), so the
    gradebook, the feedback and the grades files never hold a second deduction."""
    from traitlets.config import Config

    from grading.step.late_penalty import FractionPerDayLate
    config = Config({"LatePenalty": {"applied_by": applied_by}, "FractionPerDayLate": {"fraction_per_day": 0.1}})
    assert FractionPerDayLate(config=config).late_submission_penalty("bob", 10.0, 86400 + 1) == penalty


def test_the_archive_limits_are_documented_options_set_to_their_defaults():
    from grading.course import load_config
    from grading.hosting.lms import FlatExtractor
    config = load_config()
    for name in ("max_entry_size", "max_total_size"):
        trait = FlatExtractor.class_traits()[name]
        assert config.FlatExtractor[name] == trait.default() and len(trait.help) > 30


def test_late_without_a_due_date_is_imported_and_named(template, tmp_path):
    root = fresh(template, tmp_path / "course")
    archive = canvas_archive(tmp_path / "submissions.zip", template[1])
    proc = lms(root, "import", archive, write_roster(tmp_path / "roster.csv", 5))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    want = expected_canvas(template[1])
    del want[f"bob/{ASSIGNMENT}/timestamp.txt"], want[f"bob/{ASSIGNMENT}/.lms-late"]  # no due date: not late
    assert contents(root) == want
    line = line_naming(proc.stdout, "no due date")
    assert "bob" in line and "alice" not in line and "DUEDATE=" in line
