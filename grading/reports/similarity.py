"""Which pairs of students wrote alike answers: a ranked list of what to look at, cell by cell.

    python -m grading.reports.similarity [--submitted submitted] [--out reports/similarity.json] [--sources DIR]

writes ``reports/similarity.json`` (``{"students", "flag_line", "chance_flags", "meaning", "pairs":
[{"a", "b", "score", "flagged", "cells"}, ...] most alike first, "outside": [{"student", "source",
"score", "flagged", "cells"}, ...]}``) and ``reports/similarity.html`` (the same section the
instructor's report shows). Nothing here says anyone cheated: a high score is a reason to read two
notebooks side by side, nothing more. Settings: ``c.Similarity.*`` (grading/settings.py).

The method, and why
-------------------
Whole-file tools (MOSS, copydetect) drown the signal in notebooks: every student has the same
starter code, docstrings and instructor test cells. So the unit of comparison is the **answer
cell**: each cell the release marks ``solution: true`` (code, and the written answers), matched by
its nbgrader ``grade_id`` across students (which cells are answers is read from the release, never
from a submission's metadata). Instructor cells are never read from a submission; everything the
release notebook itself contains (starter stubs, docstrings, question text, test cells) is
subtracted from every answer: tokens covered by a fingerprint of the release are cut out, and no
fingerprint spans a cut, so pasting starter or test code next to one's own adds nothing.

* **Code**: Python's ``tokenize``; comments and blank lines dropped; identifiers become ``V``
  (except keywords, builtins, imported module names, the function names the release defines,
  attribute names after ``.`` and keyword argument names, which a renaming leaves alone),
  numbers ``N``, strings ``S``; indentation kept as block tokens, so whitespace and layout are
  invisible but structure is not. Fingerprints are every window of ``K_CODE`` tokens, and long
  windows of ``LONG`` such windows end to end (15 tokens): a long run two students share exactly
  has fingerprints of its own even when each of its short pieces is common. (A cell that does not
  tokenize falls back to a regex split.) **Written answers**: lowercased words (LaTeX commands and
  punctuation dropped), in windows of ``K_TEXT`` words and long windows the same way.
* **What is rare weighs.** A fingerprint ``df`` of the ``n`` students hold carries, when two
  students share it, the information ``log((n - 1) / (df - 1))`` (the chance that another student
  holds it too) less ``log(1 / common)``, never below 0: what a quarter of the class writes
  (``c.Similarity.common``) carries nothing, a run nobody else wrote carries the most. The
  information a pair shares in a cell is the sum over what they share, per token, in units of one
  token nobody else wrote (a written word counts ``TEXT_WEIGHT`` code tokens: its vocabulary is far
  larger); so identical common answers add little, identical uncommon ones a lot, and a long shared
  run (many windows, long ones too) more than scattered pieces. In code cells it is multiplied by
  the square root of the share of the two answers' information that is shared (a copy shares
  nearly all of it; two students who chose the same approach share parts).
* **Against the class's own answers, cell by cell.** A pair's evidence in a cell is first a
  likelihood: how many of a's classmates share at least as much with a as b does, and of b's
  with b (the larger count), as ``-log(count / (n - 1))``, less what being among the closest
  quarter (``NEAREST``) carries: a pair who wrote what many others wrote alike is no surprise, a
  pair nobody else comes near is. To that is added ``INFO_WEIGHT`` x the information they share,
  saturating at ``CELL_CAP`` (so a long identical rare answer adds more than a close one). A
  pair's **score** is the sum over cells: evidence that adds up over many cells.
* **Outside sources** (``c.Similarity.sources``: a folder of other courses' solutions, forum
  posts, ... as .py, .ipynb, .md, .txt or .html; in text the fenced or <pre> blocks are the code):
  every answer is compared with every source the same way (rarity still measured in the class), and
  a student whose score against one is above its own flag line is reported as "shares uncommon code
  with <source>", alone or with others. Two students who both match a source have the smaller
  match added to their pair's evidence in that cell.
* **Flagging is calibrated on the class**: the top 10 % of the class's pair scores is fitted as an
  exponential tail (its scale from the median excess, so a few copies do not stretch it), and the
  flag line is where a class of this size in which everyone wrote their own answers would put
  ``c.Similarity.chance_flags`` pairs above it by chance (0.05: one class in twenty would see one
  honest pair flagged). The report says so. Students against sources: the same on their scores.

The report shows a heat map of pair scores, every flagged pair (then the highest others), the
top pairs of every cell, the matches with outside sources, and for each flagged pair its cells
side by side with the passages they share (and most of the class does not) marked.
``tests/similarity_class.py`` builds classes that can tell whether this works, ``make bench
SECTIONS=similarity`` measures it.
"""
from __future__ import annotations

import argparse
import builtins
import hashlib
import html
import io
import json
import keyword
import math
import re
import sys
import tokenize
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import nbformat
import numpy as np
import numpy.typing as npt
from nbformat import NotebookNode

from grading.cells import grade_id as grade_id_of
from grading.cells import is_answer_cell
from grading.course import ASSIGNMENT, COURSE_ROOT, RELEASE, SUBMITTED
from grading.reports.page import escape, page, png_base64

if TYPE_CHECKING:
    from traitlets.config import Config

    from grading.settings import Similarity

K_CODE = 5  # tokens per code fingerprint
K_TEXT = 5  # words per written-answer shingle
MIN_RUN = 3  # a stretch of fewer tokens between pieces of release text is not fingerprinted
COVERAGE_POWER = 0.5  # code: evidence x (share of the two answers' information in common) ** this
CELL_CAP = 8.0  # the information part of one cell's evidence saturates at this (tokens nobody else wrote)
INFO_WEIGHT = 0.3  # a cell's evidence: neighbour surprise + this x the (saturating) information shared
NEAREST = 0.25  # a pair carries surprise in a cell when each is among the other's closest quarter
TEXT_WEIGHT = 3.0  # a written word carries this many code tokens' worth (a far larger vocabulary)


# --- fingerprints ------------------------------------------------------------------------------

