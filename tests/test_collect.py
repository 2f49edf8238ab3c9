"""Collect from an exchange students can write by hand (grading/hosting/collect.py), on a temporary
exchange whose folders and files belong to other uids (made up: no account needed; root chowns).

Every forgery a student can make in inbound/ instead of running ``nbgrader submit``: a folder
named after a classmate, a file of someone else's, a symbolic link anywhere (the folder itself
included), a hard link, a FIFO, a device, a socket, too big, too many, too deep, a name that is
no account, a forged time. Each is refused and named, the classmate's genuine submission is
the one collected, and nothing of the instructor's ``source/`` reaches ``submitted/``. The same
attacks are made from real student accounts on a real hub in tests/browser/test_hub.py.
"""
import datetime
import os
import re
import socket
import stat
import tempfile
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import parse_utc

from grading.hosting.collect import CheckedCollect

VICTOR, MALLORY = "victor", "mallory"  # victor submits honestly; mallory forges
UIDS = {VICTOR: 61002, MALLORY: 61001}
ASSIGNMENT = "conceptual"
GENUINE = b'{"cells": [], "victor": "genuine work"}'
SECRET = b'{"cells": [], "instructor": "SECRET SOLUTION"}'


class Collect(CheckedCollect):
    """The class under test with made-up accounts instead of /etc/passwd's."""

    def account_uid(self, student):
        if student not in UIDS:
            return super().account_uid(student)  # the real lookup (and its refusal)
        return UIDS[student]


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory):
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with Gradebook(f"sqlite:///{path}", "course") as gb:
        gb.add_assignment(ASSIGNMENT)
    return f"sqlite:///{path}"


@pytest.fixture
def course(tmp_path, gradebook):
    """(exchange, inbound, course root, the instructor's secret source folder)."""
    assert os.geteuid() == 0, "these tests make files of other uids: run them as root"
    exchange = tmp_path / "exchange"
    inbound = exchange / "course" / "inbound"
    inbound.mkdir(parents=True)
    os.chmod(exchange, 0o1777)
    os.chmod(inbound, 0o1733)
    source = tmp_path / "source"  # the instructor's, unreadable to students
    source.mkdir(mode=0o700)
    (source / "q1.ipynb").write_bytes(SECRET)
    root = tmp_path / "course-root"
    root.mkdir()
    return exchange, inbound, root, source, gradebook


def run_collect(course, update=False, **coursedir_options):
    exchange, _, root, _, db_url = course
    coursedir = CourseDirectory(root=str(root), course_id="course", assignment_id=ASSIGNMENT, db_url=db_url)
    limits = {k: coursedir_options.pop(k) for k in ("max_entries", "max_depth") if k in coursedir_options}
    for key, value in coursedir_options.items():
        setattr(coursedir, key, value)
    collect = Collect(coursedir=coursedir, root=str(exchange), update=update, **limits)
    collect.start()
    return collect


def chown_tree(path, uid):
    for folder, dirs, files in os.walk(path):
        os.chown(folder, uid, uid)
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


def submission(inbound, name, uid, files=None):
    """A submission folder as ``nbgrader submit`` makes it (or a student by hand), owned by uid."""
    folder = inbound / name
    folder.mkdir()
    files = {"submission_secret.txt": b"s3cret", **(files or {"q1.ipynb": GENUINE,
                                                              "timestamp.txt": b"2000-01-01 00:00:00.000000 UTC"})}
    for rel, data in files.items():
        if data is None:
            continue
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    chown_tree(folder, uid)
    os.chmod(folder, 0o777)
    return folder


def collected(root, student):
    folder = root / "submitted" / student / ASSIGNMENT
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()} \
        if folder.is_dir() else None


def assert_nothing_secret(root):
    for path in (root / "submitted").rglob("*"):
        assert not path.is_symlink(), path
        if path.is_file():
            assert b"SECRET" not in path.read_bytes(), path


