"""Which pairs of students wrote alike answers: a ranked list of what to look at, cell by cell.

    python -m grading.similarity [--submitted submitted] [--out reports/similarity.json]

writes ``reports/similarity.json`` (a list of pairs, most alike first, each
``{"a": student, "b": student, "score": number, "cells": [grade_id, ...]}``) and
``reports/similarity.html`` (the same section the instructor's report shows). Nothing here says
anyone cheated: a high score is a reason to read two notebooks side by side, nothing more.

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
  invisible but structure is not. Hashes of
  ``K_CODE``-token windows are **winnowed** as in MOSS (Schleimer, Wilkerson and Aiken 2003:
  the minimum of every ``W_CODE`` consecutive hashes), which keeps a match of at least
  ``K_CODE + W_CODE - 1`` tokens visible while storing about 2/(W+1) of the hashes, and being
  local survives reordered functions. (A cell that does not tokenize falls back to a regex split.)
  copydetect (on PyPI) does the same per file; it has no notion of a class-wide weight or of
  per-cell starter text, so wrapping it would leave the interesting half to write anyway, and
  this needs no new dependency.
* **Written answers**: lowercased words (LaTeX commands and punctuation dropped), hashed as
  ``K_TEXT``-word shingles. A paraphrase of a common sentence shares few 5-word runs; a pasted
  paragraph shares most of them even after a few words are changed.
* **Against the class, not an absolute bar.** A fingerprint held by ``df`` of the ``N`` students
  weighs ``log(N / df)`` (inverse document frequency over the class): what everyone writes weighs
  nothing. A pair's similarity in a cell is the weighted cosine of their fingerprint sets; it is
  then turned into a z-score against that cell's distribution over all pairs of the class, so a
  three-line ``softmax`` that half the class writes identically is unremarkable while two
  identical 30-line training loops are not. A pair's **score** sums, over cells, the excess
  ``min(Z_CAP, z - Z_FLOOR)`` of the cells where z is above ``Z_FLOOR``: evidence that adds up
  over many cells, none of which alone can dominate. Pairs are flagged ("look") when their
  score is an outlier of the class's pair scores: at least ``FLAG_MIN`` and ``FLAG_MAD`` robust
  deviations (1.4826 x the median absolute deviation) above the median pair.

The report shows a heat map of pair scores, the ranked pairs, and for the top pairs their most
alike cells side by side with the passages they share (and most of the class does not) marked.
``tests/similarity_class.py`` is a class that can tell whether this works, ``make bench
SECTIONS=similarity`` measures it.
"""
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
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from grading.cells import grade_id as grade_id_of
from grading.cells import is_answer_cell
from grading.course import ASSIGNMENT, COURSE_ROOT, RELEASE, SUBMITTED

K_CODE = 5  # tokens per code fingerprint
W_CODE = 4  # winnowing window
K_TEXT = 5  # words per written-answer shingle
MIN_RUN = 3  # a stretch of fewer tokens between pieces of release text is not fingerprinted
Z_FLOOR = 1.0  # a cell counts when the pair is this many standard deviations above the class
Z_CAP = 6.0  # and no single cell adds more than this
SIGMA_MIN = 0.05  # a cell where every pair is equally alike has no spread to divide by
FLAG_MIN = 4.0  # a flagged pair has at least this much evidence ...
FLAG_MAD = 4.0  # ... and is this many robust deviations above the median pair


# --- fingerprints ------------------------------------------------------------------------------

_KEEP = set(keyword.kwlist) | set(dir(builtins)) | {"np", "numpy", "math", "self"}
_IMPORTS = re.compile(r"^\s*(?:from\s+\S+\s+)?import\s+(.+)$", re.MULTILINE)
_FALLBACK = re.compile(r"#[^\n]*|(\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|\"[^\"\n]*\"|'[^'\n]*')"
                       r"|([A-Za-z_]\w*)|(\d[\w.]*)|(\S)")
_DEFINED = re.compile(r"^\s*def\s+(\w+)", re.MULTILINE)
_WORD = re.compile(r"\\[A-Za-z]+|[A-Za-z0-9]+")


def imported_names(text):
    """Names bound by import statements in ``text`` (module aliases such as ``np``)."""
    names = set()
    for m in _IMPORTS.finditer(text):
        for part in m.group(1).replace("(", " ").replace(")", " ").split(","):
            words = part.split()
            if words:
                names.add(words[-1].split(".")[0])
    return names


def _line_offsets(src):
    offsets, pos = [0], 0
    for line in src.splitlines(keepends=True):
        pos += len(line)
        offsets.append(pos)
    return offsets


