"""Grading beyond one machine: the runner's executor on a Dask cluster.

The runner (grading/batch/runner.py) grades on a backend: a ``concurrent.futures.Executor`` and the
task its workers run. ``dask_backend`` gives it the executor of a Dask client
(``Client.get_executor``), so the runner's loop (students added first, one task per student,
retries) is the same on one laptop and on a cluster. Chosen by configuration (``c.Runner``,
grading/settings.py; the environment variables override):

    c.Runner.dask_scheduler_address = "tcp://host:8786"   (DASK_SCHEDULER_ADDRESS) workers of a
        running cluster (`dask scheduler` and `dask worker ... --nthreads 1` on other hosts, SLURM)
    c.Runner.executor = "dask"   (GRADING_EXECUTOR=dask) a Dask cluster of local processes
        (c.Runner.workers, GRADING_WORKERS)
    c.Runner.ship_files = True | False   (GRADING_SHIP_FILES=1 | 0) send each submission and the
        instructor's helper files to the worker as bytes and bring the autograded notebooks
        back; default: on with a scheduler address (no shared filesystem needed), off for a
        local cluster. In ship mode the task is ``ShippedGrading``: it packs the job where it is
        submitted, grades in the worker and unpacks the result where it came from.

Workers are long-lived processes with one thread each (every task starts a kernel); each keeps
one nbgrader API, as the local worker processes do. A worker lost mid-task (killed, crashed,
its host gone) turns into an exception on the runner's future, and the runner grades that
student again elsewhere with ``force``: the retry overwrites the lost attempt's rows, so every
student ends with one submission and one set of grades.

Without a shared filesystem (ship mode) a worker grades in a throwaway course folder of its own
whose nbgrader_config.py holds only the course id and the gradebook URL; the grading behaviour
(timeouts, restored test cells, output limits, the sandbox's settings) travels with every task
from the coordinator's configuration, the test cells come from the gradebook, the helper modules from the instructor's
source folder (as ``nbgrader autograde`` does locally). With a scheduler address the coordinator
also uploads its own ``grading`` package to the cluster, so workers need only the pinned
packages of requirements.txt.
"""
from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grading import course
from grading.batch.worker import GradeTask, GradingJob, StudentResult, course_api, grade_student
from grading.course import find_assignment, load_config

if TYPE_CHECKING:
    from distributed import Client, LocalCluster
    from traitlets.config import Config

    from grading.settings import Runner

SHIPPED_SECTIONS_DROPPED = {"Exchange"}  # paths of the coordinator's machine
COURSE_KEYS_DROPPED = {"root", "db_url"}


# ----------------------------------------------------------------------------- what travels
@dataclass
class Parcel:
    """One student's submission and everything a worker needs to grade it, as bytes."""
    student: str
    notebooks: list[str] | None  # None: every notebook; else only these (the others could not be read)
    submission: dict[str, bytes]  # relative path -> bytes (submitted/<student>/<assignment>/...)
    helpers: dict[str, bytes]  # relative path -> bytes (the instructor's non-notebook files of the assignment)
    course_id: str
    db_url: str
    assignment: str
    # the coordinator's grading settings, as plain dicts
    config: dict[str, dict[str, Any]] = field(default_factory=dict)


def _plain(config: Config) -> dict[str, dict[str, Any]]:
    """The coordinator's traitlets Config as plain dicts, without its machine's paths."""
    out: dict[str, dict[str, Any]] = {}
    for section, values in config.items():
        if section in SHIPPED_SECTIONS_DROPPED or not hasattr(values, "items"):
            continue
        kept = {k: v for k, v in values.items()
                if not (section == "CourseDirectory" and k in COURSE_KEYS_DROPPED)}
        if kept:
            out[section] = dict(kept)
    return out


