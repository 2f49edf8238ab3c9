"""``nbgrader collect`` for an exchange every student can write into (docs/jupyterhub.md).

On a shared exchange, ``inbound/`` is writable by every student, and nothing makes a student run
``nbgrader submit`` rather than write a folder by hand. nbgrader 0.9.6's own collect believes
that folder: the student comes from its name, the submission time from its name and its
``timestamp.txt``, the owner check only warns, and the copy (``shutil.copytree``, run as the
instructor) follows symbolic links and opens FIFOs. So a hand-made folder could be dated 2000,
be named after a classmate (and replace their submission), or link to the instructor's
``source/`` notebook and be graded (and fed back) as the student's work.

``CheckedCollect`` (installed by the course's nbgrader_config.py as
``c.ExchangeFactory.collect``) decides from what the kernel says, never from what the student
wrote:

- **who**: the folder's name must be ``<student>+<assignment>+...`` and the folder, and every
  folder and file in it, must be owned by the Linux account of that student;
- **what**: only folders and regular files with one name each; a symbolic link (anywhere,
  the folder itself included), a hard link, a FIFO, a device or a socket refuses the folder.
  Every entry is opened relative to its checked parent with ``O_NOFOLLOW`` (no path is ever
  resolved through a link), each file's bytes are copied with a counter, and a file whose
  identity or change time differs from what was checked is a folder changed while collected;
- **made by submit**: a ``submission_secret.txt`` (what names the student's feedback; without
  one, ``nbgrader release_feedback`` stops for the whole class), at most 1 KB;
- **how much**: ``CourseDirectory.max_file_size`` per file, ``CourseDirectory.max_dir_size``
  for the folder, and ``max_entries``/``max_depth`` below;
- **when**: the latest inode change time (ctime) of the folder and everything in it. Only the
  kernel sets it, to the current time, whenever a name, a mode or a byte changes: a student can
  make it later (their own loss), never earlier. ``timestamp.txt`` of the collected copy is
  written from it; the student's own is not copied, and the folder's name is not read for it.

A folder that fails any of these is refused and named in the log with the reason (and who made
it), and changes nothing: the student's latest acceptable submission is collected instead, and
a collected copy is replaced only once its successor has been copied completely.
"""
from __future__ import annotations

import datetime
import fnmatch
import os
import pwd
import re
import shutil
import stat
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

from dateutil.tz import gettz
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import check_mode, parse_utc
from traitlets import Int

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO put in place of a checked file cannot hang the open
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
CHUNK = 1 << 20
# a student id as a folder name may carry it: an account name (no path separator, no leading dot)
STUDENT_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}")
SECRET, MAX_SECRET_BYTES = "submission_secret.txt", 1024
KINDS = {stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket",
         stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}


# what is recorded of each entry: (relative path, S_IFMT kind, st_dev, st_ino, size, st_ctime_ns)
Seen = tuple[str, int, int, int, int, int]


class Record(TypedDict):
    """A submission folder chosen to collect (ExchangeCollect's src_records, plus what was seen)."""
    username: str
    filename: str
    uid: int
    seen: list[Seen]
    timestamp_text: str
    timestamp: datetime.datetime


class Refused(Exception):
    """A submission folder collect does not take; the message says why."""


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_total_bytes: int
    max_entries: int
    max_depth: int


def owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _where(rel: str) -> str:
    return "the folder" if not rel else repr(rel)


