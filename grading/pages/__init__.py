"""The pages people read in a browser: feedback, the formgrader's pages and its rubric, student work made safe.

- feedback_filter: feedback that shows a hidden test's message but never its code
- feedback: make feedback refuses while written answers wait; "not graded yet" instead of a zero
- sanitize: student work rendered as HTML (formgrader, feedback) with no script, handler or frame
- formgrader_csp: a hash-based Content-Security-Policy on the formgrader's pages
- rubric: rubric items of the written answers, parsed from source/, stored beside nbgrader's tables, applied
- rubric_server: the rubric in the formgrader (item panels, the grade-by-question page; static/ holds its script)

Imports the top level, step/, batch/ and reports/ only.
"""