_KEEP = set(keyword.kwlist) | set(dir(builtins)) | {"np", "numpy", "math", "self"}
_IMPORTS = re.compile(r"^\s*(?:from\s+\S+\s+)?import\s+(.+)$", re.MULTILINE)
_FALLBACK = re.compile(r"#[^\n]*|(\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|\"[^\"\n]*\"|'[^'\n]*')"
                       r"|([A-Za-z_]\w*)|(\d[\w.]*)|(\S)")
_DEFINED = re.compile(r"^\s*def\s+(\w+)", re.MULTILINE)
_WORD = re.compile(r"\\[A-Za-z]+|[A-Za-z0-9]+")


def imported_names(text: str) -> set[str]:
    """Names bound by import statements in ``text`` (module aliases such as ``np``)."""
    names: set[str] = set()
    for m in _IMPORTS.finditer(text):
        for part in m.group(1).replace("(", " ").replace(")", " ").split(","):
            words = part.split()
            if words:
                names.add(words[-1].split(".")[0])
    return names


def _line_offsets(src: str) -> list[int]:
    offsets, pos = [0], 0
    for line in src.splitlines(keepends=True):
        pos += len(line)
        offsets.append(pos)
    return offsets


def code_tokens(src: str, keep: Collection[str] = frozenset()) -> list[Token]:
    """[(normalised token, start, end)] of Python source, offsets into ``src``."""
    try:
        raw = list(tokenize.generate_tokens(io.StringIO(src).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _fallback_tokens(src, keep)
    offsets = _line_offsets(src + "\n")
    sig = [t for t in raw if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING,
                                            tokenize.ENDMARKER)]
    out: list[Token] = []
    depth = 0
    for i, t in enumerate(sig):
        start = offsets[t.start[0] - 1] + t.start[1]
        end = start if t.type in (tokenize.INDENT, tokenize.DEDENT) else offsets[t.end[0] - 1] + t.end[1]
        norm, depth = _normalised(sig, i, keep, depth)
        out.append((norm, start, end))
    return out


# what a token of these types becomes, whatever its text
_FIXED = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}", tokenize.NUMBER: "N", tokenize.STRING: "S"}


def _name(sig: list[tokenize.TokenInfo], i: int, keep: Collection[str], depth: int) -> str:
    """A name token as itself where a renaming leaves it alone (keywords, builtins, ``keep``,
    attributes after ``.``, keyword arguments inside brackets), else ``V``."""
    t = sig[i]
    prev = sig[i - 1].string if i else ""
    nxt = sig[i + 1].string if i + 1 < len(sig) else ""
    kept = t.string in _KEEP or t.string in keep or prev == "." or (depth > 0 and nxt == "=")
    return t.string if kept else "V"


def _normalised(sig: list[tokenize.TokenInfo], i: int, keep: Collection[str], depth: int) -> tuple[str, int]:
    """(token i of ``sig`` normalised, the bracket depth after it)."""
    t = sig[i]
    if t.type == tokenize.NAME:
        return _name(sig, i, keep, depth), depth
    if t.type in _FIXED:
        return _FIXED[t.type], depth
    if t.string in "([{":
        depth += 1
    elif t.string in ")]}":
        depth = max(0, depth - 1)
    return t.string, depth


def _fallback_tokens(src: str, keep: Collection[str]) -> list[Token]:
    out: list[Token] = []
    for m in _FALLBACK.finditer(src):
        if m.group(0).startswith("#"):
            continue
        if m.group(1):
            norm = "S"
        elif m.group(2):
            norm = m.group(2) if m.group(2) in _KEEP or m.group(2) in keep else "V"
        elif m.group(3):
            norm = "N"
        else:
            norm = m.group(4)
        out.append((norm, m.start(), m.end()))
    return out


def text_tokens(src: str) -> list[Token]:
    """[(word, start, end)] of a written answer: lowercased, LaTeX commands and punctuation dropped."""
    return [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(src)
            if not m.group(0).startswith("\\")]


def _hash(words: Sequence[str]) -> int:
    """A 64-bit hash of a run of tokens, the same in every process (``hash`` of a str is not)."""
    return int.from_bytes(hashlib.blake2b("\x1f".join(words).encode(), digest_size=8).digest(), "little")


def kgrams(tokens: Sequence[Token], k: int) -> list[Gram]:
    """[(hash, start, end)] of every window of k tokens (one window if there are fewer)."""
    if not tokens:
        return []
    if len(tokens) < k:
        return [(_hash([t[0] for t in tokens]), tokens[0][1], tokens[-1][2])]
    words = [t[0] for t in tokens]
    return [(_hash(words[i:i + k]), tokens[i][1], tokens[i + k - 1][2])
            for i in range(len(tokens) - k + 1)]


# --- the class ---------------------------------------------------------------------------------

# a token: (normalised text, start, end offsets in the answer); a k-gram: (hash, start, end)
Token = tuple[str, int, int]
Gram = tuple[int, int, int]


@dataclass
class AnswerCell:
    notebook: str
    grade_id: str
    kind: Literal["code", "markdown"]
    starter: set[int]  # every fingerprint of the release notebook (of this kind): never evidence


@dataclass
class PairResult:
    a: str
    b: str
    score: float
    cells: list[str]  # grade_ids with evidence, most first
    evidence: dict[str, float] = field(default_factory=dict)  # grade_id: evidence in that cell


@dataclass
class SourceMatch:
    student: str
    source: str  # the outside source's file name
    score: float
    cells: list[str]  # grade_ids with evidence, most first
    evidence: dict[str, float] = field(default_factory=dict)  # grade_id: evidence in that cell


@dataclass
class OutsideSource:
    name: str  # file name inside the sources folder
    code: str  # the Python it holds (code cells, fenced or <pre> blocks, or the whole .py file)
    text: str  # its prose (for written answers)