@dataclass
class Walk:
    """One pass over a submission folder, opened entry by entry below ``parent_fd`` without
    following any link. It checks every entry (owner ``uid``, kind, links, limits) and records
    its identity and change time in ``seen``; with ``dest`` it also copies the regular files'
    bytes there (names matched by ``skip`` are checked, not copied)."""
    uid: int
    student: str
    limits: Limits
    dest: str | None = None
    skip: Callable[[str, bool], bool] | None = None  # True: check but do not copy
    seen: list[Seen] = field(default_factory=list)
    total: int = 0

    def folder(self, parent_fd: int, name: str) -> Walk:
        self.entry(parent_fd, name, "", 0, copy=self.dest is not None)
        return self

    @property
    def ctime_ns(self) -> int:
        return max(item[-1] for item in self.seen)

    def entry(self, parent_fd: int, name: str, rel: str, depth: int, copy: bool) -> None:
        try:
            st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
            self.admit(st, rel, parent_fd, name)
            copy = copy and not (self.skip and rel and self.skip(rel, stat.S_ISDIR(st.st_mode)))
            if stat.S_ISDIR(st.st_mode):
                self.directory(parent_fd, name, rel, depth, st, copy)
            else:
                self.file(parent_fd, name, rel, st, copy)
        except OSError as err:
            raise Refused(f"{_where(rel)} could not be read as the instructor ({err.strerror})") from None

    def admit(self, st: os.stat_result, rel: str, parent_fd: int, name: str) -> None:
        kind = stat.S_IFMT(st.st_mode)
        if kind == stat.S_IFLNK:
            target = os.readlink(name, dir_fd=parent_fd)
            raise Refused(f"{_where(rel)} is a symbolic link (to {target[:200]!r}); links are never followed")
        if kind not in (stat.S_IFDIR, stat.S_IFREG):
            raise Refused(f"{_where(rel)} is {KINDS.get(kind, 'not a regular file')}")
        if st.st_uid != self.uid:
            raise Refused(f"{_where(rel)} belongs to {owner_name(st.st_uid)!r}, not to {self.student!r}")
        if kind == stat.S_IFREG and st.st_nlink != 1:
            raise Refused(f"{_where(rel)} is a hard link (one file with {st.st_nlink} names)")
        self.bound(st, rel)
        self.seen.append((rel, kind, st.st_dev, st.st_ino, st.st_size if kind == stat.S_IFREG else 0,
                          st.st_ctime_ns))

    def bound(self, st: os.stat_result, rel: str) -> None:
        limits = self.limits
        if len(self.seen) >= limits.max_entries:
            raise Refused(f"more than {limits.max_entries} files and folders")
        if stat.S_ISREG(st.st_mode):
            if st.st_size > limits.max_file_bytes:
                raise Refused(f"{_where(rel)} has {st.st_size} bytes, more than {limits.max_file_bytes} "
                              "(CourseDirectory.max_file_size)")
            self.total += st.st_size
            if self.total > limits.max_total_bytes:
                raise Refused(f"more than {limits.max_total_bytes} bytes in all (CourseDirectory.max_dir_size)")

    def directory(self, parent_fd: int, name: str, rel: str, depth: int, st: os.stat_result, copy: bool) -> None:
        if depth >= self.limits.max_depth:
            raise Refused(f"{_where(rel)} is nested more than {self.limits.max_depth} folders deep")
        fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
        try:
            _same_inode(os.fstat(fd), st, rel)
            if copy and rel:
                os.mkdir(self._target(rel), 0o755)
            for child in sorted(os.listdir(fd)):
                self.entry(fd, child, os.path.join(rel, child), depth + 1, copy)
        finally:
            os.close(fd)

    def _target(self, rel: str) -> str:
        """Where ``rel`` is copied to (a copy is asked for only with a ``dest``: see folder())."""
        assert self.dest is not None
        return os.path.join(self.dest, rel)

    def file(self, parent_fd: int, name: str, rel: str, st: os.stat_result, copy: bool) -> None:
        if not copy:
            return
        fd = os.open(name, FILE_FLAGS, dir_fd=parent_fd)
        try:
            _same_inode(os.fstat(fd), st, rel)
            _copy_bytes(fd, self._target(rel), st.st_size, rel)
            _same_inode(os.fstat(fd), st, rel)  # not written to while it was read
        finally:
            os.close(fd)


def _same_inode(now: os.stat_result, then: os.stat_result, rel: str) -> None:
    if (now.st_dev, now.st_ino, stat.S_IFMT(now.st_mode), now.st_ctime_ns, now.st_size) != \
            (then.st_dev, then.st_ino, stat.S_IFMT(then.st_mode), then.st_ctime_ns, then.st_size):
        raise Refused(f"{_where(rel)} changed while it was collected (collect again)")


