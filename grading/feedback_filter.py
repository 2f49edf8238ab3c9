"""Old path of grading.pages.feedback_filter, kept for one release (grading/_moved.py): import that instead."""
from grading._moved import reexport

MOVED_TO = reexport(__name__, globals())