@dataclass
class Comparison:
    students: list[str]
    cells: list[AnswerCell]
    pairs: list[PairResult]  # the pairs worth showing, highest score first
    scores: npt.NDArray[np.float64]  # students x students pair scores
    cell_scores: npt.NDArray[np.float32]  # cells x students x students evidence per cell
    flag_line: float
    chance_flags: float  # honest pairs a class of this size would put above flag_line by chance
    sources: dict[tuple[str, str], str]  # (student, grade_id): answer text
    keep: dict[str, frozenset[str]]  # notebook: names kept verbatim in code (imports)
    df: dict[str, dict[int, int]]  # grade_id: {hash: how many students}
    matches: list[SourceMatch] = field(default_factory=list)  # highest score first
    outside: list[OutsideSource] = field(default_factory=list)
    common: float = 0.25  # the Similarity.common it was computed with
    source_line: float = float("inf")  # a student's match with an outside source is flagged from here
    seconds: float = 0.0

    @property
    def flagged(self) -> list[PairResult]:
        return [p for p in self.pairs if p.score >= self.flag_line]

    @property
    def flagged_matches(self) -> list[SourceMatch]:
        return [m for m in self.matches if m.score >= self.source_line]

    def meaning(self) -> str:
        """What a flag means, in a sentence."""
        n = len(self.students)
        odds = (f" (one such class in {round(1 / self.chance_flags)} would have one honest pair flagged)"
                if 0 < self.chance_flags < 1 else "")
        return (f"a pair is flagged when its score is at least {self.flag_line:.1f}: fitted to this class's own "
                f"pair scores, a class of {n} students who all wrote their own answers would have on average "
                f"{self.chance_flags:.2g} of its {n * (n - 1) // 2} pairs above that line by chance{odds}")

    def as_json(self) -> dict[str, Any]:
        return {"students": len(self.students), "flag_line": round(self.flag_line, 3),
                "chance_flags": round(self.chance_flags, 4), "meaning": self.meaning(),
                "pairs": [{"a": p.a, "b": p.b, "score": round(p.score, 3), "flagged": p.score >= self.flag_line,
                           "cells": list(p.cells)} for p in self.pairs],
                "outside": [{"student": m.student, "source": m.source, "score": round(m.score, 3),
                             "flagged": m.score >= self.source_line, "cells": list(m.cells)} for m in self.matches]}


def _starter(nb: NotebookNode, keep: Collection[str]) -> dict[str, set[int]]:
    """{"code": hashes, "markdown": hashes}: every fingerprint of the release notebook ``nb``."""
    starter: dict[str, set[int]] = {"code": set(), "markdown": set()}
    for c in nb.cells:
        if c.cell_type == "code":
            starter["code"] |= {h for h, _, _ in kgrams(code_tokens(c.source, keep), K_CODE)}
        elif c.cell_type == "markdown":
            starter["markdown"] |= {h for h, _, _ in kgrams(text_tokens(c.source), K_TEXT)}
    return starter


