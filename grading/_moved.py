"""The flat paths the engine's modules had before the folders (grading.execute, ...), kept for one release.

A course's nbgrader_config.py may still name ``grading.execute.SandboxedExecute``: each old path is
a small module (``MOVED_TO`` names its new home) that warns and hands out the new module's public
names, the same objects. ``python -m grading.settings`` skips them (``MOVED``), so no option is
listed twice. They go in the next release.
"""
from __future__ import annotations

import importlib
import warnings
from typing import Any

MOVED = {
    "grading.master_cells": "grading.step.master_cells",
    "grading.execute": "grading.step.execute",
    "grading.verdicts": "grading.step.verdicts",
    "grading.channel": "grading.step.channel",
    "grading.sandbox": "grading.step.sandbox",
    "grading.warm_kernels": "grading.step.warm_kernels",
    "grading.cgroups": "grading.step.cgroups",
    "grading.bounded": "grading.step.bounded",
    "grading.late_penalty": "grading.step.late_penalty",
    "grading.save_grades": "grading.step.save_grades",
    "grading.runner": "grading.batch.runner",
    "grading.worker": "grading.batch.worker",
    "grading.distributed": "grading.batch.distributed",
    "grading.manual_grades": "grading.batch.manual_grades",
    "grading.report": "grading.reports.report",
    "grading.misconceptions": "grading.reports.misconceptions",
    "grading.similarity": "grading.reports.similarity",
    "grading.spreadsheet": "grading.reports.spreadsheet",
    "grading.gradebook": "grading.reports.gradebook",
    "grading.scores": "grading.reports.scores",
    "grading.feedback_filter": "grading.pages.feedback_filter",
    "grading.feedback": "grading.pages.feedback",
    "grading.sanitize": "grading.pages.sanitize",
    "grading.formgrader_csp": "grading.pages.formgrader_csp",
    "grading.rubric_server": "grading.pages.rubric_server",
    "grading.rubric": "grading.pages.rubric",
    "grading.lms": "grading.hosting.lms",
    "grading.lms_names": "grading.hosting.lms_names",
    "grading.lti": "grading.hosting.lti",
    "grading.lti_hub": "grading.hosting.lti_hub",
    "grading.hub": "grading.hosting.hub",
    "grading.collect": "grading.hosting.collect",
}


def reexport(old: str, namespace: dict[str, Any]) -> str:
    """Fill the old module's ``namespace`` with the new module's public names; warn; the new path."""
    new = MOVED[old]
    warnings.warn(f"{old} has moved to {new}: name {new} instead (the old path goes in the next release)",
                  FutureWarning, stacklevel=3)
    module = importlib.import_module(new)
    public = {name for name in vars(module) if not name.startswith("_")} | set(getattr(module, "__all__", ()))
    namespace.update({name: getattr(module, name) for name in public})
    return new
