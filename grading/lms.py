"""Courses without a hub: an LMS's bulk download in, the LMS's gradebook out.

Students download the notebooks from Canvas or Moodle and upload the .ipynb files back; the
instructor downloads every submission as one archive, grades here, and uploads a grades file
(how, step by step: docs/lms.md).

    python -m grading.lms import ARCHIVE ROSTER [--duedate "2026-12-01 23:59 UTC"]
    python -m grading.lms export [--canvas-assignment NAME] [--canvas-assignment-id ID] [--moodle-item NAME]

The parts, and why each exists:

- Roster: the LMS names a submission by its own user id (Canvas's user id, Moodle's participant
  id), the course by student ids. The roster CSV (columns ``student_id``, ``lms_id``, optional
  ``name``, ``email``) is the map, and how students get into nbgrader's gradebook (with their
  names, email and the LMS id in nbgrader's ``lms_user_id``, which the export reads back).
- LmsCollector: nbgrader's ``zip_collect`` does the extraction and the copying into
  ``submitted/``; it asks a FileNameCollectorPlugin, file by file, whose file this is. This one
  reads both layouts (Canvas ``<name>[_LATE]_<userid>_<submissionid>_<file>``, Moodle
  ``<Full Name>_<participant id>_assignsubmission_file_/<file>``), keeps the latest of repeated
  uploads, stamps Canvas's late files one second after the due date (Canvas says late, not when),
  and turns away everything else with the reason and what to do (nbgrader would only log it).
- FlatExtractor: nbgrader's extractor unpacks archives inside the archive into folders of their
  own, where no student can be told from the file name; here a nested archive stays a file and
  is reported.
- import_archive: zip_collect writes into a staging folder, never into ``submitted/``; each
  student's folder is then compared with what is there (unchanged: left alone) and swapped in
  whole by renames, so an import that fails half-way leaves every student either as before or
  complete, and importing the same archive twice changes nothing.
- export_grades: Canvas's gradebook import CSV (``Student,ID,SIS User ID,SIS Login ID,Section,
  <Assignment (id)>`` and a ``Points Possible`` row) and Moodle's grade import CSV (matched by
  email address, or ID number), from the gradebook (manual grades and late penalties included,
  as in ``nbgrader export``); a student with no submission gets an empty cell, not a zero.
  The column names are traitlets options (``c.LmsExport.*`` in nbgrader_config.py) or arguments.
"""
import argparse
import csv
import datetime
import filecmp
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from nbgrader.utils import unzip
from traitlets import Unicode
from traitlets.config import Configurable

from grading.cells import grade_id
from grading.course import ASSIGNMENT, COURSE_ROOT, load_config

CANVAS = re.compile(r"^(?P<name>.+?)_(?:(?P<late>late)_)?(?P<lms_id>\d+)_(?P<rank>\d+)_(?P<file>.+)$", re.I)
MOODLE_DIR = re.compile(r"^(?P<name>.+)_(?P<lms_id>\d+)_assignsubmission_(?P<kind>[a-z]+)_$")
MOODLE_FILE = re.compile(r"^(?P<name>.+)_(?P<lms_id>\d+)_assignsubmission_file_(?P<file>.+)$")
SAFE_ID = re.compile(r"^[A-Za-z0-9_@+][A-Za-z0-9_.@+-]*$")
OS_LITTER = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}  # added by a zip tool, not a student
ARCHIVE_EXT = (".zip", ".gz", ".tgz", ".tar", ".rar", ".7z", ".bz2", ".xz")


# ----------------------------------------------------------------------------- roster
class RosterError(ValueError):
    pass


@dataclass(frozen=True)
class Person:
    student_id: str
    lms_id: str
    name: str = ""
    email: str = ""

    def names(self):
        """(first, last) for nbgrader: "Doe, Jane" or "Jane Doe"."""
        if "," in self.name:
            last, first = (s.strip() for s in self.name.split(",", 1))
        else:
            first, _, last = self.name.strip().rpartition(" ")
            if not first:
                first, last = last, ""
        return first or None, last or None


