"""The late-submission penalty configured in nbgrader_config.py (grading/step/late_penalty.py)."""
from grading.course import load_config
from grading.step.late_penalty import FractionPerDayLate


def test_the_course_configures_the_fraction_per_day_plugin():
    config = load_config()
    assert config.AssignLatePenalties.plugin_class == "grading.step.late_penalty.FractionPerDayLate"
    assert config.FractionPerDayLate.fraction_per_day == 0.1


def test_a_fraction_of_the_score_per_started_day_never_more_than_the_score():
    plugin = FractionPerDayLate(fraction_per_day=0.1)
    assert plugin.late_submission_penalty("s", 20.0, 1) == 2.0  # one second late: a started day
    assert plugin.late_submission_penalty("s", 20.0, 86400) == 2.0
    assert plugin.late_submission_penalty("s", 20.0, 86401) == 4.0
    assert plugin.late_submission_penalty("s", 20.0, 86400 * 30) == 20.0
    assert plugin.late_submission_penalty("s", 0.0, 86400 * 3) == 0.0
