"""Fixtures for the browser tests (see browser_helpers.py). Chromium and the student's
JupyterLab are package-scoped: they start with the first browser test that needs them and stop
after the last browser test, not at the end of the whole suite."""
import shutil

import nbformat
import pytest

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, REPO, SCREENSHOTS, Lab
from grading import sample_class
from grading.course import ASSIGNMENT, notebook_names


@pytest.fixture(scope="package")
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




@pytest.fixture(scope="package")
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
