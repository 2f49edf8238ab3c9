"""The hidden tests against mistakes and correct answers they were not written against.

For every graded function, tests/mutation_corpus.py holds mistakes students make and right
answers in other styles. Each one replaces that function's answer cell in the reference solution;
the function's test cells then run as autograding runs them (on the grader's side, against a
kernel, grading/step/verdicts.py). At least 95 % of the mistakes must fail a test, and every correct
variant must pass them all.

    python tests/test_mutation_corpus.py     prints the kill rate per function
    python tests/test_mutation_corpus.py --reseed 1 2 3
        the same with every hidden test's random inputs drawn from other seeds: a mistake caught
        only for a lucky draw, or a correct answer failed by an unlucky one, shows up here
"""
import ast
import functools
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
if __name__ == "__main__":  # run as a script: the repository, as pytest.ini's pythonpath gives the tests
    sys.path.insert(0, str(REPO))

from grading.cells import grade_id as _gid  # noqa: E402
from grading.cells import is_answer_cell, is_setup_cell, is_test_cell  # noqa: E402
from grading.course import ASSIGNMENT  # noqa: E402
from grading.sample_class import solution_code  # noqa: E402
from grading.step.channel import KernelChannel, channel_client  # noqa: E402
from grading.step.verdicts import (  # noqa: E402
    TrustedTests,
    inspects_source,
    python_text,
    setup_modules,
    setup_statements,
    solution_names,
    source_kernel_program,
    statement_binds,
    student_sources,
)
from mutation_corpus import CORRECT, MUTANTS, NO_WORK, ODD_RETURNS  # noqa: E402

SOURCE = REPO / "source" / ASSIGNMENT
RELEASE = REPO / "release" / ASSIGNMENT
TESTS_OF = {"figure_1_facts": ("test_n_weights", "test_reaches_global_min_from_flat_start")}


class Failure:
    """How a test cell failed: its verdict, and whether that is the test's own crash (an error the
    test's code raised itself: not an assert, not the student's exception passed on, and not a
    student name that the student's code left undefined where the test looks for it)."""

    def __init__(self, ename, evalue, student_errors, student_names=()):
        self.ename, self.evalue = ename, evalue
        undefined = ename == "NameError" and any(f"name '{n}' is not defined" in evalue for n in student_names)
        self.crashed = ename != "AssertionError" and f"{ename}: {evalue}" not in student_errors and not undefined

    def __repr__(self):
        return f"{self.ename}: {self.evalue[:300]}"


