"""The Execute preprocessor autograding uses: nbgrader's, with sandboxed kernels."""
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output

from grading.sandbox import SandboxKernelManager, enabled
from grading.trust import GuardedExecute


class SandboxedExecute(GuardedExecute):
    """nbgrader's Execute (test cells guarded, grading/trust.py) with sandboxed kernels (unless
    GRADING_SANDBOX=off), and a kernel that dies (os._exit, a CPU-time limit) or hangs past an
    interrupt costs the cells it did not run, not the whole notebook."""

    def __init__(self, *args, **kwargs):
        if enabled():
            kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        try:
            return super().preprocess(nb, resources, km=km)
        except DeadKernelError as err:
            self._fail_unrun_cells(nb, f"the kernel died ({err}); cells after this point did not run")
        except CellTimeoutError:
            self._fail_unrun_cells(nb, "the kernel stopped responding (no reply after a timeout and an "
                                       "interrupt); cells after this point did not run")
        return nb, resources

    @staticmethod
    def _fail_unrun_cells(nb, message):
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
