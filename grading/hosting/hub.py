"""The course on a JupyterHub (docs/jupyterhub.md): the machine's set-up and the hub's layout.

nbgrader does the course's work on the hub (release_assignment, fetch, validate, submit,
collect, generate_feedback, release_feedback, its exchange and its JupyterLab panels); this
module only prepares a machine for it and says where everything is:

- a **layout** (``HubLayout``): the instructor's and the students' Linux accounts, the exchange
  root, the instructor's course folder, the hub's state folder and its loopback port. ``make hub``
  uses the default one (the sample class's students); the tests make their own, with their own
  accounts, exchange, course and state, so they never touch a hub a person is using.
- ``setup(layout)``: idempotent; makes the accounts (with a password each, kept in the state
  folder, root only), the exchange (owned by the instructor, so no student can squat the course's
  folder in it), the instructor's copy of the course (``source/``, ``release/``, ``grading/``,
  ``nbgrader_config.py``: the course root on the hub), the layout file the hub reads, and the
  course id and default exchange every server reads (``write_hub_course_file``).

The environment every account's server runs from (``HUB_ENV``: a venv of Debian's
``/usr/bin/python3.11`` under ``/opt``, world-readable, from requirements.txt) and the proxy
(npm, hub/package-lock.json) are built by the Makefile's ``hub-setup``. The Python that builds
``.venv`` may live under ``/root`` (mode 0700): a venv made from it cannot be run by any other
account (the spawn fails with "Permission denied ... jupyterhub-singleuser").

    python -m grading.hosting.hub setup      set up the default layout (as root)
    python -m grading.hosting.hub logins     print the logins and the URL
    python -m grading.hosting.hub grade      grade the hub's course with the sandboxed runner (as root):
                                     every collected student of the gradebook; others named
    python -m grading.hosting.hub where home|env|state|exchange
                                     one of the hub's places (the Makefile reads them here)
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from grading.course import ASSIGNMENT, COURSE_ROOT, course_code
from grading.hosting.lti_keys import ensure_key

# The hub's places: their one home. The Makefile reads them (``python -m grading.hosting.hub where``),
# docs/jupyterhub.md shows them (a test compares), hub/nbgrader_config.py reads the exchange and
# the course id from the file ``setup`` writes beside it (HUB_COURSE_FILE).
HUB_HOME = Path("/opt/ml-conceptual-hub")  # the environment every account's server runs from, and more
HUB_ENV = HUB_HOME / "env"
STATE = "/var/lib/ml-conceptual-hub"  # the default layout's state: the hub's database, logins, LTI key
EXCHANGE = "/srv/nbgrader/exchange"  # the default layout's exchange (NBGRADER_EXCHANGE_ROOT overrides it)
HUB_DIR = COURSE_ROOT / "hub"
STUDENT_CONFIG = HUB_ENV / "etc" / "jupyter-student"  # hub/student-config/, copied by hub-setup
HUB_COURSE_FILE = HUB_ENV / "etc" / "jupyter" / "course-hub.json"  # beside hub/nbgrader_config.py's copy
PROXY = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"


@functools.cache
def course_id(root: Path = COURSE_ROOT) -> str:
    """The course's id: its one home is ``c.CourseDirectory.course_id`` in the course's nbgrader_config.py."""
    from grading.course import load_config
    return load_config(root).CourseDirectory.course_id


def _sample_students() -> list[str]:
    """The course's sample class (c.Course.sample_class), none when it names none."""
    from grading.sample_class import course_students
    try:
        return [s.id for s in course_students()]
    except LookupError:
        return []