def _copy_bytes(src_fd: int, dest: str, size: int, rel: str) -> None:
    """Exactly ``size`` bytes from ``src_fd`` into a new file ``dest``; more or fewer is a change."""
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        left = size
        while left > 0:
            chunk = os.read(src_fd, min(CHUNK, left))
            if not chunk:
                break
            os.write(out, chunk)
            left -= len(chunk)
        if left or os.read(src_fd, 1):
            raise Refused(f"{_where(rel)} changed while it was collected (collect again)")
    finally:
        os.close(out)


def _check_secret(seen: list[Seen]) -> None:
    """``nbgrader submit`` writes submission_secret.txt (128 hex digits), which names the
    student's feedback; release_feedback stops at the first collected folder without one."""
    secret = [item for item in seen if item[0] == SECRET]
    if not secret or secret[0][1] != stat.S_IFREG:
        raise Refused(f"it has no {SECRET} (nbgrader submit writes one; without it no feedback can be released)")
    if secret[0][4] > MAX_SECRET_BYTES:
        raise Refused(f"its {SECRET} has {secret[0][4]} bytes (nbgrader submit writes 128)")


def parse_folder_name(name: str, assignment: str) -> str | None:
    """The student a submission folder's name claims, or None when it is not one of
    ``assignment``'s (``<student>+<assignment>+<anything>``)."""
    parts = name.split("+")
    if len(parts) < 3 or parts[1] != assignment:
        return None
    return parts[0]


