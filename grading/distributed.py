"""Grading beyond one machine: the runner's executor on a Dask cluster.

The runner (grading/runner.py) hands each student to an executor, ``submit(fn, *args)`` returning
a ``concurrent.futures.Future``, and ``shutdown()``. ``DaskExecutor`` is that executor on a Dask
client, so the runner's loop (students added first, one task per student, one retry) is the same
on one laptop and on a cluster. Chosen by configuration (``runner.make_executor``):

    DASK_SCHEDULER_ADDRESS=tcp://host:8786   workers of a running cluster (`dask scheduler` and
                                             `dask worker ... --nthreads 1` on other hosts, SLURM)
    GRADING_EXECUTOR=dask                    a Dask cluster of local processes (GRADING_WORKERS)
    GRADING_SHIP_FILES=1 | 0                 send each submission and the instructor's helper
                                             files to the worker as bytes and bring the autograded
                                             notebooks back; default: on with a scheduler address
                                             (no shared filesystem needed), off for a local cluster

Workers are long-lived processes with one thread each (every task starts a kernel); each keeps
one nbgrader API, as the local worker processes do. A worker lost mid-task (killed, crashed,
its host gone) turns into an exception on the runner's future, and the runner grades that
student again elsewhere with ``force``: the retry overwrites the lost attempt's rows, so every
student ends with one submission and one set of grades.

Without a shared filesystem (ship mode) a worker grades in a throwaway course folder of its own
whose nbgrader_config.py holds only the course id and the gradebook URL; the grading behaviour
(timeouts, restored test cells, output limits) travels with every task from the coordinator's
configuration, the test cells come from the gradebook, the helper modules from the instructor's
source folder (as ``nbgrader autograde`` does locally). With a scheduler address the coordinator
also uploads its own ``grading`` package to the cluster, so workers need only the pinned
packages of requirements.txt.
"""
import atexit
import concurrent.futures
import importlib
import os
import shutil
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grading.course import ASSIGNMENT, COURSE_ROOT, load_config

SHIPPED_SECTIONS_DROPPED = {"Exchange"}  # paths of the coordinator's machine
COURSE_KEYS_DROPPED = {"root", "db_url"}


def _flag(name, default):
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={value!r}: use 1 or 0")


def _importable(fn):
    """A function of a module run as ``python -m grading.runner`` lives in ``__main__``, which
    cloudpickle would copy by value (losing the worker's cached nbgrader API). Send it by its
    real module name instead, so workers import it."""
    if getattr(fn, "__module__", None) == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        if spec is not None and spec.name:
            return getattr(importlib.import_module(spec.name), fn.__name__, fn)
    return fn


def _is_grade_student(fn):
    return getattr(fn, "__module__", None) == "grading.runner" and getattr(fn, "__name__", "") == "grade_student"


# ----------------------------------------------------------------------------- what travels
@dataclass
class Parcel:
    """One student's submission and everything a worker needs to grade it, as bytes."""
    student: str
    notebooks: list  # None: every notebook; else only these (the others could not be read)
    submission: dict  # relative path -> bytes (submitted/<student>/<assignment>/...)
    helpers: dict  # relative path -> bytes (the instructor's non-notebook files of the assignment)
    course_id: str
    db_url: str
    config: dict = field(default_factory=dict)  # the coordinator's grading settings, as plain dicts


def _plain(config):
    """The coordinator's traitlets Config as plain dicts, without its machine's paths."""
    out = {}
    for section, values in config.items():
        if section in SHIPPED_SECTIONS_DROPPED or not hasattr(values, "items"):
            continue
        kept = {k: v for k, v in values.items()
                if not (section == "CourseDirectory" and k in COURSE_KEYS_DROPPED)}
        if kept:
            out[section] = dict(kept)
    return out


def _read_files(folder, ignore):
    from nbgrader.utils import find_all_files
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {str(Path(path).relative_to(folder)): Path(path).read_bytes()
            for path in find_all_files(str(folder), ignore)}


def _write_files(folder, files):
    folder = Path(folder)
    for rel, data in files.items():
        target = (folder / rel).resolve()
        if folder.resolve() not in target.parents:  # a path from elsewhere never escapes its folder
            raise ValueError(f"refusing to write {rel!r} outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


class Shipment:
    """Coordinator side of ship mode: pack a student's files, unpack the graded copies."""

    def __init__(self, root=COURSE_ROOT):
        self.root = Path(root)
        config = load_config(self.root)
        course = config.CourseDirectory
        self.db_url = course.db_url
        self.course_id = course.course_id
        self.ignore = list(course.ignore) if "ignore" in course else [".ipynb_checkpoints", "*.pyc", "__pycache__"]
        self.config = _plain(config)
        source = self.root / "source" / ASSIGNMENT
        self.helpers = {rel: data for rel, data in _read_files(source, self.ignore).items()
                        if not rel.endswith(".ipynb")}

    def pack(self, student, notebooks):
        submission = _read_files(self.root / "submitted" / student / ASSIGNMENT, self.ignore)
        return Parcel(student, None if notebooks is None else list(notebooks), submission, self.helpers,
                      self.course_id, self.db_url, self.config)

    def unpack(self, student, shipped):
        result, files = shipped
        folder = self.root / "autograded" / student / ASSIGNMENT
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        _write_files(folder, files)
        return result


# ----------------------------------------------------------------------------- worker side
_WORKSPACES = {}  # per worker process: (course_id, db_url, config) -> (folder, nbgrader API)


def _workspace(parcel):
    """This process's throwaway course folder for the parcel's course, made once."""
    key = (parcel.course_id, parcel.db_url, repr(sorted(parcel.config.items())))
    if key not in _WORKSPACES:
        from traitlets.config import Config
        from grading.course import nbgrader_api
        from grading.runner import _init_worker
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
            f"c.CourseDirectory.db_url = {parcel.db_url!r}\n")
        config = Config(parcel.config)
        config.merge(load_config(folder))
        _init_worker(str(folder))  # the warnings filters and imports the local workers get
        _WORKSPACES[key] = (folder, nbgrader_api(folder, config))
    return _WORKSPACES[key]


