"""One gradebook engine per submission (grading/batch/worker.py one_gradebook_engine): nbgrader's
Gradebook objects opened while a submission is graded share one engine (one connection pool, the
tables checked once); outside that, nbgrader's behaviour is unchanged."""
from nbgrader.api import Gradebook

from grading.batch.worker import _SHARED, one_gradebook_engine


def test_opens_while_a_submission_is_graded_share_one_engine(tmp_path, monkeypatch):
    import sqlalchemy
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    made = []
    real = sqlalchemy.create_engine

    def counting(*args, **kwargs):
        made.append(args[0])
        return real(*args, **kwargs)
    monkeypatch.setattr("nbgrader.api.create_engine", counting)

    with one_gradebook_engine(url):
        engines = []
        for student in ("ada", "ben", "cy"):
            with Gradebook(url) as gb:
                gb.add_student(student)
                engines.append(gb.engine)
        with Gradebook(url) as first, Gradebook(url) as second:  # open at once, as nbgrader does
            assert first.engine is second.engine
            assert sorted(s.id for s in second.students) == ["ada", "ben", "cy"]
        assert len(made) == 1 and all(e is engines[0] for e in engines)
    assert url not in _SHARED  # disposed with the submission
    with Gradebook(url) as gb, Gradebook(url) as other:  # outside: nbgrader's own, an engine each
        assert gb.engine is not other.engine and gb.engine is not engines[0]
        assert [s.id for s in gb.students] == ["ada", "ben", "cy"]
    assert len(made) == 3


def test_a_submission_that_fails_still_gives_its_engine_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    try:
        with one_gradebook_engine(url):
            with Gradebook(url):
                raise RuntimeError("the notebook broke")
    except RuntimeError:
        pass
    assert url not in _SHARED
    with one_gradebook_engine(url), one_gradebook_engine(url):  # nested (two threads of one worker)
        with Gradebook(url) as a:
            engine = a.engine
        assert _SHARED[url][0] is engine
    assert url not in _SHARED
