"""The similarity report finds planted copies, ranks them first, and is not fooled by what the
whole class writes alike, by starter code or by instructor cells."""
import copy
import html
import json
import random
import subprocess
import sys

import nbformat
import numpy as np
import pytest

import similarity_class as sc
from course_helpers import REPO
from grading.cells import grade_id, is_test_cell
from grading.course import ASSIGNMENT
from grading.reports import similarity


def _sources_dir(tmp_path_factory, sources):
    folder = tmp_path_factory.mktemp("outside")
    for name, text in sources.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(scope="module")
def planted_class(tmp_path_factory):
    subs, planted, sources, ids = sc.build_class()
    outside = similarity.load_outside_sources(_sources_dir(tmp_path_factory, sources))
    return subs, planted, similarity.compare(subs, outside=outside), ids


def _key(a, b):
    return frozenset((a, b))


def _pair(comparison, a, b):
    for p in comparison.pairs:
        if _key(p.a, p.b) == _key(a, b):
            return p
    return None


def _ranks(comparison, planted):
    """(rank of every planted pair among all pairs, the highest honest score, honest pairs flagged)."""
    n = len(comparison.students)
    iu = np.triu_indices(n, 1)
    scores = comparison.scores[iu]
    order = np.argsort(-scores, kind="stable")
    keys = {_key(a, b) for a, b, _ in planted}
    ranks, honest = {}, []
    for r, k in enumerate(order, 1):
        key = _key(comparison.students[iu[0][k]], comparison.students[iu[1][k]])
        if key in keys:
            ranks[key] = r
        else:
            honest.append(float(scores[k]))
    return ranks, max(honest), sum(h >= comparison.flag_line for h in honest)


def test_the_class_is_what_the_tests_assume(planted_class):
    subs, planted, _, ids = planted_class
    assert {kind for _, _, kind in planted} == set(sc.KINDS)
    name = {v: k for k, v in ids.items()}
    copier, source, _ = next(p for p in planted if p[2] == "code")
    a = subs[copier]["q2_mse_vs_cross_entropy"]
    b = subs[source]["q2_mse_vs_cross_entropy"]
    cell_a = next(c for c in a.cells if grade_id(c) == "q1_functions")
    cell_b = next(c for c in b.cells if grade_id(c) == "q1_functions")
    assert cell_a.source != cell_b.source  # the copy is disguised, not verbatim
    assert cell_a.source.index("def softmax") > cell_a.source.index("def ce_grad_logits")  # reordered
    assert name[copier].startswith("c") and name[source].startswith("h")
    # honest students with the same variant still write it their own way
    habits = [sc.Habits.draw(random.Random(i)) for i in range(2)]
    code = sc.CODE["cross_entropy"][1]
    assert sc.restyle(code, habits[0], "x") != sc.restyle(code, habits[1], "x")
    assert "sum(" in sc.comprehensions(code) and "for " in sc.loops(sc.comprehensions(code))


@pytest.mark.parametrize("seed", [31, 32])
def test_planted_pairs_rank_above_every_honest_pair_on_unseen_classes(seed, tmp_path_factory):
    """Classes drawn with seeds nobody looked at while choosing the method's constants (0-18
    were): every planted pair (a whole copy, code only, written answers only, an outside answer
    pasted by two) above every honest pair, and no honest pair flagged."""
    subs, planted, sources, _ = sc.build_class(seed=seed)
    outside = similarity.load_outside_sources(_sources_dir(tmp_path_factory, sources))
    comparison = similarity.compare(subs, outside=outside)
    ranks, top_honest, honest_flagged = _ranks(comparison, planted)
    assert honest_flagged == 0
    assert sorted(ranks.values()) == list(range(1, len(planted) + 1)), (ranks, top_honest)


def test_what_is_rare_counts_more_than_what_is_common():
    """One cell, many students: two identical answers that half the class also writes carry
    little; two identical answers nobody else wrote carry a lot, and a long one more than a short one."""
    cells, _ = similarity.answer_cells()
    cell = next(c for c in cells if c.grade_id == "gradient_descent")
    canonical = "    w = np.array(w0, dtype=float)\n    return w - lr * grad_fn(w)\n"
    honest = [f"    v{i} = {i} * np.ones({i})\n    return np.zeros({i}) + v{i}[{i}:] * {i} - v{i}\n" for i in range(20)]
    rare_short = "    return np.vstack([w0] * (n_steps + 1))\n"
    rare_long = "".join(f"    a{i} = np.linalg.norm(w0, ord={i}) ** {i} / (lr + {i})\n" for i in range(6))
    texts = [canonical] * 10 + honest[:16] + [rare_short, rare_short, rare_long, rare_long]
    sets = [similarity._fingerprints(t, cell, frozenset({"np"})) for t in texts]
    df = similarity._document_frequency(sets)
    ev = similarity._cell_evidence(sets, df, 0.25, code=True)
    assert ev[0, 1] < ev[26, 27] < ev[28, 29]
    assert ev[0, 1] == 0  # a third of the class writes it


