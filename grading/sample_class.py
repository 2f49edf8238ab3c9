"""The bundled sample class: submissions made from the source solutions.

Every student starts from the release copy of each notebook (what students download), with the
instructor's solution code pasted into the answer cells; a misconception student then has a few
exact edits applied. Because the edits name the cell and the text they change, the class follows
the notebooks as they change, and an edit that no longer applies is an error, not a silently
correct student.

    python -m grading.sample_class [--out submitted]
"""
from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grading.cells import grade_id, is_answer_cell
from grading.course import ASSIGNMENT, RELEASE, SOURCE, SUBMITTED

Q1 = "q1_cross_entropy_gradient"
Q2 = "q2_mse_vs_cross_entropy"
Q3 = "q3_gradient_descent"
Q4 = "q4_stacked_linear_layers"


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` (which must occur exactly once) by ``new`` in one answer cell."""
    notebook: str
    cell: str  # grade_id of the answer cell
    old: str
    new: str


@dataclass(frozen=True)
class SampleStudent:
    id: str
    story: str  # what this student did, one line
    edits: tuple[Edit, ...] = ()
    untouched: bool = False  # submits the release as downloaded
    deleted_cell: tuple[str, ...] = ()  # (notebook, grade_id) of a test cell the student deleted
    invalid_json: str = ""  # notebook whose file the student broke
    written: bool = True  # fills the written answers


STUDENTS = [
    SampleStudent("reference", "submits the instructor's solution"),
    SampleStudent("untouched", "submits the release unchanged", untouched=True, written=False),
    SampleStudent("q1_no_minus_one", "leaves out the -1 of the correct class in dL/dz",
                  edits=(Edit(Q1, "ce_grad_logits", "return P - onehot", "return P"),)),
    SampleStudent("q1_flipped_sign", "returns x (y - P)^T: the gradient with its sign flipped",
                  edits=(Edit(Q1, "ce_grad_weights", "return np.outer(x, dz)", "return -np.outer(x, dz)"),
                         Edit(Q1, "ce_grad_weights", "return x.T @ dz / x.shape[0]",
                              "return -(x.T @ dz) / x.shape[0]"))),
    SampleStudent("q1_overflowing_softmax", "exponentiates the raw logits, so np.exp(1000) overflows",
                  edits=(Edit(Q1, "softmax", "e = np.exp(shifted)", "e = np.exp(z)"),)),
    SampleStudent("q1_forward_difference", "uses the one-sided difference (f(W+eps) - f(W)) / eps",
                  edits=(Edit(Q1, "numerical_gradient",
                              "W_work[idx] = original - eps\n        f_minus = f(W_work)",
                              "W_work[idx] = original\n        f_minus = f(W_work)"),
                         Edit(Q1, "numerical_gradient", "(f_plus - f_minus) / (2 * eps)",
                              "(f_plus - f_minus) / eps"))),
    SampleStudent("q2_mse_grad_no_jacobian",
                  "returns dL/dP = (2/k)(P - y) as the logit gradient, skipping the softmax Jacobian",
                  edits=(Edit(Q2, "mse_grad_logits",
                              "return P * (dL_dP - np.sum(dL_dP * P, axis=-1, keepdims=True))",
                              "return dL_dP"),)),
    SampleStudent("q2_mse_grad_diagonal_jacobian", "keeps only the diagonal P_j (1 - P_j) of the softmax Jacobian",
                  edits=(Edit(Q2, "mse_grad_logits",
                              "return P * (dL_dP - np.sum(dL_dP * P, axis=-1, keepdims=True))",
                              "return P * (1 - P) * dL_dP"),)),
    SampleStudent("q2_mse_sum_over_classes", "sums the squared errors over the classes instead of averaging",
                  edits=(Edit(Q2, "mse_loss", "np.mean((P - Y) ** 2, axis=-1)", "np.sum((P - Y) ** 2, axis=-1)"),)),
    SampleStudent("q4_compose_wrong_order", "composes the layers as W1 @ W2: the first layer on the left",
                  edits=(Edit(Q4, "compose_linear", "W = W2 @ W1", "W = W1 @ W2"),)),
    SampleStudent("q4_compose_missing_w2_b1", "keeps only b2 as the composed bias, dropping W2 @ b1",
                  edits=(Edit(Q4, "compose_linear", "b = W2 @ b1 + b2", "b = b2"),)),
    SampleStudent("q4_row_convention_shapes", "gives the row-convention shapes W1 (s, t), W2 (t, u)",
                  edits=(Edit(Q4, "layer_shapes", '"W1": (t, s)', '"W1": (s, t)'),
                         Edit(Q4, "layer_shapes", '"W2": (u, t)', '"W2": (t, u)'))),
    SampleStudent("q4_row_convention_linear", "computes x @ W + b as in question 1, not W x + b",
                  edits=(Edit(Q4, "linear", "return x @ W.T + b", "return x @ W + b"),)),
    SampleStudent("q3_gradient_ascent", "adds the gradient: w + lr * grad climbs uphill",
                  edits=(Edit(Q3, "gradient_descent", "w = w - lr *", "w = w + lr *"),)),
    SampleStudent("q3_missing_start", "returns only the n_steps iterates after the start, not w0 itself",
                  edits=(Edit(Q3, "gradient_descent", "np.empty((n_steps + 1, w.size))", "np.empty((n_steps, w.size))"),
                         Edit(Q3, "gradient_descent", "    trajectory[0] = w\n", ""),
                         Edit(Q3, "gradient_descent", "trajectory[t + 1] = w", "trajectory[t] = w"))),
    SampleStudent("q3_in_place_update", "steps with w -= lr * grad on w0 itself, changing the caller's array",
                  edits=(Edit(Q3, "gradient_descent", "w = np.array(w0, dtype=np.float64)", "w = w0"),
                         Edit(Q3, "gradient_descent", "w = w - lr *", "w -= lr *"))),
    SampleStudent("q3_summed_batch_gradient", "sums the batch gradient in the vectorized version instead of "
                  "taking the mean; counts the loss axis as a weight",
                  edits=(Edit(Q3, "batch_grad_vectorized", "return X.T @ P / X.shape[0]", "return X.T @ P"),
                         Edit(Q3, "figure_1_facts", "N_WEIGHTS = 2", "N_WEIGHTS = 3"))),
    SampleStudent("q1_wrong_q2_right", "gets question 1 wrong (overflowing softmax, no -1, a summed loss), also in "
                  "the question-1 cell of q2, and question 2 right: question 2 must not cost points",
                  edits=(Edit(Q1, "softmax", "e = np.exp(shifted)", "e = np.exp(z)"),
                         Edit(Q1, "ce_grad_logits", "return P - onehot", "return P"),
                         Edit(Q2, "q1_functions", "np.exp(logits - np.max(logits, axis=-1, keepdims=True))",
                              "np.exp(logits)"),
                         Edit(Q2, "q1_functions", "return probs - is_label", "return probs"),
                         Edit(Q2, "q1_functions", "return float(np.mean(-np.log(picked)))",
                              "return float(np.sum(-np.log(picked)))"))),
    SampleStudent("broken_json", "uploads a q1 file cut off half-way (not valid JSON)", invalid_json=Q1),
    SampleStudent("deleted_test_cell", "deletes the large-logits test cell of q1",
                  deleted_cell=(Q1, "test_softmax_large_logits")),
]

_SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)


def solution_code(cell: NotebookNode) -> str:
    """The source cell's code as a student who solved it would write it (markers removed)."""
    return _SOLUTION_MARKERS.sub("", cell.source + "\n").rstrip("\n")


def written_answer(cell: NotebookNode) -> str:
    """A student's written answer: the model answer without the grader's rubric."""
    return cell.source.split("\n---\n**Rubric")[0].replace("**Model answer.**", "").strip()


def solved_notebook(name: str, source_dir: str | Path = SOURCE, release_dir: str | Path = RELEASE,
                    written: bool = True) -> NotebookNode:
    """The release notebook with every answer cell filled from the source solution."""
    release = nbformat.read(Path(release_dir) / f"{name}.ipynb", as_version=4)
    source = {grade_id(c): c for c in nbformat.read(Path(source_dir) / f"{name}.ipynb", as_version=4).cells
              if grade_id(c)}
    for cell in release.cells:
        if not is_answer_cell(cell):
            continue
        src = source[grade_id(cell)]
        if cell.cell_type == "code":
            cell.source = solution_code(src)
        elif written:
            cell.source = written_answer(src)
    return release


def apply_edit(nb: NotebookNode, edit: Edit, student_id: str) -> None:
    for cell in nb.cells:
        if grade_id(cell) == edit.cell:
            count = cell.source.count(edit.old)
            if count != 1:
                raise ValueError(
                    f"sample student {student_id!r}: the edit {edit.old!r} -> {edit.new!r} matches "
                    f"{count} times in cell {edit.cell!r} of {edit.notebook}.ipynb (expected once); "
                    "the solution changed: update grading/sample_class.py")
            cell.source = cell.source.replace(edit.old, edit.new)
            return
    raise ValueError(f"sample student {student_id!r}: no cell {edit.cell!r} in {edit.notebook}.ipynb")


def _delete_cell(nb: NotebookNode, student: SampleStudent) -> None:
    """The student's deleted test cell taken out of ``nb`` (it must be there, once)."""
    before = len(nb.cells)
    nb.cells = [c for c in nb.cells if grade_id(c) != student.deleted_cell[1]]
    if len(nb.cells) != before - 1:
        raise ValueError(f"sample student {student.id!r}: no cell {student.deleted_cell[1]!r} to delete")


def _student_notebook(student: SampleStudent, name: str, source_dir: str | Path, release_dir: str | Path) -> str:
    """One notebook of one sample student, as the text of the file they submit."""
    if student.untouched:
        nb = nbformat.read(Path(release_dir) / f"{name}.ipynb", as_version=4)
    else:
        nb = solved_notebook(name, source_dir, release_dir, written=student.written)
    for edit in student.edits:
        if edit.notebook == name:
            apply_edit(nb, edit, student.id)
    if student.deleted_cell and student.deleted_cell[0] == name:
        _delete_cell(nb, student)
    text = nbformat.writes(nb)
    if student.invalid_json == name:
        text = text[: len(text) // 2]  # an upload cut off half-way
    return text


def student_notebooks(student: SampleStudent, source_dir: str | Path = SOURCE,
                      release_dir: str | Path = RELEASE) -> dict[str, str]:
    """{notebook name: notebook text} for one sample student."""
    names = sorted(p.stem for p in Path(source_dir).glob("*.ipynb"))
    out = {name: _student_notebook(student, name, source_dir, release_dir) for name in names}
    for edit in student.edits:
        if edit.notebook not in names:
            raise ValueError(f"sample student {student.id!r}: no notebook {edit.notebook}.ipynb")
    return out


def build(out_dir: str | Path = SUBMITTED, students: Sequence[SampleStudent] = STUDENTS,
          source_dir: str | Path = SOURCE, release_dir: str | Path = RELEASE) -> list[str]:
    """Write every sample student's submission to out_dir/<student>/conceptual/."""
    out_dir = Path(out_dir)
    for student in students:
        folder = out_dir / student.id / ASSIGNMENT
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, text in student_notebooks(student, source_dir, release_dir).items():
            (folder / f"{name}.ipynb").write_text(text)
        for helper in Path(release_dir).glob("*.py"):  # students download the helpers too
            shutil.copy(helper, folder / helper.name)
    return [s.id for s in students]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(SUBMITTED), help="where to write the class")
    args = parser.parse_args(argv)
    ids = build(Path(args.out))
    print(f"sample class: {len(ids)} students written to {Path(args.out).name}/: {', '.join(ids)}")


if __name__ == "__main__":
    main()
