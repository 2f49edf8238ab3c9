"""Courses without a hub: an LMS's bulk download in, the LMS's gradebook out.

Students download the notebooks from Canvas or Moodle and upload the .ipynb files back; the
instructor downloads every submission as one archive, grades here, and uploads a grades file
(how, step by step, which file for which LMS version: docs/lms.md).

    python -m grading.hosting.lms import ARCHIVE ROSTER [--duedate "2026-12-01 23:59 UTC"] [--groups GROUPS.csv]
    python -m grading.hosting.lms export [--canvas-assignment NAME] [--canvas-assignment-id ID] [--moodle-item NAME]

The parts, and why each exists:

- Roster: the LMS names a submission by its own id (Canvas's user id, Moodle's participant id,
  a group's id, Canvas's anonymous id), the course by student ids. The roster CSV (columns
  ``student_id``, ``lms_id``, optional ``name``, ``email``, ``group``, ``anonymous_id``; or the
  groups from the LMS's group export) is the map, and how students get into nbgrader's gradebook
  (names, email and the LMS id in nbgrader's ``lms_user_id``, which the export reads back).
- Judge (names by grading/hosting/lms_names.py, the LMSs' own rules): every entry of the archive is
  judged by its name before anything is written: whose it is (a student, or every member of a
  group), which notebook, the latest of repeated uploads, late or not; everything else is turned
  away with the reason and what to do (nbgrader would only log it).
- FlatExtractor: zip_collect's extractor. It unpacks only what the Judge chose, each entry
  streamed through a byte counter under a limit per file (the size the archive declares and the
  bytes it really unpacks to) and a limit for the whole import; never ``extractall``, never a
  path outside its folder, archives inside the archive stay packed.
- LmsCollector: zip_collect's collector: whose notebook each unpacked file is, and the due date
  plus one second for a file the LMS marks late without saying when (the submission folder gets
  a ``.lms-late`` mark, so the feedback says the time is unknown instead of inventing one).
- import_archive: zip_collect writes into a staging folder, never into ``submitted/``; a group's
  notebooks are copied to every member; each student's folder is then compared with what is
  there (unchanged: left alone) and swapped in whole by renames, so an import that fails half-way
  leaves every student either as before or complete, and importing the same archive twice
  changes nothing.
- export_grades: Canvas's gradebook import CSV, Moodle's grade import CSV and Moodle's offline
  grading worksheet, from the gradebook (manual grades included; the late penalty as
  ``c.LatePenalty.applied_by`` says). A student without a submission has no row (the LMS keeps
  what it has); a row whose identifier would be empty or shared is left out and named. The
  column names are traitlets options (``c.LmsExport.*`` in nbgrader_config.py) or arguments.
"""
from __future__ import annotations

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
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import nbformat
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Unicode
from traitlets.config import Configurable

from grading.cells import grade_id
from grading.course import ASSIGNMENT, COURSE_ROOT, load_config
from grading.hosting import lms_names

if TYPE_CHECKING:
    from grading.step.late_penalty import AppliedBy

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
    group: str = ""  # the LMS group (name or id) of a group or team assignment
    anonymous_id: str = ""  # Canvas's anonymous id of this student's submission (anonymous grading)

    def names(self) -> tuple[str | None, str | None]:
        """(first, last) for nbgrader: "Doe, Jane" or "Jane Doe"."""
        if "," in self.name:
            last, first = (s.strip() for s in self.name.split(",", 1))
        else:
            first, _, last = self.name.strip().rpartition(" ")
            if not first:
                first, last = last, ""
        return first or None, last or None


SAVE_AS_UTF8 = ("save it as UTF-8: Excel: File > Save As > 'CSV UTF-8 (Comma delimited)'; LibreOffice Calc: "
                "File > Save As > Text CSV, 'Edit filter settings', character set 'Unicode (UTF-8)'; "
                "Numbers and Google Sheets export UTF-8 already; or: iconv -f WINDOWS-1252 -t UTF-8 IN.csv > OUT.csv")


def _clean(row: dict[str | None, Any]) -> dict[str, str]:
    return {(k or "").strip(): v.strip() if isinstance(v, str) else "" for k, v in row.items()}


