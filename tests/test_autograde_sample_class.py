"""Autograding the sample class: each submission loses points exactly where its mistake is.

The class is built from the source solutions (ml_conceptual/sample_class.py) and graded by the
parallel runner in a throwaway copy of the course (conftest.graded_class).
"""
import pytest

from grading.cells import grade_id as grade_id_of
from grading.cells import is_test_cell
from ml_conceptual.sample_class import STUDENTS

# submission -> the autograded test cells it must fail (every other autograded cell must pass).
# "ALL" means every autograded cell of the notebooks named.
EXPECTED_FAILURES = {
    "reference": set(),
    # each function is graded on its own: a mistake costs the cells of the function where it is made
    "q1_no_minus_one": {"test_ce_grad_logits_single", "test_ce_grad_logits_batch"},
    "q1_flipped_sign": {
        "test_ce_grad_weights_small_example", "test_ce_grad_weights_finite_differences",
        "test_ce_grad_weights_correct_class_column", "test_ce_grad_weights_batch_mean"},
    "q1_wrong_q2_right": {"test_softmax_large_logits", "test_softmax_batch",
                          "test_ce_grad_logits_single", "test_ce_grad_logits_batch"},
    "q1_overflowing_softmax": {"test_softmax_large_logits", "test_softmax_batch"},
    # a property cell also checks values (nothing passes by doing nothing), so a wrong value fails it too
    "q1_forward_difference": {"test_numerical_gradient_known_functions",
                              "test_numerical_gradient_leaves_input_unchanged"},
    "deleted_test_cell": {"test_softmax_large_logits"},
    "q2_mse_grad_no_jacobian": {
        "test_mse_grad_logits_small_example", "test_mse_grad_logits_finite_differences",
        "test_mse_grad_logits_batch", "test_mse_grad_logits_confidently_wrong"},
    "q2_mse_grad_diagonal_jacobian": {
        "test_mse_grad_logits_small_example", "test_mse_grad_logits_finite_differences",
        "test_mse_grad_logits_batch", "test_mse_grad_logits_confidently_wrong"},
    "q2_mse_sum_over_classes": {"test_mse_loss_values", "test_mse_loss_batch", "test_mse_loss_bounded"},
    "q4_compose_wrong_order": {"test_compose_linear_small_example", "test_compose_linear_matches_sequential"},
    "q4_compose_missing_w2_b1": {"test_compose_linear_small_example", "test_compose_linear_matches_sequential"},
    "q4_row_convention_shapes": {"test_layer_shapes_values"},
    "q4_row_convention_linear": {"test_linear_single", "test_linear_batch"},
    "q3_gradient_ascent": {"test_gradient_descent_quadratic", "test_gradient_descent_lowers_loss",
                           "test_gradient_descent_shape_and_start",
                           "test_gradient_descent_diverges", "test_gradient_descent_flat_start",
                           "test_gradient_descent_leaves_w0_unchanged"},
    "q3_missing_start": {"test_gradient_descent_quadratic", "test_gradient_descent_shape_and_start",
                         "test_gradient_descent_lowers_loss",
                         "test_gradient_descent_diverges", "test_gradient_descent_flat_start",
                         "test_gradient_descent_leaves_w0_unchanged"},
    "q3_in_place_update": {"test_gradient_descent_leaves_w0_unchanged"},
    "q3_summed_batch_gradient": {"test_batch_grad_vectorized_values", "test_n_weights"},
}
# submissions that score zero on every autograded cell of these notebooks (and full marks elsewhere)
ZERO_NOTEBOOKS = {
    "untouched": "ALL",
    "broken_json": {"q1_cross_entropy_gradient"},
}


def _autograded_cells(source_notebooks):
    """{grade_id: notebook} of the code test cells (manual answers are graded by hand)."""
    return {grade_id_of(c): name for name, nb in source_notebooks.items() for c in nb.cells if is_test_cell(c)}


def test_every_sample_student_has_an_expectation():
    ids = {s.id for s in STUDENTS}
    assert ids == set(EXPECTED_FAILURES) | set(ZERO_NOTEBOOKS), \
        f"students without an expected outcome: {ids ^ (set(EXPECTED_FAILURES) | set(ZERO_NOTEBOOKS))}"


@pytest.mark.parametrize("student", sorted(set(EXPECTED_FAILURES) | set(ZERO_NOTEBOOKS)))
def test_student_fails_exactly_the_cells_aimed_at_the_mistake(student, graded_class, source_notebooks):
    cells = _autograded_cells(source_notebooks)
    grades = graded_class["table"][student]
    if student in ZERO_NOTEBOOKS:
        zero = ZERO_NOTEBOOKS[student]
        expected = {g for g, nb in cells.items() if zero == "ALL" or nb in zero}
    else:
        expected = EXPECTED_FAILURES[student]
    assert expected <= set(cells), f"the table names cells that do not exist: {expected - set(cells)}"
    failed = {g for g in cells if grades[g][0] < grades[g][1]}
    partial = {g for g in failed if grades[g][0] != 0}
    assert not partial, f"{student}: test cells are all-or-nothing, got partial scores in {partial}"
    assert failed == expected, (f"{student}: unexpected failures {sorted(failed - expected)}, "
                                f"unexpected passes {sorted(expected - failed)}")


def test_reference_gets_every_automatic_point(graded_class, source_notebooks):
    cells = _autograded_cells(source_notebooks)
    grades = graded_class["table"]["reference"]
    total = sum(grades[g][0] for g in cells)
    assert total == sum(grades[g][1] for g in cells) > 0


def test_broken_notebook_is_named_with_the_reason(graded_class):
    out = graded_class["stdout"]
    assert "broken_json: q1_cross_entropy_gradient.ipynb could not be read" in out, out
    assert "not valid JSON" in out and "resubmit" in out, out
    assert set(graded_class["table"]) == {s.id for s in STUDENTS}, "every student must be in the gradebook"


def test_deleted_test_cell_is_restored_in_the_graded_copy(graded_class):
    import nbformat
    path = graded_class["root"] / "autograded" / "deleted_test_cell" / "conceptual" / "q1_cross_entropy_gradient.ipynb"
    nb = nbformat.read(path, as_version=4)
    restored = [c for c in nb.cells if grade_id_of(c) == "test_softmax_large_logits"]
    assert len(restored) == 1, "the deleted test cell must be put back"
    errors = [o for o in restored[0].outputs if o.output_type == "error"]
    assert errors and "was deleted" in errors[0].evalue


def test_q3_explorer_is_not_built_during_autograding(graded_class):
    """Under NBGRADER_EXECUTION the widget is skipped (one line), its static picture and Figure 1 stay."""
    import nbformat
    path = graded_class["root"] / "autograded" / "reference" / "conceptual" / "q3_gradient_descent.ipynb"
    cells = {grade_id_of(c): c for c in nbformat.read(path, as_version=4).cells}
    explorer = cells["explorer"].outputs
    assert [o.get("text", "").strip() for o in explorer if o.output_type == "stream"] == [
        "The explorer is not built during autograding; its default view is drawn below."], explorer
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in explorer)
    for grade_id in ("explorer_static", "figure_1"):
        assert any("image/png" in o.get("data", {}) for o in cells[grade_id].outputs), grade_id