def grade_shipped(parcel):
    """Grade one shipped submission in this worker's throwaway course folder.

    Returns (StudentResult, {relative path: bytes} of autograded/<student>/<assignment>/)."""
    from grading import runner
    folder, api = _workspace(parcel)
    submitted = folder / "submitted" / parcel.student / ASSIGNMENT
    autograded = folder / "autograded" / parcel.student
    source = folder / "source" / ASSIGNMENT
    for stale in (submitted.parent, autograded, source):
        shutil.rmtree(stale, ignore_errors=True)
    submitted.mkdir(parents=True)
    source.mkdir(parents=True)
    _write_files(submitted, parcel.submission)
    _write_files(source, parcel.helpers)  # autograde overwrites the student's copies with these
    saved = runner._API
    runner._API = api  # one thread per worker: grade_student uses this process's API for the call
    try:
        result = runner.grade_student(parcel.student, parcel.notebooks, root=str(folder))
    finally:
        runner._API = saved
    files = _read_files(autograded / ASSIGNMENT, [])
    shutil.rmtree(submitted.parent, ignore_errors=True)
    shutil.rmtree(autograded, ignore_errors=True)
    return result, files


# ----------------------------------------------------------------------------- coordinator side
class DaskExecutor:
    """The runner's executor on a Dask client: ``submit`` returns a concurrent.futures.Future."""

    def __init__(self, client, cluster=None, ship=False, root=COURSE_ROOT):
        self.client, self.cluster, self.ship, self.root = client, cluster, ship, Path(root)
        self.shipment = Shipment(self.root) if ship else None
        self._live = {}  # dask drops a task nobody holds a future of: keep them until settled
        self._lock = threading.Lock()

    def submit(self, fn, *args, **kwargs):
        fn = _importable(fn)
        finish = None
        if _is_grade_student(fn):
            student = args[0] if args else kwargs["student"]
            notebooks = args[1] if len(args) > 1 else kwargs.get("notebooks")
            if self.ship:
                parcel = self.shipment.pack(student, notebooks)
                fn, args, kwargs = grade_shipped, (parcel,), {}
                finish = lambda shipped: self.shipment.unpack(student, shipped)  # noqa: E731
            else:  # a shared filesystem: the course is at the same path on every worker
                kwargs.setdefault("root", str(self.root))
        future = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        task = self.client.submit(fn, *args, pure=False, **kwargs)
        with self._lock:
            self._live[task.key] = task

        def settle(task):
            with self._lock:
                self._live.pop(task.key, None)
            try:
                result = task.result()  # the task's own exception, KilledWorker, or cancelled
                if finish is not None:
                    result = finish(result)
            except BaseException as err:  # noqa: B902 -- the runner catches Exception only
                if not isinstance(err, Exception):
                    err = RuntimeError(f"task lost: {type(err).__name__}: {err}")
                future.set_exception(err)
            else:
                future.set_result(result)

        task.add_done_callback(settle)
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        with self._lock:
            live = list(self._live.values())
        if live:
            self.client.cancel(live)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def upload_grading_package(client):
    """Send the coordinator's ``grading`` package to every worker (also ones that join later)."""
    package = Path(__file__).resolve().parent
    folder = Path(tempfile.mkdtemp(prefix="grading-upload-"))
    try:
        path = folder / "grading.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for source in sorted(package.glob("*.py")):
                zf.write(source, f"grading/{source.name}")
        client.upload_file(str(path))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def dask_executor(workers=None, address=None, ship=None, root=COURSE_ROOT):
    """A DaskExecutor on the cluster at ``address`` (DASK_SCHEDULER_ADDRESS), else on a new local
    cluster of ``workers`` processes with one thread each."""
    import dask
    from distributed import Client, LocalCluster
    address = address or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    ship = _flag("GRADING_SHIP_FILES", default=bool(address)) if ship is None else ship
    if address:
        if ship and load_config(root).CourseDirectory.db_url.startswith("sqlite"):
            raise SystemExit("grading on a remote Dask cluster needs a gradebook server every worker "
                             "reaches: set GRADEBOOK_URL (see docs/scaling.md)")
        try:
            client, cluster = Client(address, timeout="30s"), None
        except OSError as err:
            raise SystemExit(f"cannot reach the Dask scheduler at {address} (DASK_SCHEDULER_ADDRESS): {err}")
        upload_grading_package(client)
    else:
        # A lost worker fails its task at once (Dask's default retries it up to 3 times itself):
        # the runner then retries the student once and names it if it fails again. The workers'
        # statistical profiler (a stack sample every 10 ms) slowed grading by 10-30 % here.
        with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                              "distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                   processes=True, dashboard_address=None)
        client = Client(cluster)
    where = f"the scheduler at {address}" if address else "a local cluster"
    workers_now = len(client.scheduler_info().get("workers", {}))
    print(f"grading on Dask, {where}: {workers_now} worker processes connected now"
          f"{' (tasks wait until workers join)' if not workers_now else ''}"
          f"{'; submissions shipped as bytes' if ship else ''}", file=sys.stderr, flush=True)
    return DaskExecutor(client, cluster, ship=ship, root=root)