def _csv_rows(path: str | Path, what: str, required: list[tuple[str, ...]],
              columns_help: str) -> list[dict[str, str]]:
    """The rows (dicts by stripped column name) of a CSV file whose header has ``required`` (any
    one of each tuple), or RosterError saying what is wrong with it."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [(h or "").strip() for h in (reader.fieldnames or [])]
            rows = [_clean(row) for row in reader]
    except UnicodeDecodeError as err:
        raise RosterError(f"{what} {path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset "
                          f"{err.start}); {SAVE_AS_UTF8}") from None
    except (OSError, csv.Error) as err:
        raise RosterError(f"{what} {path}: cannot be read ({err})") from None
    missing = [" or ".join(names) for names in required if not set(names) & set(header)]
    if missing:
        raise RosterError(f"{what} {path}: needs a header row with the columns {columns_help}; "
                          f"missing: {', '.join(sorted(missing))}")
    return rows


def _roster_problem(person: Person, people: dict[str, Person]) -> str | None:
    """What is wrong with one roster row (given the rows before it), or None."""
    if not person.student_id or not person.lms_id:
        return "student_id and lms_id must both be filled in"
    if not SAFE_ID.match(person.student_id) or person.student_id.startswith("anon-"):
        return (f"student_id {person.student_id!r} cannot be a folder name (letters, digits and . _ @ + - only, "
                "not starting with . or -, nor anon-)")
    if any(person.lms_id == p.lms_id or person.student_id == p.student_id
           or (person.anonymous_id and person.anonymous_id == p.anonymous_id) for p in people.values()):
        return (f"lms_id {person.lms_id}, student_id {person.student_id} or anonymous_id "
                f"{person.anonymous_id} appears twice")
    return None


def read_roster(path: str | Path, groups: str | Path | None = None) -> dict[str, Person]:
    """{lms_id: Person} from the roster CSV (and the LMS's group export, when given);
    RosterError says what is wrong with either."""
    people: dict[str, Person] = {}
    rows = _csv_rows(path, "roster", [("lms_id",), ("student_id",)],
                     "student_id and lms_id (optional: name, email, group, anonymous_id)")
    for line, row in enumerate(rows, start=2):
        person = Person(row["student_id"], row["lms_id"], row.get("name", ""), row.get("email", ""),
                        row.get("group", ""), row.get("anonymous_id", ""))
        problem = _roster_problem(person, people)
        if problem:
            raise RosterError(f"roster {path}, line {line}: {problem}")
        people[person.lms_id] = person
    return _with_groups(people, groups) if groups else people


def _with_groups(people: dict[str, Person], path: str | Path) -> dict[str, Person]:
    """``people`` with their group from an LMS group export: Canvas's (People > Groups > the group
    set > Export: ``canvas_user_id``, ``group_name``) or any CSV with ``lms_id`` or ``student_id``
    and ``group``. Its groups replace the roster's."""
    rows = _csv_rows(path, "group file", [("canvas_user_id", "lms_id", "student_id"), ("group_name", "group")],
                     "canvas_user_id and group_name (Canvas's group export), or lms_id (or student_id) and group")
    by_student = {p.student_id: p for p in people.values()}
    out = dict(people)
    for row in rows:
        lms_id = row.get("canvas_user_id") or row.get("lms_id")
        person = people.get(lms_id) if lms_id else by_student.get(row.get("student_id", ""))
        if person is not None:
            out[person.lms_id] = replace(person, group=row.get("group_name") or row.get("group", ""))
    return out


def register_students(people: dict[str, Person], db_url: str) -> int:
    """Create or update every roster student in the gradebook (names, email, LMS id), in one
    transaction of nbgrader's gradebook session (its update_or_create_student commits once per
    student: 300 disk syncs); only the ones that differ are written. Returns how many changed."""
    from nbgrader.api import Gradebook, Student
    changed = 0
    with Gradebook(db_url) as gb:
        known = {s.id: s for s in gb.students}
        for p in people.values():
            first, last = p.names()
            # and what the roster has: an absent column wipes nothing
            want: dict[str, str | None] = {"lms_user_id": p.lms_id}
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


# ----------------------------------------------------------------------------- judging an archive by its names
@dataclass
class Problem:
    file: str  # as in the archive
    reason: str
    advice: str

    def __str__(self) -> str:  # an entry's name is the student's text: shown without control characters
        return printable(f"{self.file}: {self.reason} -- {self.advice}")


def printable(text: str) -> str:
    """``text`` with every control or unprintable character as an escape (no terminal sequences)."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _outside(name: str) -> bool:
    """An archive entry named as if outside the archive's folder (absolute, or with ..): never an
    LMS's (nothing is written under an entry's own name anyway)."""
    name = name.replace("\\", "/")
    return name.startswith("/") or re.match(r"^[A-Za-z]:", name) is not None or ".." in name.split("/")


@dataclass
class Owner:
    """Who an upload belongs to: one student, or every member of a group (``members``)."""
    key: str  # the student id, or .group-<n> for a group's folder while importing
    members: tuple[str, ...]  # student ids
    label: str  # for messages


@dataclass
class Chosen:
    info: zipfile.ZipInfo
    upload: lms_names.Upload
    owner: Owner
    stem: str  # the notebook it is (a released name, or the name it came with when it is none)


# an upload's rank among those of one notebook (newest last; its name breaks ties)
Rank = tuple[tuple[int, ...], str]
Judged = tuple[tuple[str, str], Rank, Chosen]


def _newness(upload: lms_names.Upload, info: zipfile.ZipInfo) -> tuple[int, ...]:
    """What orders uploads of one notebook, newest last: Canvas's attachment id; Moodle gives no
    order but the file's time in the zip."""
    return upload.rank if upload.layout == "Canvas" else info.date_time


