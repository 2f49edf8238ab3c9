"""The one place grading behaviour is configured (read by every nbgrader command and API call).

The repository root is the course root. nbgrader's options and ours (``c.Sandbox.*``,
``c.Runner.*``, ``c.Similarity.*``, ``c.SandboxedExecute.*``, ...: each documented by its help;
``python -m grading.settings`` prints every option of the grading package with its value, where
the value came from and its help) are set here. Environment
variables override some of them so a course can move to a server without editing this file
(the list is ``grading.settings.ENVIRONMENT_OVERRIDES``, applied at the end of this file):

- GRADEBOOK_URL: the gradebook's SQLAlchemy URL (CourseDirectory.db_url). Default: SQLite in
  gradebook.db at the root. PostgreSQL: postgresql+psycopg2://user:password@host:5432/dbname
- GRADING_CELL_TIMEOUT (Execute.timeout), GRADING_NOTEBOOK_BUDGET (SandboxedExecute.notebook_budget)
- GRADING_SANDBOX, GRADING_SANDBOX_USER, GRADING_SANDBOX_MEMORY, GRADING_SANDBOX_PIDS,
  GRADING_SANDBOX_CGROUP, GRADING_WARM_START (Sandbox.enabled, user, memory_limit, pids_limit,
  use_cgroup, warm_start)
- GRADING_WORKERS, GRADING_EXECUTOR, DASK_SCHEDULER_ADDRESS, GRADING_SHIP_FILES (Runner.workers,
  executor, dask_scheduler_address, ship_files)
"""
import os
import sys

c = get_config()  # noqa: F821  (provided by traitlets when this file is loaded)

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
if COURSE_ROOT not in sys.path:  # makes the `grading` package importable for the preprocessors
    sys.path.insert(0, COURSE_ROOT)

c.CourseDirectory.course_id = "ml-conceptual"
# What the engine (grading/) reads of this course (grading/settings.py): the assignment it grades,
# and the module that lists the sample class (make sample, the hub's accounts, the tests).
c.Course.assignment = "conceptual"
c.Course.sample_class = "ml_conceptual.sample_class"
c.CourseDirectory.root = COURSE_ROOT
# timeout=60: a worker waits up to 60 s for SQLite's write lock instead of failing. Measured with
# the wait at 0, parallel autograde processes failed with exit 1 and left a 0.0 or a missing
# student in the export; with SQLite's default wait, 2 to 6 processes never hit the lock.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(COURSE_ROOT, "gradebook.db") + "?timeout=60"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# What a student sees where a solution was.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding: a bounded time per cell, and a deleted test cell is put back and scores 0
# (without add_missing_cells it is silently left "needs manual grade"; restored as nbgrader does
# it, it runs and may pass).
c.Execute.timeout = 10
c.Execute.interrupt_on_timeout = True
# A graded kernel has nothing to save: stop it at once instead of a polite shutdown (~0.3 s each)
c.Execute.shutdown_kernel = "immediate"
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    "grading.step.master_cells.DropMalformedMetadata",  # metadata nbgrader cannot read
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "grading.step.master_cells.RestoreMasterCells",  # OverwriteCells, robust; restored tests score 0
    "grading.step.master_cells.CheckCellMetadata",  # nbgrader's, its JSON schema compiled once per process
]
# Every student kernel runs in a sandbox (grading/step/sandbox.py; c.Sandbox.enabled = False disables it).
# Test cells never run in the student's kernel: grading/step/verdicts.py judges them in the grading
# worker, reaching the student's functions through a plain-data channel (grading/step/channel.py),
# and writes the verdict as the cell's output. Budgets per notebook: see grading/step/execute.py.
c.Autograde.autograde_preprocessors = [
    "grading.step.execute.SandboxedExecute",  # nbgrader's Execute: sandboxed kernel, tests judged outside it
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "grading.step.save_grades.SaveAutoGrades",  # nbgrader's, one commit per notebook instead of one per cell
    "nbgrader.preprocessors.AssignLatePenalties",
    "grading.step.master_cells.CheckCellMetadata",
]
# Budgets of one notebook (grading/step/execute.py): all its cells and tests together, and its outputs.
# Late submissions (grading/step/late_penalty.py): 10 % of a notebook's score per started day after the
# due date plus the student's extension. The due date is the gradebook's (nbgrader db assignment add).
c.AssignLatePenalties.plugin_class = "grading.step.late_penalty.FractionPerDayLate"
c.FractionPerDayLate.fraction_per_day = 0.1
# Who takes the late penalty off (grading/settings.py): "course" (above; the LMS's own late policy
# off) or "lms" (nothing taken off here; the grades files hold the score for the LMS's late policy).
c.LatePenalty.applied_by = "course"
c.SandboxedExecute.notebook_budget = 120  # seconds
c.SandboxedExecute.max_cell_output_bytes = 1_000_000
c.SandboxedExecute.max_notebook_output_bytes = 5_000_000
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50