def test_a_pair_is_surprising_when_each_is_the_others_nearest_not_when_many_are_as_near():
    n = 41
    info = np.zeros((1, n, n), dtype=np.float32)
    info[0, :20, :20] = 2.0  # twenty students who all wrote the same
    info[0, 30, 31] = info[0, 31, 30] = 1.0  # two who share something only they have
    info[0, 30, 32] = info[0, 32, 30] = 0.5  # and a third, less
    np.fill_diagonal(info[0], 0.0)
    surprise = similarity.neighbour_surprise(info)[0]
    assert surprise[0, 1] == 0  # 19 classmates as close: no surprise
    assert surprise[30, 31] == pytest.approx(np.log(40) - np.log(4), rel=1e-5)
    assert 0 < surprise[30, 32] < surprise[30, 31]  # 32's nearest; 30 has one nearer
    assert surprise[30, 33] == 0  # nothing shared


def test_outside_sources_are_named_for_one_student_and_for_several(planted_class):
    subs, planted, comparison, ids = planted_class
    flagged = {(m.student, m.source) for m in comparison.flagged_matches}
    pasters = {s for a, b, kind in planted if kind == "outside" for s in (a, b)}
    assert {(s, "cs231n_softmax.py") for s in pasters} <= flagged
    assert (ids["forum"], "forum_post.md") in flagged  # one student alone
    assert {s for s, _ in flagged} == pasters | {ids["forum"]}
    page = similarity.section_html(comparison)
    assert f"{ids['forum']} shares uncommon code with forum_post.md" in page


def test_the_flag_line_is_fitted_to_the_class_and_says_what_it_means():
    rng = np.random.default_rng(0)
    honest = rng.exponential(2.0, 5000) + 3
    line, chance = similarity.calibrate(honest, 0.05)
    # an exponential tail of scale 2 above its 90th percentile: 5000 * 0.1 * exp(-(line - u) / 2) = 0.05
    u = np.quantile(honest, 0.9)
    assert abs(line - (u + 2 * np.log(0.1 * 5000 / 0.05))) < 2.5  # the scale is estimated to ~10 %
    assert chance == 0.05
    # a few copies far out do not move it
    assert abs(similarity.calibrate(np.concatenate([honest, [200.0] * 10]), 0.05)[0] - line) < 1.5
    # a looser line for more chance flags
    assert similarity.calibrate(honest, 1.0)[0] < line


def test_every_flagged_pair_is_in_the_page_with_the_top_pairs_per_cell(planted_class):
    subs, planted, comparison, _ = planted_class
    page = similarity.section_html(comparison)
    rows = page.split('id="similarity-pairs"')[1].split("</table>")[0]
    for p in comparison.flagged:
        assert f"<td>{p.a}</td><td>{p.b}</td>" in rows
    assert comparison.flagged and comparison.pairs[0].score >= comparison.flag_line
    assert comparison.meaning() in html.unescape(page)
    cells = page.split('id="similarity-cells"')[1].split("</table>")[0]
    assert "<code>softmax</code>" in cells and "<code>every_weight</code>" in cells


def _untouched(name):
    return nbformat.read(REPO / "release" / ASSIGNMENT / f"{name}.ipynb", as_version=4)


def test_starter_code_and_instructor_cells_never_count(planted_class):
    subs, _, _, ids = planted_class
    honest = {ids[name]: subs[ids[name]] for name in ids if name.startswith("h")}
    first, second = ids["h0"], ids["h1"]
    names = list(honest[first])
    # two students who hand in the release as downloaded share only the starter: nothing
    with_stubs = dict(honest, stub_a={n: _untouched(n) for n in names}, stub_b={n: _untouched(n) for n in names})
    comparison = similarity.compare(with_stubs)
    assert _pair(comparison, "stub_a", "stub_b") is None
    assert all("stub_a" not in (p.a, p.b) and "stub_b" not in (p.a, p.b) for p in comparison.pairs)

    # two students who paste the same long unusual code into a test cell, into a cell of their
    # own (no nbgrader metadata) and the instructor's docstring into an answer: the same scores
    base = similarity.compare(honest)
    pasted = "\n".join(f"def helper_{i}(a, b):\n    return sorted(a)[::{i + 2}] + [b ** {i}] * len(a)\n"
                       for i in range(30))
    tampered = dict(honest)
    for s in (first, second):
        tampered[s] = copy.deepcopy(honest[s])
        nb = tampered[s]["q1_cross_entropy_gradient"]
        for cell in nb.cells:
            if is_test_cell(cell):
                cell.source += "\n" + pasted
            if grade_id(cell) == "sgd_step":
                cell.source += "\n" + _untouched("q1_cross_entropy_gradient").cells[1].source
        nb.cells.append(nbformat.v4.new_code_cell(pasted))
    after = similarity.compare(tampered)
    before_pair, after_pair = _pair(base, first, second), _pair(after, first, second)
    assert (before_pair and before_pair.score) == (after_pair and after_pair.score)
    assert after_pair is None or after_pair.score < after.flag_line