class Judge:
    """Which entries of an archive to unpack, decided from their names and the roster only."""

    def __init__(self, people: dict[str, Person], expected: Sequence[str]) -> None:
        self.people, self.expected = people, expected
        self.by_anonymous = {p.anonymous_id: p for p in people.values() if p.anonymous_id}
        self.groups: dict[str, list[Person]] = {}  # by group key
        for p in people.values():
            if p.group:
                self.groups.setdefault(lms_names.group_key(p.group), []).append(p)
        self.problems: list[Problem] = []
        self.superseded: list[str] = []
        self.notes: list[str] = []
        self.group_folders: dict[str, Owner] = {}  # .group-<n> -> Owner

    # -- whose upload
    def _group_owner(self, key: str, label: str) -> Owner:
        members = tuple(sorted(p.student_id for p in self.groups.get(key, ())))
        folder = next((k for k, o in self.group_folders.items() if o.members == members), None)
        if folder is None:
            folder = f".group-{len(self.group_folders) + 1}"
            self.group_folders[folder] = Owner(folder, members, label)
        return self.group_folders[folder]

    def _person_owner(self, person: Person, upload: lms_names.Upload) -> Owner:
        group = lms_names.group_key(person.group) if person.group else ""
        if upload.layout == "Canvas" and group and upload.name == lms_names.canvas_sanitized(person.group):
            return self._group_owner(group, f"group {person.group} (Canvas, by {person.student_id})")
        if upload.layout == "Canvas" and not group:
            self._note_group_name(person, upload)
        return Owner(person.student_id, (person.student_id,), f"{person.student_id} ({upload.layout} {person.lms_id})")

    def _note_group_name(self, person: Person, upload: lms_names.Upload) -> None:
        """Canvas names a group's files after the group: a name not the person's is said, once."""
        if person.name and upload.name and upload.name not in lms_names.canvas_names(person.name):
            note = (f"{person.student_id}'s files are named {upload.name!r}, not after them: if this is a group "
                    "assignment, give the roster a group column (or GROUPS=) so every member gets the group's "
                    "notebooks")
            self.notes += [] if note in self.notes else [note]

    def _moodle_group(self, upload: lms_names.Upload) -> str | None:
        """The roster group a Moodle 4.1+ team folder (``<Group>_<group id>``) names, or None. A
        participant's folder has the same shape: where the id is also a participant's, the folder
        is the group's only if its name is the group's and not that participant's."""
        named = lms_names.group_key(upload.name)
        person = self.people.get(upload.lms_id)
        is_person = person is not None and lms_names.group_key(person.name) == named
        for key, members in self.groups.items():
            values = {lms_names.group_key(m.group) for m in members}
            by_id, by_name = upload.lms_id in values, named in values
            if (by_name and not is_person) or (by_id and person is None):
                return key
        return None

    def _anonymous_owner(self, upload: lms_names.Upload) -> Owner:
        person = self.by_anonymous.get(upload.lms_id)
        if person:
            return self._person_owner(person, replace(upload, name=""))
        sid = f"anon-{upload.lms_id}"
        return Owner(sid, (sid,), f"{sid} (Canvas anonymous grading)")

    def _default_team(self, upload: lms_names.Upload, rel: str) -> Owner | Problem:
        if not self.groups:
            return Problem(rel, f"a Moodle team submission of the students in no group ({upload.name})",
                           "Moodle does not say who they are: give the roster a group column and import again")
        members = tuple(sorted(p.student_id for p in self.people.values() if not p.group))
        return self.group_folders.setdefault(".group-none", Owner(".group-none", members,
                                                                  f"the students in no group ({upload.name})"))

    def _nobody(self, upload: lms_names.Upload, rel: str) -> Problem:
        if upload.layout == "Moodle":
            return Problem(rel, f"Moodle participant or group {upload.lms_id} ({upload.name}) is in no row of "
                                "the roster", f"add a row with their student_id and lms_id {upload.lms_id}, or "
                                "for a team submission a group column naming group "
                                f"{upload.lms_id} ({upload.name}), and import again")
        return Problem(rel, f"{upload.who} is not in the roster",
                       f"add a row with their student_id and lms_id {upload.lms_id} to the roster and import again")

    def owner(self, upload: lms_names.Upload, rel: str) -> Owner | Problem:
        """The Owner of an upload, or the Problem with it."""
        if upload.owner == "anonymous":
            return self._anonymous_owner(upload)
        if upload.owner == "default team":
            return self._default_team(upload, rel)
        group = self._moodle_group(upload) if upload.layout == "Moodle" else None
        if group:
            return self._group_owner(group, f"group {upload.name} (Moodle {upload.lms_id})")
        person = self.people.get(upload.lms_id)
        return self._nobody(upload, rel) if person is None else self._person_owner(person, upload)

    # -- which entries
    def _problem_with_file(self, upload: lms_names.Upload, rel: str, stem: str, ext: str,
                           owner: Owner) -> Problem | None:
        if upload.kind != "file":
            return Problem(rel, f"a {upload.layout} {upload.kind} submission, not an uploaded file",
                           "this assignment takes the .ipynb files only: grade it by hand")
        if ext.lower() in ARCHIVE_EXT:
            return Problem(rel, f"an archive inside the archive, from {owner.label}: not unpacked",
                           "ask the student to upload the .ipynb files themselves, not zipped")
        if ext.lower() != ".ipynb":
            return Problem(rel, f"not a notebook, from {owner.label}",
                           "not graded; if it holds answers, ask the student to upload the .ipynb")
        return None

    def _judge(self, info: zipfile.ZipInfo, known: frozenset[str]) -> Judged | Literal[False] | None:
        """((owner key, notebook stem), its rank among uploads of that notebook, Chosen) of one
        entry worth unpacking; False where its Problem is recorded, None for litter."""
        rel = info.filename
        parts = tuple(p for p in rel.replace("\\", "/").split("/") if p)  # a Windows tool's re-zip: \
        if info.is_dir() or not parts or OS_LITTER & set(parts):
            return None
        if _outside(rel):
            return self._refuse(Problem(rel, "a path outside the archive (absolute, or with ..): not extracted",
                                        "an LMS does not write these: download the archive again from the LMS"))
        upload = lms_names.parse(parts, known)
        if upload is None:
            return self._refuse(Problem(rel, "named neither as Canvas nor as Moodle names a submission",
                                        "not imported: was the archive re-packed or renamed? import the LMS's "
                                        "own download"))
        owner = self.owner(upload, rel)
        if isinstance(owner, Problem):
            return self._refuse(owner)
        stem, ext, again = lms_names.notebook_stem(upload.file, self.expected)
        problem = self._problem_with_file(upload, rel, stem, ext, owner)
        if problem:
            return self._refuse(problem)
        return (owner.key, stem), (_newness(upload, info) + (again,), rel), Chosen(info, upload, owner, stem)

    def _refuse(self, problem: Problem) -> Literal[False]:
        """Record ``problem``: the entry is not unpacked (False: no Chosen)."""
        self.problems.append(problem)
        return False

    def plan(self, infos: Iterable[zipfile.ZipInfo]) -> list[Chosen]:
        """The entries to unpack ([Chosen], the latest upload of each notebook of each owner, and
        notebooks under a name the assignment does not have); the rest named in self.problems."""
        candidates: dict[tuple[str, str], list[tuple[Rank, Chosen]]] = {}
        known = frozenset(self.people)
        for info in infos:
            judged = self._judge(info, known)
            if judged:
                key, rank, chosen = judged
                candidates.setdefault(key, []).append((rank, chosen))
        out: list[Chosen] = []
        for uploads in candidates.values():
            uploads.sort(key=lambda u: u[0])
            self.superseded += [rank[-1] for rank, _ in uploads[:-1]]
            out.append(uploads[-1][1])
        return out


