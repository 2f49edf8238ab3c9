"""The batch: a whole class graded in parallel, each student by the grading step, on processes or Dask.

- runner: grade a whole class in parallel: plan, run on an executor (retries, progress events), record
- worker: what a grading worker process does: autograde one student with nbgrader's API
- distributed: the runner's backend on a Dask cluster (shared filesystem, or submissions shipped as bytes)
- manual_grades: a regrade keeps the manual grades of written answers that did not change

Imports the top level and step/ only.
"""
