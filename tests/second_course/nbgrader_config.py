# A course graded by the engine installed as a package (pip install, then these dotted names).
import os

c = get_config()  # noqa: F821  (provided by traitlets when this file is loaded)
ROOT = os.path.dirname(os.path.abspath(__file__))

# nbgrader's own settings: the course, its gradebook, what students see where a solution was
c.CourseDirectory.course_id = "intro-stats"
c.CourseDirectory.root = ROOT
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "gradebook.db") + "?timeout=60"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.Execute.timeout = 10
c.Execute.interrupt_on_timeout = True
c.OverwriteCells.add_missing_cells = True

# What the engine reads of this course: the assignment, and the module listing its sample class
c.Course.assignment = "warmup"
c.Course.sample_class = "intro_stats.sample_class"

# The engine's steps, by their dotted names
c.Autograde.sanitize_preprocessors = [
    "grading.step.master_cells.DropMalformedMetadata",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "grading.step.master_cells.RestoreMasterCells",
    "grading.step.master_cells.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "grading.step.execute.SandboxedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "grading.step.save_grades.SaveAutoGrades",
    "grading.step.master_cells.CheckCellMetadata",
]
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grading.pages.feedback.PendingWritten",
    "grading.pages.feedback_filter.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.HTMLExporter.preprocessors = ["grading.pages.sanitize.SanitizeStudentHTML"]
c.HTMLExporter.filters = {"markdown2html": "grading.pages.sanitize.SanitizedMarkdown"}
c.GenerateFeedback.exporter_class = "grading.pages.sanitize.FeedbackHTMLExporter"

# The sandbox and the runner (python -m grading.settings prints every option)
c.Sandbox.enabled = True
c.Runner.workers = 2

from grading.settings import apply_environment  # noqa: E402

apply_environment(c)
