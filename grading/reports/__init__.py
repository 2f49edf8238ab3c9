"""The reports the instructor reads after grading: the class's scores, the HTML report and its sections.

- gradebook: the gradebook read into plain data (every submission's notebooks and grades)
- scores: the students x notebooks table printed after grading
- page: what the report's pages share (the HTML frame, its Content-Security-Policy, a figure as a PNG)
- misconceptions: the report's misconceptions section (failures grouped by the mistake the tests name)
- similarity: which students wrote alike answers, cell by cell against the class (report section, make similarity)
- report: the instructor's HTML report (score distributions, failure rate per test cell, manual queue, the sections)
- spreadsheet: CSV files whose cells a spreadsheet shows as text, never runs as a formula

Imports the top level, step/ and batch/ only; page <- misconceptions, similarity <- report, one way.
"""
