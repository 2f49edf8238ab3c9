"""The table printed after grading: students x notebooks, from the gradebook.

    python -m grading.reports.scores
"""
from __future__ import annotations

from grading.reports.gradebook import read_grades


def class_scores(db_url: str | None = None) -> dict[str, dict[str, tuple[float, float, bool]]]:
    """{student: {notebook: (score, max_score, needs_manual_grade)}} for every submission."""
    return {student: {nb.name: (nb.score, nb.max_score, nb.needs_manual_grade) for nb in notebooks}
            for student, notebooks in read_grades(db_url).items()}


def format_table(table: dict[str, dict[str, tuple[float, float, bool]]]) -> str:
    notebooks = sorted({nb for row in table.values() for nb in row})
    short = [nb.split("_")[0] for nb in notebooks]
    width = max([len("student")] + [len(s) for s in table])
    lines = [f"{'student':<{width}}  " + "  ".join(f"{s:>9}" for s in short) + "      total"]
    for student in sorted(table):
        row = table[student]
        cells: list[str] = []
        total, total_max = 0.0, 0.0
        for nb in notebooks:
            score, max_score, manual = row.get(nb, (0.0, 0.0, False))
            total, total_max = total + score, total_max + max_score
            cells.append(f"{score:5.1f}/{max_score:<3.0f}" + ("*" if manual else " "))
        lines.append(f"{student:<{width}}  " + " ".join(cells) + f"  {total:5.1f}/{total_max:.0f}")
    lines.append("* written answers still to be graded by hand (formgrader); scores shown so far")
    return "\n".join(lines)


def main() -> None:
    print(format_table(class_scores()))


if __name__ == "__main__":
    main()
