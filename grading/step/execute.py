"""The Execute preprocessor autograding uses: nbgrader's, with three changes.

1. Student code runs in a sandboxed kernel (grading/step/sandbox.py) unless ``c.Sandbox.enabled = False``.
2. Test cells never run in that kernel: grading/step/verdicts.py judges them in this process and
   writes the verdict as the cell's output (the rules for test cells are in its docstring). A
   test that inspects source runs against a fresh sandboxed kernel holding only the text it
   reads (``source_kernel_program``), so the code checked is the code that runs.
3. Budgets: a notebook gets ``notebook_budget`` seconds in all (cells past it do not run and say
   why; a cell's timeout is cut to what is left), and a cell's outputs are kept up to
   ``max_cell_output_bytes`` (the notebook's up to ``max_notebook_output_bytes``), then replaced
   by a note, so one cell cannot make a graded copy or its feedback huge. nbgrader's
   ``LimitOutput`` still limits lines afterwards.

A kernel that dies (``os._exit``, a memory limit) or hangs past an interrupt costs the cells it
did not run, not the whole notebook.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer

from grading.cells import grade_id, is_test_cell
from grading.settings import Sandbox
from grading.step.channel import KernelChannel, KernelDied, KernelHung, channel_client
from grading.step.sandbox import SandboxKernelManager
from grading.step.verdicts import (
    TrustedTests,
    inspects_source,
    setup_modules,
    solution_names,
    source_kernel_program,
    student_sources,
)
from grading.step.warm_kernels import WarmSandboxKernelManager

if TYPE_CHECKING:
    from jupyter_client.blocking import BlockingKernelClient
    from jupyter_client.manager import AsyncKernelManager, KernelManager
    from nbformat import NotebookNode
    from nbgrader.api import Notebook


class MasterCells(TypedDict):
    """What the gradebook holds of a notebook for its tests (``_master_cells``)."""
    sources: dict[str, str]  # test cell sources by grade_id
    setup: list[str]  # the instructor's set-up cells
    helpers: Path | None  # the folder of the instructor's helper modules
    student_names: set[str]  # the names the solution cells bind


def _output_bytes(output: NotebookNode) -> int:
    return len(json.dumps(output, default=str))


class SandboxedExecute(Execute):

    notebook_budget = Integer(
        120, help="Seconds one notebook may take in all (kernel cells and tests); cells past it do not run."
    ).tag(config=True)
    max_cell_output_bytes = Integer(
        1_000_000, help="Bytes of output kept per cell; the rest is replaced by a note."
    ).tag(config=True)
    max_notebook_output_bytes = Integer(
        5_000_000, help="Bytes of output kept per notebook; the rest is replaced by a note."
    ).tag(config=True)

    # one notebook's state (preprocess sets it)
    _started: float
    _tests: TrustedTests | None
    _kernel_channel: KernelChannel | None
    _master: MasterCells
    _cell_bytes: dict[int, int]
    _notebook_bytes: int
    _cut: set[int]
    _counter: int
    _sources: dict[str, str]
    _code_cells: list[NotebookNode]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = Sandbox(parent=self)  # c.Sandbox.* (grading/settings.py)
        if settings.enabled:
            self.kernel_manager_class = WarmSandboxKernelManager if settings.warm_start else SandboxKernelManager

    # ------------------------------------------------------------------ one notebook
    def preprocess(self, nb: NotebookNode, resources: dict[str, Any] | None = None,
                   km: KernelManager | None = None) -> tuple[NotebookNode, dict[str, Any] | None]:
        self._started = time.monotonic()
        self._tests = self._kernel_channel = None
        self._master = _master_cells(resources or {})
        self._cell_bytes, self._notebook_bytes, self._cut = {}, 0, set()
        self._counter = 0
        self._sources = {}
        self._code_cells = []
        try:
            return super().preprocess(nb, resources, km=km)
        except DeadKernelError as err:
            self._fail_unrun_cells(nb, f"the kernel died ({err}); cells after this point did not run")
        except CellTimeoutError:
            self._fail_unrun_cells(nb, "the kernel stopped responding (no reply after a timeout and an "
                                       "interrupt); cells after this point did not run")
        finally:
            if self._kernel_channel is not None:
                self._kernel_channel.close()
        return nb, resources

    def _left(self) -> float:
        return self.notebook_budget - (time.monotonic() - self._started)

    def _get_timeout(self, cell: NotebookNode | None) -> int:
        timeout = super()._get_timeout(cell)
        left = max(int(self._left()), 1)
        return left if timeout is None else min(timeout, left)

    async def async_execute_cell(self, cell: NotebookNode, cell_index: int, execution_count: int | None = None,
                                 store_history: bool = True) -> NotebookNode:
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if self._left() <= 0:
            message = (f"the notebook used up its time budget of {self.notebook_budget} s; "
                       "this cell did not run")
            cell.outputs = [new_output("error", ename="NotebookBudgetExceeded", evalue=message,
                                       traceback=[f"NotebookBudgetExceeded: {message}"])]
            return cell
        if is_test_cell(cell):
            return await self._judge(cell)
        student_sources([cell], self._sources)  # what a later test's inspect.getsource reads
        self._code_cells.append(cell)  # what a later source-inspecting test's own kernel holds
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    execute_cell = run_sync(async_execute_cell)  # nbclient binds its own coroutine here

    async def _judge(self, cell: NotebookNode) -> NotebookNode:
        """A test cell, run on this side against the kernel; its verdict becomes its output."""
        if self._tests is None:
            self._tests = TrustedTests(self._master["setup"], self._master["helpers"], self._channel(),
                                       self.timeout)
            for problem in self._tests.setup_errors:
                self.log.error("A set-up statement for the tests failed on the grader's side: %s", problem)
        self._tests.sources = self._sources
        deadline = time.monotonic() + min(self.timeout or 60, max(self._left(), 0.5))
        source = self._test_source(cell)
        try:
            if inspects_source(source):
                cell.outputs = await self._judge_on_source_kernel(source, deadline)
            else:
                cell.outputs = self._tests.run(source, deadline)
        except KernelDied as err:
            raise DeadKernelError(str(err)) from None
        except KernelHung:
            raise CellTimeoutError("the kernel did not come back after an interrupt") from None
        self._counter += 1
        cell.execution_count = self._counter
        return cell

    async def _judge_on_source_kernel(self, source: str, deadline: float) -> list[NotebookNode]:
        """A test that inspects source, run against a fresh sandboxed kernel that holds only the
        text the test reads (its death or hang costs this test, not the notebook)."""
        assert self._tests is not None  # _judge made them
        program = source_kernel_program(self._code_cells, setup_modules(self._master["setup"]))
        folder = tempfile.mkdtemp(prefix="source-kernel-")
        km: AsyncKernelManager | None = None
        client: BlockingKernelClient | None = None
        channel: KernelChannel | None = None
        try:
            _copy_helpers(self._master["helpers"], folder)
            km = self.kernel_manager_class(config=self.config, kernel_name=self.km.kernel_name)
            await km.start_kernel(extra_arguments=self.extra_arguments, cwd=folder)
            client = channel_client(km.connection_file)
            def alive() -> bool:
                process = getattr(km.provisioner, "process", None)
                return process is not None and process.poll() is None
            _run_program(client, program, alive, time.monotonic() + (self.timeout or 60))
            deadline = time.monotonic() + min(self.timeout or 60, max(self._left(), 0.5))  # the test's own time
            channel = KernelChannel(client, alive, self._master["student_names"], folder=_channel_folder(km))
            return self._tests.run(source, deadline, channel=channel)
        except (KernelDied, KernelHung, TimeoutError, RuntimeError) as err:
            return _failed(f"the kernel that runs only the text this test reads stopped: {err}")
        finally:
            if channel is not None:
                channel.close()
            elif client is not None:
                client.stop_channels()
            if km is not None:
                await km.shutdown_kernel(now=True)
            shutil.rmtree(folder, ignore_errors=True)

    def _test_source(self, cell: NotebookNode) -> str:
        """The instructor's code of a test cell (RestoreMasterCells has put it back; a deleted
        and restored test keeps the failing line it was given)."""
        name = grade_id(cell)
        master = self._master["sources"].get(name) if name is not None else None
        if master is None or cell.source == master:
            return cell.source
        if cell.source.endswith(master) and cell.source.startswith("assert False, "):
            return cell.source
        return master

    def _channel(self) -> KernelChannel:
        self._kernel_channel = KernelChannel(channel_client(self.km.connection_file), self._kernel_alive,
                                             self._master["student_names"], folder=_channel_folder(self.km))
        return self._kernel_channel

    def _kernel_alive(self) -> bool:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return process is not None and process.poll() is None

    # ------------------------------------------------------------------ output budgets
    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or not outs or outs[-1] is not out:
            return out
        size = _output_bytes(out)
        used = self._cell_bytes.get(cell_index, 0)
        if used + size > self.max_cell_output_bytes or self._notebook_bytes + size > self.max_notebook_output_bytes:
            outs.pop()
            if cell_index not in self._cut:
                self._cut.add(cell_index)
                limit = (self.max_cell_output_bytes if used + size > self.max_cell_output_bytes
                         else self.max_notebook_output_bytes)
                outs.append(new_output("stream", name="stderr",
                                       text=f"\n[output cut: more than {limit} bytes; the rest was not kept]\n"))
            return None
        self._cell_bytes[cell_index] = used + size
        self._notebook_bytes += size
        return out

    @staticmethod
    def _fail_unrun_cells(nb: NotebookNode, message: str) -> None:
        dead = False
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            ran = cell.get("execution_count") is not None or cell.outputs
            if not ran or dead:
                dead = True
                if not any(o.output_type == "error" for o in cell.outputs):
                    cell.outputs.append(new_output("error", ename="DeadKernelError", evalue=message,
                                                   traceback=[f"DeadKernelError: {message}"]))


def _master_cells(resources: dict[str, Any]) -> MasterCells:
    """From the gradebook: test cell sources by grade_id, the instructor's set-up cells, and the
    folder of the instructor's helper modules."""
    info = resources.get("nbgrader") or {}
    found: MasterCells = {"sources": {}, "setup": [], "helpers": _helpers_folder(resources), "student_names": set()}
    if not info.get("db_url"):
        return found
    from nbgrader.api import Gradebook
    with Gradebook(info["db_url"]) as gb:
        notebook = gb.find_notebook(info["notebook"], info["assignment"])
        graded = {c.name for c in notebook.grade_cells}
        solutions = {c.name for c in notebook.solution_cells}
        for cell in notebook.source_cells:
            if cell.cell_type != "code":
                continue
            found["sources"][cell.name] = cell.source
            if cell.locked and cell.name not in graded and cell.name not in solutions:
                found["setup"].append(cell.source)
        found["student_names"] = _student_names(notebook, solutions)
    return found


