"""The student's view: every source notebook runs in JupyterLab with no error and every figure
drawn; the release copy's stubs fail nbgrader's Validate button and the answers pass it."""
import nbformat
import pytest

from browser_helpers import open_notebook, png_is_drawn, run_all, save
from grading.course import notebook_names


@pytest.mark.parametrize("name", notebook_names())
def test_source_notebook_runs_clean_in_jupyterlab(name, student_lab, browser, shots):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_notebook(page, student_lab, f"source/{name}.ipynb")
        shots(page, "opened")
        run_all(page, student_lab.root / "source" / f"{name}.ipynb")
        shots(page, "ran_all")
        save(page)
        nb = nbformat.read(student_lab.root / "source" / f"{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), "Run All did not run every code cell"
        errors = [(i, o.ename, o.evalue) for i, c in enumerate(nb.cells) if c.cell_type == "code"
                  for o in c.outputs if o.output_type == "error"]
        assert not errors, f"error outputs in {name}: {errors}"
        images = [o.data["image/png"] for c in code for o in c.outputs if "image/png" in o.get("data", {})]
        blank = [i for i, data in enumerate(images) if not png_is_drawn(data)]
        assert not blank, f"{name}: figures {blank} of {len(images)} are blank"
        dom_broken = page.evaluate(
            "() => [...document.querySelectorAll('.jp-OutputArea-output img')]"
            ".filter(i => i.complete && i.naturalWidth === 0).length")
        assert dom_broken == 0, f"{dom_broken} figures failed to render in the page"
    finally:
        page.close()


def _validate(page, lab, path, shots, label):
    open_notebook(page, lab, path)
    page.locator(".jp-NotebookPanel-toolbar .validate-button").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=60000)
    page.wait_for_function(
        "() => { const d = document.querySelector('.jp-Dialog'); return d && !/Validating/i.test(d.textContent)"
        " && d.textContent.length > 40; }", timeout=60000)
    shots(page, label)
    return dialog.inner_text()


def test_validate_button_fails_stubs_and_passes_answers(student_lab, browser, shots):
    name = notebook_names()[0]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        stub = _validate(page, student_lab, f"release/{name}.ipynb", shots, "validate_stub")
        assert "Success" not in stub and ("NotImplementedError" in stub or "failed" in stub.lower()), stub
        page.close()
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        answered = _validate(page, student_lab, f"release/{name}_answered.ipynb", shots, "validate_answered")
        assert "Success" in answered and "passes all the tests" in answered, answered
    finally:
        page.close()
