"""The grading settings that nbgrader does not have, as traitlets options in nbgrader's own idiom.

They are set in the course's ``nbgrader_config.py`` (``c.Sandbox.memory_limit = "2G"``,
``c.Runner.workers = 4``), which also reads the environment variables listed there as overrides.
Every option's help is its documentation; ``python -m grading.settings`` prints them all with
their values under the course's configuration.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from traitlets import Bool, Bunch, CaselessStrEnum, Float, Int, TraitError, Unicode, validate
from traitlets.config import Config, Configurable


def parse_size(text: object) -> int:
    """Bytes from '512M', '4G', '4GiB', '1048576'."""
    text = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


C = TypeVar("C", bound=Configurable)

# What grading without the sandbox means: the one wording of it (the option's help, the runner's
# warning and refusal, python -m grading.step.sandbox).
UNSANDBOXED = ("student code runs as the grading user: it can read source/ (solutions and hidden tests) and "
               "other students' work, write the gradebook and use the network")


class Course(Configurable):
    """What the engine reads of the course it grades (grading/course.py): everything else about a
    course (its notebooks, their functions and grade ids, its sample class) stays with the course."""

    assignment = Unicode("", help=(
        "The assignment the engine grades, reports and feeds back (a folder of source/). Empty: "
        "the only folder of source/ (an error names them when there are several).")).tag(config=True)
    sample_class = Unicode("", help=(
        "The dotted name of the course's sample-class module (importable from the course root), "
        "read by python -m grading.sample_class, the hub's accounts and the tests: its STUDENTS, "
        "a list of grading.sample_class.SampleStudent. Empty: the course has none.")).tag(config=True)


class Sandbox(Configurable):
    """The sandbox every autograding kernel starts in (grading/step/sandbox.py)."""

    enabled = Bool(True, help=(
        f"Start every autograding kernel in the sandbox. False: {UNSANDBOXED}; only ever on "
        "purpose.")).tag(config=True)
    user = Unicode("", help=(
        "The account kernels run as. Empty: a uid of its own per grading process (with nobody's "
        "group), so one kernel's fork bomb cannot starve a kernel graded beside it.")).tag(config=True)
    memory_limit = Unicode("4G", help=(
        "Memory of one kernel and all its processes together, plus the files it writes in its "
        "tmpfs mounts: '512M', '2G', or bytes. Also the address space of each of its processes "
        "(at least address_space).")).tag(config=True)
    pids_limit = Int(64, help=(
        "Processes and threads of one kernel together (an ipykernel with numpy and matplotlib "
        "uses 13): its cgroup's pids.max, and RLIMIT_NPROC of its uid.")).tag(config=True)
    warm_start = Bool(True, help=(
        "Fork each kernel, fully isolated, from a process that imported IPython, ipykernel, numpy, "
        "matplotlib and ipywidgets once per grading process (grading/step/warm_kernels.py), instead of "
        "starting a new Python and importing them per notebook. False starts every kernel cold.")).tag(config=True)
    address_space = Unicode("4G", help=(
        "Address space of each process of a kernel (RLIMIT_AS), at least: the larger of this and "
        "memory_limit: '4G', '8G' or bytes. A kernel with numpy and matplotlib maps about 0.9 GiB "
        "it never touches (docs/sandbox.md); a single oversized allocation gets MemoryError.")).tag(config=True)
    cpu_seconds = Int(120, help=(
        "CPU seconds of each process of a kernel (RLIMIT_CPU): a backstop, as Execute.timeout "
        "stops a cell and SandboxedExecute.notebook_budget a notebook.")).tag(config=True)
    file_size = Unicode("100M", help=(
        "Largest file a kernel's process may write (RLIMIT_FSIZE): '100M', '1G' or bytes. Its "
        "files are in tmpfs mounts, charged to memory_limit as well.")).tag(config=True)
    open_files = Int(256, help="Open files and sockets of each process of a kernel (RLIMIT_NOFILE): at "
                               "least 64, as a started ipykernel holds fewer than 64.").tag(config=True)
    stack_size = Unicode("8M", help=(
        "Stack of each process of a kernel (RLIMIT_STACK, soft and hard): '8M' (Linux's usual soft "
        "limit) or bytes, so a kernel's stack does not depend on the shell the grading started "
        "from.")).tag(config=True)
    use_cgroup = Bool(True, help=(
        "Bound each kernel with a cgroup of its own (v1, or v2 in the grading process's delegated "
        "subtree) where one can be made. False uses the grader's watchdog thread even where cgroups "
        "work (to test it). The rlimits hold either way.")).tag(config=True)

    @validate("memory_limit", "address_space", "file_size", "stack_size")
    def _valid_size(self, proposal: Bunch) -> str:
        try:
            if parse_size(proposal["value"]) <= 0:
                raise ValueError
        except ValueError:
            raise TraitError(f"Sandbox.{proposal['trait'].name}={proposal['value']!r}: use '512M', '2G' "
                             "or bytes, above 0") from None
        return proposal["value"]

    @validate("pids_limit", "cpu_seconds", "open_files")
    def _valid_count(self, proposal: Bunch) -> int:
        least = {"pids_limit": (1, "a kernel with numpy uses 13"), "cpu_seconds": (1, "seconds"),
                 "open_files": (64, "a started ipykernel holds fewer than 64")}
        name = proposal["trait"].name
        if proposal["value"] < least[name][0]:
            raise TraitError(f"Sandbox.{name}={proposal['value']!r}: at least {least[name][0]} ({least[name][1]})")
        return proposal["value"]

    @property
    def memory_bytes(self) -> int:
        return parse_size(self.memory_limit)


class Report(Configurable):
    """The instructor's report (grading/reports/report.py)."""

    formgrader_url = Unicode("http://localhost:8888/formgrader", help=(
        "The formgrader as the instructor opens it: the report's manual-grading queue links each "
        "written cell to its grade-by-question page there (under a hub: "
        "https://HUB/user/INSTRUCTOR/formgrader).")).tag(config=True)
    follow_up = Int(8, help="At most this many students in the report's 'students to follow up'.").tag(config=True)


