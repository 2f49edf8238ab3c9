"""The grading step: everything `nbgrader autograde` runs for one notebook, named by dotted path in nbgrader_config.py.

- master_cells: the instructor's cells put back (tampered metadata, deleted tests score 0)
- execute: nbgrader's Execute with sandboxed kernels, test cells judged outside them, budgets
- verdicts: test cells run in the grading worker; the verdict becomes the cell's output
- channel, channel_kernel: the plain-data channel between the grader and a student's kernel
  (channel_kernel.py is read as data and run inside the kernel, never imported by the grader)
- sandbox: student kernels in bwrap + setpriv + prlimit during autograding
- cgroups: a cgroup of its own per sandboxed kernel, on cgroup v1, v2 (a delegated subtree) or a hybrid
- warm_kernels, warm_zygote: each kernel forked, fully isolated, from a process that imported what kernels import
  (warm_zygote.py is read as data, the source of that process)
- bounded: the grader's own code in a forked child under a memory bound (run_bounded)
- late_penalty: the late-submission penalty nbgrader applies (a fraction per day) and per-student extensions
- save_grades: nbgrader's SaveAutoGrades, a notebook's grades written in one transaction

Imports only the top level of the package (course, cells, settings), never another folder.
"""


def program_source(name: str) -> str:
    """The text of ``name`` (a file of this folder that runs in another process, never imported
    here: channel_kernel.py, warm_zygote.py), read with pkgutil, not as a path beside this file:
    Dask workers import this package from an uploaded zip."""
    import pkgutil
    data = pkgutil.get_data(__name__, name)
    if data is None:
        raise ImportError(f"grading/step/{name} cannot be read from the grading package")
    return data.decode("utf-8")