class Bench:
    """One kernel for one notebook, and a way to grade one variant of one answer cell."""

    def __init__(self, notebook, folder, reseed=0):
        self.nb = nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)
        self.setup = [c.source for c in self.nb.cells if is_setup_cell(c)]
        self.answers = [(_gid(c), solution_code(c)) for c in self.nb.cells
                        if c.cell_type == "code" and is_answer_cell(c)]
        self.tests = {_gid(c): _reseeded(c.source, reseed) for c in self.nb.cells if is_test_cell(c)}
        release = nbformat.read(RELEASE / f"{notebook}.ipynb", as_version=4)  # the names graded as the student's
        self.student_names = solution_names(c.source for c in release.cells
                                            if c.cell_type == "code" and is_answer_cell(c))
        self.km, self.client, self.channel_client, self.channel = self._kernel(folder, "ipc")
        # tests that read source run against a kernel of their own holding only the text they read
        # (as autograding runs them, grading/step/execute.py); here one kept and cleared for each test
        (self.source_km, self.source_client, self.source_channel_client,
         self.source_channel) = self._kernel(folder, "ipc-source")
        self.student_errors = set()  # "Type: message" of what the student's code raised in the current test
        self.clean = False  # whether the kernel holds the set-up and the reference answers, nothing else
        self.bound = set().union(*(statement_binds(s) for text in self.setup for s in setup_statements(text)),
                                 *(_bound(ast.parse(code)) for _, code in self.answers))

    def _kernel(self, folder, name):
        from jupyter_client.manager import KernelManager
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(folder) / name))
        km.start_kernel(cwd=str(RELEASE), env=dict(os.environ, NBGRADER_EXECUTION="autograde", MPLBACKEND="agg"),
                        extra_arguments=["--HistoryManager.hist_file=:memory:"])
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        raw = channel_client(km.connection_file)
        channel = KernelChannel(raw, km.is_alive, self.student_names)
        channel.call = functools.partial(self._call_noting_student_errors, channel)
        return km, client, raw, channel

    def _call_noting_student_errors(self, channel, name, args, kwargs, **options):
        try:
            return KernelChannel.call(channel, name, args, kwargs, **options)
        except Exception as err:
            self.student_errors.add(f"{type(err).__name__}: {err}")
            raise

    def _run(self, code):
        reply = self.client.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
        return reply["content"]["status"] == "ok"

    def _load(self, cell=None, source=None):
        """The kernel as autograding leaves it: cleared, the set-up run, then every answer cell in
        order (``source`` in answer cell ``cell``'s place; the reference answers if none)."""
        setup = "\n".join(ast.unparse(s) for text in self.setup for s in setup_statements(text))
        assert self._run("%reset -f\n" + setup), "the set-up cells fail"
        for gid, code in self.answers:
            self._run(source if gid == cell else code)
        self.clean = cell is None

    def failures(self, cell, source, elsewhere=False):
        """The test cells of answer cell ``cell`` that fail with ``source`` in its place; with
        ``elsewhere``, the pair (those, the failing test cells of the other functions whose tests
        name it).

        A variant that only defines functions and imports (as every ordinary mistake does) runs
        in a kernel holding the reference answers, and the reference's cell runs again after it
        (the names only the variant defined deleted): one cell per variant, not the notebook.
        Anything else (a statement at the top of the cell, a ``global``) gets a kernel loaded afresh."""
        tree = ast.parse(python_text(source))
        if not _only_defines(tree):
            self._load(cell, source)
            return self._failing_tests(cell, source, elsewhere)
        if not self.clean:
            self._load()
        self.clean = False
        self._run(source)
        try:
            return self._failing_tests(cell, source, elsewhere)
        finally:
            extra = _bound(tree) - self.bound
            self.clean = self._run("".join(f"del {name}\n" for name in sorted(extra)) + dict(self.answers)[cell])

    def _failing_tests(self, cell, source, elsewhere=False):
        tests = TrustedTests(self.setup, RELEASE, self.channel, 10)
        self._cells = [source if gid == cell else code for gid, code in self.answers]
        tests.sources = student_sources([nbformat.v4.new_code_cell(c) for c in self.setup + self._cells])
        names = cells_testing(cell, [gid for gid, _ in self.answers], self.tests)
        assert names, f"no test cells for {cell}"
        own = self._run_tests(tests, names)
        if not elsewhere:
            return own
        # the cells of the other functions whose tests name this one (its callers')
        return own, self._run_tests(tests, [t for t, text in self.tests.items()
                                            if t not in names and re.search(rf"\b{cell}\b", text)])

    def _run_tests(self, tests, names):
        failed = {}
        for name in names:
            self.student_errors = set()
            channel = None
            if inspects_source(self.tests[name]):
                program = source_kernel_program([nbformat.v4.new_code_cell(c) for c in self.setup + self._cells],
                                                setup_modules(self.setup))
                reply = self.source_client.execute_interactive("%reset -f\n" + program, timeout=60,
                                                               output_hook=lambda msg: None)
                assert reply["content"]["status"] == "ok", "the source kernel's program failed"
                channel = self.source_channel
            errors = [o for o in tests.run(self.tests[name], channel=channel) if o.output_type == "error"]
            if errors:
                failed[name] = Failure(errors[0].ename, errors[0].evalue, self.student_errors, self.student_names)
        return failed

    def close(self):
        for channel, client, km in ((self.channel, self.client, self.km),
                                    (self.source_channel, self.source_client, self.source_km)):
            channel.close()
            client.stop_channels()
            km.shutdown_kernel(now=True)


def cells_testing(cell, answers, test_ids):
    """The test cells of answer cell ``cell``: those named after it, the longest answer id a test
    is named after (test_cross_entropy_from_logits_values is cross_entropy_from_logits', not
    cross_entropy's); figure_1_facts' are named in TESTS_OF."""
    if cell in TESTS_OF:
        return list(TESTS_OF[cell])
    def owner(test_id):
        owners = [gid for gid in answers if test_id.startswith(f"test_{gid}_")]
        return max(owners, key=len) if owners else None
    return [t for t in test_ids if owner(t) == cell]


def _bound(tree):
    """The names a cell's top-level statements bind in the kernel's namespace."""
    return set().union(*(statement_binds(s) for s in tree.body))


def _only_defines(tree):
    """Whether a cell only defines functions and imports modules (a docstring aside), with no
    ``global``/``nonlocal`` that would let a call change the kernel's other names."""
    top = all(isinstance(s, (ast.FunctionDef, ast.Import, ast.ImportFrom))
              or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in tree.body)
    return top and not any(isinstance(n, (ast.Global, ast.Nonlocal)) for n in ast.walk(tree))


