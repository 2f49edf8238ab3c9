"""The instructor's report: one offline HTML page from the gradebook.

Score distribution per question, the failure rate of every autograded test cell (the most common
mistake first), the misconceptions the tests named (grading/reports/misconceptions.py, not-attempted
apart), who still needs manual grading, and the similarity section.

    python -m grading.reports.report [--out reports/report.html]
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grading.batch.runner import check_submission
from grading.course import ASSIGNMENT, COURSE_ROOT, notebook_names
from grading.reports import misconceptions, similarity
from grading.reports.gradebook import CellGrade, NotebookGrades, read_grades
from grading.reports.misconceptions import Misconception
from grading.reports.page import escape, page, png_base64
from grading.settings import Report, course_settings

# (student, notebook or "" for the whole submission, what)
Problem = tuple[str, str, str]
# (notebook, grade_id, graded, students) of a written cell
QueueRow = tuple[str, str, int, int]
# (student, autograded points, autograded max, [misconceptions], [missing work])
FollowUp = tuple[str, float, float, list[str], list[str]]


@dataclass
class CellStats:
    notebook: str
    grade_id: str
    points: float
    failed: list[str]  # students who did not get full points
    graded: int  # students counted on this cell: those who attempted its function

    @property
    def failure_rate(self) -> float:
        return len(self.failed) / self.graded if self.graded else 0.0


@dataclass
class Question:
    """One notebook across the class: autograded points apart from the written ones."""
    name: str
    auto: dict[str, tuple[float, float]]  # {student: (autograded points, autograded max)}
    written_max: float  # points of its written cells
    written_graded: int  # written cells graded by hand, over all students
    written_cells: int  # written cells over all students

    def summary(self) -> tuple[float, float]:
        mean = sum(a for a, _ in self.auto.values()) / max(len(self.auto), 1)
        top = max((m for _, m in self.auto.values()), default=0)
        return mean, top


@dataclass
class ClassData:
    questions: dict[str, Question]  # by notebook
    cells: list[CellStats]  # most failed first
    queue: list[QueueRow]  # the written cells not all graded
    problems: list[Problem]  # submissions the grader could not judge as written
    follow_up: list[FollowUp]
    pending: dict[str, list[tuple[str, str]]]  # {student: [(notebook, grade_id)]} still needing a grader


def _unreadable(root: str | Path, grades: dict[str, list[NotebookGrades]]) -> list[Problem]:
    """[(student, notebook, what)] of notebooks missing or unreadable (runner.check_submission)."""
    expected, found = notebook_names(), []
    for student in sorted(grades):
        if (Path(root) / "submitted" / student).is_dir():
            _, problems = check_submission(student, Path(root) / "submitted", expected)
            found += [(student, p.notebook, f"{p.kind}: {p.reason}") for p in problems
                      if p.kind in ("missing", "unreadable")]
    return found


def process_problems(root: str | Path, deleted: dict[str, list[str]], skipped: dict[str, list[str]],
                     grades: dict[str, list[NotebookGrades]]) -> list[Problem]:
    """[(student, notebook, what)]: notebooks missing or unreadable, test cells deleted (put
    back, scored 0), and submissions with nothing attempted."""
    found = _unreadable(root, grades)
    for student, tests in sorted(deleted.items()):
        found.append((student, "", "deleted test cells (put back, scored 0): " + ", ".join(sorted(set(tests)))))
    functions = set(skipped) | _all_functions(root)
    for student in sorted(grades):
        if functions and all(student in skipped.get(f, ()) for f in functions):
            found.append((student, "", "untouched: no function attempted (the release as it was handed out?)"))
    return found


def _all_functions(root: str | Path) -> set[str]:
    return set(misconceptions.owners(root).values())


def collect(db_url: str | None = None, root: str | Path = COURSE_ROOT) -> ClassData:
    """Everything the report shows (ClassData), from the gradebook, the graded copies and the
    submissions."""
    grades = read_grades(db_url)
    deleted: dict[str, list[str]] = {}
    ranked, skipped = misconceptions.collect(root, deleted)
    problems = process_problems(root, deleted, skipped, grades)
    unusable = {(s, nb) for s, nb, what in problems if nb}
    owners = misconceptions.owners(root)
    questions: dict[str, Question] = {}
    cells: dict[tuple[str, str], CellStats] = {}
    pending: dict[str, list[tuple[str, str]]] = {}
    for student, notebooks in grades.items():
        for nb in notebooks:
            q = questions.setdefault(nb.name, Question(nb.name, {}, 0.0, 0, 0))
            _question(q, student, nb, pending)
            if (student, nb.name) in unusable:
                continue
            for cell in nb.cells:
                function = owners.get(cell.grade_id, "")
                if student in skipped.get(function, ()) or cell.grade_id in deleted.get(student, ()):
                    continue
                _tally(cells, nb.name, student, cell)
    ordered = sorted(cells.values(), key=lambda c: (-c.failure_rate, c.notebook, c.grade_id))
    return ClassData(questions, ordered, _queue(grades), problems,
                     _follow_up(grades, ranked, skipped, problems), {s: sorted(v) for s, v in sorted(pending.items())})


def _question(q: Question, student: str, nb: NotebookGrades, pending: dict[str, list[tuple[str, str]]]) -> None:
    q.auto[student] = _auto_total([nb])
    written = [c for c in nb.cells if c.cell_type == "markdown"]
    q.written_max = max(q.written_max, sum(c.max_score for c in written))
    q.written_cells += len(written)
    q.written_graded += sum(not c.needs_manual_grade for c in written)
    for c in nb.cells:
        if c.needs_manual_grade:
            pending.setdefault(student, []).append((nb.name, c.grade_id))


def _queue(grades: dict[str, list[NotebookGrades]]) -> list[QueueRow]:
    """[(notebook, grade_id, graded, students)] of the written cells, in notebook order."""
    counts: dict[tuple[str, str], list[int]] = {}
    for notebooks in grades.values():
        for nb in notebooks:
            for c in nb.cells:
                if c.cell_type == "markdown":
                    n = counts.setdefault((nb.name, c.grade_id), [0, 0])
                    n[0] += not c.needs_manual_grade
                    n[1] += 1
    return [(nb, g, done, total) for (nb, g), (done, total) in counts.items()]


def _by_student(ranked: list[Misconception], skipped: dict[str, list[str]],
                problems: list[Problem]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """({student: [misconceptions]}, {student: [missing work]})."""
    mistakes: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    for m in ranked:
        for s in m.students:
            mistakes.setdefault(s, []).append(f"{m.function}: {m.label}")
    for function, students in skipped.items():
        for s in students:
            missing.setdefault(s, []).append(f"{function} not attempted")
    for s, nb, what in problems:
        missing.setdefault(s, []).append(f"{nb}: {what.split(':')[0]}" if nb else what.split(":")[0])
    return mistakes, missing


def _auto_total(notebooks: list[NotebookGrades]) -> tuple[float, float]:
    cells = [c for nb in notebooks for c in nb.cells if c.cell_type == "code"]
    return sum(c.score for c in cells), sum(c.max_score for c in cells)


def _follow_up(grades: dict[str, list[NotebookGrades]], ranked: list[Misconception], skipped: dict[str, list[str]],
               problems: list[Problem], limit: int | None = None) -> list[FollowUp]:
    """Students to follow up: the lowest autograded totals, the most distinct misconceptions,
    missing work; [(student, autograded, max, [misconceptions], [missing])], most in need first."""
    limit = limit or course_settings(Report).follow_up
    mistakes, missing = _by_student(ranked, skipped, problems)
    rows: list[FollowUp] = [(s, *_auto_total(nbs), mistakes.get(s, []), missing.get(s, []))
                            for s, nbs in grades.items()]
    need = sorted(rows, key=lambda r: (r[1] / (r[2] or 1) - 0.05 * len(r[3]) - 0.05 * len(r[4]), r[0]))
    return [r for r in need if r[3] or r[4] or r[1] < r[2]][:limit]


def _tally(cells: dict[tuple[str, str], CellStats], notebook: str, student: str, cell: CellGrade) -> None:
    """Count one student's grade of an autograded code cell into ``cells``; other cells (written
    answers, and tests with no score yet) are not counted."""
    if cell.cell_type != "code" or cell.auto_score is None and cell.manual_score is None:
        return
    stats = cells.setdefault((notebook, cell.grade_id), CellStats(notebook, cell.grade_id, cell.max_score, [], 0))
    stats.graded += 1
    if cell.score < cell.max_score:
        stats.failed.append(student)


def _histograms(scores: dict[str, dict[str, tuple[float, float]]]) -> str:
    """One histogram per question of the autograded points (written answers are graded apart)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = sorted(scores)
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(3.2 * max(len(names), 1), 2.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):  # one empty axis when there are no scores
        values = [s for s, _ in scores[name].values()]
        top = max(m for _, m in scores[name].values())
        ax.hist(values, bins=min(10, max(int(top), 1)), range=(0, top), color="#3b6ea5", edgecolor="white")
        ax.set_title(name.split("_")[0] + f" autograded (max {top:g})")
        ax.set_xlabel("autograded points")
        ax.set_ylabel("students")
    fig.tight_layout()
    return png_base64(fig)


