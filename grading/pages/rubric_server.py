"""The rubric in the formgrader: item panels on nbgrader's submission page, and a page that grades
one written cell across the whole class.

Routes (added to the Jupyter server by ``install``, called from grading/pages/formgrader_csp.py's
``install``, so they get the same Content-Security-Policy as every formgrader page):

    <base>formgrader/rubric/questions                 the written cells, "n of m graded", links
    <base>formgrader/rubric/question/<notebook>/<cell> grade one cell across every student
    <base>formgrader/rubric/api/submission/<id>       items, model answers and marks of one
                                                      submitted notebook (nbgrader's page reads it)
    <base>formgrader/rubric/api/mark                  PUT: store one student's items (rubric.save_mark)
    <base>formgrader/rubric/static/...                the two scripts and the style sheet

Everything a student wrote is rendered by grading/pages/sanitize.py (the same cleaning and MathML as
nbgrader's pages here) and every other string is escaped; the scripts are files (no inline
script), and the page's data travels in a ``<script type="application/json">`` block, which the
browser never runs. All handlers are nbgrader's (authenticated, the course's gradebook).

Alike answers sit side by side: the grade-by-question page orders students so that answers the
similarity code finds identical or near-identical (grading/reports/similarity.py's per-cell
fingerprints, release text cut out) come one after another, and shows each answer's alike ones
beside it with the items they got.
"""
from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from grading.course import ASSIGNMENT
from grading.pages import rubric

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "formgrader/rubric"
ALIKE = 0.8  # Jaccard similarity of two answers' fingerprints from which they count as alike


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def json_for_script(data: object) -> str:
    """JSON safe inside a <script type="application/json"> block (no ``</script>``, no ``<!--``)."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- alike answers -------------------------------------------------------------------------------

def fingerprints(texts: dict[str, str], notebook: str, cell: str, release_dir: str | Path) -> dict[str, set[int]]:
    """{student: set of fingerprints} of one written cell (grading.reports.similarity's answer_grams: the
    release text is cut out, what is left is shingled)."""
    from grading.reports import similarity
    cells, keep = similarity.answer_cells(release_dir)
    target = next((c for c in cells if c.notebook == notebook and c.grade_id == cell), None)
    if target is None:
        return {s: set() for s in texts}
    return {s: {h for run in similarity.answer_grams(t, target, keep.get(notebook, frozenset())) for h, _, _ in run}
            for s, t in texts.items()}


def alike_groups(texts: dict[str, str], notebook: str, cell: str, release_dir: str | Path,
                 threshold: float = ALIKE) -> list[list[str]]:
    """Groups (lists of students, largest first, then by first student) of answers that are the
    same text or whose fingerprints overlap by at least ``threshold`` (Jaccard). Students whose
    answer is empty are not grouped."""
    fps = fingerprints(texts, notebook, cell, release_dir)
    students = sorted(s for s, t in texts.items() if t.strip())
    parent = {s: s for s in students}

    def root(s: str) -> str:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s
    for a, b in _alike_pairs(students, texts, fps, threshold):
        parent[root(b)] = root(a)
    groups: dict[str, list[str]] = {}
    for s in students:
        groups.setdefault(root(s), []).append(s)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def _alike_pairs(students: list[str], texts: dict[str, str], fps: dict[str, set[int]],
                 threshold: float) -> Iterator[tuple[str, str]]:
    """Pairs of students whose answers are the same text (whitespace aside) or overlap enough."""
    first: dict[str, str] = {}
    for s in students:
        key = " ".join(texts[s].split())
        if key in first:
            yield first[key], s
        first.setdefault(key, s)
    for i, a in enumerate(students):
        for b in students[i + 1:]:
            if fps[a] and fps[b] and len(fps[a] & fps[b]) >= threshold * len(fps[a] | fps[b]):
                yield a, b


# --- one question across the class -------------------------------------------------------------

def answer_text(nb: NotebookNode, cell: str) -> str | None:
    for c in nb.cells:
        if c.cell_type == "markdown" and c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == cell:
            return c.source
    return None


def class_answers(gb: Any, notebook: str, cell: str, autograded_dir: str | Path,
                  assignment: str = ASSIGNMENT) -> dict[str, str | None]:
    """{student: answer text or None (no readable graded copy)} of every student with a
    submission of ``notebook`` in the gradebook."""
    import nbformat
    out: dict[str, str | None] = {}
    for sub in gb.notebook_submissions(notebook, assignment):
        path = Path(autograded_dir, sub.student.id, assignment, f"{notebook}.ipynb")
        try:
            out[sub.student.id] = answer_text(nbformat.read(path, as_version=4), cell)
        except Exception:  # noqa: BLE001 - a missing or damaged graded copy: shown as such
            out[sub.student.id] = None
    return out


def _alike_first(texts: dict[str, str | None],
                 groups: list[list[str]]) -> tuple[list[str], dict[str, list[str]]]:
    """(students with each group of alike answers together, {student: the others of its group})."""
    grouped = [s for g in groups for s in g]
    order = grouped + sorted(s for s in texts if s not in set(grouped))
    return order, {s: [p for p in g if p != s] for g in groups for s in g}


def _student_entry(gb: Any, student: str, text: str | None, alike: list[str], notebook: str, cell: str,
                   assignment: str) -> dict[str, Any]:
    written = bool(text and text.strip())
    return {"student": student, "alike": alike, "html": rubric.markdown_html(text) if written else "",
            "missing": text is None, "empty": text is not None and not written,
            "state": rubric.cell_state(gb, student, notebook, cell, assignment)}


def question_data(gb: Any, root: str | Path, notebook: str, cell: str, base_url: str = "",
                  assignment: str = ASSIGNMENT) -> dict[str, Any] | None:
    """Everything the grade-by-question page shows, as plain data: the cell's items and model
    answer (HTML), and the students in alike-first order with their answer HTML, their alike
    peers and their stored marks."""
    rubrics = rubric.parse_source(root, assignment)
    if (notebook, cell) not in rubrics:
        return None
    texts = class_answers(gb, notebook, cell, Path(root, "autograded"), assignment)
    groups = alike_groups({s: t or "" for s, t in texts.items()}, notebook, cell, Path(root, "release", assignment))
    order, peers = _alike_first(texts, groups)
    students = [_student_entry(gb, s, texts[s], peers.get(s, []), notebook, cell, assignment) for s in order]
    items = [dict(i, html=rubric.markdown_html(i["text"])) for i in rubric.items_of(gb, notebook, cell, assignment)]
    return {"notebook": notebook, "cell": cell, "points": rubrics[(notebook, cell)].points,
            "model_html": rubric.markdown_html(rubrics[(notebook, cell)].model_answer), "items": items,
            "students": students, "base_url": base_url, "groups": [g for g in groups if len(g) > 1]}


KEY_HELP = [("1-9", "apply or remove that item (full points)"),
            ("Shift+1-9", "half the item's points (items worth 2 or more)"),
            ("-", "over the sentence limit (deduction)"), ("0", "graded: no item applies"),
            ("c", "write a note for the student (Esc leaves it)"), ("m", "show or hide the model answer"),
            ("j or n", "next answer"), ("k or p", "previous answer"), ("u", "next answer not graded yet")]


def _items_html(items: list[dict[str, Any]]) -> str:
    rows = []
    for item in items:
        half = " (Shift: half)" if item["half_allowed"] else ""
        rows.append(f'<li><button type="button" class="rubric-item" data-id="{item["id"]}" aria-pressed="false">'
                    f'<kbd>{_e(item["key"])}</kbd> <span class="points">{item["points"]:+g}{half}</span> '
                    f'<span class="text">{item["html"]}</span></button></li>')
    return "\n".join(rows)


def _answer_html(i: int, s: dict[str, Any]) -> str:
    """One student's answer as an <article> (hidden until the page shows it)."""
    body = s["html"] or ("<p><em>no readable graded copy</em></p>" if s["missing"]
                         else "<p><em>nothing written</em></p>")
    alike = f'<p class="alike">Alike answers: {_e(", ".join(s["alike"]))}</p>' if s["alike"] else ""
    return (f'<article class="answer" data-index="{i}" aria-labelledby="who-{i}" hidden>'
            f'<h2 id="who-{i}">{_e(s["student"])}</h2>{alike}<div class="answer-text">{body}</div></article>')