class Runner(Configurable):
    """How a class is graded: where the workers are and how often a failed student is retried
    (grading/batch/runner.py, grading/batch/distributed.py, docs/scaling.md)."""

    workers = Int(0, help="Worker processes grading at once; 0: one per core.").tag(config=True)
    retries = Int(1, help="Times a student whose grading failed is graded again before being "
                          "named as failed.").tag(config=True)
    executor = CaselessStrEnum(["local", "dask"], "local", help=(
        "'local': a pool of worker processes on this machine. 'dask': a Dask cluster of local "
        "processes, or the cluster at dask_scheduler_address.")).tag(config=True)
    dask_scheduler_address = Unicode("", help=(
        "tcp://HOST:8786: grade on the workers of a running Dask cluster (implies executor "
        "'dask'). Needs a gradebook server every worker reaches.")).tag(config=True)
    ship_files = Bool(None, allow_none=True, help=(
        "Send each submission to its worker as bytes and bring the graded notebooks back (no "
        "shared filesystem needed). None: on with a scheduler address, off otherwise.")).tag(config=True)

    @property
    def uses_dask(self) -> bool:
        return self.executor == "dask" or bool(self.dask_scheduler_address)

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

    @property
    def ships(self) -> bool:
        return bool(self.dask_scheduler_address) if self.ship_files is None else self.ship_files


class Similarity(Configurable):
    """The similarity report (grading/reports/similarity.py, make similarity)."""

    sources = Unicode("", help=(
        "A folder of outside sources (other courses' solutions, forum posts, ...: .py, .ipynb, .md, "
        ".txt, .html files; in text, the fenced ``` or <pre> blocks are the code), relative to the "
        "course root. Every answer is compared with each file; a match of uncommon code is reported "
        "as 'shares uncommon code with <file>', for one student as for several. Empty: none.")).tag(config=True)
    common = Float(0.25, help=(
        "A fingerprint (a run of 5 tokens or words) held by at least this share of the class is "
        "common and carries no evidence; rarer ones carry more the fewer students hold them.")).tag(config=True)
    chance_flags = Float(0.05, help=(
        "Where the flag line is drawn: the number of pairs a class of the same size in which everyone "
        "wrote their own answers would put above it by chance, from the tail of this class's own "
        "pair scores.")).tag(config=True)

    @validate("common")
    def _valid_common(self, proposal: Bunch) -> float:
        if not 0 < proposal["value"] <= 1:
            raise TraitError(f"Similarity.common={proposal['value']!r}: a share of the class, above 0 and at most 1")
        return proposal["value"]

    @validate("chance_flags")
    def _valid_chance(self, proposal: Bunch) -> float:
        if not proposal["value"] > 0:
            raise TraitError(f"Similarity.chance_flags={proposal['value']!r}: a number of pairs above 0, e.g. 0.05")
        return proposal["value"]