def histogram_description(scores: dict[str, dict[str, tuple[float, float]]]) -> str:
    """The histograms in words (the image's alt text): per question, how many students, the
    range and mean of their autograded points, and how many got all of them."""
    parts = []
    for name in sorted(scores):
        values = [s for s, _ in scores[name].values()]
        top = max(m for _, m in scores[name].values())
        parts.append(f"{name.split('_')[0]}: {len(values)} students, scores {min(values):g} to "
                     f"{max(values):g} of {top:g}, mean {sum(values) / len(values):.1f}, "
                     f"{sum(v >= top for v in values)} with full marks")
    return "Histograms of the autograded points per question. " + "; ".join(parts) + "."


_FAILURES_HEADER = ("<tr><th>notebook</th><th>test cell</th><th>points</th><th>failed</th><th>rate</th>"
                    "<th>students</th></tr>")

_e = escape


def _summary_rows(questions: dict[str, Question]) -> str:
    rows = []
    for name, q in sorted(questions.items()):
        mean, top = q.summary()
        rows.append(f"<tr><td>{_e(name)}</td><td>{len(q.auto)}</td><td>{mean:.1f} / {top:g}</td>"
                    f"<td>{q.written_max:g}</td><td>written: {q.written_graded} of {q.written_cells} graded</td></tr>")
    return "\n".join(rows)