def _read_files(folder: str | Path, ignore: list[str]) -> dict[str, bytes]:
    from nbgrader.utils import find_all_files
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {str(Path(path).relative_to(folder)): Path(path).read_bytes()
            for path in find_all_files(str(folder), ignore)}


def _write_files(folder: str | Path, files: dict[str, bytes]) -> None:
    folder = Path(folder)
    for rel, data in files.items():
        target = (folder / rel).resolve()
        if folder.resolve() not in target.parents:  # a path from elsewhere never escapes its folder
            raise ValueError(f"refusing to write {rel!r} outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


class Shipment:
    """Coordinator side of ship mode: pack a student's files, unpack the graded copies."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(course.COURSE_ROOT if root is None else root)
        config = load_config(self.root)
        coursedir = config.CourseDirectory
        self.db_url = coursedir.db_url
        self.course_id = coursedir.course_id
        self.ignore = (list(coursedir.ignore) if "ignore" in coursedir
                       else [".ipynb_checkpoints", "*.pyc", "__pycache__"])
        self.config = _plain(config)
        self.assignment = find_assignment(self.root, config)
        source = self.root / "source" / self.assignment
        self.helpers = {rel: data for rel, data in _read_files(source, self.ignore).items()
                        if not rel.endswith(".ipynb")}

    def pack(self, student: str, notebooks: tuple[str, ...] | None) -> Parcel:
        submission = _read_files(self.root / "submitted" / student / self.assignment, self.ignore)
        return Parcel(student, None if notebooks is None else list(notebooks), submission, self.helpers,
                      self.course_id, self.db_url, self.assignment, self.config)

    def unpack(self, student: str, shipped: tuple[StudentResult, dict[str, bytes]]) -> StudentResult:
        result, files = shipped
        folder = self.root / "autograded" / student / self.assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        _write_files(folder, files)
        return result


# ----------------------------------------------------------------------------- worker side
# per worker process: (course_id, db_url, assignment, config) -> its course folder
_WORKSPACES: dict[tuple[str, str, str, str], Path] = {}


def _workspace(parcel: Parcel) -> Path:
    """This process's throwaway course folder for the parcel's course, made once."""
    key = (parcel.course_id, parcel.db_url, parcel.assignment, repr(sorted(parcel.config.items())))
    if key not in _WORKSPACES:
        from traitlets.config import Config
        try:  # inside the Dask worker's own directory, which Dask removes when the worker goes
            from distributed import get_worker
            parent = get_worker().local_directory
        except (ImportError, ValueError):
            parent = None
        folder = Path(tempfile.mkdtemp(prefix="grading-course-", dir=parent))  # 0700: it names the gradebook
        atexit.register(shutil.rmtree, folder, True)
        (folder / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {parcel.course_id!r}\n"
            f"c.CourseDirectory.db_url = {parcel.db_url!r}\n"
            f"c.Course.assignment = {parcel.assignment!r}\n")
        config = Config(parcel.config)
        config.merge(load_config(folder))
        course_api(folder, config)  # this process's API for the folder, with the shipped settings
        _WORKSPACES[key] = folder
    return _WORKSPACES[key]


def grade_shipped(parcel: Parcel) -> tuple[StudentResult, dict[str, bytes]]:
    """Grade one shipped submission in this worker's throwaway course folder.

    Returns (StudentResult, {relative path: bytes} of autograded/<student>/<assignment>/)."""
    folder = _workspace(parcel)
    submitted = folder / "submitted" / parcel.student / parcel.assignment
    autograded = folder / "autograded" / parcel.student
    source = folder / "source" / parcel.assignment
    for stale in (submitted.parent, autograded, source):
        shutil.rmtree(stale, ignore_errors=True)
    submitted.mkdir(parents=True)
    source.mkdir(parents=True)
    _write_files(submitted, parcel.submission)
    _write_files(source, parcel.helpers)  # autograde overwrites the student's copies with these
    result = grade_student(parcel.student, parcel.notebooks, root=str(folder))
    files = _read_files(autograded / parcel.assignment, [])
    shutil.rmtree(submitted.parent, ignore_errors=True)
    shutil.rmtree(autograded, ignore_errors=True)
    return result, files


# ----------------------------------------------------------------------------- coordinator side
class ShippedGrading:
    """The ship mode's task: the job's files packed where it is submitted, graded in the
    worker's own course folder, the graded notebooks unpacked where they came from."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.shipment = Shipment(root)

    def prepare(self, job: GradingJob) -> Parcel:
        return self.shipment.pack(job.student, job.notebooks)

    run = staticmethod(grade_shipped)

    def finish(self, job: GradingJob, shipped: tuple[StudentResult, dict[str, bytes]]) -> StudentResult:
        return self.shipment.unpack(job.student, shipped)


class DaskBackend:
    """The runner's backend on a Dask client: its executor, the task, and what to close. Not
    rebuilt (no ``rebuild``): a lost Dask worker fails its task; the cluster carries on."""

    def __init__(self, client: Client, cluster: LocalCluster | None, task: GradeTask | ShippedGrading) -> None:
        self.client, self.cluster, self.task = client, cluster, task
        self.executor = client.get_executor(pure=False)

    def close(self) -> None:
        self.executor.shutdown(wait=False)  # cancels what is still queued (after an error)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def upload_grading_package(client: Client) -> None:
    """Send the coordinator's ``grading`` package to every worker (also ones that join later)."""
    package = Path(__file__).resolve().parent.parent  # grading/, this file is in grading/batch/
    folder = Path(tempfile.mkdtemp(prefix="grading-upload-"))
    try:
        path = folder / "grading.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for source in sorted(package.rglob("*.py")):  # every folder's modules (step/ holds the kernel's side)
                zf.write(source, f"grading/{source.relative_to(package).as_posix()}")
        client.upload_file(str(path))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _connect(address: str, ship: bool, root: str | Path) -> Client:
    from distributed import Client
    if ship and load_config(root).CourseDirectory.db_url.startswith("sqlite"):
        raise SystemExit("grading on a remote Dask cluster needs a gradebook server every worker "
                         "reaches: set GRADEBOOK_URL (see docs/scaling.md)")
    try:
        client = Client(address, timeout="30s")
    except OSError as err:
        raise SystemExit(f"cannot reach the Dask scheduler at {address} (c.Runner.dask_scheduler_address, "
                         f"DASK_SCHEDULER_ADDRESS): {err}") from None
    upload_grading_package(client)
    return client


def _local_cluster(workers: int) -> LocalCluster:
    import dask
    from distributed import LocalCluster
    # A lost worker fails its task at once (Dask's default retries it up to 3 times itself):
    # the runner then retries the student and names it if it fails again. The workers'
    # statistical profiler (a stack sample every 10 ms) slowed grading by 10-30 % here.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)


def dask_backend(settings: Runner, root: str | Path | None = None) -> DaskBackend:
    """A DaskBackend on the cluster at ``settings.dask_scheduler_address``, else on a new local
    cluster of ``settings.worker_count`` processes with one thread each."""
    from distributed import Client
    root = course.COURSE_ROOT if root is None else root
    address, ship = settings.dask_scheduler_address, settings.ships
    if address:
        client, cluster = _connect(address, ship, root), None
    else:
        cluster = _local_cluster(settings.worker_count)
        client = Client(cluster)
    where = f"the scheduler at {address}" if address else "a local cluster"
    workers_now = len(client.scheduler_info().get("workers", {}))
    print(f"grading on Dask, {where}: {workers_now} worker processes connected now"
          f"{' (tasks wait until workers join)' if not workers_now else ''}"
          f"{'; submissions shipped as bytes' if ship else ''}", file=sys.stderr, flush=True)
    return DaskBackend(client, cluster, ShippedGrading(root) if ship else GradeTask(str(root)))