def answer_cells(release_dir: str | Path = RELEASE) -> tuple[list[AnswerCell], dict[str, frozenset[str]]]:
    """The answer cells of every release notebook, with the release text that never counts."""
    cells: list[AnswerCell] = []
    keep: dict[str, frozenset[str]] = {}
    for path in sorted(Path(release_dir).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code_text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        keep[path.stem] = frozenset(imported_names(code_text) | set(_DEFINED.findall(code_text)))
        starter = _starter(nb, keep[path.stem])
        for c in nb.cells:
            if is_answer_cell(c) and c.cell_type in ("code", "markdown"):
                cells.append(AnswerCell(path.stem, grade_id_of(c) or "", c.cell_type, starter[c.cell_type]))
    return cells, keep


def load_submissions(submitted_dir: str | Path = SUBMITTED,
                     assignment: str = ASSIGNMENT) -> dict[str, dict[str, dict[str, Any]]]:
    """{student: {notebook: notebook dict}} from submitted/<student>/<assignment>/*.ipynb; a file
    that is not a readable notebook is left out (the runner names those)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for folder in sorted(Path(submitted_dir).glob(f"*/{assignment}")):
        nbs: dict[str, dict[str, Any]] = {}
        for path in sorted(folder.glob("*.ipynb")):
            try:
                nbs[path.stem] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
        out[folder.parent.name] = nbs
    return out


_FENCED = re.compile(r"```[^\n]*\n(.*?)```|<pre[^>]*>(.*?)</pre>", re.S | re.I)
SOURCE_SUFFIXES = {".py", ".ipynb", ".md", ".txt", ".html", ".htm"}
MAX_SOURCE_BYTES = 2_000_000  # an outside source larger than this is read only this far


def _parses(text: str) -> bool:
    import ast
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


def _notebook_source(name: str, raw: str) -> OutsideSource:
    try:
        cells = json.loads(raw).get("cells", [])
    except (ValueError, AttributeError):
        cells = []
    cells = [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []

    def joined(kind: str) -> str:
        return "\n\n".join(_joined(c.get("source", "")) for c in cells if c.get("cell_type") == kind)
    return OutsideSource(name, joined("code"), joined("markdown"))


def outside_source(path: Path) -> OutsideSource:
    """An OutsideSource from one file of the sources folder: a notebook's code and markdown cells,
    a .py file as code, and in any other text the fenced (```) or <pre> blocks as code and the
    rest as prose (all of it as code when it is Python as a whole). Read up to MAX_SOURCE_BYTES."""
    with open(path, "rb") as f:
        raw = f.read(MAX_SOURCE_BYTES).decode("utf-8", errors="replace")
    if path.suffix.lower() == ".ipynb":
        return _notebook_source(path.name, raw)
    if path.suffix.lower() == ".py" or _parses(raw):
        return OutsideSource(path.name, raw, "")
    blocks = [html.unescape(m.group(2)) if m.group(2) is not None else m.group(1) for m in _FENCED.finditer(raw)]
    return OutsideSource(path.name, "\n\n".join(blocks), _FENCED.sub(" ", raw))


def _joined(src: object) -> str:
    return "".join(str(s) for s in src) if isinstance(src, list) else str(src)


def load_outside_sources(folder: str | Path | None) -> list[OutsideSource]:
    """[OutsideSource] of every readable file (SOURCE_SUFFIXES) under ``folder``, sorted by name;
    an empty list when the folder is not set or does not exist."""
    if not folder:
        return []
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [outside_source(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES and not p.name.startswith(".")]


def _answer_text(nb: dict[str, Any] | None, grade_id: str) -> str:
    for cell in (nb or {}).get("cells", []):
        if grade_id_of(cell) == grade_id:
            src = cell.get("source", "")
            return "".join(src) if isinstance(src, list) else str(src)
    return ""


def answer_runs(text: str, cell: AnswerCell, keep: Collection[str]) -> list[list[Token]]:
    """Runs of the answer's tokens with the release text cut out: tokens covered by any k-gram
    of the release notebook are removed, and no run spans a removed stretch (so pasting the
    starter next to one's own code creates no new shared fingerprint at the seam)."""
    if cell.kind == "code":
        tokens, k = code_tokens(text, keep), K_CODE
    else:
        tokens, k = text_tokens(text), K_TEXT
    covered = [False] * len(tokens)
    for i, (h, _, _) in enumerate(kgrams(tokens, k)):
        if h in cell.starter:
            covered[i:i + k] = [True] * min(k, len(tokens) - i)
    runs: list[list[Token]] = []
    run: list[Token] = []
    for token, gone in zip(tokens, covered, strict=True):
        if gone:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(token)
    if run:
        runs.append(run)
    return [r for r in runs if len(r) >= MIN_RUN]


def answer_grams(text: str, cell: AnswerCell, keep: Collection[str]) -> list[list[Gram]]:
    """Runs of the answer's k-grams with the release text cut out (answer_runs)."""
    k = K_CODE if cell.kind == "code" else K_TEXT
    return [kgrams(r, k) for r in answer_runs(text, cell, keep)]


LONG = 3  # a long window chains this many consecutive k-grams: 15 tokens of code, 15 words
# code tokens that say nothing of what the code does: a window of only these is layout (where a
# function ends and the next begins), which a reordering or a file of several functions makes up
STRUCTURE = frozenset({"V", "N", "S", ";", "{", "}", "(", ")", "[", "]", ",", ":", "=", ".", "def", "return"})


def _with_content(hashes: list[int], run: list[Token], k: int) -> list[int]:
    """The hashes of the code windows of ``run`` that are not layout only (STRUCTURE)."""
    words = [t[0] for t in run]
    return [h for i, h in enumerate(hashes) if not STRUCTURE.issuperset(words[i:i + k])]


def _fingerprints(text: str, cell: AnswerCell, keep: Collection[str], long: int | None = None) -> set[int]:
    """Every k-gram hash of the answer outside the release text (not winnowed: how much two
    answers share is measured in k-grams, each window once) except code windows of layout only
    (STRUCTURE), and the long windows: ``long`` k-grams end to end, so a long run shared exactly,
    which no short window can tell from its common pieces, has fingerprints of its own."""
    out: set[int] = set()
    long = long or LONG
    k = K_CODE if cell.kind == "code" else K_TEXT
    span = k * (long - 1)
    for run in answer_runs(text, cell, keep):
        hashes = [h for h, _, _ in kgrams(run, k)]
        out.update(_with_content(hashes, run, k) if cell.kind == "code" else hashes)
        if long > 1:
            out.update(hash(tuple(hashes[i:i + span + 1:k])) for i in range(len(hashes) - span))
    return out


def _document_frequency(sets: Iterable[set[int]]) -> dict[int, int]:
    """{fingerprint: how many of the students' sets hold it}."""
    df: dict[int, int] = {}
    for fp in sets:
        for h in fp:
            df[h] = df.get(h, 0) + 1
    return df


def _membership(sets: list[set[int]], column: dict[int, int]) -> npt.NDArray[np.float32]:
    """students x len(column) matrix: 1 where the student's set holds the fingerprint."""
    member = np.zeros((len(sets), len(column)), dtype=np.float32)
    for i, fp in enumerate(sets):
        cols = [column[h] for h in fp if h in column]
        member[i, cols] = 1.0
    return member


def information(counts: npt.NDArray[Any], n: int, common: float) -> npt.NDArray[Any]:
    """The information (nats) of two answers both holding a fingerprint that ``counts`` of the n
    students hold: -log of the chance that another student holds it too, (counts - 1) / (n - 1)
    (at least 1 / (n - 1)), less what a fingerprint held by the ``common`` fraction of the class
    carries, never below 0."""
    chance = np.maximum(counts - 1, 1) / max(n - 1, 1)
    return np.maximum(0.0, -np.log(chance) + math.log(common))


def _cell_evidence(sets: list[set[int]], df: dict[int, int], common: float, code: bool) -> npt.NDArray[Any] | None:
    """students x students evidence of one cell (``code``: a code cell): the information of the
    fingerprints each pair shares, per token (divided by the k-gram length); for code, times the
    square root of how much of the two answers' information that is (a copy shares nearly all of
    it, two students who chose the same approach only parts). None when no fingerprint is shared
    by a rare enough few."""
    n = len(sets)
    k = K_CODE if code else K_TEXT
    shared = [h for h, c in df.items() if 2 <= c <= common * n]
    if not shared:
        return None
    column = {h: j for j, h in enumerate(shared)}
    member = _membership(sets, column)
    w = information(np.array([df[h] for h in shared], dtype=np.float64), n, common).astype(np.float32)
    shared_info = (member * (w / k)) @ member.T
    if not code:
        np.fill_diagonal(shared_info, 0.0)
        return shared_info
    evidence = shared_info * _coverage(sets, df, common, k, shared_info) ** COVERAGE_POWER
    np.fill_diagonal(evidence, 0.0)
    return evidence


def _coverage(sets: list[set[int]], df: dict[int, int], common: float, k: int,
              shared_info: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """students x students: the pair's shared information over the geometric mean of each one's
    own (what the class does not all write), at most 1."""
    n = len(sets)
    own = np.array([float(information(np.array([df[h] for h in fp if df[h] <= common * n], dtype=np.float64),
                                      n, common).sum()) for fp in sets], dtype=np.float32) / k
    norm = np.sqrt(np.outer(own, own))
    return np.minimum(np.divide(shared_info, norm, out=np.zeros_like(shared_info), where=norm > 0), 1.0)


def _source_evidence(sets: list[set[int]], df: dict[int, int], grams: list[set[int]], common: float,
                     k: int) -> npt.NDArray[np.float32]:
    """students x sources evidence of one cell: the information of what each answer shares with
    each outside source (``grams``: a set of fingerprints per source)."""
    n = len(sets)
    out = np.zeros((n, len(grams)), dtype=np.float32)
    for j, g in enumerate(grams):
        for i, fp in enumerate(sets):
            both = [df[h] for h in fp & g]
            if both:
                out[i, j] = float(information(np.array(both, dtype=np.float64), n, common).sum()) / k
    return out


def _source_text(source: OutsideSource, kind: str) -> str:
    """What of an outside source a cell of this kind is compared with."""
    return source.code if kind == "code" else source.text + "\n" + source.code


def _source_grams(outside: Sequence[OutsideSource], cells: list[AnswerCell],
                  keep: dict[str, frozenset[str]]) -> dict[tuple[str, str], list[set[int]]]:
    """{(notebook, kind): [set of fingerprints per source]}."""
    out: dict[tuple[str, str], list[set[int]]] = {}
    for cell in cells:
        key = (cell.notebook, cell.kind)
        if key in out:
            continue
        probe = AnswerCell(cell.notebook, "", cell.kind, cell.starter)
        out[key] = [_fingerprints(_source_text(s, cell.kind), probe, keep[cell.notebook]) for s in outside]
    return out


def compare(submissions: Mapping[str, Mapping[str, Any]], release_dir: str | Path = RELEASE,
            outside: Iterable[OutsideSource] = (), settings: Similarity | None = None) -> Comparison:
    """Compare every pair of students cell by cell, and every student with every outside source.
    ``submissions``: {student: {notebook: nb}} (nbformat nodes or plain dicts); ``outside``:
    [OutsideSource]; ``settings``: a grading.settings.Similarity (its defaults when None).
    Returns a Comparison."""
    import time

    from grading.settings import Similarity
    start = time.perf_counter()
    settings = settings or Similarity()
    students = sorted(submissions)
    n = len(students)
    cells, keep = answer_cells(release_dir)
    outside_list = list(outside)
    source_grams = _source_grams(outside_list, cells, keep) if outside_list else {}
    cell_scores = np.zeros((len(cells), n, n), dtype=np.float32)
    source_scores = np.zeros((len(cells), n, len(outside_list)), dtype=np.float32)
    texts: dict[tuple[str, str], str] = {}
    dfs: dict[str, dict[int, int]] = {}
    for c, cell in enumerate(cells):
        sets = _cell_sets(submissions, students, cell, keep[cell.notebook], texts)
        df = dfs[cell.grade_id] = _document_frequency(sets)
        found = _cell_evidence(sets, df, settings.common, cell.kind == "code") if n >= 3 else None
        if found is not None:
            cell_scores[c] = found
        if outside_list:
            source_scores[c] = _source_evidence(sets, df, source_grams[(cell.notebook, cell.kind)], settings.common,
                                                K_CODE if cell.kind == "code" else K_TEXT)
    cell_scores = _cell_scores(cell_scores, cells, n, settings.common)
    source_scores = _saturated(source_scores / _unit(n, settings.common))
    _add_shared_sources(cell_scores, source_scores)
    scores = cell_scores.sum(axis=0, dtype=np.float64)
    iu = np.triu_indices(n, 1)
    flag_line, chance = calibrate(scores[iu], settings.chance_flags)
    pairs = _ranked_pairs(students, cells, scores, cell_scores, flag_line)
    matches = _source_matches(students, cells, outside_list, source_scores)
    source_line = (calibrate(source_scores.sum(axis=0).ravel(), settings.chance_flags, 0.5)[0] if outside_list
                   else math.inf)
    return Comparison(students, cells, pairs, scores, cell_scores, flag_line, chance, texts, keep, dfs,
                      matches, outside_list, settings.common, source_line, time.perf_counter() - start)


def _cell_sets(submissions: Mapping[str, Mapping[str, Any]], students: list[str], cell: AnswerCell,
               keep: Collection[str], texts: dict[tuple[str, str], str]) -> list[set[int]]:
    """Every student's fingerprints in one cell (their answer's text stored in ``texts``)."""
    sets: list[set[int]] = []
    for s in students:
        text = _answer_text(submissions[s].get(cell.notebook), cell.grade_id)
        texts[(s, cell.grade_id)] = text
        sets.append(_fingerprints(text, cell, keep))
    return sets


def _add_shared_sources(cell_scores: npt.NDArray[np.float32], source_scores: npt.NDArray[np.float32]) -> None:
    """Two students who both share an outside source's uncommon code in a cell: the smaller of
    the two matches is added to their evidence in it (it counts even if the class shares it)."""
    for j in range(source_scores.shape[2]):
        cell_scores += np.minimum(source_scores[:, :, j, None], source_scores[:, None, :, j])
    if source_scores.shape[2]:
        for c in range(cell_scores.shape[0]):
            np.fill_diagonal(cell_scores[c], 0.0)


def _unit(n: int, common: float) -> float:
    """The information of one token no other student wrote (at least 1)."""
    return max(math.log(common * (n - 1)), 1.0) if n > 2 else 1.0


def _cell_scores(info: npt.NDArray[np.float32], cells: list[AnswerCell], n: int,
                 common: float) -> npt.NDArray[np.float32]:
    """cells x students x students: each cell's evidence from the information the pairs share
    (``info``): how far b is among a's nearest in the cell and a among b's (neighbour_surprise),
    plus INFO_WEIGHT x the information itself in units of a token nobody else wrote, saturating
    at CELL_CAP (written answers' words count TEXT_WEIGHT x a code token)."""
    weights = np.array([1.0 if c.kind == "code" else TEXT_WEIGHT for c in cells], dtype=np.float32)
    info = info * (weights[:, None, None] / _unit(n, common))
    if n < 3:
        return info
    return neighbour_surprise(info) + INFO_WEIGHT * _saturated(info)


def neighbour_surprise(info: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """cells x students x students: -log of the share of a's classmates at least as close to a as
    b is in the cell, the same from b's side, the larger share of the two (a likelihood against
    the class's own answers: a pair who wrote what many others wrote alike is no surprise), less
    what being among the closest NEAREST of the class carries; 0 where they share nothing."""
    out = np.zeros_like(info)
    n = info.shape[1]
    floor = math.log(1 / NEAREST)
    for c in range(info.shape[0]):
        e = info[c]
        ranked = -np.sort(e, axis=1)[:, ::-1]  # each row descending, negated: ascending for searchsorted
        closer = np.stack([np.searchsorted(ranked[a], -e[a], side="right") for a in range(n)])
        closer = np.maximum(np.maximum(closer, closer.T), 1)
        surprise = np.maximum(0.0, np.log((n - 1) / closer) - floor)
        surprise[e <= 0] = 0.0
        np.fill_diagonal(surprise, 0.0)
        out[c] = surprise
    return out


def _saturated(evidence: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """Evidence of one cell, saturating at CELL_CAP: many cells with something rare in common
    outweigh one cell with a lot."""
    return (CELL_CAP * -np.expm1(-evidence / CELL_CAP)).astype(np.float32)


SHOWN = 30  # pairs listed beyond the flagged ones
PER_CELL = 3  # top pairs listed per cell


def _ranked_pairs(students: list[str], cells: list[AnswerCell], scores: npt.NDArray[np.float64],
                  cell_scores: npt.NDArray[np.float32], flag_line: float) -> list[PairResult]:
    """[PairResult] of the flagged pairs, the SHOWN highest others and the PER_CELL highest of
    every cell, highest score first."""
    n = len(students)
    if n < 2:
        return []
    iu = np.triu_indices(n, 1)
    pair_scores = scores[iu]
    order = np.argsort(-pair_scores, kind="stable")
    chosen = set(order[:max(SHOWN, int((pair_scores >= flag_line).sum()))].tolist())
    for c in range(len(cells)):
        per_cell = cell_scores[c][iu]
        chosen |= {int(k) for k in np.argsort(-per_cell, kind="stable")[:PER_CELL] if per_cell[k] > 0}
    pairs: list[PairResult] = []
    for k in chosen:
        i, j = int(iu[0][k]), int(iu[1][k])
        ev = {cells[c].grade_id: float(cell_scores[c, i, j]) for c in range(len(cells)) if cell_scores[c, i, j] > 0}
        pairs.append(PairResult(students[i], students[j], float(scores[i, j]), sorted(ev, key=lambda g: -ev[g]), ev))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


def _source_matches(students: list[str], cells: list[AnswerCell], outside: list[OutsideSource],
                    source_scores: npt.NDArray[np.float32]) -> list[SourceMatch]:
    """[SourceMatch] of every student with evidence against an outside source, highest first."""
    if not outside:
        return []
    totals = source_scores.sum(axis=0)
    out: list[SourceMatch] = []
    for i, j in zip(*np.nonzero(totals), strict=True):
        ev = {cells[c].grade_id: float(source_scores[c, i, j]) for c in range(len(cells)) if source_scores[c, i, j] > 0}
        out.append(SourceMatch(students[i], outside[j].name, float(totals[i, j]), sorted(ev, key=lambda g: -ev[g]), ev))
    out.sort(key=lambda m: (-m.score, m.student, m.source))
    return out


def calibrate(scores: npt.NDArray[Any], chance_flags: float, tail: float = 0.1) -> tuple[float, float]:
    """(flag line, expected chance flags): the line above which a class of this size would put
    about ``chance_flags`` of these scores by chance. The top ``tail`` of the class's own scores
    (above u, their 1 - tail quantile) is fitted as exponential, robustly (its scale from the median
    excess, so the few copies a class has do not stretch it): P(score > t) = tail exp(-(t - u) / s);
    the line is where that times the number of scores equals ``chance_flags``. (Pairs: the top 10 %;
    a student against outside sources, fewer scores: the top half.)"""
    m = scores.size
    if m < 10:
        return float("inf"), 0.0
    u = float(np.quantile(scores, 1 - tail))
    excess = scores[scores > u] - u
    scale = max(float(np.median(excess)) / math.log(2) if excess.size else 0.0, 1e-6)
    return u + scale * math.log(tail * m / chance_flags), chance_flags


# --- the evidence, as HTML ---------------------------------------------------------------------

_e = escape


def _grams_of(comparison: Comparison, grade_id: str, text: str) -> list[Gram]:
    cell = next(c for c in comparison.cells if c.grade_id == grade_id)
    return [g for run in answer_grams(text, cell, comparison.keep[cell.notebook]) for g in run]


def shared_spans(comparison: Comparison, a: str, b: str, grade_id: str) -> tuple[list[list[int]], list[list[int]]]:
    """Character spans of a's and b's answer that the two share and the class mostly does not
    (fingerprints held by less than the common share of the class, release text excluded), merged."""
    df, n = comparison.df[grade_id], len(comparison.students)
    ga = _grams_of(comparison, grade_id, comparison.sources[(a, grade_id)])
    gb = _grams_of(comparison, grade_id, comparison.sources[(b, grade_id)])
    common = {h for h, _, _ in ga} & {h for h, _, _ in gb}
    common = {h for h in common if df.get(h, 2) <= max(2, comparison.common * n)}
    return _spans(ga, common), _spans(gb, common)


def source_spans(comparison: Comparison, student: str, source: str, grade_id: str) -> list[list[int]]:
    """Character spans of the student's answer that the outside source holds and the class mostly does not."""
    cell = next(c for c in comparison.cells if c.grade_id == grade_id)
    src = next(o for o in comparison.outside if o.name == source)
    df, line = comparison.df[grade_id], max(2, comparison.common * len(comparison.students))
    held = _fingerprints(_source_text(src, cell.kind), AnswerCell(cell.notebook, "", cell.kind, cell.starter),
                         comparison.keep[cell.notebook], long=1)
    grams = _grams_of(comparison, grade_id, comparison.sources[(student, grade_id)])
    return _spans(grams, {h for h, _, _ in grams if h in held and df.get(h, 1) <= line})


def _spans(grams: list[Gram], common: Collection[int]) -> list[list[int]]:
    """The merged character spans of the k-grams whose hash is in ``common``."""
    return _merge([(s, e) for h, s, e in grams if h in common])


def _merge(spans: Iterable[tuple[int, int]]) -> list[list[int]]:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def highlighted(text: str, spans: Iterable[Sequence[int]]) -> str:
    """``text`` escaped, with the spans in <mark>."""
    parts: list[str] = []
    pos = 0
    for s, e in spans:
        parts.append(_e(text[pos:s]))
        parts.append(f"<mark>{_e(text[s:e])}</mark>")
        pos = e
    parts.append(_e(text[pos:]))
    return "".join(parts)


def heat_map_png(comparison: Comparison) -> str | None:
    """A students x students heat map of pair scores as base64 PNG (None for fewer than 3)."""
    n = len(comparison.students)
    if n < 3:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    size = min(9.0, 3.0 + 0.12 * n)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    shown = comparison.scores  # symmetric, zero on the diagonal
    im = ax.imshow(shown, cmap="magma_r", vmin=0, vmax=max(float(shown.max()), comparison.flag_line))
    fig.colorbar(im, ax=ax, label="pair score (evidence summed over cells)")
    if n <= 60:
        ax.set_xticks(range(n), comparison.students, rotation=90, fontsize=6)
        ax.set_yticks(range(n), comparison.students, fontsize=6)
    else:
        ax.set_xlabel("students (sorted by id)")
        ax.set_ylabel("students (sorted by id)")
    ax.set_title("how alike each pair of students is, against the class")
    fig.tight_layout()
    return png_base64(fig, dpi=80)


SECTION_STYLE = """<style>
#similarity .pair td{vertical-align:top}
#similarity pre{white-space:pre-wrap;font-size:.8em;margin:0;background:#fafafa;padding:.4em;max-width:34em}
#similarity mark{background:#ffd54f;color:#000}
#similarity .flag{color:#a33;font-weight:bold}
</style>"""
DETAILS = 60  # flagged pairs and source matches shown cell by cell (all of them are in the tables)


def _look(flagged: bool) -> str:
    return "<span class=flag>look</span>" if flagged else ""


def _pairs_table(c: Comparison, n: int, flagged: list[PairResult]) -> str:
    """Every flagged pair, then the highest others (SHOWN in all)."""
    shown = c.pairs[:max(len(flagged), SHOWN)]
    rows = "\n".join(
        f'<tr><td>{k}</td><td>{_e(p.a)}</td><td>{_e(p.b)}</td><td>{p.score:.1f}</td>'
        f'<td>{_look(p.score >= c.flag_line)}</td><td>{_e(", ".join(p.cells[:8]))}</td></tr>'
        for k, p in enumerate(shown, 1))
    return (f"<p>{len(flagged)} of {n * (n - 1) // 2} pairs are flagged: {_e(c.meaning())}. Every flagged "
            "pair is listed here, then the highest of the others; <code>reports/similarity.json</code> has them "
            "too.</p>"
            '<table id="similarity-pairs"><tr><th>rank</th><th>student</th><th>student</th><th>score</th>'
            "<th></th><th>cells, most evidence first</th></tr>\n"
            f"{rows or '<tr><td colspan=6>no pair stands out</td></tr>'}</table>")


def _per_cell_table(c: Comparison) -> str:
    """For every answer cell, the pairs with the most evidence in it."""
    index = {s: i for i, s in enumerate(c.students)}
    rows = []
    for k, cell in enumerate(c.cells):
        ranked = sorted(((float(c.cell_scores[k, index[p.a], index[p.b]]), p) for p in c.pairs), key=lambda t: -t[0])
        top = [f"{_e(p.a)} and {_e(p.b)} ({ev:.1f})" for ev, p in ranked[:PER_CELL] if ev > 0.05]
        if top:
            rows.append(f"<tr><td><code>{_e(cell.grade_id)}</code></td><td>{'; '.join(top)}</td></tr>")
    return ('<h3>The top pairs per cell</h3><table id="similarity-cells"><tr><th>cell</th>'
            f"<th>pairs with the most evidence in it</th></tr>\n{''.join(rows)}</table>" if rows else "")


def _sources_table(c: Comparison) -> str:
    """Every student whose answers share uncommon code with an outside source, flagged ones first."""
    if not c.outside:
        return ""
    names = ", ".join(_e(o.name) for o in c.outside)
    shown = c.flagged_matches or c.matches[:5]
    rows = "\n".join(
        f"<tr><td>{_e(m.student)}</td><td>{'shares uncommon code with ' if m.score >= c.source_line else ''}"
        f"<code>{_e(m.source)}</code></td><td>{m.score:.1f}</td><td>{_look(m.score >= c.source_line)}</td>"
        f"<td>{_e(', '.join(m.cells[:8]))}</td></tr>" for m in shown)
    return (f"<h3>Outside sources</h3><p>Each answer compared with {len(c.outside)} outside source(s) ({names}); "
            f"a student is flagged from {c.source_line:.1f}, fitted as the pairs' line is to every student's "
            f"score against every source (about {c.chance_flags:.2g} flagged by chance).</p>"
            '<table id="similarity-sources"><tr><th>student</th><th>source</th><th>score</th><th></th>'
            f"<th>cells</th></tr>\n{rows or '<tr><td colspan=5>no match</td></tr>'}</table>")


def _side_by_side(left_head: str, left: str, right_head: str, right: str) -> str:
    return (f'<table class="pair"><tr><th>{_e(left_head)}</th><th>{_e(right_head)}</th></tr><tr>'
            f"<td><pre>{left}</pre></td><td><pre>{right}</pre></td></tr></table>")


def _pair_details(c: Comparison, p: PairResult, open_: bool, cells_per_pair: int) -> str:
    """One pair's cells with the most evidence side by side, what they share highlighted."""
    blocks = []
    for grade_id in p.cells[:cells_per_pair]:
        sa, sb = shared_spans(c, p.a, p.b, grade_id)
        blocks.append(f"<h4><code>{_e(grade_id)}</code>: evidence {p.evidence[grade_id]:.1f}</h4>"
                      + _side_by_side(p.a, highlighted(c.sources[(p.a, grade_id)], sa),
                                      p.b, highlighted(c.sources[(p.b, grade_id)], sb)))
    return (f'<details class="evidence"{" open" if open_ else ""}><summary>{_e(p.a)} and '
            f"{_e(p.b)}: score {p.score:.1f} over {len(p.cells)} cells</summary>{''.join(blocks)}</details>")


def _match_details(c: Comparison, m: SourceMatch, cells_per_pair: int) -> str:
    blocks = []
    for grade_id in m.cells[:cells_per_pair]:
        spans = source_spans(c, m.student, m.source, grade_id)
        blocks.append(f"<h4><code>{_e(grade_id)}</code>: evidence {m.evidence[grade_id]:.1f}</h4>"
                      f"<pre>{highlighted(c.sources[(m.student, grade_id)], spans)}</pre>")
    return (f'<details class="evidence source"><summary>{_e(m.student)} shares uncommon code with '
            f"{_e(m.source)}: score {m.score:.1f}</summary>{''.join(blocks)}</details>")


def section_html(comparison: Comparison, cells_per_pair: int = 4) -> str:
    """The report section: a heat map, every flagged pair (then the highest others), the top pairs
    per cell, matches with outside sources, and for each flagged pair (or the top few when none is)
    its cells side by side with what they share (and the class mostly does not) highlighted.
    Escaped; no script."""
    c = comparison
    n = len(c.students)
    head = (f'<section id="similarity">{SECTION_STYLE}<h2>Similar answers</h2>'
            f"<p>Each answer cell of {n} students compared with the same cell of every other student "
            "(starter code, question text and test cells subtracted). What they share counts by how rare it "
            "is in this class: what many students write adds little, a long run nobody else wrote adds a lot. "
            "This is a list of what to read side by side, not a verdict.</p>")
    if n < 3:
        return head + "<p>Fewer than three submissions: nothing to compare against.</p></section>"
    flagged = c.flagged
    png = heat_map_png(c)
    top_text = "; ".join(f"{p.a} and {p.b} ({p.score:.1f})" for p in c.pairs[:3]) or "none"
    alt = (f"Heat map of pair scores for {n} students, darker is more alike; "
           f"{len(flagged)} pairs are above the flag line {c.flag_line:.1f}; the highest: {top_text}")
    img = f'<img id="similarity-heatmap" alt="{_e(alt)}" src="data:image/png;base64,{png}">'
    shown = (flagged or c.pairs[:3])[:DETAILS]
    details = [_pair_details(c, p, k == 0, cells_per_pair) for k, p in enumerate(shown)]
    details += [_match_details(c, m, cells_per_pair) for m in c.flagged_matches[:DETAILS]]
    more = (f"<p>{len(flagged) - DETAILS} more flagged pairs are in the table above.</p>"
            if len(flagged) > DETAILS else "")
    return (head + img + _pairs_table(c, n, flagged) + _per_cell_table(c) + _sources_table(c)
            + "<h3>Flagged pairs, cell by cell</h3>" + "".join(details) + more + "</section>")


def course_compare(submitted_dir: str | Path = SUBMITTED, release_dir: str | Path = RELEASE,
                   config: Config | None = None) -> Comparison:
    """compare() of the submissions on disk with the course's Similarity settings and its outside
    sources folder (relative to the course root)."""
    from grading.settings import Similarity, course_settings
    settings = course_settings(Similarity, config)
    folder = Path(settings.sources) if settings.sources else None
    if folder is not None and not folder.is_absolute():
        folder = COURSE_ROOT / folder
    if folder is not None and not folder.is_dir():
        print(f"c.Similarity.sources: {settings.sources!r} is not a folder; compared without outside sources "
              "(set it to a folder of the files to compare with, or to '')", file=sys.stderr)
    return compare(load_submissions(submitted_dir), release_dir, load_outside_sources(folder), settings)


def report_section(submitted_dir: str | Path = SUBMITTED, release_dir: str | Path = RELEASE) -> str:
    """The instructor's report's section on similar answers, from the submissions on disk."""
    return section_html(course_compare(submitted_dir, release_dir))


def write(comparison: Comparison, out_json: str | Path, out_html: str | Path | None = None) -> None:
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(comparison.as_json(), indent=1))
    if out_html:
        Path(out_html).write_text(page("similar answers", section_html(comparison), width="75em"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submitted", default=str(SUBMITTED))
    parser.add_argument("--out", default=str(COURSE_ROOT / "reports" / "similarity.json"))
    parser.add_argument("--sources", help="a folder of outside sources (default: c.Similarity.sources)")
    args = parser.parse_args(argv)
    config = None
    if args.sources is not None:
        from grading.course import load_config
        config = load_config()
        config.Similarity.sources = str(Path(args.sources).resolve())
    comparison = course_compare(args.submitted, config=config)
    out = Path(args.out)
    write(comparison, out, out.with_suffix(".html"))
    print(f"{len(comparison.students)} students compared cell by cell in {comparison.seconds:.1f} s; "
          f"{len(comparison.flagged)} pairs flagged ({comparison.meaning()}):")
    for p in comparison.pairs[:10]:
        print(f"  {p.score:6.1f}  {p.a} / {p.b}  ({', '.join(p.cells[:6])})")
    for m in comparison.flagged_matches:
        print(f"  {m.score:6.1f}  {m.student} shares uncommon code with {m.source}  ({', '.join(m.cells[:6])})")
    shown = out.relative_to(COURSE_ROOT) if out.resolve().is_relative_to(COURSE_ROOT) else out
    print(f"written: {shown} and {shown.with_suffix('.html')}")


if __name__ == "__main__":
    main()