def _queue_rows(queue: list[QueueRow], formgrader_url: str) -> str:
    rows = []
    for nb, cell, done, total in queue:
        if done >= total:
            continue
        link = f"{formgrader_url.rstrip('/')}/rubric/question/{nb}/{cell}"
        rows.append(f"<tr><td>{_e(nb)}</td><td><code>{_e(cell)}</code></td><td>{total - done}</td>"
                    f"<td>{done} of {total}</td>"
                    f"<td><a href=\"{_e(link)}\">grade {_e(cell)} across the class</a></td></tr>")
    return "\n".join(rows) or "<tr><td colspan=5>nothing: manual grading is done</td></tr>"


def _problem_rows(problems: list[Problem]) -> str:
    return "\n".join(f"<tr><td>{_e(s)}</td><td>{_e(nb or 'all')}</td><td>{_e(what)}</td></tr>"
                     for s, nb, what in problems) or "<tr><td colspan=3>none</td></tr>"


def _short(items: list[str], n: int = 4) -> str:
    return "; ".join(items[:n]) + (f"; and {len(items) - n} more" if len(items) > n else "")


def _follow_rows(follow: list[FollowUp]) -> str:
    return "\n".join(
        f"<tr><td>{_e(s)}</td><td>{auto:g} / {top:g}</td><td>{len(m)}</td><td>{_e(_short(m))}</td>"
        f"<td>{_e(_short(miss))}</td></tr>" for s, auto, top, m, miss in follow) or "<tr><td colspan=5>nobody</td></tr>"


