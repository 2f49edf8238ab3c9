"""The sample class builder follows the notebooks and refuses edits that no longer apply."""
import json

import pytest

from grading import sample_class as sc
from grading.cells import is_answer_cell
from ml_conceptual.sample_class import Q1, STUDENTS


def test_solution_markers_are_removed():
    nb = sc.solved_notebook(Q1)
    text = "\n".join(c.source for c in nb.cells if is_answer_cell(c))
    assert "BEGIN SOLUTION" not in text and "NotImplementedError()" not in text
    assert "YOUR ANSWER HERE" not in text


def test_an_edit_that_no_longer_applies_is_an_error():
    student = sc.SampleStudent("x", "stale", edits=(sc.Edit(Q1, "softmax", "no such text", "y"),))
    with pytest.raises(ValueError, match="matches 0 times"):
        sc.student_notebooks(student)


def test_invalid_json_student_is_not_json_and_others_are():
    student = next(s for s in STUDENTS if s.invalid_json)
    texts = sc.student_notebooks(student)
    with pytest.raises(json.JSONDecodeError):
        json.loads(texts[student.invalid_json])
    for name, text in texts.items():
        if name != student.invalid_json:
            json.loads(text)


def test_the_course_names_its_sample_class_and_the_old_engine_names_warn():
    """The students are the course's (c.Course.sample_class); grading.sample_class.STUDENTS, where
    they were, still answers for one release, with a DeprecationWarning."""
    assert [s.id for s in sc.course_students()] == [s.id for s in STUDENTS]
    with pytest.warns(DeprecationWarning, match="c.Course.sample_class"):
        assert sc.STUDENTS == STUDENTS
    with pytest.warns(DeprecationWarning):
        assert sc.Q1 == Q1
    with pytest.raises(AttributeError):
        sc.NO_SUCH_NAME  # noqa: B018