def question_page(data: dict[str, Any], base_url: str) -> str:
    """The grade-by-question page (HTML). ``data``: question_data's result."""
    static = f"{base_url}/{PREFIX}/static"
    answers = [_answer_html(i, s) for i, s in enumerate(data["students"])]
    keys = "".join(f"<dt><kbd>{_e(k)}</kbd></dt><dd>{_e(v)}</dd>" for k, v in KEY_HELP)
    public = {k: v for k, v in data.items() if k not in ("model_html",)}
    public["students"] = [{k: v for k, v in s.items() if k != "html"} for s in data["students"]]
    title = f"{data['notebook']}: {data['cell']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Grade {_e(title)} across the class</title>
<link rel="stylesheet" href="{static}/rubric.css"></head>
<body class="rubric-question"><main>
<h1>Grade <code>{_e(title)}</code> ({data["points"]:g} points) across the class</h1>
<p><a href="{base_url}/{PREFIX}/questions">All written questions</a> ·
<span id="position" aria-live="polite"></span> · <span id="progress"></span></p>
<div class="layout">
<section id="answers" aria-label="The student's answer">
{"".join(answers)}
<section id="peers" aria-label="Alike answers and their items"></section>
</section>
<section id="rubric" aria-label="Rubric">
<h2>Rubric items</h2>
<ul class="rubric-items">{_items_html(data["items"])}</ul>
<p id="score" aria-live="polite"></p>
<label for="note">Note for the student (optional)</label>
<textarea id="note" class="rubric-note" rows="3"></textarea>
<p id="status" role="status"></p>
<details id="model" class="model"><summary>Model answer (m)</summary>
<div class="model-answer">{data["model_html"]}</div></details>
<details><summary>Keys</summary><dl class="keys">{keys}</dl></details>
</section>
</div>
<script type="application/json" id="rubric-data">{json_for_script(public)}</script>
<script src="{static}/rubric.js"></script>
</main></body></html>
"""


def questions_page(rows: list[tuple[str, str, int, int]], base_url: str) -> str:
    """The list of written cells with how many students are graded."""
    body = "\n".join(
        f'<tr><td><a href="{base_url}/{PREFIX}/question/{_e(nb)}/{_e(cell)}">{_e(nb)}: {_e(cell)}</a></td>'
        f"<td>{done} of {total}</td></tr>" for nb, cell, done, total in rows)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Written questions</title>
<link rel="stylesheet" href="{base_url}/{PREFIX}/static/rubric.css"></head>
<body class="rubric-question"><main><h1>Written questions: grade one across the class</h1>
<p><a href="{base_url}/formgrader">Formgrader</a></p>
<table><thead><tr><th scope="col">question</th><th scope="col">graded</th></tr></thead>
<tbody>{body}</tbody></table></main></body></html>
"""