def _student_names(notebook: Notebook, solutions: set[str]) -> set[str]:
    """The names the solution cells (the gradebook's copy, never the submission) bind."""
    return solution_names(c.source for c in notebook.source_cells if c.name in solutions and c.cell_type == "code")


def _copy_helpers(helpers: Path | None, folder: str) -> None:
    """The instructor's helper modules into ``folder`` (the source kernel's cwd), readable by the
    sandbox's user: a module the student submitted never shadows them there."""
    os.chmod(folder, 0o755)
    for path in Path(helpers).glob("*.py") if helpers else ():
        shutil.copyfile(path, Path(folder) / path.name)
        os.chmod(Path(folder) / path.name, 0o644)


def _channel_folder(km: KernelManager) -> str | None:
    """Where a kernel can reach the channel's socket: a sandboxed kernel's own folder for sockets
    (SandboxKernelManager.channel_folder); None (a private temporary folder) for a kernel on this
    file system."""
    return getattr(km, "channel_folder", None)


def _run_program(client: BlockingKernelClient, program: str, alive: Callable[[], bool], deadline: float) -> None:
    """Run ``program`` in a fresh kernel through ``client`` and wait for its reply."""
    msg_id = client.execute(program, silent=True, store_history=False, allow_stdin=False, stop_on_error=False)
    while time.monotonic() < deadline:
        try:
            reply = client.get_shell_msg(timeout=0.2)
        except queue.Empty:
            if not alive():
                raise KernelDied("the kernel died while the student's definitions were loaded") from None
            continue
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            return
    raise TimeoutError("loading the student's definitions ran past this test's time limit")


def _failed(message: str) -> list[NotebookNode]:
    return [new_output("error", ename="SourceKernelError", evalue=message, traceback=[f"SourceKernelError: {message}"])]


def _helpers_folder(resources: dict[str, Any]) -> Path | None:
    """The instructor's copy of the assignment (release/, else source/) beside the graded
    notebook's folder, <course>/autograded/<student>/<assignment>; None if neither exists."""
    path = (resources.get("metadata") or {}).get("path")
    if not path:
        return None
    root = Path(path).resolve().parents[2]
    name = Path(path).name
    return next((f for f in (root / "release" / name, root / "source" / name) if f.is_dir()), None)