class LatePenalty(Configurable):
    """Who takes points off a late submission (grading/step/late_penalty.py, grading/hosting/lms.py, docs/lms.md)."""

    applied_by = CaselessStrEnum(["course", "lms"], "course", help=(
        "'course': the course's late penalty (c.AssignLatePenalties.plugin_class) is taken off here, in "
        "the gradebook, the feedback and every grades file; turn the LMS's own late policy off. 'lms': "
        "nothing is taken off here (the feedback says the LMS applies its late policy) and the grades "
        "files hold the score before any penalty, for an LMS whose late policy deducts on import "
        "(Canvas's 'Automatically apply deduction to late submissions').")).tag(config=True)


# Environment variables that override a setting (read by nbgrader_config.py): name -> (section,
# option, converter). For a course that moves to another server without editing its config file.
def _flag(name: str) -> Callable[[str], bool]:
    def convert(value: str) -> bool:
        value = value.strip().lower()
        if value in {"1", "true", "yes", "on"}:
            return True
        if value in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"{name}={value!r}: use 1 or 0 (on or off)")
    return convert


ENVIRONMENT_OVERRIDES: dict[str, tuple[str, str, Callable[[str], object]]] = {
    "GRADEBOOK_URL": ("CourseDirectory", "db_url", str),
    "GRADING_CELL_TIMEOUT": ("Execute", "timeout", int),
    "GRADING_NOTEBOOK_BUDGET": ("SandboxedExecute", "notebook_budget", int),
    "GRADING_SANDBOX": ("Sandbox", "enabled", _flag("GRADING_SANDBOX")),
    "GRADING_SANDBOX_USER": ("Sandbox", "user", str),
    "GRADING_SANDBOX_MEMORY": ("Sandbox", "memory_limit", str),
    "GRADING_SANDBOX_PIDS": ("Sandbox", "pids_limit", int),
    "GRADING_SANDBOX_CGROUP": ("Sandbox", "use_cgroup", _flag("GRADING_SANDBOX_CGROUP")),
    "GRADING_WARM_START": ("Sandbox", "warm_start", _flag("GRADING_WARM_START")),
    "GRADING_WORKERS": ("Runner", "workers", int),
    "GRADING_EXECUTOR": ("Runner", "executor", str),
    "DASK_SCHEDULER_ADDRESS": ("Runner", "dask_scheduler_address", str),
    "GRADING_SHIP_FILES": ("Runner", "ship_files", _flag("GRADING_SHIP_FILES")),
}


def apply_environment(config: Config, environ: Mapping[str, str] | None = None) -> Config:
    """Set every option whose environment variable is set (and not empty) in ``config``."""
    environ = os.environ if environ is None else environ
    for name, (section, option, convert) in ENVIRONMENT_OVERRIDES.items():
        value = environ.get(name, "").strip()
        if value:
            config[section][option] = convert(value)
    return config


def course_settings(kind: type[C], config: Config | None = None) -> C:
    """``kind`` (Sandbox, Runner or Similarity) under ``config``, or under the course's nbgrader_config.py."""
    if config is None:
        from grading.course import load_config
        config = load_config()
    return kind(config=config)


def configurables() -> list[type[Configurable]]:
    """Every Configurable class of the grading package that has options of its own, found by
    importing each of the package's modules."""
    import importlib
    import pkgutil

    import grading
    from grading._moved import MOVED
    found: list[type[Configurable]] = []
    for info in pkgutil.walk_packages(grading.__path__, "grading."):
        if info.name in MOVED:  # an old path of a moved module: its classes are the new module's
            continue
        module = importlib.import_module(info.name)
        found += [kind for kind in vars(module).values() if isinstance(kind, type) and issubclass(kind, Configurable)
                  and kind.__module__ == module.__name__ and kind.class_own_traits(config=True)]
    return found