def collected_time(root, student):
    return parse_utc((root / "submitted" / student / ASSIGNMENT / "timestamp.txt").read_text())


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def test_the_time_is_the_latest_inode_change_never_the_folders_name_or_timestamp_txt(course, tmp_path):
    _, inbound, root, _, _ = course
    # the name says 2999 and was made first; the one made later says 2000 in its name and its file
    submission(inbound, f"{VICTOR}+{ASSIGNMENT}+2999-01-01 00:00:00.000000 UTC+a", UIDS[VICTOR],
               {"q1.ipynb": b"older work"})
    time.sleep(0.05)
    before = now_utc() - datetime.timedelta(seconds=1)
    submission(inbound, f"{VICTOR}+{ASSIGNMENT}+2000-01-01 00:00:00.000000 UTC+b", UIDS[VICTOR])
    collect = run_collect(course)
    assert collect.refused == []
    got = collected(root, VICTOR)
    assert got["q1.ipynb"] == GENUINE and got["submission_secret.txt"] == b"s3cret"
    assert before <= collected_time(root, VICTOR) <= now_utc()  # not 2000, not 2999

    # a folder prepared long ago and moved into inbound/ now is as late as the move
    early = tmp_path / "prepared"
    submission(tmp_path, "prepared", UIDS[VICTOR], {"q1.ipynb": b"prepared earlier"})
    os.utime(early / "q1.ipynb", (0, 0))  # the mtime a student may set: not read
    time.sleep(0.05)
    moved_at = now_utc() - datetime.timedelta(seconds=1)
    os.rename(early, inbound / f"{VICTOR}+{ASSIGNMENT}+1999-01-01 00:00:00.000000 UTC+c")
    run_collect(course, update=True)
    assert collected(root, VICTOR)["q1.ipynb"] == b"prepared earlier"
    assert collected_time(root, VICTOR) >= moved_at

    # a change to an old submission's file makes that whole submission as late as the change
    old = inbound / f"{VICTOR}+{ASSIGNMENT}+2999-01-01 00:00:00.000000 UTC+a"
    time.sleep(0.05)
    (old / "q1.ipynb").write_bytes(b"edited after the deadline")
    os.utime(old / "q1.ipynb", (0, 0))
    run_collect(course, update=True)
    assert collected(root, VICTOR)["q1.ipynb"] == b"edited after the deadline"


def _fifo(folder, source):
    os.mkfifo(folder / "q1.ipynb")


def _device(folder, source):
    os.mknod(folder / "q1.ipynb", stat.S_IFCHR | 0o600, os.makedev(1, 3))


def _socket(folder, source):
    # a socket's path is at most 107 bytes: bound in a short one, then moved
    short = os.path.join(tempfile.gettempdir(), f"collect-test-{os.getpid()}.sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(short)
    os.rename(short, folder / "q1.ipynb")


def _hard_link(folder, source):
    (folder / "q2.ipynb").write_bytes(b"mine")
    os.link(folder / "q2.ipynb", folder / "q1.ipynb")


def _file_link(folder, source):
    (folder / "q1.ipynb").symlink_to(source / "q1.ipynb")


def _nested_dir_link(folder, source):
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "sub" / "deeper" / "src").symlink_to(source)


def _dangling_link(folder, source):
    (folder / "q1.ipynb").symlink_to("/nonexistent")


def _too_big(folder, source):
    (folder / "q1.ipynb").write_bytes(b"x" * 5000)


def _too_much(folder, source):
    for n in range(4):
        (folder / f"q{n}.ipynb").write_bytes(b"x" * 900)


def _too_many(folder, source):
    for n in range(8):
        (folder / f"f{n}").write_bytes(b"x")


def _too_deep(folder, source):
    (folder / "a" / "b" / "c" / "d" / "e").mkdir(parents=True)