class FlatExtractor(ExtractorPlugin):
    """nbgrader zip_collect's extractor for LMS downloads: every entry is judged by its name
    (Judge) before anything is written; only the chosen ones are unpacked, each streamed through
    a byte counter under a size limit (what the archive declares and what it really unpacks to),
    under a limit for the whole import too. Archives inside the archive stay packed; entries
    outside the folder are never written. Never ``extractall``."""

    roster = Unicode("", help="The roster CSV: student_id, lms_id[, name, email, group, "
                              "anonymous_id].").tag(config=True)
    groups = Unicode("", help="The LMS's group export (Canvas) or a CSV of lms_id and group; empty: the "
                              "roster's group column.").tag(config=True)
    max_entry_size = Unicode("", help="Largest file unpacked from an LMS archive: '100M', '2G' or bytes; empty: "
                                      "nbgrader's CourseDirectory.max_file_size (kilobytes; 100 MB by "
                                      "default).").tag(config=True)
    max_total_size = Unicode("1G", help="Most bytes one LMS import unpacks in all ('1G', bytes); files past it "
                                        "are named, not unpacked.").tag(config=True)
    late_timestamp = Unicode("", help="Timestamp recorded for a file the LMS marks late without saying when "
                                      "(the due date plus one second); empty: none.").tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chosen: dict[str, Chosen] = {}
        self.written = 0
        self.judge: Judge | None = None

    def limits(self) -> tuple[int, int]:
        """(bytes per entry, bytes in all)."""
        from grading.settings import parse_size
        entry = parse_size(self.max_entry_size) if self.max_entry_size else self.parent.coursedir.max_file_size * 1024
        return entry, parse_size(self.max_total_size)

    def _release(self) -> Path:
        return Path(self.parent.coursedir.format_path(self.parent.coursedir.release_directory, ".", ASSIGNMENT))

    def extract(self, archive_path: str, extracted_path: str) -> None:
        judge = self.judge = Judge(read_roster(self.roster, self.groups or None),
                                   sorted(p.stem for p in self._release().glob("*.ipynb")))
        for name in sorted(os.listdir(archive_path)):
            path = os.path.join(archive_path, name)
            if not zipfile.is_zipfile(path):
                judge.problems.append(Problem(name, "not a zip archive", "import the LMS's own .zip download"))
                continue
            with zipfile.ZipFile(path) as zf:  # written under names of our own, never the entry's
                for chosen in judge.plan(zf.infolist()):
                    self._unpack(zf, chosen, os.path.join(extracted_path, f"{len(self.chosen):06d}.ipynb"))

    def _unpack(self, zf: zipfile.ZipFile, chosen: Chosen, dest: str) -> None:
        """Stream one chosen entry to ``dest`` within the limits, or name it in the judge's problems."""
        per_entry, total = self.limits()
        info, cap = chosen.info, min(per_entry, total - self.written)
        problem = None
        if info.file_size > per_entry:
            problem = f"declares {info.file_size:,} bytes, over the limit of {per_entry:,} per file"
        elif info.file_size > total - self.written:
            problem = f"would take the import past its limit of {total:,} bytes in all"
        else:
            problem = self._stream(zf, info, dest, cap)
        if problem:
            assert self.judge is not None  # extract() made it
            self.judge.problems.append(Problem(info.filename, f"not unpacked: {problem}",
                                               "download the archive again; if it comes back so, ask "
                                               f"{chosen.owner.label} to upload the notebook again "
                                               "(c.FlatExtractor.max_entry_size / max_total_size set the limits)"))
            return
        self.chosen[dest] = chosen

    def _stream(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: str, cap: int) -> str | None:
        """Copy one entry through a byte counter; None, or why it stopped (the partial file removed)."""
        count = 0
        try:
            with zf.open(info) as src, open(dest, "wb") as out:
                while chunk := src.read(min(1 << 16, cap - count + 1)):
                    count += len(chunk)
                    if count > cap:
                        raise OverflowError
                    out.write(chunk)
        except OverflowError:
            problem = (f"unpacks to more than {cap:,} bytes (it declares {info.file_size:,}): "
                       "a zip bomb or a damaged archive")
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as err:
            problem = f"damaged in the archive ({err})"
        else:
            self.written += count
            return None
        self.written += count
        os.unlink(dest)
        return problem