def _roster_rows(path):
    """The roster CSV's rows (dicts by column), once its header has the columns needed."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [(h or "").strip() for h in (reader.fieldnames or [])]
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise RosterError(f"roster {path}: cannot be read ({err})") from None
    missing = {"student_id", "lms_id"} - set(header)
    if missing:
        raise RosterError(f"roster {path}: needs a header row with the columns student_id and lms_id "
                          f"(optional: name, email); missing: {', '.join(sorted(missing))}")
    return rows


def read_roster(path):
    """{lms_id: Person} from the roster CSV; RosterError says what is wrong with it."""
    people, students = {}, set()
    for line, row in enumerate(_roster_rows(path), start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        person = Person(row["student_id"], row["lms_id"], row.get("name", ""), row.get("email", ""))
        if not person.student_id or not person.lms_id:
            raise RosterError(f"roster {path}, line {line}: student_id and lms_id must both be filled in")
        if not SAFE_ID.match(person.student_id):
            raise RosterError(f"roster {path}, line {line}: student_id {person.student_id!r} cannot be a folder "
                              "name (letters, digits and . _ @ + - only, not starting with . or -)")
        if person.lms_id in people or person.student_id in students:
            raise RosterError(f"roster {path}, line {line}: lms_id {person.lms_id} or student_id "
                              f"{person.student_id} appears twice")
        people[person.lms_id] = person
        students.add(person.student_id)
    return people


def register_students(people, db_url):
    """Create or update every roster student in the gradebook (names, email, LMS id), in one
    transaction of nbgrader's gradebook session (its update_or_create_student commits once per
    student: 300 disk syncs); only the ones that differ are written. Returns how many changed."""
    from nbgrader.api import Gradebook, Student
    changed = 0
    with Gradebook(db_url) as gb:
        known = {s.id: s for s in gb.students}
        for p in people.values():
            first, last = p.names()
            want = {"lms_user_id": p.lms_id}  # and what the roster has: an absent column wipes nothing
            want.update({"first_name": first, "last_name": last} if p.name else {})
            want.update({"email": p.email} if p.email else {})
            have = known.get(p.student_id)
            if have is None:
                gb.db.add(Student(id=p.student_id, **want))
            elif any(getattr(have, k) != v for k, v in want.items()):
                for k, v in want.items():
                    setattr(have, k, v)
            else:
                continue
            changed += 1
        try:
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            raise
    return changed


# ----------------------------------------------------------------------------- zip_collect plugins
@dataclass
class Problem:
    file: str  # as in the archive
    reason: str
    advice: str

    def __str__(self):
        return f"{self.file}: {self.reason} -- {self.advice}"


def _outside(name):
    """An archive entry that would be written outside the extraction folder (absolute, or with ..)."""
    return name.startswith("/") or "\\" in name or ".." in name.split("/")


def _copy_without(path, folder, unwanted):
    """A copy of the zip archive ``path`` in ``folder``, under the same name, without ``unwanted``."""
    copy = os.path.join(folder, os.path.basename(path))
    with zipfile.ZipFile(path) as zf, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as out:
        for info in zf.infolist():
            if info.filename not in unwanted:
                out.writestr(info, zf.read(info))
    return copy


class FlatExtractor(ExtractorPlugin):
    """nbgrader's extractor without unpacking archives found inside the archive, and without the
    entries that would land outside the extraction folder: import_archive names those, and the
    rest of the class is imported (setuptools' extraction, which nbgrader uses, skipped them up to
    setuptools 70 and refuses the whole archive since)."""

    def extract(self, archive_path, extracted_path):
        for name in sorted(os.listdir(archive_path)):
            path = os.path.join(archive_path, name)
            unwanted = set()
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as zf:
                    unwanted = {n for n in zf.namelist() if _outside(n)}
            if not unwanted:
                unzip(path, extracted_path, zip_ext=self.zip_ext, create_own_folder=True, tree=False)
                continue
            with tempfile.TemporaryDirectory() as folder:
                unzip(_copy_without(path, folder, unwanted), extracted_path, zip_ext=self.zip_ext,
                      create_own_folder=True, tree=False)


def _lms_match(parts, base, rel):
    """(layout, rank, late, match) of an uploaded file's path as Canvas or Moodle name it, or the
    Problem with it. ``parts``: the path's parts below the archive's folder, ``base`` the last."""
    layout, rank, late, match = "Moodle", (0, 0), False, None
    for folder in parts[:-1]:  # Moodle's folder per student (the default download)
        match = MOODLE_DIR.match(folder)
        if match and match["kind"] != "file":
            return Problem(rel, f"a Moodle {match['kind']} submission, not an uploaded file",
                           "this assignment takes the .ipynb files only: grade it by hand")
        if match:
            break
    if not match and CANVAS.match(base):
        match, layout = CANVAS.match(base), "Canvas"
        rank, late = (int(match["rank"]), 0), bool(match["late"])
    match = match or MOODLE_FILE.match(base)  # Moodle's download without folders
    if not match:
        return Problem(rel, "named neither as Canvas nor as Moodle names a submission",
                       "not imported: was the archive re-packed or renamed? import the LMS's own download")
    return layout, rank, late, match


class LmsCollector(FileNameCollectorPlugin):
    """zip_collect's collector for Canvas and Moodle bulk downloads (see the module docstring)."""

    roster = Unicode("", help="The roster CSV: student_id, lms_id[, name, email].").tag(config=True)
    late_timestamp = Unicode("", help="Timestamp recorded for a file the LMS marks late "
                                      "(the due date plus one second); empty: none.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.people = read_roster(self.roster)
        self.problems, self.superseded, self.late_unstamped = [], [], set()
        self._chosen = self._grade_ids = None

    def _notebooks(self):
        release = Path(self.parent.coursedir.format_path(self.parent.coursedir.release_directory, ".", ASSIGNMENT))
        return sorted(p.stem for p in release.glob("*.ipynb"))

    def _cells_of(self, path):
        """The released notebook whose nbgrader cells this notebook holds most of, or None."""
        try:
            with open(path, encoding="utf-8") as fh:
                ids = {grade_id(c) for c in json.load(fh)["cells"]}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if self._grade_ids is None:
            release = self.parent.coursedir.format_path(self.parent.coursedir.release_directory, ".", ASSIGNMENT)
            self._grade_ids = {
                name: {grade_id(c) for c in nbformat.read(os.path.join(release, name + ".ipynb"), as_version=4).cells}
                - {None} for name in self.expected}
        overlap = {name: len(ids & cells) for name, cells in self._grade_ids.items()}
        best = max(overlap, key=overlap.get, default=None)
        return best if best and overlap[best] else None

    def parse(self, rel, path):
        """(info, rank) or (None, Problem) for one file (path), rel its path below the extracted folder."""
        parts = Path(rel).parts[1:]  # below the archive's own folder
        base, rel = parts[-1], "/".join(parts)
        if OS_LITTER & set(parts):
            return None, None
        found = _lms_match(parts, base, rel)
        if isinstance(found, Problem):
            return None, found
        layout, rank, late, match = found
        person = self.people.get(match["lms_id"])
        if person is None:
            return None, Problem(rel, f"{layout} user {match['lms_id']} ({match['name']}) is not in the roster",
                                 f"add a row with their student_id and lms_id {match['lms_id']} to the roster "
                                 "and import again")
        stem, ext, rank = self._notebook_name(match.groupdict().get("file") or base, rank)
        problem = self._not_a_notebook(rel, path, stem, ext, f"{person.student_id} ({layout} {person.lms_id})")
        if problem:
            return None, problem
        info = {"student_id": person.student_id, "file_id": stem + ".ipynb"}
        if late and self.late_timestamp:
            info["timestamp"] = self.late_timestamp
        elif late:
            self.late_unstamped.add(person.student_id)
        return info, rank + (rel,)

    def _notebook_name(self, file, rank):
        """(stem, extension, rank) of an uploaded file's name: Canvas's ``-N`` of a re-upload is
        taken off the stem and ranks the upload after the earlier ones."""
        stem, ext = os.path.splitext(file)
        again = re.match(r"^(.*)-(\d+)$", stem)
        if again and again[1] in self.expected and stem not in self.expected:  # Canvas's name for a re-upload
            stem, rank = again[1], (rank[0], int(again[2]))
        return stem, ext, rank

    def _not_a_notebook(self, rel, path, stem, ext, who):
        """The Problem with an upload that is not one of the assignment's notebooks, else None."""
        expected = self.expected
        if ext.lower() in ARCHIVE_EXT:
            return Problem(rel, f"an archive inside the archive, from {who}: not unpacked",
                           "ask the student to upload the .ipynb files themselves, not zipped")
        if ext != ".ipynb":
            return Problem(rel, f"not a notebook, from {who}",
                           "not graded; if it holds answers, ask the student to upload the .ipynb")
        if stem not in expected:
            same = self._cells_of(path)
            hint = f" (its cells are those of {same}.ipynb)" if same else ""
            return Problem(rel, f"a notebook the assignment does not have, from {who}{hint}",
                           f"not imported: ask the student to resubmit it as "
                           f"{same + '.ipynb' if same else 'one of ' + ', '.join(n + '.ipynb' for n in expected)}"
                           ", or rename it so in the archive and import again")
        return None

    def _choose(self):
        """Every file parsed once: {path: info} of the latest upload of each notebook of each student."""
        root = self.parent._format_collect_path(self.parent.extracted_directory)
        self.expected, best = self._notebooks(), {}
        for folder, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                path = os.path.join(folder, name)
                info, rank = self.parse(os.path.relpath(path, root), path)
                if info is None:
                    self.problems += [rank] if rank else []
                    continue
                best.setdefault((info["student_id"], info["file_id"]), []).append((rank, path, info))
        self._chosen = {}
        for uploads in best.values():
            uploads.sort(key=lambda u: u[0])
            self.superseded += [rank[-1] for rank, _, _ in uploads[:-1]]
            self._chosen[uploads[-1][1]] = uploads[-1][2]

    def collect(self, submitted_file):
        if self._chosen is None:
            self._choose()
        return self._chosen.get(submitted_file)


# ----------------------------------------------------------------------------- import
@dataclass
class ImportResult:
    new: list
    updated: list
    unchanged: list
    problems: list
    superseded: list
    late_unstamped: list
    error: str = ""


def _same_tree(a, b):
    """True if folders a and b hold the same files with the same bytes."""
    def files(root):
        return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())
    names = files(a)
    if names != files(b):
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return not mismatch and not errors


