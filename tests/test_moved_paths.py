"""The engine's old flat paths (grading.execute, ...) work for one release: each one warns and
hands out the new module's names, the same objects, so a course's nbgrader_config.py that names
``grading.execute.SandboxedExecute`` keeps grading. Nothing else of this repository names them."""
from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest
from traitlets.utils.importstring import import_item

from grading._moved import MOVED

REPO = Path(__file__).resolve().parent.parent


def _fresh_import(name: str):
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_warns_and_gives_the_new_modules_objects(old):
    new = importlib.import_module(MOVED[old])
    with pytest.warns(FutureWarning, match=re.escape(f"{old} has moved to {MOVED[old]}")):
        shim = _fresh_import(old)
    assert shim.MOVED_TO == MOVED[old]
    public = [name for name in vars(new) if not name.startswith("_")] + list(getattr(new, "__all__", []))
    assert public and all(getattr(shim, name) is getattr(new, name) for name in public)


def test_every_old_file_is_a_shim_and_every_shim_a_file():
    shims = {f"grading.{p.stem}" for p in (REPO / "grading").glob("*.py") if "MOVED_TO = " in p.read_text()}
    assert shims == set(MOVED)
    assert all(importlib.util.find_spec(new) is not None for new in MOVED.values())


def test_a_course_config_naming_old_dotted_paths_gets_the_same_classes():
    """What nbgrader does with a dotted name in nbgrader_config.py (traitlets' import_item)."""
    from grading.pages.feedback_filter import HideHiddenTests
    from grading.step.execute import SandboxedExecute
    from grading.step.late_penalty import FractionPerDayLate
    for name in ("grading.execute", "grading.feedback_filter", "grading.late_penalty"):
        sys.modules.pop(name, None)
    with pytest.warns(FutureWarning):
        assert import_item("grading.execute.SandboxedExecute") is SandboxedExecute
    with pytest.warns(FutureWarning):
        assert import_item("grading.feedback_filter.HideHiddenTests") is HideHiddenTests
    with pytest.warns(FutureWarning):
        assert import_item("grading.late_penalty.FractionPerDayLate") is FractionPerDayLate


def test_nothing_but_the_shims_names_an_old_path():
    """The course's configs, Makefile, bench/, docs/, README and tests name the new paths."""
    old = "|".join(re.escape(name.split(".")[1]) for name in sorted(MOVED, key=len, reverse=True))
    pattern = re.compile(rf"\bgrading[./]({old})\b")
    allowed = {Path(__file__).resolve(), REPO / "grading" / "_moved.py"} | {
        REPO / "grading" / f"{name.split('.')[1]}.py" for name in MOVED}
    places = [REPO / "Makefile", REPO / "README.md", REPO / "nbgrader_config.py", REPO / "pyproject.toml",
              REPO / "requirements.txt"]
    for folder, suffixes in [("grading", {".py"}), ("bench", {".py"}), ("docs", {".md"}), ("hub", {".py", ".json"}),
                             ("tests", {".py"}), ("ml_conceptual", {".py"})]:
        places += [p for p in (REPO / folder).rglob("*") if p.suffix in suffixes and "node_modules" not in p.parts]
    found = [f"{p.relative_to(REPO)}: {m.group(0)}" for p in places if p.resolve() not in allowed
             for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert found == []
    # the check can fail
    assert pattern.search('c.Execute = "grading.execute.SandboxedExecute"  # grading/sandbox.py')