class LmsCollector(FileNameCollectorPlugin):
    """zip_collect's collector for what FlatExtractor unpacked: whose notebook each file is."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._grade_ids: dict[str, set[str | None]] | None = None

    def _cells_of(self, path: str) -> str | None:
        """The released notebook whose nbgrader cells this notebook holds most of, or None."""
        extractor = self.parent.extractor_plugin_inst
        try:
            with open(path, encoding="utf-8") as fh:
                ids = {grade_id(c) for c in json.load(fh)["cells"]}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if self._grade_ids is None:
            self._grade_ids = {path.stem: {grade_id(c) for c in nbformat.read(path, as_version=4).cells} - {None}
                               for path in extractor._release().glob("*.ipynb")}
        overlap = {name: len(ids & cells) for name, cells in self._grade_ids.items()}
        best = max(overlap, key=lambda name: overlap[name], default=None)
        return best if best and overlap[best] else None

    def collect(self, submitted_file: str) -> dict[str, str] | None:
        extractor = self.parent.extractor_plugin_inst
        chosen = extractor.chosen.get(submitted_file)
        if chosen is None:
            return None
        if chosen.stem not in extractor.judge.expected:
            same = self._cells_of(submitted_file)
            hint = f" (its cells are those of {same}.ipynb)" if same else ""
            names = same + ".ipynb" if same else "one of " + ", ".join(n + ".ipynb" for n in extractor.judge.expected)
            extractor.judge.problems.append(Problem(
                chosen.info.filename, f"a notebook the assignment does not have, from {chosen.owner.label}{hint}",
                f"not imported: ask the student to resubmit it as {names}, or rename it so in the archive and "
                "import again"))
            return None
        info = {"student_id": chosen.owner.key, "file_id": chosen.stem + ".ipynb"}
        if chosen.upload.late and extractor.late_timestamp:
            info["timestamp"] = extractor.late_timestamp
        return info


# ----------------------------------------------------------------------------- import
LATE_MARK = ".lms-late"  # in a submission folder: the LMS says late, not when (nbgrader copies no dot file)


@dataclass
class ImportResult:
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    late_unstamped: list[str] = field(default_factory=list)
    error: str = ""
    late_unknown: list[str] = field(default_factory=list)  # late per the LMS, when not known
    groups: dict[str, list[str]] = field(default_factory=dict)  # label -> members given the group's notebooks
    ungrouped: list[str] = field(default_factory=list)  # roster students in no group, where groups matter
    anonymous: list[str] = field(default_factory=list)  # anon-<id> students (no roster row has their id)
    notes: list[str] = field(default_factory=list)
    unpacked: int = 0  # bytes the extraction wrote
    written: int = 0  # bytes written in all (extraction, nbgrader's copies, group copies)


def _same_tree(a: Path, b: Path) -> bool:
    """True if folders a and b hold the same files with the same bytes."""
    def files(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())
    names = files(a)
    if names != files(b):
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return not mismatch and not errors


def _swap_in(staged: Path, final: Path) -> None:
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


def due_date(db_url: str, set_to: str | None = None) -> datetime.datetime | None:
    """The assignment's due date in the gradebook (naive UTC), after setting it if asked."""
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc
    with Gradebook(db_url) as gb:
        if set_to:
            gb.update_or_create_assignment(ASSIGNMENT, duedate=parse_utc(set_to))
        return gb.find_assignment(ASSIGNMENT).duedate


def _failed(message: str) -> ImportResult:
    return ImportResult(error=message)


def _archive_problem(archive: Path) -> str | None:
    """Why ``archive`` is no archive to import at all, or None."""
    if not archive.is_file():
        return f"{archive}: no such file"
    if not zipfile.is_zipfile(archive):
        return (f"{archive} is not a zip archive: nothing imported. Download the submissions again "
                "(Canvas: Assignment > Download Submissions; Moodle: View all submissions > "
                "Download all submissions) and pass the .zip file as it came")
    return None


def _read_inputs(archive: Path, roster: str | Path, groups: str | Path | None) -> dict[str, Person] | str:
    """The roster's people, or why nothing can be imported (a str)."""
    try:
        people = read_roster(roster, groups)
        with zipfile.ZipFile(archive) as zf:
            if not any(not i.is_dir() for i in zf.infolist()):
                return f"{archive} is an empty zip archive: nothing imported; download it again"
    except RosterError as err:
        return f"{err}: nothing imported"
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        return f"{archive} cannot be read as a zip archive ({err}): nothing imported; download it again"
    return people