def progress(gb: Any, rubrics: Iterable[tuple[str, str]],
             assignment: str = ASSIGNMENT) -> list[tuple[str, str, int, int]]:
    """[(notebook, cell, graded, students)] of every written cell."""
    counts = {key: [0, 0] for key in rubrics}
    for sub in gb.assignment_submissions(assignment):
        for nb in sub.notebooks:
            for grade in nb.grades:
                key = (nb.name, grade.name)
                if key in counts:
                    counts[key][1] += 1
                    counts[key][0] += not grade.needs_manual_grade
    return [(nb, cell, done, total) for (nb, cell), (done, total) in counts.items()]


# --- tornado handlers ----------------------------------------------------------------------------

def _handlers() -> list[tuple[str, type, dict[str, Any]]]:
    from nbgrader.api import MissingEntry
    from nbgrader.server_extensions.formgrader.base import BaseApiHandler, BaseHandler, check_xsrf
    from tornado import web

    class Mixin:
        def ready(self: Any) -> str:
            """Migrate and sync once per server process, then the course root."""
            root = self.coursedir.root
            if not self.settings.get("rubric_synced"):
                rubric.migrate(self.gradebook.engine)
                rubric.sync(self.gradebook, rubric.parse_source(root, ASSIGNMENT))
                self.settings["rubric_synced"] = True
            return root

        def grader(self: Any) -> str:
            user = self.current_user
            return getattr(user, "username", None) or getattr(user, "name", None) or str(user or "")

    class QuestionsHandler(Mixin, BaseHandler):
        @web.authenticated
        @check_xsrf
        def get(self) -> None:
            root = self.ready()
            rows = progress(self.gradebook, rubric.parse_source(root, ASSIGNMENT))
            self.write(questions_page(rows, self.base_url))

    class QuestionHandler(Mixin, BaseHandler):
        @web.authenticated
        @check_xsrf
        def get(self, notebook: str, cell: str) -> None:
            root = self.ready()
            data = question_data(self.gradebook, root, notebook, cell, self.base_url)
            if data is None:
                raise web.HTTPError(404, "no written cell of that name")
            self.write(question_page(data, self.base_url))

    class SubmissionApi(Mixin, BaseApiHandler):
        @web.authenticated
        @check_xsrf
        def get(self, submission_id: str) -> None:
            root = self.ready()
            try:
                sub = self.gradebook.find_submission_notebook_by_id(submission_id)
            except MissingEntry:
                raise web.HTTPError(404) from None
            student, notebook = sub.student.id, sub.name
            rubrics = rubric.parse_source(root, ASSIGNMENT)
            cells: dict[str, Any] = {}
            for (nb, cell), r in rubrics.items():
                if nb != notebook:
                    continue
                items = [dict(i, html=rubric.markdown_html(i["text"]))
                         for i in rubric.items_of(self.gradebook, nb, cell)]
                cells[cell] = {"items": items, "model_html": rubric.markdown_html(r.model_answer),
                               "state": rubric.cell_state(self.gradebook, student, nb, cell),
                               "question_url": f"{self.base_url}/{PREFIX}/question/{nb}/{cell}"}
            self.set_header("Content-Type", "application/json")
            self.write(json.dumps({"student": student, "notebook": notebook, "cells": cells}))

    class MarkApi(Mixin, BaseApiHandler):
        @web.authenticated
        @check_xsrf
        def put(self) -> None:
            self.ready()
            data = self.get_json_body()
            if not isinstance(data, dict) or not isinstance(data.get("applied", {}), dict):
                raise web.HTTPError(400, "expected {student, notebook, cell, applied, note, version}")
            self.set_header("Content-Type", "application/json")
            try:
                state = rubric.save_mark(self.gradebook, str(data.get("student")), str(data.get("notebook")),
                                         str(data.get("cell")), data.get("applied", {}), data.get("note", ""),
                                         int(data.get("version", 0)), self.grader())
            except rubric.Conflict as conflict:
                self.set_status(409)
                self.write(json.dumps({"conflict": True, "state": conflict.state}))
                return
            except (ValueError, TypeError) as error:
                raise web.HTTPError(400, str(error)) from None
            except MissingEntry:
                raise web.HTTPError(404, "no such student or cell") from None
            self.write(json.dumps(state))

    return [
        (f"{PREFIX}/questions", QuestionsHandler, {}),
        (f"{PREFIX}/question/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)", QuestionHandler, {}),
        (f"{PREFIX}/api/submission/([A-Za-z0-9_-]+)", SubmissionApi, {}),
        (f"{PREFIX}/api/mark", MarkApi, {}),
        (f"{PREFIX}/static/(.*)", web.StaticFileHandler, {"path": str(STATIC)}),
    ]


def install(web_app: Any, base_url: str) -> None:
    """Add the routes in front of the formgrader's catch-all 404 (idempotent)."""
    if web_app.settings.get("rubric_routes"):
        return
    base = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
    rules = [(base + pattern + "$", handler, kwargs) for pattern, handler, kwargs in _handlers()]
    web_app.add_handlers(".*$", rules)
    router = web_app.default_router
    router.rules.insert(0, router.rules.pop(-2))  # tornado adds before its wildcard rule: ours first
    web_app.settings["rubric_routes"] = True


def static_path(name: str) -> str:
    return os.path.join(STATIC, name)