# The sandbox of every autograding kernel (grading/step/sandbox.py; each option's help: grading/settings.py)
c.Sandbox.enabled = True
c.Sandbox.user = ""  # empty: a uid of its own per grading process
c.Sandbox.memory_limit = "4G"  # memory + tmpfs files of one kernel and all its processes
c.Sandbox.pids_limit = 64  # processes + threads of one kernel
c.Sandbox.use_cgroup = True  # False: the watchdog even where cgroups work
# per process of a kernel (prlimit), in every mode: address space (memory_limit, at least this),
# CPU seconds, largest file, open files, stack; no core files whatever the settings
c.Sandbox.address_space = "4G"
c.Sandbox.cpu_seconds = 120
c.Sandbox.file_size = "100M"
c.Sandbox.open_files = 256
c.Sandbox.stack_size = "8M"
c.Sandbox.warm_start = True  # fork kernels from a pre-imported process (grading/step/warm_kernels.py); False: cold

# Grading a class (grading/batch/runner.py; Dask: docs/scaling.md)
c.Runner.workers = 0  # 0: one worker process per core
c.Runner.retries = 1  # a failed student is graded once more, then named
c.Runner.executor = "local"  # or "dask": a local Dask cluster
c.Runner.dask_scheduler_address = ""  # tcp://HOST:8786: a running Dask cluster's workers
c.Runner.ship_files = None  # None: submissions travel as bytes exactly when a scheduler address is set

# The similarity report (grading/reports/similarity.py; each option's help: grading/settings.py)
c.Similarity.sources = ""  # a folder of outside sources (other courses' solutions, forum posts), e.g. "outside_sources"
c.Similarity.common = 0.25  # what this share of the class writes carries no evidence
c.Similarity.chance_flags = 0.05  # flag line: pairs an honest class of this size would flag by chance

# Feedback: a failed hidden test shows its message, never its code; hidden tests are cut from the
# instructor's test cells only, so a student's answer that quotes the marker is shown as written.
# (Feedback HTML is also script-free: the HTMLExporter settings at the end of this file.)
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grading.pages.feedback.PendingWritten",  # an ungraded written answer says "not graded yet", not 0
    "grading.step.late_penalty.DueDateInFeedback",  # the due date, the submission's time, how late
    "grading.pages.feedback_filter.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# nbgrader export's grades.csv: nbgrader's columns, quoted, no cell a spreadsheet would run as a
# formula (a roster name "=HYPERLINK(...)"; grading/reports/spreadsheet.py)
c.ExportApp.plugin_class = "grading.reports.spreadsheet.SafeCsvExportPlugin"

c.Exchange.assignment_dir = COURSE_ROOT
# Collecting from a shared exchange (the hub): student, time and files are decided from the
# kernel's facts (owner, inode change time, file types), never from the folder's name or its
# timestamp.txt; links, hard links and special files are refused and named (grading/hosting/collect.py).
c.ExchangeFactory.collect = "grading.hosting.collect.CheckedCollect"

# LMS archives (make import, grading/hosting/lms.py): every entry is judged by name and unpacked through a
# byte counter; past a limit it is named, not written. Empty: CourseDirectory.max_file_size (100 MB).
c.FlatExtractor.max_entry_size = ""
c.FlatExtractor.max_total_size = "1G"

# Student work as HTML (the formgrader's submission pages and generate_feedback both render it
# with nbconvert's HTMLExporter): outputs, raw cells and rendered markdown are cleaned, so no
# script, event handler, javascript: URL or frame in an answer reaches the page (grading/pages/sanitize.py).
c.HTMLExporter.preprocessors = ["grading.pages.sanitize.SanitizeStudentHTML"]
c.HTMLExporter.filters = {"markdown2html": "grading.pages.sanitize.SanitizedMarkdown"}
# Math in it is MathML (renders offline, no MathJax needed); feedback pages get a lang and
# readable colours (axe-core, WCAG 2.1 AA), the formgrader's pages the same from grading/pages/formgrader_csp.py.
c.GenerateFeedback.exporter_class = "grading.pages.sanitize.FeedbackHTMLExporter"
# Formgrader pages get a Content-Security-Policy without 'unsafe-inline' for scripts. The Jupyter
# server reads no config from the course root, but its formgrader reads this file when it starts:
# this installs the policy on that server (and does nothing in nbgrader commands).
import grading.pages.formgrader_csp  # noqa: E402
grading.pages.formgrader_csp.install()

# On the hub: log in through LTI 1.3 launches from Canvas or Moodle instead of PAM, and send grades
# back with make lti-passback (docs/lti.md: the platform's values; grading/hosting/lti.py: every c.Lti option)
c.Lti.enabled = False
c.Lti.lineitem_label = "Conceptual questions"  # the column a passback creates in the LMS

# Environment variables override the options above (the list: the docstring at the top).
from grading.settings import apply_environment  # noqa: E402
apply_environment(c)