def _zip_collect(archive: Path, roster: str | Path, groups: str | Path | None, late: str,
                 staging: Path) -> Any:
    """nbgrader zip_collect of ``archive`` into ``staging``/submitted: the app, or why it stopped
    (a str; only staging was touched)."""
    from nbgrader.apps.zipcollectapp import ZipCollectApp
    folder = staging / "downloaded" / ASSIGNMENT / "archive"
    folder.mkdir(parents=True)
    try:  # the archive as it is, not a copy of it, where the filesystem allows
        os.link(archive, folder / "submissions.zip")
    except OSError:
        shutil.copy(archive, folder / "submissions.zip")
    app = ZipCollectApp()
    app.initialize([ASSIGNMENT, "--log-level=ERROR",
                    "--extractor=grading.hosting.lms.FlatExtractor", "--collector=grading.hosting.lms.LmsCollector",
                    f"--FlatExtractor.roster={Path(roster).resolve()}",
                    f"--FlatExtractor.groups={Path(groups).resolve() if groups else ''}",
                    f"--FlatExtractor.late_timestamp={late}",
                    # relative to the root: zip_collect joins its folders to the root as strings
                    f"--ZipCollectApp.downloaded_directory={staging.name}/downloaded",
                    f"--CourseDirectory.submitted_directory={staging.name}/submitted"])
    try:
        app.start()
    except (SystemExit, Exception) as err:  # zip_collect's own refusals exit
        return (f"nbgrader zip_collect stopped ({type(err).__name__}: {err}): nothing imported; "
                "if the archive is damaged, download it again")
    return app


def _give_groups(staged_root: Path, judge: Judge, result: ImportResult) -> None:
    """Each group's folder (.group-<n>) copied to every member's; counted in ``result``."""
    for folder, owner in sorted(judge.group_folders.items()):
        source = staged_root / folder / ASSIGNMENT
        if not source.is_dir():
            continue
        for member in owner.members:
            dest = staged_root / member / ASSIGNMENT
            dest.mkdir(parents=True, exist_ok=True)
            for file in source.iterdir():
                if not (dest / file.name).exists():
                    shutil.copyfile(file, dest / file.name)
        result.groups[owner.label] = list(owner.members)
        shutil.rmtree(source.parent)


def _mark_late(staged_root: Path, chosen: dict[str, Chosen], result: ImportResult) -> None:
    """A LATE_MARK in the folder of every student whose file the LMS marked late without saying
    when (their timestamp is the due date plus one second)."""
    late = {member for c in chosen.values() if c.upload.late for member in c.owner.members}
    for student in sorted(late):
        folder = staged_root / student / ASSIGNMENT
        if folder.is_dir():
            if (folder / "timestamp.txt").exists():
                layout = next(c.upload.layout for c in chosen.values() if c.upload.late)
                (folder / LATE_MARK).write_text(f"{layout} marks this submission late and does not say when: "
                                                "recorded as late by one second\n")
                result.late_unknown.append(student)
            else:
                result.late_unstamped.append(student)


def _move_in(staged_root: Path, root: Path, result: ImportResult) -> None:
    """Every student folder staged under ``staged_root`` into root/submitted/, counted in ``result``."""
    for staged in sorted(staged_root.glob(f"*/{ASSIGNMENT}")):
        student = staged.parent.name
        result.written += sum(p.stat().st_size for p in staged.rglob("*") if p.is_file())
        final = root / "submitted" / student / ASSIGNMENT
        if final.is_dir() and _same_tree(staged, final):
            result.unchanged.append(student)
            continue
        (result.updated if final.exists() else result.new).append(student)
        _swap_in(staged, final)


def _collected(app: Any, people: dict[str, Person], staging: Path, root: Path, db_url: str) -> ImportResult:
    """The ImportResult of a finished zip_collect: groups given, late marked, moved in."""
    extractor = app.extractor_plugin_inst
    judge = extractor.judge
    result = ImportResult(problems=judge.problems, superseded=judge.superseded, notes=judge.notes,
                          unpacked=extractor.written, written=extractor.written)
    staged = staging / "submitted"
    _give_groups(staged, judge, result)
    _mark_late(staged, extractor.chosen, result)
    result.anonymous = sorted(p.parent.name for p in staged.glob(f"anon-*/{ASSIGNMENT}"))
    if judge.groups or result.groups:
        result.ungrouped = sorted(p.student_id for p in people.values() if not p.group)
    register_students(people, db_url)
    _move_in(staged, root, result)
    return result


