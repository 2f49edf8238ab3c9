"""The instructor's report: one offline HTML page from the gradebook.

Score distribution per question, the failure rate of every autograded test cell (the most common
mistake first), the misconceptions the tests named (grading/misconceptions.py, not-attempted
apart), who still needs manual grading, and the similarity section.

    python -m grading.report [--out reports/report.html]
"""
import argparse
import base64
import html
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from grading.course import ASSIGNMENT, COURSE_ROOT
from grading.gradebook import read_grades


@dataclass
class CellStats:
    notebook: str
    grade_id: str
    points: float
    failed: list  # students who did not get full points
    graded: int  # students graded on this cell

    @property
    def failure_rate(self):
        return len(self.failed) / self.graded if self.graded else 0.0


def collect(db_url=None):
    """(notebook scores, cell stats, manual queue) from the gradebook.

    scores: {notebook: {student: (score, max_score)}}
    cells: [CellStats], autograded test cells, most failed first
    manual: {student: [(notebook, grade_id)]} of cells still needing a grader
    """
    scores, cells, manual = {}, {}, {}
    for student, notebooks in read_grades(db_url).items():
        for nb in notebooks:
            scores.setdefault(nb.name, {})[student] = (nb.score, nb.max_score)
            for cell in nb.cells:
                if cell.needs_manual_grade:
                    manual.setdefault(student, []).append((nb.name, cell.grade_id))
                _tally(cells, nb.name, student, cell)
    ordered = sorted(cells.values(), key=lambda c: (-c.failure_rate, c.notebook, c.grade_id))
    return scores, ordered, {s: sorted(v) for s, v in sorted(manual.items())}


def _tally(cells, notebook, student, cell):
    """Count one student's grade of an autograded code cell into ``cells``; other cells (written
    answers, and tests with no score yet) are not counted."""
    if cell.cell_type != "code" or cell.auto_score is None and cell.manual_score is None:
        return
    stats = cells.setdefault((notebook, cell.grade_id), CellStats(notebook, cell.grade_id, cell.max_score, [], 0))
    stats.graded += 1
    if cell.score < cell.max_score:
        stats.failed.append(student)


def png_base64(fig, dpi=90):
    """A matplotlib figure as base64 PNG for a data: URI (the report's pages load nothing else);
    the figure is closed."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _histograms(scores):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = sorted(scores)
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(3.2 * max(len(names), 1), 2.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):  # one empty axis when there are no scores
        values = [s for s, _ in scores[name].values()]
        top = max(m for _, m in scores[name].values())
        ax.hist(values, bins=min(10, max(int(top), 1)), range=(0, top), color="#3b6ea5", edgecolor="white")
        ax.set_title(name.split("_")[0] + f" (max {top:g})")
        ax.set_xlabel("score")
        ax.set_ylabel("students")
    fig.tight_layout()
    return png_base64(fig)


def histogram_description(scores):
    """The histograms in words (the image's alt text): per question, how many students, the
    range and mean of their scores, and how many got full marks."""
    parts = []
    for name in sorted(scores):
        values = [s for s, _ in scores[name].values()]
        top = max(m for _, m in scores[name].values())
        parts.append(f"{name.split('_')[0]}: {len(values)} students, scores {min(values):g} to "
                     f"{max(values):g} of {top:g}, mean {sum(values) / len(values):.1f}, "
                     f"{sum(v >= top for v in values)} with full marks")
    return "Histograms of the score distribution per question. " + "; ".join(parts) + "."


_FAILURES_HEADER = ("<tr><th>notebook</th><th>test cell</th><th>points</th><th>failed</th><th>rate</th>"
                    "<th>students</th></tr>")

# The page runs no script at all: even a string that escaped escaping could not run.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def render(scores, cells, manual, similarity_section=""):
    """The report page. Every string in it that comes from the gradebook (student ids, notebook
    and cell names) goes through ``e``: a student id like ``<img onerror=...>`` is text here.
    ``similarity_section``: HTML from grading.similarity (which escapes what it shows)."""
    def e(value):
        return html.escape(str(value), quote=True)
    rows = "\n".join(
        f"<tr><td>{e(c.notebook)}</td><td><code>{e(c.grade_id)}</code></td><td>{c.points:g}</td>"
        f"<td>{len(c.failed)}/{c.graded}</td><td>{100 * c.failure_rate:.0f}%</td>"
        f"<td>{e(', '.join(c.failed))}</td></tr>" for c in cells)
    queue = "\n".join(
        f"<tr><td>{e(s)}</td><td>{e(', '.join(f'{n}: {g}' for n, g in items))}</td></tr>"
        for s, items in manual.items()) or "<tr><td colspan=2>nobody: manual grading is done</td></tr>"
    summary = "\n".join(
        f"<tr><td>{e(n)}</td><td>{len(v)}</td><td>{sum(s for s, _ in v.values()) / max(len(v), 1):.1f}"
        f" / {max(m for _, m in v.values()):g}</td></tr>" for n, v in sorted(scores.items()))
    histograms = (f'<img alt="{e(histogram_description(scores))}" src="data:image/png;base64,{_histograms(scores)}">'
                  if scores else '<p>No scores yet.</p>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}"><title>{e(ASSIGNMENT)}: class report</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}
th{{background:#eef}}</style></head><body><main>
<h1>Assignment <code>{e(ASSIGNMENT)}</code>: class report</h1>
<h2>Scores per question</h2>
<table id="summary"><tr><th>notebook</th><th>students</th><th>mean score</th></tr>
{summary}</table>
{histograms}
<h2>Test cells by failure rate</h2>
<p>Each row is one autograded test cell; the most common mistake is at the top.</p>
<table id="failures">{_FAILURES_HEADER}
{rows}</table>
<h2>Still to grade by hand</h2>
<table id="manual"><tr><th>student</th><th>cells needing a grader</th></tr>
{queue}</table>
{similarity_section}
</main></body></html>
"""


def write_report(out, db_url=None):
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from grading import misconceptions
    from grading.similarity import report_section
    out.write_text(render(*collect(db_url), similarity_section=misconceptions.report_section() + report_section()))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write the instructor's HTML report.")
    parser.add_argument("--out", default=str(COURSE_ROOT / "reports" / "report.html"))
    args = parser.parse_args(argv)
    out = write_report(args.out)
    print(f"report written to {out.relative_to(COURSE_ROOT) if out.is_relative_to(COURSE_ROOT) else out}")


if __name__ == "__main__":
    sys.exit(main())