def code_tokens(src, keep=frozenset()):
    """[(normalised token, start, end)] of Python source, offsets into ``src``."""
    try:
        raw = list(tokenize.generate_tokens(io.StringIO(src).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _fallback_tokens(src, keep)
    offsets = _line_offsets(src + "\n")
    sig = [t for t in raw if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING,
                                            tokenize.ENDMARKER)]
    out, depth = [], 0
    for i, t in enumerate(sig):
        start = offsets[t.start[0] - 1] + t.start[1]
        end = start if t.type in (tokenize.INDENT, tokenize.DEDENT) else offsets[t.end[0] - 1] + t.end[1]
        norm, depth = _normalised(sig, i, keep, depth)
        out.append((norm, start, end))
    return out


# what a token of these types becomes, whatever its text
_FIXED = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}", tokenize.NUMBER: "N", tokenize.STRING: "S"}


def _name(sig, i, keep, depth):
    """A name token as itself where a renaming leaves it alone (keywords, builtins, ``keep``,
    attributes after ``.``, keyword arguments inside brackets), else ``V``."""
    t = sig[i]
    prev = sig[i - 1].string if i else ""
    nxt = sig[i + 1].string if i + 1 < len(sig) else ""
    kept = t.string in _KEEP or t.string in keep or prev == "." or (depth > 0 and nxt == "=")
    return t.string if kept else "V"


def _normalised(sig, i, keep, depth):
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


def _fallback_tokens(src, keep):
    out = []
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


def text_tokens(src):
    """[(word, start, end)] of a written answer: lowercased, LaTeX commands and punctuation dropped."""
    return [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(src)
            if not m.group(0).startswith("\\")]


def _hash(words):
    """A 64-bit hash of a run of tokens, the same in every process (``hash`` of a str is not)."""
    return int.from_bytes(hashlib.blake2b("\x1f".join(words).encode(), digest_size=8).digest(), "little")


def kgrams(tokens, k):
    """[(hash, start, end)] of every window of k tokens (one window if there are fewer)."""
    if not tokens:
        return []
    if len(tokens) < k:
        return [(_hash([t[0] for t in tokens]), tokens[0][1], tokens[-1][2])]
    words = [t[0] for t in tokens]
    return [(_hash(words[i:i + k]), tokens[i][1], tokens[i + k - 1][2])
            for i in range(len(tokens) - k + 1)]


def winnow(grams, w):
    """MOSS's winnowing: in every window of w consecutive hashes keep the minimum (the rightmost
    one on ties); a hash picked by consecutive windows is kept once."""
    if len(grams) <= w:
        return list(grams)
    picked, last = [], -1
    for i in range(len(grams) - w + 1):
        window = grams[i:i + w]
        j = min(range(w), key=lambda n: (window[n][0], -n)) + i
        if j != last:
            picked.append(grams[j])
            last = j
    return picked


# --- the class ---------------------------------------------------------------------------------

@dataclass
class AnswerCell:
    notebook: str
    grade_id: str
    kind: str  # "code" or "markdown"
    starter: set  # every fingerprint of the release notebook (of this kind): never evidence


@dataclass
class PairResult:
    a: str
    b: str
    score: float
    cells: list  # grade_ids with evidence, most first
    evidence: dict = field(default_factory=dict)  # grade_id: (excess z, similarity)


@dataclass
class Comparison:
    students: list
    cells: list  # [AnswerCell]
    pairs: list  # [PairResult], highest score first
    scores: np.ndarray  # students x students pair scores
    flag_line: float
    sources: dict  # (student, grade_id): answer text
    keep: dict  # notebook: names kept verbatim in code (imports)
    df: dict  # grade_id: {hash: how many students}
    seconds: float = 0.0

    @property
    def flagged(self):
        return [p for p in self.pairs if p.score >= self.flag_line]

    def as_json(self):
        return [{"a": p.a, "b": p.b, "score": round(p.score, 3), "cells": list(p.cells)}
                for p in self.pairs if p.score > 0]


def _starter(nb, keep):
    """{"code": hashes, "markdown": hashes}: every fingerprint of the release notebook ``nb``."""
    starter = {"code": set(), "markdown": set()}
    for c in nb.cells:
        if c.cell_type == "code":
            starter["code"] |= {h for h, _, _ in kgrams(code_tokens(c.source, keep), K_CODE)}
        elif c.cell_type == "markdown":
            starter["markdown"] |= {h for h, _, _ in kgrams(text_tokens(c.source), K_TEXT)}
    return starter


