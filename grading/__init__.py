"""What nbgrader lacks, for any nbgrader course, each module one job (docs/another-course.md).

- course: which course and assignment it grades (c.Course), and nbgrader's API with the course's configuration
- cells: what a notebook cell is (test cell, answer, written answer, grade_id, points), read once
- gradebook: the gradebook read into plain data (every submission's notebooks and grades)
- sample_class: a course's sample class (c.Course.sample_class) built from its source solutions by exact edits
- runner: grade a whole class in parallel: plan, run on an executor (retries, progress events), record
- worker: what a grading worker process does: autograde one student with nbgrader's API
- distributed: the runner's backend on a Dask cluster (shared filesystem, or submissions shipped as bytes)
- settings: the grading options nbgrader lacks (c.Sandbox, c.Runner, ...), their environment overrides, and
  python -m grading.settings: every option of the package, its value and where that came from
- feedback_filter: feedback that shows a hidden test's message but never its code
- sanitize: student work rendered as HTML (formgrader, feedback) with no script, handler or frame
- formgrader_csp: a hash-based Content-Security-Policy on the formgrader's pages
- master_cells: the instructor's cells put back (tampered metadata, deleted tests score 0)
- save_grades: nbgrader's SaveAutoGrades, a notebook's grades written in one transaction
- sandbox: student kernels in bwrap + setpriv + prlimit during autograding
- cgroups: a cgroup of its own per sandboxed kernel, on cgroup v1, v2 (a delegated subtree) or a hybrid
- bounded: the grader's own code in a forked child under a memory bound (run_bounded)
- warm_kernels, warm_zygote: each kernel forked, fully isolated, from a process that imported what kernels import
- execute: nbgrader's Execute with sandboxed kernels, test cells judged outside them, budgets
- verdicts: test cells run in the grading worker; the verdict becomes the cell's output
- channel, channel_kernel: the plain-data channel between the grader and a student's kernel
- scores: the students x notebooks table printed after grading
- report: the instructor's HTML report (score distributions, failure rate per test cell, manual queue)
- misconceptions: the report's misconceptions section (failures grouped by the mistake the tests name)
- manual_grades: a regrade keeps the manual grades of written answers that did not change
- rubric: rubric items of the written answers, parsed from source/, stored beside nbgrader's tables, applied
- rubric_server: the rubric in the formgrader (item panels, the grade-by-question page; static/ holds its script)
- feedback: make feedback refuses while written answers wait; "not graded yet" instead of a zero
- similarity: which students wrote alike answers, cell by cell against the class (report section, make similarity)
- late_penalty: the late-submission penalty nbgrader applies (a fraction per day) and per-student extensions
- lti: LTI 1.3 settings (c.Lti), the tool's key, usernames from launches, grade passback (AGS, NRPS)
- lti_hub: the hub's side of an LTI launch (jupyterhub-ltiauthenticator): refusals, accounts, roles, JWKS
- hub: the course on a JupyterHub: accounts, exchange and course set up; collect and grade there
- collect: nbgrader collect that decides who, when and what from the exchange's owners, change times and file types
- spreadsheet: CSV files whose cells a spreadsheet shows as text, never runs as a formula
- lms: courses without a hub: an LMS bulk download in (nbgrader zip_collect, every entry judged and
  size-bounded before it is unpacked), the LMS grades files out
- lms_names: whose file an LMS download's entry is, by Canvas's and Moodle's own naming rules

The engine holds nothing of one course: the notebooks and their helper modules live in the
course's source/, its sample class in a module the course names (here ml_conceptual/).
"""
