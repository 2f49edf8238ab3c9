"""Fixtures for the browser tests (see browser_helpers.py and notes on browser testing)."""
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, REPO, SCREENSHOTS  # noqa: E402


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


