"""Grading settings are traitlets options (grading/settings.py) set in nbgrader_config.py, with
environment variables as overrides; and our preprocessor lists stay nbgrader's own lists with
named substitutions, so an nbgrader upgrade that changes its lists fails here first."""
import ast
import copy
import os
import shutil
import subprocess
import sys

import nbformat
import pytest
from traitlets import TraitError
from traitlets.config import Config

from course_helpers import REPO
from grading.course import load_config
from grading.settings import ENVIRONMENT_OVERRIDES, LatePenalty, Runner, Sandbox, Similarity, apply_environment


def test_the_course_config_sets_every_option_to_its_documented_default(monkeypatch):
    for name in ENVIRONMENT_OVERRIDES:
        monkeypatch.delenv(name, raising=False)
    config = load_config()
    for kind in (Sandbox, Runner, Similarity, LatePenalty):
        settings = kind(config=config)
        for name, trait in kind.class_traits(config=True).items():
            assert name in config[kind.__name__], f"c.{kind.__name__}.{name} is not set in nbgrader_config.py"
            assert getattr(settings, name) == trait.default(), f"c.{kind.__name__}.{name} differs from its default"
            assert len(trait.help) > 30, f"c.{kind.__name__}.{name} has no help"
    assert config.Execute.timeout == 10 and config.SandboxedExecute.notebook_budget == 120
    assert config.CourseDirectory.db_url.startswith("sqlite:///")


@pytest.mark.parametrize("name,value,expected", [
    ("GRADING_WORKERS", "3", ("Runner", "workers", 3)),
    ("GRADING_EXECUTOR", "dask", ("Runner", "executor", "dask")),
    ("DASK_SCHEDULER_ADDRESS", "tcp://10.0.0.2:8786", ("Runner", "dask_scheduler_address", "tcp://10.0.0.2:8786")),
    ("GRADING_SHIP_FILES", "0", ("Runner", "ship_files", False)),
    ("GRADING_SANDBOX", "off", ("Sandbox", "enabled", False)),
    ("GRADING_SANDBOX_USER", "grader", ("Sandbox", "user", "grader")),
    ("GRADING_SANDBOX_MEMORY", "512M", ("Sandbox", "memory_limit", "512M")),
    ("GRADING_SANDBOX_PIDS", "32", ("Sandbox", "pids_limit", 32)),
    ("GRADING_SANDBOX_CGROUP", "off", ("Sandbox", "use_cgroup", False)),
    ("GRADING_CELL_TIMEOUT", "4", ("Execute", "timeout", 4)),
    ("GRADING_NOTEBOOK_BUDGET", "40", ("SandboxedExecute", "notebook_budget", 40)),
    ("GRADEBOOK_URL", "postgresql+psycopg2://u:p@db/grades", ("CourseDirectory", "db_url", "postgresql+psycopg2://u:p@db/grades")),
])
def test_an_environment_variable_overrides_its_option_in_the_course_config(monkeypatch, name, value, expected):
    section, option, result = expected
    before = load_config()[section][option]
    monkeypatch.setenv(name, value)
    config = load_config()
    assert config[section][option] == result != before
    if section in {"Sandbox", "Runner"}:
        assert getattr((Sandbox if section == "Sandbox" else Runner)(config=config), option) == result


def test_an_empty_variable_is_no_override_and_a_bad_one_says_what_to_use():
    assert apply_environment(Config(), {"GRADING_WORKERS": "", "GRADING_SANDBOX": "  "}) == Config()
    with pytest.raises(ValueError, match=r"GRADING_SANDBOX='maybe': use 1 or 0"):
        apply_environment(Config(), {"GRADING_SANDBOX": "maybe"})
    with pytest.raises(TraitError):
        assert Runner(config=apply_environment(Config(), {"GRADING_EXECUTOR": "slurm"})).executor
    with pytest.raises(TraitError, match="use '512M', '2G' or bytes"):
        Sandbox(memory_limit="lots")
    assert Sandbox(memory_limit="512M").memory_bytes == 512 << 20 and Sandbox().memory_bytes == 4 << 30
    with pytest.raises(TraitError, match="pids_limit=0: at least 1"):  # prlimit --nproc=0: no kernel at all
        Sandbox(pids_limit=0)
    with pytest.raises(TraitError, match=r"Sandbox.file_size='-1M': use '512M', '2G' or bytes, above 0"):
        Sandbox(file_size="-1M")
    with pytest.raises(TraitError, match=r"Sandbox.stack_size='big'"):
        Sandbox(stack_size="big")
    with pytest.raises(TraitError, match=r"Sandbox.open_files=10: at least 64"):
        Sandbox(open_files=10)
    with pytest.raises(TraitError, match=r"Sandbox.cpu_seconds=0: at least 1"):
        Sandbox(cpu_seconds=0)
    with pytest.raises(TraitError, match="a share of the class"):
        Similarity(common=1.5)
    with pytest.raises(TraitError, match="a number of pairs above 0"):
        Similarity(chance_flags=0)


def _tagged_config(value):
    """Is ``value`` a call ``<trait>(...).tag(config=True)``?"""
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "tag"
            and any(k.arg == "config" and getattr(k.value, "value", None) is True for k in value.keywords))


