"""Rubric items for the written answers: parsed from source/, stored in the gradebook, applied by graders.

One definition: the rubric under each written answer in ``source/`` (a table of ``| points |
idea |`` rows after ``**Rubric (N points; ...)**``, and the assignment-wide rule that an answer
over the sentence limit loses a point) is parsed into items. ``sync`` puts them into the
gradebook's database, in tables of our own beside nbgrader's (same SQLite or PostgreSQL
database; ``migrate`` creates them, versioned by ``rubric_schema``):

    rubric_item     one row of a cell's rubric: its text and points (the source's)
    rubric_mark     one student's cell as graded with the rubric: the grader's note, who graded
                    it, and a version number that goes up with every save
    rubric_applied  which items a mark applies, each in full or (rows worth 2 or more) half

A grader applies items (the formgrader's submission page, or the grade-by-question page:
grading/pages/rubric_server.py); ``save_mark`` stores them and writes nbgrader's own grade and
comment in the same transaction: the score is the sum of the applied items, clamped to the
cell's points, and the comment lists the items then the grader's note (so feedback shows them).
Saves carry the version the grader loaded: a save made on a stale version is refused
(``Conflict``, with what the other grader stored) instead of silently replacing their items.

Changing an item's points in ``source/`` and running ``sync`` (``make rubric``) regrades every
student the item was applied to.

    python -m grading.pages.rubric [sync]    migrate, sync the items, print what changed
    python -m grading.pages.rubric show      the parsed items per written cell
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    RowMapping,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from grading.cells import grade_id as grade_id_of
from grading.cells import is_manually_graded, points
from grading.course import ASSIGNMENT, COURSE_ROOT

SCHEMA_VERSION = 1
KEYS = "123456789"  # an item's key: its row number (the deduction is "-", "0" means "nothing applies")
DEDUCTION_KEY = "-"
MAX_NOTE = 4000  # characters of a grader's note

metadata = MetaData()
rubric_schema = Table("rubric_schema", metadata, Column("version", Integer, primary_key=True))
rubric_item = Table(
    "rubric_item", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assignment", String(128), nullable=False),
    Column("notebook", String(128), nullable=False),
    Column("cell", String(128), nullable=False),
    Column("position", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("points", Float, nullable=False),
    UniqueConstraint("assignment", "notebook", "cell", "position", name="rubric_item_position"),
)
rubric_mark = Table(
    "rubric_mark", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assignment", String(128), nullable=False),
    Column("notebook", String(128), nullable=False),
    Column("cell", String(128), nullable=False),
    Column("student", String(128), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False),
    Column("grader", String(128), nullable=False, default=""),
    Column("updated", DateTime, nullable=True),
    UniqueConstraint("assignment", "notebook", "cell", "student", name="rubric_mark_cell"),
)
rubric_applied = Table(
    "rubric_applied", metadata,
    Column("mark_id", Integer, ForeignKey("rubric_mark.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", Integer, ForeignKey("rubric_item.id", ondelete="CASCADE"), primary_key=True),
    Column("fraction", Float, nullable=False, default=1.0),
)


# --- the rubric in source/ -----------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    position: int  # 1.. in the rubric's order; the deduction comes last
    text: str  # markdown (may hold math)
    points: float  # negative for a deduction

    @property
    def key(self) -> str:
        if self.points < 0:
            return DEDUCTION_KEY
        return KEYS[self.position - 1] if self.position <= len(KEYS) else ""

    @property
    def half_allowed(self) -> bool:
        return self.points >= 2


@dataclass(frozen=True)
class CellRubric:
    notebook: str
    cell: str
    points: float
    items: tuple[Item, ...]
    model_answer: str  # markdown


class RubricError(ValueError):
    """A rubric in source/ that cannot be read as items."""


_HEADING = re.compile(r"\*\*Rubric \((\d+(?:\.\d+)?) points?\b[^*]*\*\*")
_ROW = re.compile(r"^\|\s*(\d+(?:\.\d+)?)\s*\|\s*(.+?)\s*\|\s*$", re.M)
_OVER_LIMIT = re.compile(r"over the sentence limit loses (\d+(?:\.\d+)?) points?", re.I)


def parse_cell(text: str, notebook: str = "", cell: str = "", cell_points: float | None = None) -> CellRubric:
    """The CellRubric of one written answer's source text. Raises RubricError naming the cell
    when there is no rubric, no row, a heading that is not the cell's points, or rows that add
    up to less (more is fine: the score is clamped to the cell's points)."""
    where = f"{notebook}: {cell}"
    heading = _HEADING.search(text)
    if heading is None:
        raise RubricError(f"{where}: no '**Rubric (N points; ...)**' heading")
    stated = float(heading.group(1))
    body = text[heading.end():]
    table = body.split("\n\n", 2)[:2]  # the table follows the heading, after one blank line
    rows = _ROW.findall("\n\n".join(table))
    items = [Item(i, idea, float(pts)) for i, (pts, idea) in enumerate(rows, 1)]
    if not items:
        raise RubricError(f"{where}: the rubric has no '| points | idea |' rows")
    total = sum(item.points for item in items)
    if cell_points is not None and abs(stated - cell_points) > 1e-9:
        raise RubricError(f"{where}: the heading says {stated:g} points, the cell is worth {cell_points:g}")
    if total < stated - 1e-9:  # more is allowed (the score is clamped), less makes full marks unreachable
        raise RubricError(f"{where}: rows add up to {total:g}, less than the {stated:g} points of the heading")
    over = _OVER_LIMIT.search(body)
    if over:
        items.append(Item(len(items) + 1, "Over the sentence limit", -float(over.group(1))))
    model = text[:heading.start()]
    model = re.sub(r"\n-{3,}\s*$", "", model.rstrip()).replace("**Model answer.**", "", 1).strip()
    return CellRubric(notebook, cell, stated, tuple(items), model)


def parse_notebook(nb: NotebookNode, notebook: str) -> list[CellRubric]:
    """[CellRubric] of the written (manually graded markdown) cells of a source notebook."""
    return [parse_cell(c.source, notebook, grade_id_of(c) or "", points(c)) for c in nb.cells
            if c.cell_type == "markdown" and is_manually_graded(c)]


def parse_source(root: str | Path = COURSE_ROOT, assignment: str = ASSIGNMENT) -> dict[tuple[str, str], CellRubric]:
    """{(notebook, cell): CellRubric} for every written cell of the source notebooks."""
    import nbformat
    found: dict[tuple[str, str], CellRubric] = {}
    for path in sorted(Path(root, "source", assignment).glob("*.ipynb")):
        for rubric in parse_notebook(nbformat.read(path, as_version=4), path.stem):
            found[(rubric.notebook, rubric.cell)] = rubric
    return found


# --- the tables --------------------------------------------------------------------------------

def migrate(engine: Engine) -> int:
    """Create our tables beside nbgrader's if they are missing (idempotent); returns the schema
    version now in the database."""
    metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        current = conn.execute(select(rubric_schema.c.version)).scalar()
        if current is None:
            conn.execute(insert(rubric_schema).values(version=SCHEMA_VERSION))
            current = SCHEMA_VERSION
    return current


def _item_rows(db: Any, assignment: str, notebook: str | None = None, cell: str | None = None) -> Sequence[RowMapping]:
    query = select(rubric_item).where(rubric_item.c.assignment == assignment)
    if notebook is not None:
        query = query.where(rubric_item.c.notebook == notebook, rubric_item.c.cell == cell)
    return db.execute(query.order_by(rubric_item.c.position)).mappings().all()


def sync(gb: Any, rubrics: dict[tuple[str, str], CellRubric], assignment: str = ASSIGNMENT) -> dict[str, int]:
    """Bring the stored items in line with ``rubrics`` (parse_source's result) and regrade every
    mark an item changed under. Returns {"added", "changed", "removed", "regraded"} counts. One
    transaction: on any error nothing is written."""
    db = gb.db
    stored = {(r["notebook"], r["cell"], r["position"]): r for r in _item_rows(db, assignment)}
    wanted = {(nb, cell, item.position): item for (nb, cell), r in rubrics.items() for item in r.items}
    counts = {"added": 0, "changed": 0, "removed": 0}
    try:
        touched = _upsert_items(db, assignment, stored, wanted, counts)
        gone = [row["id"] for key, row in stored.items() if key not in wanted]
        touched |= set(gone)
        marks = _marks_with_items(db, touched)
        if gone:
            db.execute(delete(rubric_applied).where(rubric_applied.c.item_id.in_(gone)))
            db.execute(delete(rubric_item).where(rubric_item.c.id.in_(gone)))
            counts["removed"] = len(gone)
        for mark in marks:
            _write_grade(gb, mark)
        db.commit()
    except Exception:
        db.rollback()
        raise
    counts["regraded"] = len(marks)
    return counts


def _upsert_items(db: Any, assignment: str, stored: dict[tuple[str, str, int], RowMapping],
                  wanted: dict[tuple[str, str, int], Item], counts: dict[str, int]) -> set[int]:
    """Insert new items, update changed ones (counted into ``counts``); the ids changed."""
    touched: set[int] = set()
    for key, item in wanted.items():
        row = stored.get(key)
        if row is None:
            db.execute(insert(rubric_item).values(assignment=assignment, notebook=key[0], cell=key[1],
                                                  position=item.position, text=item.text, points=item.points))
            counts["added"] += 1
        elif (row["text"], row["points"]) != (item.text, item.points):
            db.execute(update(rubric_item).where(rubric_item.c.id == row["id"])
                       .values(text=item.text, points=item.points))
            counts["changed"] += 1
            touched.add(row["id"])
    return touched


def _marks_with_items(db: Any, item_ids: set[int]) -> Sequence[RowMapping]:
    if not item_ids:
        return []
    ids = select(rubric_applied.c.mark_id).where(rubric_applied.c.item_id.in_(item_ids)).distinct()
    return db.execute(select(rubric_mark).where(rubric_mark.c.id.in_(ids))).mappings().all()


# --- marks -------------------------------------------------------------------------------------

class Conflict(Exception):
    """A save made on a version another save already replaced; ``state`` is what is stored."""

    def __init__(self, state: dict[str, Any] | None) -> None:
        super().__init__("changed by another grader")
        self.state = state


def _applied(db: Any, mark_id: int) -> list[tuple[RowMapping, float]]:
    """[(item row, fraction)] a mark applies, in the rubric's order."""
    rows = db.execute(select(rubric_item, rubric_applied.c.fraction)
                      .join(rubric_applied, rubric_applied.c.item_id == rubric_item.c.id)
                      .where(rubric_applied.c.mark_id == mark_id)
                      .order_by(rubric_item.c.position)).mappings().all()
    return [(row, row["fraction"]) for row in rows]


def score_of(applied: list[tuple[RowMapping, float]], max_score: float) -> float:
    """The sum of the applied items' points (each times its fraction), clamped to [0, max_score]."""
    total = sum(row["points"] * fraction for row, fraction in applied)
    return round(min(max(total, 0.0), max_score), 4)


def compose_comment(applied: list[tuple[RowMapping, float]], note: str | None, score: float, max_score: float) -> str:
    """The comment nbgrader stores and feedback shows: the items applied, then the grader's note."""
    lines = [f"**Rubric** ({score:g} of {max_score:g} points):"]
    for row, fraction in applied:
        earned = row["points"] * fraction
        half = f" (half of {row['points']:g})" if fraction != 1 else ""
        lines.append(f"- {earned:+g}{half}: {row['text']}")
    if not applied:
        lines.append("- no rubric item applies")
    note = (note or "").strip()
    return "\n".join(lines) + (f"\n\n{note}" if note else "")


def _write_grade(gb: Any, mark: RowMapping) -> float:
    """nbgrader's grade and comment of ``mark`` (a rubric_mark row) from its applied items."""
    applied = _applied(gb.db, mark["id"])
    grade = gb.find_grade(mark["cell"], mark["notebook"], mark["assignment"], mark["student"])
    score = score_of(applied, grade.max_score)
    grade.manual_score = score
    grade.needs_manual_grade = False
    comment = gb.find_comment(mark["cell"], mark["notebook"], mark["assignment"], mark["student"])
    comment.manual_comment = compose_comment(applied, mark["note"], score, grade.max_score)
    return score


def _mark_row(db: Any, assignment: str, notebook: str, cell: str, student: str) -> RowMapping | None:
    return db.execute(select(rubric_mark).where(
        rubric_mark.c.assignment == assignment, rubric_mark.c.notebook == notebook,
        rubric_mark.c.cell == cell, rubric_mark.c.student == student)).mappings().first()


def _checked(db: Any, assignment: str, notebook: str, cell: str,
             applied: Mapping[str | int, float | str]) -> dict[int, float]:
    """``applied`` ({item id: fraction}) checked against the cell's items: ids of this cell,
    fraction 1, or 0.5 on a row worth 2 or more. Raises ValueError otherwise."""
    items = {row["id"]: row for row in _item_rows(db, assignment, notebook, cell)}
    checked: dict[int, float] = {}
    for item_id, fraction in applied.items():
        row = items.get(int(item_id))
        fraction = float(fraction)
        if row is None:
            raise ValueError(f"item {item_id} is not an item of {notebook}: {cell}")
        if fraction not in (0.5, 1.0) or (fraction == 0.5 and row["points"] < 2):
            raise ValueError(f"item {item_id}: fraction {fraction:g} not allowed")
        checked[row["id"]] = fraction
    return checked


def save_mark(gb: Any, student: str, notebook: str, cell: str, applied: Mapping[str | int, float | str],
              note: str = "", version: int = 0, grader: str = "", assignment: str = ASSIGNMENT) -> dict[str, Any]:
    """Store a grader's items for one student's cell and write nbgrader's grade and comment.

    ``applied``: {item id: 1 or 0.5}; ``version``: the version the grader loaded (0: none yet).
    Returns the new state (``cell_state``). Raises Conflict (nothing written) when the stored
    version is not ``version``, ValueError for items not of this cell, nbgrader's MissingEntry
    for an unknown student or cell."""
    db = gb.db
    note = str(note or "")[:MAX_NOTE]
    try:
        checked = _checked(db, assignment, notebook, cell, applied)
        gb.find_grade(cell, notebook, assignment, student)  # MissingEntry for an unknown cell
        mark = _mark_row(db, assignment, notebook, cell, student)
        values = {"note": note, "grader": str(grader)[:128], "updated": datetime.now(timezone.utc).replace(tzinfo=None)}
        if mark is None:
            if version:
                raise Conflict(None)
            mark_id = db.execute(insert(rubric_mark).values(
                assignment=assignment, notebook=notebook, cell=cell, student=student, version=1, **values)
            ).inserted_primary_key[0]
        else:
            done = db.execute(update(rubric_mark).where(rubric_mark.c.id == mark["id"],
                                                        rubric_mark.c.version == version)
                              .values(version=rubric_mark.c.version + 1, **values))
            if done.rowcount != 1:
                raise Conflict(None)
            mark_id = mark["id"]
        db.execute(delete(rubric_applied).where(rubric_applied.c.mark_id == mark_id))
        for item_id, fraction in checked.items():
            db.execute(insert(rubric_applied).values(mark_id=mark_id, item_id=item_id, fraction=fraction))
        _write_grade(gb, db.execute(select(rubric_mark).where(rubric_mark.c.id == mark_id)).mappings().one())
        db.commit()
    except (Conflict, IntegrityError):  # IntegrityError: another grader's first save won the insert
        db.rollback()
        raise Conflict(cell_state(gb, student, notebook, cell, assignment)) from None
    except Exception:
        db.rollback()
        raise
    return cell_state(gb, student, notebook, cell, assignment)


def cell_state(gb: Any, student: str, notebook: str, cell: str, assignment: str = ASSIGNMENT) -> dict[str, Any]:
    """What a grading page needs of one student's cell: the items applied ({item id: fraction}),
    the note, the version, who saved it last, and nbgrader's score and whether it needs grading."""
    db = gb.db
    grade = gb.find_grade(cell, notebook, assignment, student)
    mark = _mark_row(db, assignment, notebook, cell, student)
    applied = {row["id"]: fraction for row, fraction in _applied(db, mark["id"])} if mark else {}
    comment = gb.find_comment(cell, notebook, assignment, student).manual_comment
    return {"student": student, "notebook": notebook, "cell": cell,
            "applied": {str(k): v for k, v in applied.items()},
            "note": mark["note"] if mark else "", "version": mark["version"] if mark else 0,
            "grader": mark["grader"] if mark else "",
            "score": grade.manual_score, "max_score": grade.max_score, "comment": comment or "",
            "needs_manual_grade": bool(grade.needs_manual_grade)}


def items_of(gb: Any, notebook: str, cell: str, assignment: str = ASSIGNMENT) -> list[dict[str, Any]]:
    """The stored items of one cell: [{id, position, key, text, points, half_allowed}]."""
    out: list[dict[str, Any]] = []
    for row in _item_rows(gb.db, assignment, notebook, cell):
        item = Item(row["position"], row["text"], row["points"])
        out.append({"id": row["id"], "position": row["position"], "key": item.key, "text": row["text"],
                    "points": row["points"], "half_allowed": item.half_allowed})
    return out


def applied_items(gb: Any, student: str, notebook: str, cell: str,
                  assignment: str = ASSIGNMENT) -> list[tuple[str, float]]:
    """[(item text, points earned)] applied to one student's cell (feedback, tests)."""
    mark = _mark_row(gb.db, assignment, notebook, cell, student)
    return [(row["text"], row["points"] * fraction) for row, fraction in _applied(gb.db, mark["id"])] if mark else []


# --- rendering rubric text (math as MathML, like student answers) --------------------------------

@lru_cache(maxsize=4096)
def markdown_html(text: str) -> str:
    """Markdown (with math) as cleaned HTML, math as MathML: grading/pages/sanitize.py's rendering."""
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    from grading.pages.sanitize import MathMLRenderer, clean_html
    renderer = MathMLRenderer(escape=False, anchor_link_text="", exclude_anchor_links=True)
    return renderer.put_back(clean_html(MarkdownWithMath(renderer=renderer).render(text)))


# --- command line --------------------------------------------------------------------------------

def ensure(db_url: str | None = None, root: str | Path = COURSE_ROOT) -> dict[str, int]:
    """Migrate and sync the gradebook at ``db_url`` (the course's when not given); the counts."""
    from nbgrader.api import Gradebook

    from grading.course import load_config
    db_url = db_url or load_config(root).CourseDirectory.db_url
    rubrics = parse_source(root)
    with Gradebook(db_url) as gb:
        migrate(gb.engine)
        return sync(gb, rubrics)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rubric items of the written answers: parse, store, regrade.")
    parser.add_argument("command", nargs="?", default="sync", choices=["sync", "show"])
    args = parser.parse_args(argv)
    if args.command == "show":
        for (notebook, cell), rubric in parse_source().items():
            print(f"{notebook}: {cell} ({rubric.points:g} points)")
            for item in rubric.items:
                print(f"  [{item.key or ' '}] {item.points:+g}  {item.text}")
        return 0
    counts = ensure()
    print("rubric items: {added} added, {changed} changed, {removed} removed; "
          "{regraded} graded cells regraded".format(**counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
