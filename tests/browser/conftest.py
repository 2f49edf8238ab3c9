"""Fixtures for the browser tests (see browser_helpers.py and notes on browser testing)."""
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nbformat  # noqa: E402

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, REPO, SCREENSHOTS, Lab  # noqa: E402
from grading import sample_class  # noqa: E402
from grading.course import ASSIGNMENT, notebook_names  # noqa: E402


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(request):
    """Save numbered screenshots into .screenshots/<test name>/ so a person can look."""
    folder = SCREENSHOTS / request.node.name.replace("[", "_").replace("]", "")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    count = [0]

    def shot(page, step):
        count[0] += 1
        page.screenshot(path=str(folder / f"{count[0]:02d}_{step}.png"))
    shot.folder = folder
    print(f"screenshots: {folder.relative_to(REPO)}")
    return shot




@pytest.fixture(scope="session")
def student_lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("student")
    shutil.copytree(REPO / "source" / ASSIGNMENT, work / "source")
    shutil.copytree(REPO / "release" / ASSIGNMENT, work / "release")
    shutil.copytree(REPO / "source" / ASSIGNMENT, work / "explorer")  # q3's explorer, driven alone
    # a release copy with the reference answers filled in, as a diligent student would have it
    for name in notebook_names():
        nbformat.write(sample_class.solved_notebook(name), work / "release" / f"{name}_answered.ipynb")
    lab = Lab(work, tmp_path_factory.mktemp("state"))
    yield lab
    lab.stop()
