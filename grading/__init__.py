"""What nbgrader lacks, for any nbgrader course, in folders by job (docs/another-course.md).

Each folder's __init__.py names its modules. A folder imports only the top level and the folders
above it in this list, never one below it (tests/test_import_graph.py):

- the top level: what every folder shares
  - course: which course and assignment it grades (c.Course), and nbgrader's API with the course's configuration
  - cells: what a notebook cell is (test cell, answer, written answer, grade_id, points), read once
  - settings: the grading options nbgrader lacks (c.Sandbox, c.Runner, ...), their environment overrides, and
    python -m grading.settings: every option of the package, its value and where that came from
  - sample_class: a course's sample class (c.Course.sample_class) built from its source solutions by exact edits
- step/: everything `nbgrader autograde` runs for one notebook (cells put back, sandboxed execute,
  verdicts, the channel, the sandbox, the late penalty)
- batch/: a whole class graded in parallel (runner, worker, Dask, manual grades kept)
- reports/: what the instructor reads after grading (gradebook reading, scores, the report and its sections)
- pages/: what people read in a browser (feedback, sanitized student work, the formgrader's CSP and rubric)
- hosting/: where submissions come from and grades go to (JupyterHub, LTI 1.3, LMS files, collect)

The modules' old flat paths (listed in grading/_moved.py) still import for one release, with a
FutureWarning naming the new path (shown by default: the instructor is the one to act).

The engine holds nothing of one course: the notebooks and their helper modules live in the
course's source/, its sample class in a module the course names (here ml_conceptual/).
"""