def test_renaming_comments_whitespace_and_order_leave_the_fingerprints():
    a = "def f(x, y):\n    total = x + y  # add\n    return total * 2\n\n\ndef g(z):\n    return np.sum(z, axis=0)\n"
    b = ("def g(values):\n  # the sum\n  return np.sum(values,axis = 0)\n\ndef f(first, second):\n\n"
         "  s = first+second\n  return s*2\n")
    fa = {h for h, _, _ in similarity.kgrams(similarity.code_tokens(a), 5)}
    fb = {h for h, _, _ in similarity.kgrams(similarity.code_tokens(b), 5)}
    assert len(fa & fb) >= len(fa) - 3  # only windows across the function boundary differ
    assert [t for t, _, _ in similarity.code_tokens("np.exp(x, out=y)")] == ["np", ".", "exp", "(", "V", ",",
                                                                             "out", "=", "V", ")", ";"]
    # a cell that does not tokenize still gives fingerprints
    assert similarity.code_tokens('x = """unterminated\ny = 2')


def test_paraphrase_is_not_a_copy_but_a_pasted_paragraph_is():
    textbook = ("The gradient points in the direction of steepest ascent, so we step against it to "
                "reduce the loss a little at every iteration.")
    paraphrase = ("Since the gradient gives the steepest uphill direction, each iteration moves the "
                  "weights the opposite way and the loss goes down a bit.")
    pasted = "As the notes say: " + textbook.replace("a little", "slightly")

    def shingles(t):
        return {h for h, _, _ in similarity.kgrams(similarity.text_tokens(t), similarity.K_TEXT)}
    base = shingles(textbook)
    assert len(base & shingles(paraphrase)) == 0
    assert len(base & shingles(pasted)) >= len(base) / 2


def test_json_has_the_documented_shape(tmp_path, planted_class):
    subs, planted, comparison, ids = planted_class
    sc.write_class(subs, tmp_path / "submitted")
    broken = ids["h0"]
    (tmp_path / "submitted" / broken / ASSIGNMENT / "q4_stacked_linear_layers.ipynb").write_text("{ cut off")
    sources = tmp_path / "outside"
    sources.mkdir()
    for name, text in sc.outside_sources().items():
        (sources / name).write_text(text)
    out = tmp_path / "reports" / "similarity.json"
    proc = subprocess.run([sys.executable, "-m", "grading.reports.similarity",
                           "--submitted", str(tmp_path / "submitted"), "--out", str(out), "--sources", str(sources)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"{ids['forum']} shares uncommon code with forum_post.md" in proc.stdout
    data = json.loads(out.read_text())
    assert set(data) == {"students", "flag_line", "chance_flags", "meaning", "pairs", "outside"}
    assert data["students"] == len(subs) and data["chance_flags"] == 0.05
    grade_ids = {c.grade_id for c in similarity.answer_cells()[0]}
    for entry in data["pairs"]:
        assert set(entry) == {"a", "b", "score", "flagged", "cells"}
        assert entry["a"] in subs and entry["b"] in subs and entry["a"] != entry["b"]
        assert entry["flagged"] == (entry["score"] >= data["flag_line"])
        assert entry["cells"] and set(entry["cells"]) <= grade_ids
    scores = [e["score"] for e in data["pairs"]]
    assert scores == sorted(scores, reverse=True)
    assert _key(data["pairs"][0]["a"], data["pairs"][0]["b"]) in {_key(a, b) for a, b, _ in planted}
    assert {(m["student"], m["source"]) for m in data["outside"] if m["flagged"]} == {
        (m.student, m.source) for m in comparison.flagged_matches}
    page = out.with_suffix(".html").read_text()
    assert "Content-Security-Policy" in page and "<script" not in page
    assert "<mark>" in page and 'id="similarity-heatmap"' in page


def test_a_missing_sources_folder_is_named_and_the_class_still_compared(tmp_path, capsys):
    from traitlets.config import Config
    config = Config()
    config.Similarity.sources = str(tmp_path / "no_such_folder")
    sc.write_class({"a": sc.student(sc.honest_choices(1)[0])}, tmp_path / "submitted")
    comparison = similarity.course_compare(tmp_path / "submitted", config=config)
    assert comparison.students == ["a"] and comparison.outside == []
    assert "is not a folder; compared without outside sources" in capsys.readouterr().err
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.ipynb").write_text("{ not a notebook")  # unreadable: no code, no crash
    (tmp_path / "src" / "post.html").write_text("<p>see</p><pre>x = a &lt; b</pre>")
    found = similarity.load_outside_sources(tmp_path / "src")
    assert [(o.name, o.code.strip()) for o in found] == [("notes.ipynb", ""), ("post.html", "x = a < b")]


def test_the_section_escapes_what_students_wrote(planted_class):
    subs, planted, _, _ = planted_class
    evil = '<img src=x onerror="window.__pwned=1">'
    hostile = dict(subs)
    copier, source, _ = planted[0]
    hostile[evil] = hostile.pop(copier)
    for nb in hostile[evil].values():
        for cell in nb.cells:
            if grade_id(cell) == "every_weight":
                cell.source += " " + evil + "<script>alert(1)</script>"
    page = similarity.section_html(similarity.compare(hostile))
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in page