def declared_options():
    """{(class, option)} of every ``.tag(config=True)`` trait in a class of the grading package,
    read from its source files (not by importing it, as ``python -m grading.settings`` does)."""
    found = set()
    for path in (REPO / "grading").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for statement in node.body if isinstance(node, ast.ClassDef) else []:
                targets = getattr(statement, "targets", None) or [getattr(statement, "target", None)]
                if isinstance(statement, (ast.Assign, ast.AnnAssign)) and _tagged_config(statement.value):
                    found |= {(node.name, t.id) for t in targets if isinstance(t, ast.Name)}
    return found


def test_python_m_grading_settings_prints_every_option_its_value_and_where_it_came_from(tmp_path):
    """Every option of every class of the grading package, with its value and source: an option
    added anywhere under grading/ and not printed fails here."""
    jupyter_dir = tmp_path / "etc-jupyter"  # a config folder of Jupyter's, as the hub's environment has
    jupyter_dir.mkdir()
    (jupyter_dir / "nbgrader_config.py").write_text(
        "c = get_config()\nc.Lti.issuer = 'https://lms.example'\nc.Sandbox.open_files = 100\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADING_", "JUPYTER_"))}
    env.update(JUPYTER_CONFIG_PATH=str(jupyter_dir), JUPYTER_CONFIG_DIR=str(tmp_path / "nothing"),
               GRADING_SANDBOX_MEMORY="512M")
    out = subprocess.run([sys.executable, "-m", "grading.settings"], capture_output=True, text=True, cwd=REPO,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    printed = {}
    for line in out.stdout.splitlines():
        if line.startswith("c."):
            assignment, _, source = line.rpartition("   # ")
            name, _, value = assignment.partition(" = ")
            printed[tuple(name.split(".")[1:])] = (value, source)
    declared = declared_options()
    assert ("Sandbox", "open_files") in declared and ("Lti", "issuer") in declared  # the walk reads the source
    overridden = {(section, option): name for name, (section, option, _) in ENVIRONMENT_OVERRIDES.items()}
    expected = declared | set(overridden)  # ours, and nbgrader's that a variable overrides
    assert set(printed) == expected, (expected - set(printed), set(printed) - expected)
    for key, name in overridden.items():  # each names the variable that overrides it
        assert printed[key][1].endswith((f"; {name} overrides it", f"environment variable {name}")), printed[key]
    assert printed["Sandbox", "memory_limit"] == ("'512M'", "environment variable GRADING_SANDBOX_MEMORY")
    assert printed["Lti", "issuer"] == ("'https://lms.example'", str(jupyter_dir / "nbgrader_config.py"))
    assert printed["Sandbox", "open_files"] == ("256", "nbgrader_config.py")  # the course's file comes last
    assert printed["Report", "follow_up"] == ("8", "default")
    assert "RLIMIT_NOFILE" in out.stdout.split("c.Sandbox.open_files", 1)[1].split("\nc.", 1)[0]  # its help


def test_every_option_of_the_grading_package_has_help():
    from grading.settings import configurables
    for kind in configurables():
        for name, trait in kind.class_own_traits(config=True).items():
            assert len(trait.help.split()) >= 4, f"c.{kind.__name__}.{name} has no help"


# nbgrader 0.9.6's own lists. If an upgrade changes them, this fails: look at what changed and
# carry it into nbgrader_config.py's lists (which otherwise silently keep the old ones).
NBGRADER_DEFAULTS = {
    ("Autograde", "sanitize_preprocessors"): [
        "nbgrader.preprocessors.ClearOutput", "nbgrader.preprocessors.DeduplicateIds",
        "nbgrader.preprocessors.OverwriteKernelspec", "nbgrader.preprocessors.OverwriteCells",
        "nbgrader.preprocessors.CheckCellMetadata"],
    ("Autograde", "autograde_preprocessors"): [
        "nbgrader.preprocessors.Execute", "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
        "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
        "nbgrader.preprocessors.CheckCellMetadata"],
    ("GenerateFeedback", "preprocessors"): [
        "nbgrader.preprocessors.GetGrades", "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"],
}
# ours, in place of nbgrader's (each a subclass of what it replaces), and ours added
REPLACED = {"grading.step.master_cells.RestoreMasterCells": "nbgrader.preprocessors.OverwriteCells",
            "grading.step.execute.SandboxedExecute": "nbgrader.preprocessors.Execute",
            "grading.step.master_cells.CheckCellMetadata": "nbgrader.preprocessors.CheckCellMetadata",
            "grading.step.save_grades.SaveAutoGrades": "nbgrader.preprocessors.SaveAutoGrades"}
ADDED = {"grading.step.master_cells.DropMalformedMetadata", "grading.pages.feedback_filter.HideHiddenTests",
         "grading.step.late_penalty.DueDateInFeedback", "grading.pages.feedback.PendingWritten"}


def _public_name(cls):
    """'nbgrader.preprocessors.ClearOutput' for the class nbgrader.preprocessors.clearoutput.ClearOutput."""
    package = cls.__module__.rsplit(".", 1)[0]
    return f"{package}.{cls.__name__}"


def test_nbgrader_default_preprocessor_lists_are_the_ones_ours_are_built_on():
    from nbgrader.converters import Autograde, GenerateFeedback
    converters = {"Autograde": Autograde(), "GenerateFeedback": GenerateFeedback()}
    actual = {(name, option): [_public_name(c) for c in getattr(converters[name], option)]
              for name, option in NBGRADER_DEFAULTS}
    assert actual == NBGRADER_DEFAULTS


def test_our_preprocessor_lists_are_nbgraders_with_named_substitutions():
    from traitlets.utils.importstring import import_item
    config = load_config()
    for (section, option), default in NBGRADER_DEFAULTS.items():
        ours = list(config[section][option])
        assert [REPLACED.get(name, name) for name in ours if name not in ADDED] == default, (section, option)
    for ours, theirs in REPLACED.items():
        assert issubclass(import_item(ours), import_item(theirs))


def _damaged(nb, change):
    nb = nbformat.from_dict(copy.deepcopy(nb))
    graded = [c.metadata["nbgrader"] for c in nb.cells if (c.metadata.get("nbgrader") or {}).get("grade")]
    change(graded[0])
    return nb


def test_our_cell_metadata_check_fails_exactly_where_nbgraders_does():
    """grading.step.master_cells.CheckCellMetadata compiles nbgrader's JSON schema once: every
    notebook of the course passes both checks, and damaged metadata fails both with one message."""
    from nbgrader.nbgraderformat import MetadataValidator

    from grading.course import SOURCE, notebook_names
    from grading.step.master_cells import _MetadataValidator
    notebooks = [nbformat.read(SOURCE / f"{name}.ipynb", as_version=4) for name in notebook_names()]
    damages = [lambda m: m.update(points="ten"), lambda m: m.update(grade_id=3), lambda m: m.pop("locked"),
               lambda m: m.update(schema_version=2), lambda m: m.update(schema_version=9),
               lambda m: m.update(grade="yes"), lambda m: m.update(solution=True, grade=False, points=2)]
    seen = []
    for nb in notebooks + [_damaged(notebooks[0], damage) for damage in damages]:
        outcomes = []
        for validator in (MetadataValidator, _MetadataValidator):
            try:
                validator().validate_nb(nb)
                outcomes.append(None)
            except Exception as err:
                outcomes.append(f"{type(err).__name__}: {err}")
        assert outcomes[0] == outcomes[1], outcomes
        seen.append(outcomes[0])
    assert seen[:len(notebooks)] == [None] * len(notebooks)  # the course passes
    assert all(seen[len(notebooks):]), seen  # every damage is caught


def test_the_hubs_places_and_the_course_id_have_one_home(tmp_path, monkeypatch):
    """grading/hosting/hub.py's constants and the course's c.CourseDirectory.course_id: the hub's shared
    nbgrader config reads them from the file the set-up writes, the Makefile from
    ``python -m grading.hosting.hub where``, and every place the docs spell is one of them."""
    import re

    from traitlets.config.loader import PyFileConfigLoader

    from grading.hosting import hub
    assert hub.course_id() == load_config().CourseDirectory.course_id
    assert hub.HubLayout().course_folder == hub.course_id() and hub.HubLayout().exchange == hub.EXCHANGE
    shutil.copy(REPO / "hub" / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    hub.write_hub_course_file(tmp_path / "course-hub.json")
    monkeypatch.delenv("NBGRADER_EXCHANGE_ROOT", raising=False)
    shared = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    assert (shared.CourseDirectory.course_id, shared.Exchange.root) == (hub.course_id(), hub.EXCHANGE)
    monkeypatch.setenv("NBGRADER_EXCHANGE_ROOT", "/srv/elsewhere")  # a layout's own exchange
    assert PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config().Exchange.root == "/srv/elsewhere"
    for place, value in hub.PLACES.items():
        out = subprocess.run([sys.executable, "-m", "grading.hosting.hub", "where", place], capture_output=True,
                             text=True, cwd=REPO, check=True)
        assert out.stdout.strip() == str(value)
    makefile = (REPO / "Makefile").read_text()
    assert "HUB_HOME := $(shell $(PYTHON) -m grading.hosting.hub where home)" in makefile
    assert not re.search(r"/opt/|/var/lib/|/srv/", makefile), "a hub place spelled in the Makefile"
    homes = {str(hub.HUB_HOME), hub.STATE, hub.EXCHANGE, "/srv/nbgrader/test-exchange", "/opt/tljh"}  # + tests', TLJH's
    for doc in [REPO / "README.md", *(REPO / "docs").glob("*.md")]:
        text = doc.read_text()
        for place in re.findall(r"(/(?:opt|var/lib|srv/nbgrader)/[\w.-]+)", text):
            assert place in homes, f"{doc.name} spells {place}, not one of grading/hosting/hub.py's places"
        for folder in re.findall(r"~\w*/([\w-]+)(?=[/`])", text) + re.findall(r"course id `([\w-]+)`", text):
            assert folder == hub.course_id(), f"{doc.name} spells the course id {folder!r}"