def config_files(root: Path | str) -> list[Path]:
    """The nbgrader_config.py files nbgrader reads for the course at ``root``, lowest priority
    first: Jupyter's config folders (the hub's environment, ~/.jupyter, ...), then the course root."""
    from jupyter_core.paths import jupyter_config_path
    folders = [*reversed(jupyter_config_path()), str(root)]
    return [path for path in dict.fromkeys(Path(f) / "nbgrader_config.py" for f in folders) if path.is_file()]


def sourced_config(root: Path | str, environ: Mapping[str, str] | None = None,
                   ) -> tuple[Config, dict[tuple[str, str], str]]:
    """(the Config nbgrader reads for the course at ``root``, {(section, option): where its value
    came from: the last file that sets it, or the environment variable that overrides it})."""
    from traitlets.config.loader import PyFileConfigLoader
    environ = os.environ if environ is None else environ
    merged, sources = Config(), {}  # type: tuple[Config, dict[tuple[str, str], str]]
    for path in config_files(root):
        loaded = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
        merged.merge(loaded)
        sources.update({(section, option): str(path) for section, options in loaded.items()
                        if isinstance(options, Config) for option in options})
    for name, (section, option, convert) in ENVIRONMENT_OVERRIDES.items():
        value = environ.get(name, "").strip()
        if value and merged[section].get(option) == convert(value):
            sources[(section, option)] = f"environment variable {name}"
    return merged, sources


def _where(source: str, root: Path) -> str:
    """A config file relative to the course root when it is in it; anything else as it is."""
    path = Path(source)
    return str(path.relative_to(root)) if path.is_absolute() and path.is_relative_to(root) else source


# nbgrader's own options that an environment variable above overrides: printed with ours
NBGRADER_OVERRIDDEN = {"CourseDirectory": "nbgrader.coursedir.CourseDirectory",
                       "Execute": "nbgrader.preprocessors.Execute"}


def _option_lines(kind: type[Configurable], names: list[str], config: Config,
                  sources: dict[tuple[str, str], str], root: Path) -> list[str]:
    """Each option ``names`` of ``kind``: its value, where it came from, the variable that
    overrides it, and its help."""
    import textwrap
    overrides = {(s, o): n for n, (s, o, _) in ENVIRONMENT_OVERRIDES.items()}
    section, lines = config[kind.__name__], []
    for name in names:
        trait = kind.class_traits()[name]
        key = (kind.__name__, name)
        where = _where(sources[key], root) if key in sources else "default"
        if key in overrides and not where.startswith("environment"):
            where += f"; {overrides[key]} overrides it"
        value = section[name] if name in section else trait.default()
        lines.append(f"c.{kind.__name__}.{name} = {value!r}   # {where}")
        lines.append(textwrap.indent(textwrap.fill(trait.help, 92), "    "))
    return lines


def _summary(kind: type[Configurable]) -> str:
    """The first sentence of a class's docstring, else of its module's, shortened."""
    import re
    import sys
    import textwrap
    text = " ".join((kind.__doc__ or sys.modules[kind.__module__].__doc__ or "").split())
    return textwrap.shorten(re.split(r"(?<=\.)\s", text, maxsplit=1)[0], 110, placeholder=" ...")


def describe(root: Path | str | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every option of the grading package (and nbgrader's that an environment variable
    overrides): its value for the course at ``root``, where that came from (default, a config
    file, an environment variable) and its help, as lines of text."""
    from traitlets.utils.importstring import import_item

    from grading.course import COURSE_ROOT
    root = Path(COURSE_ROOT if root is None else root).resolve()
    config, sources = sourced_config(root, environ)
    lines = []
    for kind in configurables():
        lines.append(f"# {kind.__name__} ({kind.__module__}): {_summary(kind)}")
        lines += _option_lines(kind, sorted(kind.class_own_traits(config=True)), config, sources, root)
    lines.append("# nbgrader's options that an environment variable overrides")
    for section, path in NBGRADER_OVERRIDDEN.items():
        names = [o for s, o, _ in ENVIRONMENT_OVERRIDES.values() if s == section]
        lines += _option_lines(import_item(path), names, config, sources, root)
    return lines


def main() -> None:
    """Print every grading option, its value under this course's configuration, where the value
    came from, and its help."""
    print("\n".join(describe()))


if __name__ == "__main__":
    main()