def answer_cells(release_dir=RELEASE):
    """The answer cells of every release notebook, with the release text that never counts."""
    cells, keep = [], {}
    for path in sorted(Path(release_dir).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code_text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        keep[path.stem] = frozenset(imported_names(code_text) | set(_DEFINED.findall(code_text)))
        starter = _starter(nb, keep[path.stem])
        for c in nb.cells:
            if is_answer_cell(c) and c.cell_type in ("code", "markdown"):
                cells.append(AnswerCell(path.stem, grade_id_of(c), c.cell_type, starter[c.cell_type]))
    return cells, keep


def load_submissions(submitted_dir=SUBMITTED, assignment=ASSIGNMENT):
    """{student: {notebook: notebook dict}} from submitted/<student>/<assignment>/*.ipynb; a file
    that is not a readable notebook is left out (the runner names those)."""
    out = {}
    for folder in sorted(Path(submitted_dir).glob(f"*/{assignment}")):
        nbs = {}
        for path in sorted(folder.glob("*.ipynb")):
            try:
                nbs[path.stem] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
        out[folder.parent.name] = nbs
    return out


def _answer_text(nb, grade_id):
    for cell in (nb or {}).get("cells", []):
        if grade_id_of(cell) == grade_id:
            src = cell.get("source", "")
            return "".join(src) if isinstance(src, list) else str(src)
    return ""


def answer_grams(text, cell, keep):
    """Runs of the answer's k-grams with the release text cut out: tokens covered by any k-gram
    of the release notebook are removed, and k-grams never span a removed stretch (so pasting
    the starter next to one's own code creates no new shared fingerprint at the seam)."""
    if cell.kind == "code":
        tokens, k = code_tokens(text, keep), K_CODE
    else:
        tokens, k = text_tokens(text), K_TEXT
    covered = [False] * len(tokens)
    for i, (h, _, _) in enumerate(kgrams(tokens, k)):
        if h in cell.starter:
            covered[i:i + k] = [True] * min(k, len(tokens) - i)
    runs, run = [], []
    for token, gone in zip(tokens, covered, strict=True):
        if gone:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(token)
    if run:
        runs.append(run)
    return [kgrams(r, k) for r in runs if len(r) >= MIN_RUN]


def _fingerprints(text, cell, keep):
    runs = answer_grams(text, cell, keep)
    if cell.kind == "code":
        runs = [winnow(r, W_CODE) for r in runs]
    return {h for r in runs for h, _, _ in r}


def _document_frequency(sets):
    """{fingerprint: how many of the students' sets hold it}."""
    df = {}
    for fp in sets:
        for h in fp:
            df[h] = df.get(h, 0) + 1
    return df


def _membership(sets, shared):
    """students x ``shared`` matrix: 1 where the student's set holds the fingerprint."""
    column = {h: k for k, h in enumerate(shared)}
    member = np.zeros((len(sets), len(shared)), dtype=np.float32)
    for i, fp in enumerate(sets):
        cols = [column[h] for h in fp if h in column]
        member[i, cols] = 1.0
    return member


def _cell_excess(sets, df, iu):
    """(excess, sim) of one cell, students x students: each pair's weighted cosine similarity,
    and how far above the class's pairs it is (see the module docstring); None where no
    fingerprint is shared by some but not all students (nothing tells pairs apart)."""
    n = len(sets)
    weight = {h: math.log(n / c) for h, c in df.items()}
    totals = np.array([sum(weight[h] for h in fp) for fp in sets])
    shared = [h for h, c in df.items() if 2 <= c < n]
    if not shared:
        return None
    member = _membership(sets, shared)
    w = np.array([weight[h] for h in shared], dtype=np.float32)
    inter = (member * w) @ member.T
    norm = np.sqrt(np.outer(totals, totals))
    sim = np.divide(inter, norm, out=np.zeros_like(norm), where=norm > 0)
    pair_sims = sim[iu]
    mu, sigma = float(pair_sims.mean()), max(float(pair_sims.std()), SIGMA_MIN)
    excess = np.clip((sim - mu) / sigma - Z_FLOOR, 0.0, Z_CAP - Z_FLOOR)
    excess[sim <= 0] = 0.0
    np.fill_diagonal(excess, 0.0)
    return excess, sim


def _ranked_pairs(students, scores, evidence):
    """[PairResult] of every pair with evidence, highest score first."""
    pairs = []
    for (i, j), ev in evidence.items():
        ordered = sorted(ev, key=lambda g: -ev[g][0])
        pairs.append(PairResult(students[i], students[j], float(scores[i, j]), ordered, ev))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


def _flag_line(pair_scores):
    """The score from which a pair is flagged: an outlier of the class's pair scores."""
    if not pair_scores.size:
        return FLAG_MIN
    med = float(np.median(pair_scores))
    mad = float(np.median(np.abs(pair_scores - med)))
    return max(FLAG_MIN, med + FLAG_MAD * 1.4826 * mad)


def compare(submissions, release_dir=RELEASE):
    """Compare every pair of students cell by cell. ``submissions``: {student: {notebook: nb}}
    (nbformat nodes or plain dicts). Returns a Comparison."""
    import time
    start = time.perf_counter()
    students = sorted(submissions)
    n = len(students)
    cells, keep = answer_cells(release_dir)
    scores = np.zeros((n, n))
    evidence = {}  # (i, j) -> {grade_id: (excess, sim)}
    sources, dfs = {}, {}
    iu = np.triu_indices(n, 1)
    for cell in cells:
        sets = []
        for s in students:
            text = _answer_text(submissions[s].get(cell.notebook), cell.grade_id)
            sources[(s, cell.grade_id)] = text
            sets.append(_fingerprints(text, cell, keep[cell.notebook]))
        df = dfs[cell.grade_id] = _document_frequency(sets)
        found = _cell_excess(sets, df, iu) if n >= 3 else None
        if found is None:
            continue
        excess, sim = found
        scores += excess
        for i, j in zip(*np.nonzero(np.triu(excess)), strict=True):
            evidence.setdefault((int(i), int(j)), {})[cell.grade_id] = (float(excess[i, j]), float(sim[i, j]))
    pair_scores = scores[iu] if n > 1 else np.zeros(0)
    return Comparison(students, cells, _ranked_pairs(students, scores, evidence), scores, _flag_line(pair_scores),
                      sources, keep, dfs, time.perf_counter() - start)


# --- the evidence, as HTML ---------------------------------------------------------------------

def _e(value):
    return html.escape(str(value), quote=True)


def shared_spans(comparison, a, b, grade_id):
    """Character spans of a's and b's answer that the two share and the class mostly does not
    (fingerprints held by at most half the class, release text excluded), merged."""
    cell = next(c for c in comparison.cells if c.grade_id == grade_id)
    keep = comparison.keep[cell.notebook]
    df, n = comparison.df[grade_id], len(comparison.students)

    def grams(text):
        return [g for run in answer_grams(text, cell, keep) for g in run]
    ga, gb = grams(comparison.sources[(a, grade_id)]), grams(comparison.sources[(b, grade_id)])
    common = {h for h, _, _ in ga} & {h for h, _, _ in gb}
    common = {h for h in common if df.get(h, 2) <= max(2, n // 2)}
    return _spans(ga, common), _spans(gb, common)


def _spans(grams, common):
    """The merged character spans of the k-grams whose hash is in ``common``."""
    return _merge([(s, e) for h, s, e in grams if h in common])


def _merge(spans):
    out = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def highlighted(text, spans):
    """``text`` escaped, with the spans in <mark>."""
    parts, pos = [], 0
    for s, e in spans:
        parts.append(_e(text[pos:s]))
        parts.append(f"<mark>{_e(text[s:e])}</mark>")
        pos = e
    parts.append(_e(text[pos:]))
    return "".join(parts)


def heat_map_png(comparison):
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
    from grading.report import png_base64
    return png_base64(fig, dpi=80)


SECTION_STYLE = """<style>
#similarity .pair td{vertical-align:top}
#similarity pre{white-space:pre-wrap;font-size:.8em;margin:0;background:#fafafa;padding:.4em;max-width:34em}
#similarity mark{background:#ffd54f;color:#000}
#similarity .flag{color:#a33;font-weight:bold}
</style>"""


def _pairs_table(c, n, flagged, table_rows):
    """The ranked pairs: how many are flagged, and the first ``table_rows`` of them."""
    rows = "\n".join(
        f'<tr><td>{k}</td><td>{_e(p.a)}</td><td>{_e(p.b)}</td><td>{p.score:.1f}</td>'
        f'<td>{"<span class=flag>look</span>" if p.score >= c.flag_line else ""}</td>'
        f'<td>{_e(", ".join(p.cells))}</td></tr>' for k, p in enumerate(c.pairs[:table_rows], 1))
    return (f"<p>{len(flagged)} of {n * (n - 1) // 2} pairs are above the flag line (score "
            f"{c.flag_line:.1f}: an outlier of this class's pair scores). The full ranking is in "
            "<code>reports/similarity.json</code>.</p>"
            '<table id="similarity-pairs"><tr><th>rank</th><th>student</th><th>student</th><th>score</th>'
            "<th></th><th>cells, most alike first</th></tr>\n"
            f"{rows or '<tr><td colspan=6>no pair stands out</td></tr>'}</table>")


def _pair_details(c, p, open_, cells_per_pair):
    """One pair's most alike cells side by side, what they share highlighted (``open_``: shown unfolded)."""
    blocks = []
    for grade_id in p.cells[:cells_per_pair]:
        sa, sb = shared_spans(c, p.a, p.b, grade_id)
        excess, sim = p.evidence[grade_id]
        blocks.append(
            f'<h4><code>{_e(grade_id)}</code>: similarity {sim:.2f}, {excess + Z_FLOOR:.1f} standard '
            "deviations above the class</h4>"
            f'<table class="pair"><tr><th>{_e(p.a)}</th><th>{_e(p.b)}</th></tr><tr>'
            f"<td><pre>{highlighted(c.sources[(p.a, grade_id)], sa)}</pre></td>"
            f"<td><pre>{highlighted(c.sources[(p.b, grade_id)], sb)}</pre></td></tr></table>")
    return (f'<details class="evidence"{" open" if open_ else ""}><summary>{_e(p.a)} and '
            f"{_e(p.b)}: score {p.score:.1f} over {len(p.cells)} cells</summary>{''.join(blocks)}</details>")


def section_html(comparison, top=5, cells_per_pair=4, table_rows=20):
    """The report section: a heat map, the ranked pairs, and for the top pairs the matched cells
    side by side with what they share (and the class mostly does not) highlighted. Escaped; no script."""
    c = comparison
    n = len(c.students)
    head = (f'<section id="similarity">{SECTION_STYLE}<h2>Similar answers</h2>'
            f"<p>Each answer cell of {n} students compared with the same cell of every other student "
            "(starter code, question text and test cells subtracted; what many students write weighs "
            "little). A pair's score sums how far above the class it is in each cell. This is a list of "
            "what to read side by side, not a verdict.</p>")
    if n < 3:
        return head + "<p>Fewer than three submissions: nothing to compare against.</p></section>"
    flagged = c.flagged
    png = heat_map_png(c)
    top_text = "; ".join(f"{p.a} and {p.b} ({p.score:.1f})" for p in c.pairs[:3]) or "none"
    alt = (f"Heat map of pair scores for {n} students, darker is more alike; "
           f"{len(flagged)} pairs are above the flag line {c.flag_line:.1f}; the highest: {top_text}")
    img = f'<img id="similarity-heatmap" alt="{_e(alt)}" src="data:image/png;base64,{png}">'
    table = _pairs_table(c, n, flagged, table_rows)
    details = [_pair_details(c, p, k == 0, cells_per_pair) for k, p in enumerate((flagged or c.pairs)[:top])]
    return head + img + table + "<h3>The top pairs, cell by cell</h3>" + "".join(details) + "</section>"


def report_section(submitted_dir=SUBMITTED, release_dir=RELEASE):
    """The instructor's report's section on similar answers, from the submissions on disk."""
    return section_html(compare(load_submissions(submitted_dir), release_dir))


def write(comparison, out_json, out_html=None):
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(comparison.as_json(), indent=1))
    if out_html:
        from grading.report import CSP
        Path(out_html).write_text(
            f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}"><title>similar answers</title>'
            "<style>body{font-family:sans-serif;max-width:75em;margin:2em auto;color:#222}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
            "text-align:left}th{background:#eef}</style></head><body>"
            f"{section_html(comparison)}</body></html>\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submitted", default=str(SUBMITTED))
    parser.add_argument("--out", default=str(COURSE_ROOT / "reports" / "similarity.json"))
    args = parser.parse_args(argv)
    comparison = compare(load_submissions(args.submitted))
    out = Path(args.out)
    write(comparison, out, out.with_suffix(".html"))
    print(f"{len(comparison.students)} students compared cell by cell in {comparison.seconds:.1f} s; "
          f"{len(comparison.flagged)} pairs above the flag line {comparison.flag_line:.1f}:")
    for p in comparison.pairs[:10]:
        print(f"  {p.score:6.1f}  {p.a} / {p.b}  ({', '.join(p.cells[:6])})")
    shown = out.relative_to(COURSE_ROOT) if out.resolve().is_relative_to(COURSE_ROOT) else out
    print(f"written: {shown} and {shown.with_suffix('.html')}")


if __name__ == "__main__":
    sys.exit(main())
