"""Which course and assignment the engine grades: the course's nbgrader_config.py says, not the engine."""
import pytest

from grading import course


def _course(folder, config="", assignments=("week1",)):
    folder.mkdir()
    (folder / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n" + config)
    for name in assignments:
        (folder / "source" / name).mkdir(parents=True)
    return folder


def test_the_assignment_is_the_configured_one_else_the_only_folder_of_source(tmp_path):
    one = _course(tmp_path / "one")
    assert course.find_assignment(one, course.load_config(one)) == "week1"
    named = _course(tmp_path / "named", 'c.Course.assignment = "week2"\n', ("week1", "week2"))
    assert course.find_assignment(named, course.load_config(named)) == "week2"
    several = _course(tmp_path / "several", "", ("week1", "week2"))
    with pytest.raises(LookupError, match=r"holds week1, week2: set c\.Course\.assignment"):
        course.find_assignment(several, course.load_config(several))
    with pytest.raises(LookupError, match="no assignment folder"):
        course.find_assignment(tmp_path / "nothing")


def test_the_course_root_is_where_nbgrader_reads_its_config(tmp_path):
    # the working directory's config, or the root it names (the hub: the instructor's home loads
    # the course's config, which sets CourseDirectory.root)
    here = _course(tmp_path / "here")
    assert course.find_root(here)[0] == here.resolve()
    elsewhere = _course(tmp_path / "elsewhere")
    home = tmp_path / "home"
    home.mkdir()
    (home / "nbgrader_config.py").write_text(
        f"c = get_config()  # noqa: F821\nc.CourseDirectory.root = {str(elsewhere)!r}\n")
    assert course.find_root(home)[0] == elsewhere.resolve()
    # no config where it runs: the course the engine is kept in (this repository)
    bare = tmp_path / "bare"
    bare.mkdir()
    assert course.find_root(bare)[0] == course.PACKAGE_PARENT


def test_this_course_names_its_assignment_and_sample_class():
    config = course.load_config()
    assert course.ASSIGNMENT == config.Course.assignment == "conceptual"
    assert course.sample_class().__name__ == config.Course.sample_class == "ml_conceptual.sample_class"