class CheckedCollect(ExchangeCollect):
    """nbgrader's collect with the checks above (module docstring). Options as nbgrader's
    ``ExchangeCollect`` (``update``, ``before_duedate``), plus two bounds. ``check_owner`` has no
    effect: owners are always checked (on a deployment where every student is one uid, such as
    zero-to-jupyterhub, this exchange cannot tell students apart: docs/jupyterhub.md)."""

    max_entries = Int(1000, help=(
        "Files and folders in one submission folder, at most; a folder with more is refused "
        "(a submission of the course has about a dozen).")).tag(config=True)
    max_depth = Int(16, help="Folders nested in a submission folder, at most; deeper is refused.").tag(config=True)

    @property
    def limits(self) -> Limits:
        return Limits(1000 * self.coursedir.max_file_size, 1000 * self.coursedir.max_dir_size,
                      self.max_entries, self.max_depth)

    def account_uid(self, student: str) -> int:
        """The uid of the Linux account named ``student`` (Refused when there is none)."""
        if not STUDENT_ID.fullmatch(student):
            raise Refused(f"{student!r} is not a student id")
        try:
            return pwd.getpwnam(student).pw_uid
        except KeyError:
            raise Refused(f"no account is named {student!r}") from None

    def init_src(self) -> None:
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        if not check_mode(self.inbound_path, read=True, execute=True):
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
        self.refused: list[tuple[str, str]] = []
        self.inbound_fd = os.open(self.inbound_path, DIR_FLAGS)
        records = [r for r in map(self.checked_record, sorted(os.listdir(self.inbound_fd))) if r]
        self.duedate = self.gradebook_duedate()
        by_student: defaultdict[str, list[Record]] = defaultdict(list)
        for record in records:
            by_student[record["username"]].append(record)
        self.src_records = [self.choose(rs) for _, rs in sorted(by_student.items())]

    def gradebook_duedate(self) -> datetime.datetime | None:
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                return gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                return None

    def checked_record(self, name: str) -> Record | None:
        """A record of the folder ``name`` in inbound/ if it is acceptable; None (and named in
        the log) if it is refused or not of this assignment and student selection."""
        student = parse_folder_name(name, self.coursedir.assignment_id)
        wanted = self.coursedir.student_id or "*"
        if student is None or not fnmatch.fnmatchcase(student, wanted):
            return None
        try:
            uid = self.account_uid(student)
            walk = Walk(uid, student, self.limits).folder(self.inbound_fd, name)
            _check_secret(walk.seen)
        except Refused as err:
            self.refuse(name, student, str(err))
            return None
        when = datetime.datetime.fromtimestamp(walk.ctime_ns / 1e9, gettz(self.timezone))
        text = when.strftime(self.timestamp_format)
        return {"username": student, "filename": name, "uid": uid, "seen": walk.seen,
                "timestamp_text": text, "timestamp": parse_utc(text)}

    def refuse(self, name: str, student: str, reason: str) -> None:
        self.refused.append((name, reason))
        self.log.error("REFUSED inbound/%r (claims to be %r's): %s. Nothing of it is collected; "
                       "%r's collected submission, if any, stays as it was.", name, student, reason, student)

    def choose(self, records: list[Record]) -> Record:
        """The latest (by the trusted time); with before_duedate the latest before the due
        date if there is one."""
        records = sorted(records, key=lambda r: (r["timestamp"], r["filename"]), reverse=True)
        if self.duedate is not None and self.before_duedate:
            on_time = [r for r in records if r["timestamp"] <= self.duedate]
            return (on_time or records)[0]
        return records[0]

    def init_dest(self) -> None:
        pass

    def copy_files(self) -> None:
        try:
            if not self.src_records:
                self.log.warning("No submissions of '%s' for course '%s' to collect",
                                 self.coursedir.assignment_id, self.coursedir.course_id)
            for record in self.src_records:
                self.collect_one(record)
        finally:
            os.close(self.inbound_fd)
        if self.refused:
            self.log.error("%d submission folder(s) refused (named above with the reason)", len(self.refused))

    def wanted(self, record: Record, dest: str) -> bool:
        """Whether ``record`` replaces what ``dest`` holds (nbgrader's rules, trusted times)."""
        if not os.path.isdir(dest):
            return True
        existing = self.coursedir.get_existing_timestamp(dest)
        if self.update and (existing is None or record["timestamp"] > existing):
            return True
        return bool(self.before_duedate and existing != record["timestamp"])

    def collect_one(self, record: Record) -> None:
        student, assignment = record["username"], self.coursedir.assignment_id
        dest = self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment)
        if not self.wanted(record, dest):
            self.log.info("Submission already collected (newer ones need --update): %s %s", student, assignment)
            return
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{assignment}.collecting-", dir=os.path.dirname(dest))
        try:
            self.copy_checked(record, staging)
        except Refused as err:
            shutil.rmtree(staging)
            self.refuse(record["filename"], student, str(err))
            return
        os.chmod(staging, 0o755)
        self.log.info("Collecting submission: %s %s (%s)", student, assignment, record["timestamp_text"])
        _replace(staging, dest)

    def copy_checked(self, record: Record, staging: str) -> None:
        """The folder's bytes into ``staging``, checked again entry by entry: the same entries,
        identities and change times as when it was chosen, or Refused."""
        patterns, include = self.coursedir.ignore or [], self.coursedir.include or ["*"]

        def skip(rel: str, is_dir: bool) -> bool:
            name = os.path.basename(rel)
            if rel == "timestamp.txt" or any(fnmatch.fnmatch(name, p) for p in patterns):
                return True
            return not is_dir and not any(fnmatch.fnmatch(name, p) for p in include)

        walk = Walk(record["uid"], record["username"], self.limits, dest=staging, skip=skip)
        walk.folder(self.inbound_fd, record["filename"])
        if walk.seen != record["seen"]:
            raise Refused("the folder changed while it was collected (collect again)")
        with open(os.path.join(staging, "timestamp.txt"), "w") as fh:
            fh.write(record["timestamp_text"])


def _replace(staging: str, dest: str) -> None:
    """``dest`` becomes ``staging``; the old ``dest`` is removed only after the swap."""
    if not os.path.isdir(dest):
        os.rename(staging, dest)
        return
    old = staging + ".old"
    os.rename(dest, old)
    os.rename(staging, dest)
    shutil.rmtree(old)