def import_archive(archive: str | Path, roster: str | Path, root: str | Path = COURSE_ROOT,
                   duedate: str | None = None, groups: str | Path | None = None) -> ImportResult:
    """Every submission of an LMS bulk download into root/submitted/ through nbgrader zip_collect."""
    archive_path, root_path = Path(archive), Path(root)
    problem = _archive_problem(archive_path)
    if problem:
        return _failed(problem)
    people = _read_inputs(archive_path, roster, groups)
    if isinstance(people, str):
        return _failed(people)
    db_url = load_config(root_path).CourseDirectory.db_url
    try:
        due = due_date(db_url, duedate)
    except ValueError as err:
        return _failed(f"due date {duedate!r} not understood ({err}): nothing imported; "
                       "write it as 2026-12-01 23:59 UTC")
    late = (due + datetime.timedelta(seconds=1)).isoformat(" ") if due else ""

    staging = Path(tempfile.mkdtemp(prefix=".lms-import-", dir=root_path))  # hidden: nbgrader ignores it
    try:
        app = _zip_collect(archive_path, roster, groups, late, staging)
        if isinstance(app, str):
            return _failed(app)
        return _collected(app, people, staging, root_path, db_url)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def _notices(result: ImportResult) -> list[str]:
    """The summary's lines about students to look at (groups, lateness, anonymous, notes)."""
    lines = [f"  {label}: its notebooks given to every member: {', '.join(members) or '(nobody)'}"
             for label, members in sorted(result.groups.items())]
    said = (
        (result.ungrouped, "  in no group: {} -- no group's notebooks reach them (Moodle's default team aside): "
                           "is the group column complete?"),
        (result.superseded, "  {n} older uploads replaced by the same student's newer one (nothing to do): {}"),
        (result.late_unknown, "  LATE per the LMS, which does not say by how much: {} -- recorded one second "
                              "late (the least penalty); their feedback says the exact time is unknown"),
        (result.late_unstamped, "  LATE per the LMS, but the assignment has no due date, so nbgrader cannot count "
                                "them late: {} -- import again with a due date (make import ... "
                                "DUEDATE='2026-12-01 23:59 UTC')"),
        (result.anonymous, "  anonymous (Canvas anonymous grading; no roster row has their anonymous_id): {} -- "
                           "graded under these ids; their grades are exported once the roster's anonymous_id "
                           "column names them (then import again)"))
    lines += [text.format(", ".join(names), n=len(names)) for names, text in said if names]
    return [printable(line) for line in lines + [f"  note: {note}" for note in result.notes]]


def print_import(result: ImportResult, stream: IO[str] = sys.stdout) -> None:
    if result.error:
        print(f"import failed: {result.error}", file=stream)
        return
    print(f"imported {len(result.new) + len(result.updated) + len(result.unchanged)} students: "
          f"{len(result.new)} new, {len(result.updated)} updated, {len(result.unchanged)} unchanged "
          f"({_megabytes(result.unpacked)} unpacked, {_megabytes(result.written)} written in all)", file=stream)
    for label, names in (("new", result.new), ("updated", result.updated), ("unchanged", result.unchanged)):
        if names and (label != "unchanged" or len(names) <= 20):
            print(f"  {label}: {', '.join(names)}", file=stream)
    for line in _notices(result):
        print(line, file=stream)
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


FILES = {"canvas": "grades-canvas.csv", "moodle": "grades-moodle.csv", "worksheet": "grades-moodle-worksheet.csv"}


def _number(x: float) -> str:
    return f"{round(x, 2):.2f}".rstrip("0").rstrip(".")


def class_grades(db_url: str,
                 applied_by: AppliedBy = "course") -> tuple[float, list[tuple[Any, float]], dict[str, str]]:
    """(max score, [(Student, grade)], others) for every student with an LMS id and a submission,
    by student id: the grade as ``nbgrader export`` computes it (score minus the course's late
    penalty, at least 0), or the score before any late penalty when the LMS applies it
    (``applied_by`` "lms"). ``others``: {student id: why not exported}."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(db_url) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        rows: list[tuple[Any, float]] = []
        others: dict[str, str] = {}
        for student in sorted(gb.students, key=lambda s: s.id):
            if not student.lms_user_id:
                others[student.id] = "no LMS id (not in an imported roster)"
                continue
            try:
                sub = gb.find_submission(ASSIGNMENT, student.id)
            except MissingEntry:
                others[student.id] = "no submission (the LMS keeps what it has)"
                continue
            penalty = sub.late_submission_penalty if applied_by == "course" else 0.0
            rows.append((student, max(0.0, sub.score - penalty)))
        return assignment.max_score, rows, others


def _unique(rows: list[tuple[Any, float]], key: Callable[[Any], str],
            what: str) -> tuple[list[tuple[Any, float]], dict[str, str]]:
    """(rows whose ``key`` is filled in and unique, {student id: why left out}): an LMS matches a
    row by it, and an empty or repeated one matches the wrong student or none."""
    counts: dict[str, int] = {}
    for s, _ in rows:
        counts[key(s)] = counts.get(key(s), 0) + 1
    kept: list[tuple[Any, float]] = []
    left: dict[str, str] = {}
    for s, grade in rows:
        if not key(s):
            left[s.id] = f"no {what}"
        elif counts[key(s)] > 1:
            left[s.id] = f"{what} {key(s)!r} shared with another student"
        else:
            kept.append((s, grade))
    return kept, left


def _canvas_table(options: LmsExport, max_score: float, rows: list[tuple[Any,
                  float]]) -> tuple[list[list[str]], dict[str, str]]:
    """Canvas's gradebook import (GradebookImporter): matched by the ID column (the user id)."""
    column = options.canvas_assignment + (f" ({options.canvas_assignment_id})" if options.canvas_assignment_id else "")
    table = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
             ["Points Possible", "", "", "", "", _number(max_score)]]
    kept, left = _unique(rows, lambda s: s.lms_user_id or "", "Canvas user id")
    for s, grade in kept:
        name = ", ".join(n for n in (s.last_name, s.first_name) if n)
        table.append([name, s.lms_user_id, "", "", "", _number(grade)])
    return table, left