def _reseeded(test, reseed):
    """The test cell with each ``default_rng(N)`` drawing from another seed (none if reseed is 0)."""
    if not reseed:
        return test
    return re.sub(r"default_rng\((\d+)\)", lambda m: f"default_rng({int(m.group(1)) * 7919 + reseed})", test)


def grade_corpus(tmp, reseed=0):
    """{(notebook, cell, kind, name): {failing test cell: Failure}} for every entry of the corpus."""
    results = {}
    for notebook in sorted(set(MUTANTS) | set(CORRECT)):
        bench = Bench(notebook, tmp, reseed)
        try:
            for kind, table in (("mutant", MUTANTS), ("no_work", NO_WORK), ("odd_return", ODD_RETURNS),
                                ("correct", CORRECT)):
                for cell, variants in table.get(notebook, {}).items():
                    for name, source in variants.items():
                        # the cost-once rule (a mistake loses points only in its own function's
                        # cells): the answers that are wrong everywhere (no work, a None, a wrong
                        # shape) also run the tests of the other functions that name theirs
                        failed = bench.failures(cell, source, elsewhere=kind in ("no_work", "odd_return"))
                        if kind not in ("no_work", "odd_return"):
                            results[(notebook, cell, kind, name)] = failed
                        else:
                            results[(notebook, cell, kind, name)], results[(notebook, cell, "elsewhere", name)] = failed
        finally:
            bench.close()
    return results


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory):
    return grade_corpus(tmp_path_factory.mktemp("mutants"))


def test_the_corpus_covers_every_graded_function():
    for notebook in MUTANTS:
        nb = nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)
        answers = {_gid(c) for c in nb.cells if c.cell_type == "code" and is_answer_cell(c)}
        graded = {a for a in answers if a in TESTS_OF or any(
            _gid(c) and _gid(c).startswith(f"test_{a}_") for c in nb.cells if is_test_cell(c))}
        assert graded <= set(MUTANTS[notebook]), \
            f"{notebook}: no mistakes for {sorted(graded - set(MUTANTS[notebook]))}"
        assert graded <= set(CORRECT[notebook]), \
            f"{notebook}: no correct variants for {sorted(graded - set(CORRECT[notebook]))}"


def test_the_reference_passes_its_own_tests(tmp_path):
    bench = Bench("q1_cross_entropy_gradient", tmp_path)
    try:
        code = dict(bench.answers)["softmax"]
        assert bench.failures("softmax", code) == {}
        assert bench.failures("softmax", "def softmax(z):\n    return z")  # the harness can fail
    finally:
        bench.close()


def test_reseeding_draws_every_random_test_input_from_another_seed():
    """What `--reseed` relies on: every hidden test that draws random inputs draws them through
    default_rng(N) with a literal seed, and reseeding changes each of them."""
    seeded = 0
    for path in sorted(SOURCE.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if not is_test_cell(cell) or "random" not in cell.source:
                continue
            seeds = re.findall(r"default_rng\((\d+)\)", cell.source)
            assert seeds and "np.random.seed" not in cell.source, f"{_gid(cell)} draws without a literal seed"
            again = re.findall(r"default_rng\((\d+)\)", _reseeded(cell.source, 3))
            assert len(again) == len(seeds) and not set(again) & set(seeds), _gid(cell)
            seeded += 1
    assert seeded >= 20


def no_work_passes(results):
    """(notebook:test id, no-work answer) for each test cell a no-work answer of its function passes."""
    passed = []
    for notebook, cells in NO_WORK.items():
        nb = nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)
        answers = [_gid(c) for c in nb.cells if c.cell_type == "code" and is_answer_cell(c)]
        test_ids = [_gid(c) for c in nb.cells if is_test_cell(c)]
        for cell, stubs in cells.items():
            for name in stubs:
                failed = results.get((notebook, cell, "no_work", name), set())
                passed += [(f"{notebook}:{t}", name) for t in cells_testing(cell, answers, test_ids) if t not in failed]
    return passed


def test_every_test_cell_fails_every_answer_that_does_no_work(corpus_results):
    """A property-only check (the loss falls, the rows sum to one, the input is left alone) is
    passed by answers that do nothing but satisfy the property (a descent that never calls
    grad_fn and halves w lowers the loss). Every test cell also checks values, so it fails each of
    its function's no-work answers (tests/mutation_corpus.py NO_WORK); every graded function has some."""
    for notebook in MUTANTS:
        assert set(MUTANTS[notebook]) <= set(NO_WORK[notebook]), \
            f"{notebook}: no no-work answers for {sorted(set(MUTANTS[notebook]) - set(NO_WORK[notebook]))}"
    passed = no_work_passes(corpus_results)
    assert not passed, f"test cells passed by an answer that does no work: {passed}"