# (what mallory puts in her own folder, options, the reason collect must give)
OWN_FOLDER_FORGERIES = {
    "fifo": (_fifo, {}, "'q1.ipynb' is a FIFO"),
    "character device": (_device, {}, "'q1.ipynb' is a character device"),
    "socket": (_socket, {}, "'q1.ipynb' is a socket"),
    "hard link": (_hard_link, {}, "is a hard link (one file with 2 names)"),
    "symlink to the instructor's source": (_file_link, {}, "'q1.ipynb' is a symbolic link (to '"),
    "symlink in a nested folder": (_nested_dir_link, {}, "'sub/deeper/src' is a symbolic link"),
    "dangling symlink": (_dangling_link, {}, "is a symbolic link (to '/nonexistent')"),
    "file over max_file_size": (_too_big, {"max_file_size": 1}, "has 5000 bytes, more than 1000"),
    "folder over max_dir_size": (_too_much, {"max_dir_size": 3}, "more than 3000 bytes in all"),
    "too many entries": (_too_many, {"max_entries": 5}, "more than 5 files and folders"),
    "too deep": (_too_deep, {"max_depth": 3}, "nested more than 3 folders deep"),
}


@pytest.mark.parametrize("case", OWN_FOLDER_FORGERIES)
def test_a_forged_own_folder_is_refused_with_the_reason_and_the_genuine_one_collected(course, case):
    _, inbound, root, source, _ = course
    make, options, reason = OWN_FOLDER_FORGERIES[case]
    submission(inbound, f"{MALLORY}+{ASSIGNMENT}+2026-01-01 00:00:00.000000 UTC+honest", UIDS[MALLORY])
    time.sleep(0.02)
    forged = inbound / f"{MALLORY}+{ASSIGNMENT}+2026-01-02 00:00:00.000000 UTC+forged"
    forged.mkdir()
    make(forged, source)
    chown_tree(forged, UIDS[MALLORY])
    collect = run_collect(course, **options)
    assert [name for name, _ in collect.refused] == [forged.name]
    assert reason in collect.refused[0][1], collect.refused
    assert collected(root, MALLORY)["q1.ipynb"] == GENUINE  # her latest acceptable one
    assert_nothing_secret(root)


def _foreign_file(inbound, source):
    folder = submission(inbound, f"{MALLORY}+{ASSIGNMENT}+x+forged", UIDS[MALLORY])
    os.chown(folder / "q1.ipynb", UIDS[VICTOR], UIDS[VICTOR])  # e.g. copied into her folder by root
    return folder, "'q1.ipynb' belongs to 'uid 61002', not to 'mallory'"


def _named_after_victor(inbound, source):
    folder = submission(inbound, f"{VICTOR}+{ASSIGNMENT}+2999-01-01 00:00:00.000000 UTC+forged", UIDS[MALLORY],
                        {"q1.ipynb": b"mallory's work", "timestamp.txt": b"2000-01-01 00:00:00.000000 UTC"})
    return folder, "the folder belongs to 'uid 61001', not to 'victor'"


def _top_symlink(inbound, source):
    folder = inbound / f"{VICTOR}+{ASSIGNMENT}+2999-01-01 00:00:00.000000 UTC+forged"
    folder.symlink_to(source)
    os.chown(folder, UIDS[MALLORY], UIDS[MALLORY], follow_symlinks=False)
    return folder, "the folder is a symbolic link (to "


def _no_secret(inbound, source):
    return submission(inbound, f"{MALLORY}+{ASSIGNMENT}+x", UIDS[MALLORY], {"submission_secret.txt": None}), \
        "no submission_secret.txt"


def _huge_secret(inbound, source):
    return submission(inbound, f"{MALLORY}+{ASSIGNMENT}+x", UIDS[MALLORY], {"submission_secret.txt": b"s" * 2000}), \
        "its submission_secret.txt has 2000 bytes"


def _no_account(inbound, source):
    return submission(inbound, f"nosuchaccount-{os.getpid()}+{ASSIGNMENT}+x", UIDS[MALLORY]), "no account is named"


def _not_an_id(inbound, source):
    return submission(inbound, f"..+{ASSIGNMENT}+x", UIDS[MALLORY]), "'..' is not a student id"


