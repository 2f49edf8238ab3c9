"""The similarity report finds planted copies, ranks them first, and is not fooled by what the
whole class writes alike, by starter code or by instructor cells."""
import copy
import json
import subprocess
import sys

import nbformat
import pytest

import similarity_class as sc
from course_helpers import REPO
from grading import similarity
from grading.cells import grade_id, is_test_cell
from grading.course import ASSIGNMENT


@pytest.fixture(scope="module")
def planted_class():
    subs, planted = sc.build_class()
    return subs, planted, similarity.compare(subs)


def _key(a, b):
    return frozenset((a, b))


def _pair(comparison, a, b):
    for p in comparison.pairs:
        if _key(p.a, p.b) == _key(a, b):
            return p
    return None


def test_the_class_is_what_the_tests_assume(planted_class):
    subs, planted, _ = planted_class
    honest = [s for s in subs if s.startswith("honest")]
    assert len(honest) >= 30
    combos = {tuple(sorted(c.items())) for c in sc.honest_choices(len(honest))}
    assert len(combos) == len(honest)  # no two honest students alike
    copier, source = planted[0]
    a = subs[copier]["q2_mse_vs_cross_entropy"]
    b = subs[source]["q2_mse_vs_cross_entropy"]
    cell_a = next(c for c in a.cells if grade_id(c) == "q1_functions")
    cell_b = next(c for c in b.cells if grade_id(c) == "q1_functions")
    assert cell_a.source != cell_b.source  # the copy is disguised, not verbatim
    assert cell_a.source.index("def softmax") > cell_a.source.index("def ce_grad_logits")  # reordered


def test_planted_pairs_rank_above_every_honest_pair(planted_class):
    subs, planted, comparison = planted_class
    planted_keys = {_key(*p) for p in planted}
    top = [_key(p.a, p.b) for p in comparison.pairs[:len(planted)]]
    assert set(top) == planted_keys, comparison.pairs[:len(planted) + 2]
    lowest_planted = min(_pair(comparison, *p).score for p in planted)
    honest = [p.score for p in comparison.pairs if _key(p.a, p.b) not in planted_keys]
    assert lowest_planted > max(honest)
    assert all(_pair(comparison, *p).score >= comparison.flag_line for p in planted)
    # the evidence is spread over many cells, written answers among them
    for p in planted:
        cells = _pair(comparison, *p).cells
        assert len(cells) >= 10
        assert set(cells) & set(sc.WRITTEN), cells


def test_at_most_five_percent_of_honest_pairs_flagged(planted_class):
    subs, planted, comparison = planted_class
    planted_keys = {_key(*p) for p in planted}
    n = len(subs)
    honest_pairs = n * (n - 1) // 2 - len(planted)
    flagged = [p for p in comparison.flagged if _key(p.a, p.b) not in planted_keys]
    assert len(flagged) <= 0.05 * honest_pairs, flagged


def test_cells_the_whole_class_writes_alike_carry_no_evidence(planted_class):
    _, _, comparison = planted_class
    canonical = {"sgd_step", "layer_shapes", "compose_linear", "figure_1_facts", "derivation",
                 "gradient_definition", "composed_map", "shapes_reasoning"}
    assert not canonical & set(sc.VARIED), "these cells are meant to be the same for everyone"
    assert all(not canonical & set(p.cells) for p in comparison.pairs)


def test_honest_pair_with_the_same_short_answers_is_not_flagged():
    """Two honest students who write the same short canonical functions (linear, relu,
    two_layer) and differ everywhere else: not flagged, far below a copy."""
    choices = sc.honest_choices(32)
    a, b = dict(choices[0]), dict(choices[0])
    for g in sc.VARIED:
        if g in sc.WRITTEN:
            b[g] = tuple((v + 1) % len(sc.WRITTEN[g]) for v in a[g])
        elif g not in ("linear", "relu", "two_layer"):
            b[g] = (a[g] + 1) % len(sc._variants(g))
    choices[0], choices[1] = a, b
    subs = {f"honest{i:02d}": sc.student(c) for i, c in enumerate(choices)}
    subs["copier"] = sc.disguise(subs["honest05"], 0)
    comparison = similarity.compare(subs)
    pair = _pair(comparison, "honest00", "honest01")
    copy_pair = _pair(comparison, "copier", "honest05")
    assert pair is None or pair.score < comparison.flag_line
    assert pair is None or pair.score < copy_pair.score / 3
    assert comparison.pairs[0] is copy_pair


def _untouched(name):
    return nbformat.read(REPO / "release" / ASSIGNMENT / f"{name}.ipynb", as_version=4)


def test_starter_code_and_instructor_cells_never_count(planted_class):
    subs, _, _ = planted_class
    honest = {s: subs[s] for s in subs if s.startswith("honest")}
    names = list(honest["honest00"])
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
    for s in ("honest00", "honest01"):
        tampered[s] = copy.deepcopy(honest[s])
        nb = tampered[s]["q1_cross_entropy_gradient"]
        for cell in nb.cells:
            if is_test_cell(cell):
                cell.source += "\n" + pasted
            if grade_id(cell) == "sgd_step":
                cell.source += "\n" + _untouched("q1_cross_entropy_gradient").cells[1].source
        nb.cells.append(nbformat.v4.new_code_cell(pasted))
    after = similarity.compare(tampered)
    before_pair, after_pair = _pair(base, "honest00", "honest01"), _pair(after, "honest00", "honest01")
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
    grams = similarity.kgrams(similarity.code_tokens(a), 5)
    picked = similarity.winnow(grams, 4)
    assert len(picked) < len(grams)
    for i in range(len(grams) - 3):  # every window of 4 hashes has a fingerprint
        assert any(g in picked for g in grams[i:i + 4])
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
    subs, planted, _ = planted_class
    sc.write_class(subs, tmp_path / "submitted")
    (tmp_path / "submitted" / "honest00" / ASSIGNMENT / "q4_stacked_linear_layers.ipynb").write_text("{ cut off")
    out = tmp_path / "reports" / "similarity.json"
    proc = subprocess.run([sys.executable, "-m", "grading.similarity", "--submitted", str(tmp_path / "submitted"),
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert isinstance(data, list) and data
    grade_ids = {c.grade_id for c in similarity.answer_cells()[0]}
    for entry in data:
        assert set(entry) == {"a", "b", "score", "cells"}
        assert entry["a"] in subs and entry["b"] in subs and entry["a"] != entry["b"]
        assert isinstance(entry["score"], (int, float)) and entry["score"] > 0
        assert entry["cells"] and set(entry["cells"]) <= grade_ids
    assert [e["score"] for e in data] == sorted((e["score"] for e in data), reverse=True)
    assert {_key(e["a"], e["b"]) for e in data[:len(planted)]} == {_key(*p) for p in planted}
    page = out.with_suffix(".html").read_text()
    assert "Content-Security-Policy" in page and "<script" not in page
    assert "<mark>" in page and 'id="similarity-heatmap"' in page


def test_the_section_escapes_what_students_wrote(planted_class):
    subs, planted, _ = planted_class
    evil = '<img src=x onerror="window.__pwned=1">'
    hostile = dict(subs)
    copier, source = planted[0]
    hostile[evil] = hostile.pop(copier)
    for nb in hostile[evil].values():
        for cell in nb.cells:
            if grade_id(cell) == "every_weight":
                cell.source += " " + evil + "<script>alert(1)</script>"
    page = similarity.section_html(similarity.compare(hostile))
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in page