def render(data: ClassData | None = None, sections: Sequence[str] = ()) -> str:
    """The report page (``data``: collect's ClassData; None: an empty class around ``sections``).
    Every string in it that comes from the gradebook (student ids, notebook and cell names) goes
    through ``_e``: a student id like ``<img onerror=...>`` is text here. ``sections``: HTML put at
    the end, each made by its module (misconceptions, similarity), which escapes what it shows."""
    if data is None:
        data = ClassData({}, [], [], [], [], {})
    try:
        formgrader_url = course_settings(Report).formgrader_url
    except Exception:  # noqa: BLE001 - no course configuration (a bare gradebook): the default
        formgrader_url = Report().formgrader_url
    cells = data.cells
    rows = "\n".join(
        f"<tr><td>{_e(c.notebook)}</td><td><code>{_e(c.grade_id)}</code></td><td>{c.points:g}</td>"
        f"<td>{len(c.failed)}/{c.graded}</td><td>{100 * c.failure_rate:.0f}%</td>"
        f"<td>{_e(', '.join(c.failed))}</td></tr>" for c in cells)
    auto = {n: q.auto for n, q in data.questions.items() if q.auto}
    histograms = (f'<img alt="{_e(histogram_description(auto))}" src="data:image/png;base64,{_histograms(auto)}">'
                  if auto else '<p>No scores yet.</p>')
    return page(f"{ASSIGNMENT}: class report", f"""<main>
<h1>Assignment <code>{_e(ASSIGNMENT)}</code>: class report</h1>
<h2>Scores per question</h2>
<p>Autograded points only; written answers are graded by hand and counted apart (an ungraded
answer is not a zero).</p>
<table id="summary"><tr><th>notebook</th><th>students</th><th>mean autograded points</th>
<th>written points</th><th>written answers</th></tr>
{_summary_rows(data.questions)}</table>
{histograms}
<h2>Still to grade by hand</h2>
<table id="manual"><tr><th>notebook</th><th>written cell</th><th>to grade</th><th>graded</th><th>link</th></tr>
{_queue_rows(data.queue, formgrader_url)}</table>
<h2>Students to follow up</h2>
<p>Lowest autograded points, most distinct misconceptions, missing work: most in need first.</p>
<table id="follow-up"><tr><th>student</th><th>autograded</th><th>misconceptions</th><th>which</th>
<th>missing work</th></tr>
{_follow_rows(data.follow_up)}</table>
<h2>Test cells by failure rate</h2>
<p>Each row is one autograded test cell, counted over the students who attempted its function
(a student who left the stub, whose notebook could not be read, or who deleted the test cell is
not counted: see the process problems); the most common mistake is at the top.</p>
<table id="failures">{_FAILURES_HEADER}
{rows}</table>
<h2>Process problems</h2>
<p>Submissions the tests could not judge: missing or unreadable notebooks, deleted test cells,
nothing attempted. Talk to these students about how they submit, not about the material.</p>
<table id="process-problems"><tr><th>student</th><th>notebook</th><th>problem</th></tr>
{_problem_rows(data.problems)}</table>
{"".join(sections)}
</main>""")


def write_report(out: str | Path, db_url: str | None = None) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(collect(db_url), [misconceptions.report_section(), similarity.report_section()]))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the instructor's HTML report.")
    parser.add_argument("--out", default=str(COURSE_ROOT / "reports" / "report.html"))
    args = parser.parse_args(argv)
    out = write_report(args.out)
    print(f"report written to {out.relative_to(COURSE_ROOT) if out.is_relative_to(COURSE_ROOT) else out}")


if __name__ == "__main__":
    main()
