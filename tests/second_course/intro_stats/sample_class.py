"""The intro-stats course's sample class, built from its source solutions by the engine
(``python -m grading.sample_class``; nbgrader_config.py names this module)."""
from grading.sample_class import Edit, SampleStudent

STUDENTS = [
    SampleStudent("right", "submits the instructor's solution"),
    SampleStudent("wrong", "counts words without folding case: 'The' and 'the' are two words",
                  edits=(Edit("words", "word_counts", "text.lower().split()", "text.split()"),)),
    SampleStudent("broken", "uploads words.ipynb cut off half-way (not valid JSON)", invalid_json="words"),
]