def _swap_in(staged, final):
    """Put staged (a complete folder) at final by renames; the old folder goes only once the new is there."""
    final.parent.mkdir(parents=True, exist_ok=True)
    incoming = final.with_name(f".{final.name}.incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    os.rename(staged, incoming)
    if final.exists():
        old = final.with_name(f".{final.name}.replaced")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(final, old)
        os.rename(incoming, final)
        shutil.rmtree(old)
    else:
        os.rename(incoming, final)


def due_date(db_url, set_to=None):
    """The assignment's due date in the gradebook (naive UTC), after setting it if asked."""
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc
    with Gradebook(db_url) as gb:
        if set_to:
            gb.update_or_create_assignment(ASSIGNMENT, duedate=parse_utc(set_to))
        return gb.find_assignment(ASSIGNMENT).duedate


def _failed(message):
    return ImportResult([], [], [], [], [], [], error=message)


def _archive_problem(archive):
    """Why ``archive`` is no archive to import at all, or None."""
    if not archive.is_file():
        return f"{archive}: no such file"
    if not zipfile.is_zipfile(archive):
        return (f"{archive} is not a zip archive: nothing imported. Download the submissions again "
                "(Canvas: Assignment > Download Submissions; Moodle: View all submissions > "
                "Download all submissions) and pass the .zip file as it came")
    return None


def _read_inputs(archive, roster):
    """(the roster's people, the archive's entries nbgrader's extraction would skip without a
    word), or why nothing can be imported (a str)."""
    try:
        people = read_roster(roster)
        with zipfile.ZipFile(archive) as zf:  # a damaged entry stops the extraction later: nothing imported
            if not any(not i.is_dir() for i in zf.infolist()):
                return f"{archive} is an empty zip archive: nothing imported; download it again"
            unsafe = [Problem(i.filename, "a path outside the archive (absolute, or with ..): not extracted",
                              "an LMS does not write these: download the archive again from the LMS")
                      for i in zf.infolist() if _outside(i.filename)]
    except RosterError as err:
        return f"{err}: nothing imported"
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        return f"{archive} cannot be read as a zip archive ({err}): nothing imported; download it again"
    return people, unsafe


def _zip_collect(archive, roster, late, staging):
    """nbgrader zip_collect of ``archive`` into ``staging``/submitted: its LmsCollector, or why
    it stopped (a str; only staging was touched)."""
    from nbgrader.apps.zipcollectapp import ZipCollectApp
    (staging / "downloaded" / ASSIGNMENT / "archive").mkdir(parents=True)
    shutil.copy(archive, staging / "downloaded" / ASSIGNMENT / "archive" / "submissions.zip")
    app = ZipCollectApp()
    app.initialize([ASSIGNMENT, "--log-level=ERROR",
                    "--extractor=grading.lms.FlatExtractor", "--collector=grading.lms.LmsCollector",
                    f"--LmsCollector.roster={Path(roster).resolve()}",
                    f"--LmsCollector.late_timestamp={late}",
                    # relative to the root: zip_collect joins its folders to the root as strings
                    f"--ZipCollectApp.downloaded_directory={staging.name}/downloaded",
                    f"--CourseDirectory.submitted_directory={staging.name}/submitted"])
    try:
        app.start()
    except (SystemExit, Exception) as err:  # zip_collect's own refusals exit
        return (f"nbgrader zip_collect stopped ({type(err).__name__}: {err}): nothing imported; "
                "if the archive is damaged, download it again")
    return app.collector_plugin_inst


def _move_in(staged_root, root, result):
    """Every student folder staged under ``staged_root`` into root/submitted/, counted in ``result``."""
    for staged in sorted(staged_root.glob(f"*/{ASSIGNMENT}")):
        student = staged.parent.name
        final = root / "submitted" / student / ASSIGNMENT
        if final.is_dir() and _same_tree(staged, final):
            result.unchanged.append(student)
            continue
        (result.updated if final.exists() else result.new).append(student)
        _swap_in(staged, final)


def import_archive(archive, roster, root=COURSE_ROOT, duedate=None):
    """Every submission of an LMS bulk download into root/submitted/ through nbgrader zip_collect."""
    archive, root = Path(archive), Path(root)
    problem = _archive_problem(archive)
    if problem:
        return _failed(problem)
    inputs = _read_inputs(archive, roster)
    if isinstance(inputs, str):
        return _failed(inputs)
    people, unsafe = inputs
    db_url = load_config(root).CourseDirectory.db_url
    try:
        due = due_date(db_url, duedate)
    except ValueError as err:
        return _failed(f"due date {duedate!r} not understood ({err}): nothing imported; "
                       "write it as 2026-12-01 23:59 UTC")
    late = (due + datetime.timedelta(seconds=1)).isoformat(" ") if due else ""

    staging = Path(tempfile.mkdtemp(prefix=".lms-import-", dir=root))  # hidden: nbgrader ignores it
    try:
        plugin = _zip_collect(archive, roster, late, staging)
        if isinstance(plugin, str):
            return _failed(plugin)
        result = ImportResult([], [], [], unsafe + plugin.problems, plugin.superseded, sorted(plugin.late_unstamped))
        register_students(people, db_url)
        _move_in(staging / "submitted", root, result)
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def print_import(result, stream=sys.stdout):
    if result.error:
        print(f"import failed: {result.error}", file=stream)
        return
    print(f"imported {len(result.new) + len(result.updated) + len(result.unchanged)} students: "
          f"{len(result.new)} new, {len(result.updated)} updated, {len(result.unchanged)} unchanged", file=stream)
    for label, names in (("new", result.new), ("updated", result.updated), ("unchanged", result.unchanged)):
        if names and (label != "unchanged" or len(names) <= 20):
            print(f"  {label}: {', '.join(names)}", file=stream)
    if result.superseded:
        print(f"  {len(result.superseded)} older uploads replaced by the same student's newer one "
              f"(nothing to do): {', '.join(result.superseded)}", file=stream)
    if result.late_unstamped:
        print(f"  LATE per the LMS, but the assignment has no due date, so nbgrader cannot count them late: "
              f"{', '.join(result.late_unstamped)} -- import again with a due date "
              "(make import ... DUEDATE='2026-12-01 23:59 UTC')", file=stream)
    if result.problems:
        print(f"{len(result.problems)} files NOT imported:", file=stream)
        for p in result.problems:
            print(f"  {p}", file=stream)


# ----------------------------------------------------------------------------- export
class LmsExport(Configurable):
    """Names of the columns the LMS expects (set in nbgrader_config.py as c.LmsExport.<name>)."""
    canvas_assignment = Unicode(ASSIGNMENT, help="The assignment's name in Canvas.").tag(config=True)
    canvas_assignment_id = Unicode("", help="Canvas's assignment id (in the assignment's URL); "
                                            "empty: Canvas creates a new assignment column.").tag(config=True)
    moodle_item = Unicode(ASSIGNMENT, help="The grade column's name in Moodle's CSV (mapped to the "
                                           "grade item on import).").tag(config=True)


def _number(x):
    return f"{round(x, 2):.2f}".rstrip("0").rstrip(".")


def class_grades(db_url):
    """(max score, [(Student, grade or None)]) for every student with an LMS id, by student id:
    the grade as ``nbgrader export`` computes it (score minus late penalty, at least 0), None
    without a submission."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(db_url) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        rows = []
        for student in sorted(gb.students, key=lambda s: s.id):
            if not student.lms_user_id:
                continue
            try:
                sub = gb.find_submission(ASSIGNMENT, student.id)
                grade = max(0.0, sub.score - sub.late_submission_penalty)
            except MissingEntry:
                grade = None
            rows.append((student, grade))
        others = sorted(s.id for s in gb.students if not s.lms_user_id)
        return assignment.max_score, rows, others


def _lms_tables(options, max_score, rows):
    """(Canvas's rows, Moodle's rows) of the grades file, headers first."""
    column = options.canvas_assignment + (f" ({options.canvas_assignment_id})" if options.canvas_assignment_id else "")
    canvas = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
              ["Points Possible", "", "", "", "", _number(max_score)]]
    moodle = [["First name", "Surname", "ID number", "Email address", options.moodle_item]]
    for s, grade in rows:
        cell = "" if grade is None else _number(grade)
        name = ", ".join(n for n in (s.last_name, s.first_name) if n)
        canvas.append([name, s.lms_user_id, "", "", "", cell])
        moodle.append([s.first_name or "", s.last_name or "", s.id, s.email or "", cell])
    return canvas, moodle


def _write_csv(path, table):
    """``table`` as CSV at ``path``: replaced in one step, no cell a formula (grading/spreadsheet.py)."""
    from grading.spreadsheet import write_csv
    write_csv(path, table)


def export_grades(root=COURSE_ROOT, options=None):
    """Write grades-canvas.csv and grades-moodle.csv at root; returns (paths, students without an LMS id)."""
    root = Path(root)
    options = options or LmsExport(config=load_config(root))
    max_score, rows, others = class_grades(load_config(root).CourseDirectory.db_url)
    canvas, moodle = _lms_tables(options, max_score, rows)
    paths = []
    for filename, table in (("grades-canvas.csv", canvas), ("grades-moodle.csv", moodle)):
        _write_csv(root / filename, table)
        paths.append(root / filename)
    return paths, others


# ----------------------------------------------------------------------------- command line
def _parser():
    parser = argparse.ArgumentParser(prog="python -m grading.lms", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="an LMS bulk download into submitted/")
    imp.add_argument("archive")
    imp.add_argument("roster")
    imp.add_argument("--duedate", help="set the assignment's due date first, e.g. '2026-12-01 23:59 UTC'")
    exp = sub.add_parser("export", help="grades-canvas.csv and grades-moodle.csv from the gradebook")
    for flag, trait in (("--canvas-assignment", "canvas_assignment"),
                        ("--canvas-assignment-id", "canvas_assignment_id"), ("--moodle-item", "moodle_item")):
        exp.add_argument(flag, dest=trait, help=LmsExport.class_traits()[trait].help)
    return parser


def _import_command(args):
    import warnings
    warnings.filterwarnings("ignore", message=".*not in session.*")  # harmless: a new student
    result = import_archive(args.archive, args.roster, duedate=args.duedate)
    print_import(result)
    return 2 if result.error else (1 if result.problems or result.late_unstamped else 0)


def _export_command(args):
    options = LmsExport(config=load_config())
    for trait in ("canvas_assignment", "canvas_assignment_id", "moodle_item"):
        if getattr(args, trait) is not None:
            setattr(options, trait, getattr(args, trait))
    paths, others = export_grades(options=options)
    print(f"wrote {', '.join(p.name for p in paths)}")
    if others:
        print(f"  not exported (no LMS id: not in an imported roster): {', '.join(others)}")
    return 0


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "import":  # named from where the command runs; nbgrader runs at the root
        args.archive, args.roster = os.path.abspath(args.archive), os.path.abspath(args.roster)
    os.chdir(COURSE_ROOT)
    return _import_command(args) if args.command == "import" else _export_command(args)


if __name__ == "__main__":
    sys.exit(main())
