"""What nbgrader lacks for this course, each module one job.

- course: where the course lives and how to reach nbgrader's API with its configuration
- sample_class: the bundled sample class, built from the source solutions
- runner: grade a whole class in parallel, with retries and a progress line
- feedback_filter: feedback that shows a hidden test's message but never its code
- deleted_cells: a deleted test cell is restored and scores zero
- sandbox: student kernels in bwrap + setpriv + prlimit during autograding
- scores: the students x notebooks table printed after grading
- report: the instructor's HTML report (score distributions, failure rate per test cell, manual queue)
- manual_grades: a regrade keeps the manual grades of written answers that did not change
"""