def test_a_mistake_costs_points_only_in_its_own_functions_cells(corpus_results):
    """Each function is graded on its own: while the tests of a function that calls another run,
    the called one is the test's own correct version, so an answer that is wrong everywhere (no
    work, a None, a wrong shape: a test that used the student's version would fail with it) fails
    no test cell of any other function that names it."""
    elsewhere = {f"{nb}:{cell}:{name}": sorted(failed) for (nb, cell, kind, name), failed in corpus_results.items()
                 if kind == "elsewhere" and failed}
    assert not elsewhere, f"mistakes that cost points in another function's cells: {elsewhere}"


def test_a_failure_message_never_crashes(corpus_results):
    """A wrong answer (a None, a transposed array, ints for shapes) fails with the test's own
    message: never with an error of the test's code (a hint that cannot be built, a comparison of
    arrays of the wrong shape), which would tell the student nothing about their answer."""
    crashes = {f"{nb}:{cell}:{name}:{test}": failure for (nb, cell, _, name), failed in corpus_results.items()
               for test, failure in failed.items() if failure.crashed}
    assert not crashes, f"test cells that crashed instead of saying what was wrong: {crashes}"


def test_at_least_95_percent_of_the_mistakes_lose_points(corpus_results):
    mutants = {k: v for k, v in corpus_results.items() if k[2] not in ("correct", "elsewhere")}
    survivors = sorted(f"{nb}:{cell}:{name}" for (nb, cell, _, name), failed in mutants.items() if not failed)
    killed = 1 - len(survivors) / len(mutants)
    assert len(mutants) >= 80
    assert killed >= 0.95, f"kill rate {killed:.1%}; mistakes that keep full marks: {survivors}"


def test_every_correct_variant_keeps_full_marks(corpus_results):
    wrong = {f"{nb}:{cell}:{name}": sorted(failed) for (nb, cell, kind, name), failed in corpus_results.items()
             if kind == "correct" and failed}
    assert not wrong, f"correct answers that lose points: {wrong}"


def _print_table(results, start):
    rows = {}
    for (_, cell, kind, name), failed in results.items():
        if kind == "elsewhere":
            if failed:
                print(f"  COSTS POINTS ELSEWHERE: {cell}:{name} {sorted(failed)}")
            continue
        kind = "correct" if kind == "correct" else "mutant"  # a no-work answer is a mistake too
        row = rows.setdefault(cell, {"mutant": [0, 0], "correct": [0, 0]})
        row[kind][0] += 1
        row[kind][1] += bool(failed) if kind == "mutant" else not failed
        if (kind == "mutant") != bool(failed):
            print(f"  {'SURVIVED' if kind == 'mutant' else 'FALSE FAILURE'}: {cell}:{name} {sorted(failed)}")
    print(f"{'function':26s} {'mistakes caught':>16s} {'correct kept':>13s}")
    for cell, row in rows.items():
        print(f"{cell:26s} {row['mutant'][1]:>7d} of {row['mutant'][0]:<6d} "
              f"{row['correct'][1]:>5d} of {row['correct'][0]}")
    for (_, cell, _, name), failed in results.items():
        for test, failure in failed.items():
            if failure.crashed:
                print(f"  CRASHED: {cell}:{name} {test}: {failure!r}")
    for test, name in no_work_passes(results):
        print(f"  PASSED BY A NO-WORK ANSWER: {test} ({name})")
    m = [v for k, v in results.items() if k[2] not in ("correct", "elsewhere")]
    c = [v for k, v in results.items() if k[2] == "correct"]
    print(f"kill rate {sum(bool(v) for v in m) / len(m):.1%} of {len(m)} mistakes; "
          f"false failures {sum(bool(v) for v in c)} of {len(c)} correct variants; {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    import argparse
    import tempfile
    parser = argparse.ArgumentParser(description="The hidden tests against the mutation corpus.")
    parser.add_argument("--reseed", type=int, nargs="*", default=[0],
                        help="grade again with every test's seeds shifted by each of these (0: as written)")
    for shift in parser.parse_args().reseed:
        print(f"seeds {'as written' if not shift else f'shifted by {shift}'}:")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            _print_table(grade_corpus(tmp, shift), started)