@dataclasses.dataclass
class HubLayout:
    """Where one hub's parts are. ``state`` holds the hub's database, cookie secret, the
    logins (root only) and ``layout.json`` (what ``hub/jupyterhub_config.py`` reads)."""
    instructor: str = "instructor"
    students: list[str] = dataclasses.field(default_factory=_sample_students)
    exchange: str = EXCHANGE
    state: str = STATE
    port: int = 8000
    course_folder: str = dataclasses.field(default_factory=course_id)  # in the instructor's home: the course root

    @property
    def users(self) -> list[str]:
        return [self.instructor, *self.students]

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def course_dir(self) -> Path:
        return self.home(self.instructor) / self.course_folder

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def layout_file(self) -> Path:
        return Path(self.state) / "layout.json"

    @property
    def logins_file(self) -> Path:
        return Path(self.state) / "logins.json"

    def logins(self) -> dict[str, str]:
        return json.loads(self.logins_file.read_text())

    def save(self) -> None:
        Path(self.state).mkdir(parents=True, exist_ok=True)
        self.layout_file.write_text(json.dumps(dataclasses.asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> HubLayout:
        return cls(**json.loads(Path(path).read_text()))


def _run(*cmd: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def _account(user: str) -> pwd.struct_passwd:
    """A local Linux account with its own group and a home only it can read."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        _run("useradd", "--create-home", "--user-group", "--shell", "/bin/bash", user)
        entry = pwd.getpwnam(user)
    os.chmod(entry.pw_dir, 0o700)
    return entry


def _set_passwords(layout: HubLayout) -> None:
    """A password for each account without one in the logins file (chpasswd: PAM checks it)."""
    path = layout.logins_file
    logins = json.loads(path.read_text()) if path.exists() else {}
    new = {u: secrets.token_urlsafe(9) for u in layout.users if u not in logins}
    if new:
        _run("chpasswd", input="".join(f"{u}:{p}\n" for u, p in new.items()))
        logins.update(new)
        path.write_text(json.dumps(logins, indent=1))
    os.chmod(path, 0o600)


def _chown_tree(path: str | Path, entry: pwd.struct_passwd) -> None:
    for folder, _dirs, files in os.walk(path):
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(folder, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def _exchange(layout: HubLayout, instructor: pwd.struct_passwd) -> None:
    """nbgrader's exchange. nbgrader requires its root to be writable by everyone (every
    command checks it); it is sticky (1777), so nobody removes or renames what another made, and
    the course's folder in it is made here, the instructor's (0755), so no student can take its
    name first. So are the folders nbgrader would make in it at release, with nbgrader's modes:
    ``outbound`` (0755), ``feedback`` (0711) and ``inbound`` (0733: students write, only the
    instructor lists), which is sticky here too (1733): no student can rename or remove another's
    submission folder, even knowing its name. What collect takes from inbound/: grading/hosting/collect.py."""
    root = Path(layout.exchange)
    root.mkdir(parents=True, exist_ok=True)
    for parent in root.parents:  # every account must be able to pass the folders above it
        os.chmod(parent, os.stat(parent).st_mode | 0o011)
    os.chmod(root, 0o1777)
    course = root / course_id()
    course.mkdir(exist_ok=True)
    for folder, mode in ((course, 0o755), (course / "outbound", 0o755), (course / "feedback", 0o711),
                         (course / "inbound", 0o1733)):
        folder.mkdir(exist_ok=True)
        os.chown(folder, instructor.pw_uid, instructor.pw_gid)
        os.chmod(folder, mode)


def _course_copy(layout: HubLayout, instructor: pwd.struct_passwd) -> None:
    """The course root on the hub, in the instructor's home: the instructor's copy of what a
    clone has (source, release, the course's code, nbgrader_config.py). Code and sources are
    refreshed on every set-up; submissions, gradebook and feedback are never touched."""
    dest = layout.course_dir
    dest.mkdir(exist_ok=True)
    for path in [COURSE_ROOT / "source", COURSE_ROOT / "release", *course_code(COURSE_ROOT)]:
        if (dest / path.name).is_dir():
            shutil.rmtree(dest / path.name)
        if path.is_dir():
            shutil.copytree(path, dest / path.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, dest / path.name)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    # The instructor's server starts in their home, where nbgrader (formgrader, the Assignments
    # panel) looks for nbgrader_config.py: this one loads the course's.
    (layout.home(layout.instructor) / "nbgrader_config.py").write_text(
        "# written by the course's hub set-up (grading/hosting/hub.py): the course root is this folder\n"
        f"load_subconfig({layout.course_folder + '/nbgrader_config.py'!r})  # noqa: F821\n")
    _chown_tree(layout.home(layout.instructor), instructor)


def write_hub_course_file(path: Path | str = HUB_COURSE_FILE) -> Path:
    """What every server on the hub reads through hub/nbgrader_config.py: the course id and the
    default exchange, from their homes (the course's config, ``EXCHANGE``). The same for every
    layout: a layout's own exchange reaches its servers as NBGRADER_EXCHANGE_ROOT."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"course_id": course_id(), "exchange": EXCHANGE}, indent=1) + "\n")
    os.chmod(path, 0o644)
    return path


def setup(layout: HubLayout | None = None) -> HubLayout:
    """Accounts, passwords, exchange, the instructor's course and the layout file (as root)."""
    layout = layout or HubLayout()
    if os.geteuid() != 0:
        raise SystemExit("the hub's set-up makes Linux accounts: run it as root (sudo make hub)")
    state = Path(layout.state)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    entries = {u: _account(u) for u in layout.users}
    _set_passwords(layout)
    _exchange(layout, entries[layout.instructor])
    _course_copy(layout, entries[layout.instructor])
    write_hub_course_file()
    ensure_key(state)  # the tool's key for LTI (docs/lti.md), kept with the hub's state, root only
    layout.save()
    return layout


def gradebook_students(layout: HubLayout) -> list[str]:
    """Student ids in the hub course's gradebook (the roster)."""
    from nbgrader.api import Gradebook

    from grading.course import load_config
    config = load_config(layout.course_dir)
    try:
        with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gb:
            return sorted(s.id for s in gb.students)
    finally:  # a gradebook made just now by root is the instructor's
        _chown_tree(layout.course_dir, pwd.getpwnam(layout.instructor))


def unknown_submitters(layout: HubLayout) -> list[str]:
    """Students with a collected submission who are not in the gradebook: named, not graded."""
    submitted = layout.course_dir / "submitted"
    found = sorted(p.name for p in submitted.iterdir() if (p / ASSIGNMENT).is_dir()) if submitted.is_dir() else []
    roster = set(gradebook_students(layout))
    return [s for s in found if s not in roster]


def grade_roster(layout: HubLayout, check: bool = True) -> tuple[subprocess.CompletedProcess[str] | None, list[str]]:
    """Grade every collected student who is in the gradebook; name the others (not graded, their
    submission kept in submitted/) with what to do. Returns (runner result, unknown students)."""
    unknown = unknown_submitters(layout)
    for student in unknown:
        print(f"{student} submitted {ASSIGNMENT} but is not in the gradebook: not graded, the submission "
              f"is kept in submitted/{student}/. If they belong to the course: "
              f"nbgrader db student add {student}, then grade again.", file=sys.stderr)
    roster = [s for s in gradebook_students(layout)
              if (layout.course_dir / "submitted" / s / ASSIGNMENT).is_dir()]
    return (grade(layout, roster, check=check) if roster else None), unknown


def grade(layout: HubLayout, students: Iterable[str] = (), check: bool = True) -> subprocess.CompletedProcess[str]:
    """The course's parallel, sandboxed runner (``python -m grading.batch.runner``) on the hub's course
    root, then everything it wrote handed back to the instructor. Run as root: the sandbox
    starts each student's kernel as an unprivileged user of its own in a cgroup, which only root
    can do (docs/jupyterhub.md: the instructor runs it with ``sudo``)."""
    if os.geteuid() != 0:
        raise SystemExit("grading starts sandboxed kernels as another user: run it as root "
                         "(sudo python -m grading.hosting.hub grade)")
    cmd = [str(HUB_ENV / "bin" / "python"), "-m", "grading.batch.runner"]
    for student in students:
        cmd += ["--student", student]
    env = dict(os.environ, PATH=f"{HUB_ENV / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
               NBGRADER_EXCHANGE_ROOT=layout.exchange)
    env.pop("GRADEBOOK_URL", None)
    try:
        proc = subprocess.run(cmd, cwd=layout.course_dir, env=env, capture_output=True, text=True)
    finally:
        _chown_tree(layout.course_dir, pwd.getpwnam(layout.instructor))
    if check and proc.returncode != 0:
        raise RuntimeError(f"grading exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def reset_student(layout: HubLayout, student: str) -> None:
    """Remove a student's work and nbgrader's record of it (tests only)."""
    home = layout.home(student)
    for name in os.listdir(home):
        if not name.startswith(".") or name in (".local", ".jupyter", ".ipython", ".cache"):
            path = home / name
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def print_logins(layout: HubLayout) -> None:
    logins = layout.logins()
    print(f"JupyterHub: {layout.url}/hub/login   (course {course_id()}, exchange {layout.exchange})")
    print(f"  instructor  {layout.instructor:28s} {logins[layout.instructor]}")
    for s in layout.students:
        print(f"  student     {s:28s} {logins[s]}")
    print(f"The instructor's course root: {layout.course_dir}  (docs/jupyterhub.md: the week's steps)")


PLACES = {"home": HUB_HOME, "env": HUB_ENV, "state": STATE, "exchange": EXCHANGE}


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["where"]:  # for the Makefile: one of the hub's places (PLACES), from its one home
        print(PLACES[argv[1]])
        return 0
    parser = argparse.ArgumentParser(prog="python -m grading.hosting.hub", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["setup", "logins", "grade"])
    parser.add_argument("--layout", help="a layout.json (default: the default layout's)")
    parser.add_argument("--student", action="append", default=[], help="grade only this student (repeatable)")
    args = parser.parse_args(argv)
    layout = HubLayout.load(args.layout) if args.layout else HubLayout()
    if args.command == "setup":
        setup(layout)
    elif args.command == "logins":
        print_logins(layout)
    else:
        proc: subprocess.CompletedProcess[str] | None
        if args.student:
            proc = grade(layout, args.student, check=False)
        else:
            proc, _ = grade_roster(layout, check=False)
        if proc is None:
            print("nothing to grade: no collected submission of a student in the gradebook")
            return 0
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        return proc.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