def _moodle_table(options: LmsExport, max_score: float, rows: list[tuple[Any,
                  float]]) -> tuple[list[list[str]], dict[str, str]]:
    """Moodle's grade import (grade/import/csv): matched by email address (or ID number)."""
    table = [["First name", "Surname", "ID number", "Email address", options.moodle_item]]
    kept, left = _unique(rows, lambda s: (s.email or "").strip().casefold(), "email address")
    for s, grade in kept:
        table.append([s.first_name or "", s.last_name or "", s.id, s.email.strip(), _number(grade)])
    return table, left


def _worksheet_table(max_score: float, rows: list[tuple[Any, float]],
                     now: str) -> tuple[list[list[str]], dict[str, str]]:
    """Moodle's offline grading worksheet (assignfeedback_offline): matched by "Participant <id>"."""
    table = [["Identifier", "Full name", "Email address", "Grade", "Maximum Grade", "Grade can be changed",
              "Last modified (grade)"]]
    kept, left = _unique(rows, lambda s: s.lms_user_id if (s.lms_user_id or "").isdigit() else "",
                         "Moodle participant id (a number)")
    for s, grade in kept:
        full = " ".join(n for n in (s.first_name, s.last_name) if n)
        table.append([f"Participant {s.lms_user_id}", full, s.email or "", _number(grade), _number(max_score),
                      "Yes", now])
    return table, left


def _lms_tables(options: LmsExport, max_score: float, rows: list[tuple[Any, float]],
                now: str) -> dict[str, tuple[list[list[str]], dict[str, str]]]:
    """{file kind: (rows, headers first; {student id: why left out})} of the grades files."""
    return {"canvas": _canvas_table(options, max_score, rows), "moodle": _moodle_table(options, max_score, rows),
            "worksheet": _worksheet_table(max_score, rows, now)}


def _write_csv(path: Path, table: list[list[str]]) -> None:
    """``table`` as CSV at ``path``: replaced in one step, no cell a formula (grading/reports/spreadsheet.py)."""
    from grading.reports.spreadsheet import write_csv
    write_csv(path, table)


def export_grades(root: str | Path = COURSE_ROOT,
                  options: LmsExport | None = None) -> tuple[list[Path], dict[str, dict[str, str]], dict[str, str]]:
    """Write the grades files at root (FILES); returns (paths, {file name: {student: why left out}},
    {student: why in no file})."""
    from grading.settings import LatePenalty
    root = Path(root)
    config = load_config(root)
    options = options or LmsExport(config=config)
    max_score, rows, others = class_grades(config.CourseDirectory.db_url, LatePenalty(config=config).applied_by)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    paths: list[Path] = []
    left_out: dict[str, dict[str, str]] = {}
    for kind, (table, left) in _lms_tables(options, max_score, rows, now).items():
        _write_csv(root / FILES[kind], table)
        paths.append(root / FILES[kind])
        left_out[FILES[kind]] = left
    return paths, left_out, others


# ----------------------------------------------------------------------------- command line
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grading.hosting.lms", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="an LMS bulk download into submitted/")
    imp.add_argument("archive")
    imp.add_argument("roster")
    imp.add_argument("--duedate", help="set the assignment's due date first, e.g. '2026-12-01 23:59 UTC'")
    imp.add_argument("--groups", help="the LMS's group export (Canvas: People > Groups > Export), or a CSV "
                                      "of lms_id and group; instead of the roster's group column")
    exp = sub.add_parser("export", help=f"{', '.join(FILES.values())} from the gradebook")
    for flag, trait in (("--canvas-assignment", "canvas_assignment"),
                        ("--canvas-assignment-id", "canvas_assignment_id"), ("--moodle-item", "moodle_item")):
        exp.add_argument(flag, dest=trait, help=LmsExport.class_traits()[trait].help)
    return parser


def _import_command(args: argparse.Namespace) -> int:
    import warnings
    warnings.filterwarnings("ignore", message=".*not in session.*")  # harmless: a new student
    result = import_archive(args.archive, args.roster, duedate=args.duedate, groups=args.groups)
    print_import(result)
    if result.error:
        return 2
    return 1 if (result.problems or result.late_unstamped or result.ungrouped or result.anonymous) else 0


def _export_command(args: argparse.Namespace) -> int:
    options = LmsExport(config=load_config())
    for trait in ("canvas_assignment", "canvas_assignment_id", "moodle_item"):
        if getattr(args, trait) is not None:
            setattr(options, trait, getattr(args, trait))
    paths, left_out, others = export_grades(options=options)
    print(f"wrote {', '.join(p.name for p in paths)}")
    for student, why in others.items():
        print(f"  not exported: {student}: {why}")
    for name, left in left_out.items():
        for student, why in left.items():
            print(f"  left out of {name}: {student}: {why} (an LMS would match this row to nobody or the "
                  "wrong student)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "import":  # named from where the command runs; nbgrader runs at the root
        args.archive, args.roster = os.path.abspath(args.archive), os.path.abspath(args.roster)
        args.groups = os.path.abspath(args.groups) if args.groups else None
    os.chdir(COURSE_ROOT)
    return _import_command(args) if args.command == "import" else _export_command(args)


if __name__ == "__main__":
    sys.exit(main())