FOLDER_FORGERIES = {"named after a classmate": _named_after_victor, "a classmate's file inside": _foreign_file,
                    "the folder a symlink": _top_symlink, "a name that is no account": _no_account,
                    "a name that is no student id": _not_an_id, "no submission secret": _no_secret,
                    "an oversized submission secret": _huge_secret}


@pytest.mark.parametrize("case", FOLDER_FORGERIES)
@pytest.mark.parametrize("update", [False, True], ids=["first collect", "collect --update"])
def test_a_folder_not_of_the_student_it_names_is_refused_and_the_victims_submission_kept(course, case, update):
    _, inbound, root, source, _ = course
    submission(inbound, f"{VICTOR}+{ASSIGNMENT}+2026-01-01 00:00:00.000000 UTC+honest", UIDS[VICTOR])
    if update:  # victor's genuine submission was collected before the forgery appeared
        run_collect(course)
        first = collected(root, VICTOR)
    time.sleep(0.02)
    forged, reason = FOLDER_FORGERIES[case](inbound, source)
    collect = run_collect(course, update=update)
    assert [name for name, _ in collect.refused] == [forged.name]
    assert reason in collect.refused[0][1], collect.refused
    got = collected(root, VICTOR)
    assert got["q1.ipynb"] == GENUINE
    if update:
        assert got == first
    assert sorted(p.name for p in (root / "submitted").iterdir()) == [VICTOR]  # nothing else collected
    assert [p.name for p in (root / "submitted" / VICTOR).iterdir()] == [ASSIGNMENT]  # no staging left
    assert_nothing_secret(root)


def test_the_refusal_is_logged_with_the_folder_the_reason_and_who_made_it(course, caplog):
    _, inbound, root, source, _ = course
    forged, _ = _named_after_victor(inbound, source)
    with caplog.at_level("ERROR"):
        run_collect(course)
    text = caplog.text
    assert f"REFUSED inbound/{forged.name!r}" in text and "belongs to 'uid 61001', not to 'victor'" in text
    assert "1 submission folder(s) refused" in text
    assert collected(root, VICTOR) is None


def test_a_folder_changed_between_the_check_and_the_copy_is_refused_and_the_old_copy_kept(course):
    exchange, inbound, root, _, db_url = course
    submission(inbound, f"{VICTOR}+{ASSIGNMENT}+a+1", UIDS[VICTOR])
    run_collect(course)
    time.sleep(0.02)
    newer = submission(inbound, f"{VICTOR}+{ASSIGNMENT}+a+2", UIDS[VICTOR], {"q1.ipynb": b"newer"})
    coursedir = CourseDirectory(root=str(root), course_id="course", assignment_id=ASSIGNMENT, db_url=db_url)
    collect = Collect(coursedir=coursedir, root=str(exchange), update=True)
    collect.set_timestamp()
    collect.init_src()  # checked and chosen ...
    assert [r["filename"] for r in collect.src_records] == [newer.name]
    time.sleep(0.02)
    (newer / "q1.ipynb").write_bytes(b"swapped")  # ... then changed before the copy
    collect.copy_files()
    assert collect.refused and "changed while it was collected" in collect.refused[0][1]
    assert collected(root, VICTOR)["q1.ipynb"] == GENUINE
    assert [p.name for p in (root / "submitted" / VICTOR).iterdir()] == [ASSIGNMENT]


def test_the_bounds_docs_jupyterhub_md_states_are_the_defaults():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "jupyterhub.md").read_text()
    match = re.search(r"`CourseDirectory.max_file_size` per file, `max_dir_size` per folder \(nbgrader's, (\d+) MB\), "
                      r"`c.CheckedCollect.max_entries` \((\d+)\) and `max_depth` \((\d+)\)", doc)
    assert match, "the bounds' row of docs/jupyterhub.md changed: update this test"
    coursedir = CourseDirectory()
    assert coursedir.max_file_size * 1000 == coursedir.max_dir_size * 1000 == int(match[1]) * 10**6
    assert (CheckedCollect.max_entries.default_value, CheckedCollect.max_depth.default_value) == \
        (int(match[2]), int(match[3]))
