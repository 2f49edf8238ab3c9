"""Old path of grading.batch.worker, kept for one release (grading/_moved.py): import that instead."""
from grading._moved import reexport

MOVED_TO = reexport(__name__, globals())
