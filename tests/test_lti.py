"""Grade passback (grading/hosting/lti.py) against a real LTI 1.3 platform on loopback (tests/lti_platform.py),
which checks the token assertion, scopes, media types and every score's body; usernames, roles
and the tool's key. The hub's launches are tested in tests/browser/test_hub_lti.py."""
import json
import os
import stat
import urllib.parse

import jwt
import pytest
from lti_platform import INSTRUCTOR, LEARNER, TA, Platform

from grading.hosting import lti

MEMBERS = {
    "ann": {"name": "Ann Lee", "email": "ann@example.edu", "roles": [LEARNER]},
    "bo": {"name": "Bo Tran", "email": "bo@example.edu", "roles": [LEARNER]},
    "cy": {"name": "Cy Ray", "email": "cy@example.edu", "roles": [LEARNER], "status": "Inactive"},
    "dan": {"name": "Dan Oh", "email": "dan@example.edu", "roles": [LEARNER]},
    "eve": {"name": "Eve Ng", "email": "eve@example.edu", "roles": [LEARNER]},  # not in the gradebook
    "tess": {"name": "Tess Ali", "email": "tess@example.edu", "roles": [TA]},
    "ivy": {"name": "Ivy Park", "email": "ivy@example.edu", "roles": [INSTRUCTOR]},
}


def _grades():
    return [lti.Grade("lti-ann", 81.5, 100.0, True, "2026-12-01T10:00:00.000Z"),
            lti.Grade("lti-bo", 55.0, 100.0, False, "2026-12-01T11:00:00.000Z"),
            lti.Grade("lti-cy", 70.0, 100.0, False, "2026-12-01T12:00:00.000Z"),
            lti.Grade("lti-dan", None, 100.0),
            lti.Grade("lti-tess", 100.0, 100.0, False, "2026-12-01T09:00:00.000Z"),
            lti.Grade("lti-zed", 90.0, 100.0, False, "2026-12-01T09:30:00.000Z")]


def _course(tmp_path, declarative=False, page_size=3, launched=("ann", "bo", "cy", "dan", "tess", "ivy")):
    """A platform with MEMBERS, the tool's key in a hub state folder, and the users' launches recorded."""
    state = tmp_path / "state"
    lti.ensure_key(state)
    platform = Platform(MEMBERS, tool_jwks=lti.jwks(state), declarative_lineitem=declarative,
                        page_size=page_size).start()
    settings = lti.Lti(**platform.settings(), retries=2, backoff=0.01, timeout=5)
    for sub in launched:  # what the hub records from each verified launch
        claims = jwt.decode(platform.id_token(sub, "n", "t"), options={"verify_signature": False})
        lti.record_launch(state, lti.hub_username(sub), claims)
    return platform, settings, state


@pytest.fixture
def course(tmp_path):
    platform, settings, state = _course(tmp_path)
    yield platform, settings, state
    platform.stop()


def test_usernames_are_prefixed_bounded_and_never_shared():
    assert lti.hub_username("ann") == "lti-ann"
    assert lti.hub_username("5") == "lti-5"  # Moodle's numeric ids
    canvas = "535fa085f22b4655f48cd5a36a9215f64c062838"  # too long for a Linux name: hashed
    opaque = {lti.hub_username(v) for v in (canvas, "Ann", "ANN", "ann lee", "../root", "a" * 40, "lti-ann")}
    assert len(opaque) == 7 and "lti-ann" not in opaque
    assert all(n.startswith("lti-") and len(n) <= 32 and lti.SAFE_VALUE.match(n) for n in opaque)
    assert lti.hub_username(canvas) == lti.hub_username(canvas)  # stable
    assert lti.hub_username("root", "hubtest-lti-") == "hubtest-lti-root"
    with pytest.raises(ValueError):
        lti.hub_username("  ")


def test_course_roles_decide_staff_not_institution_roles():
    assert lti.is_staff([INSTRUCTOR]) and lti.is_staff([TA]) and lti.is_staff(["TeachingAssistant"])
    assert not lti.is_staff([LEARNER])
    assert not lti.is_staff(["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor", LEARNER])
    assert not lti.is_staff([f"{lti.MEMBERSHIP}#Mentor"]) and not lti.is_staff(None)


def test_the_key_stays_private_and_its_jwks_verifies_what_it_signs(tmp_path):
    state = tmp_path / "state"
    path = lti.ensure_key(state)
    first = path.read_bytes()
    assert lti.ensure_key(state) == path and path.read_bytes() == first  # made once
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    keyset = lti.jwks(state)
    assert "d" not in keyset["keys"][0] and "PRIVATE" not in json.dumps(keyset)
    settings = lti.Lti(client_id="c1", token_url="https://lms.example/token")
    token = lti.PlatformClient(settings, lti.load_key(state)).assertion()
    jwk = jwt.PyJWK(keyset["keys"][0])
    claims = jwt.decode(token, jwk.key, algorithms=["RS256"], audience="https://lms.example/token")
    assert claims["iss"] == claims["sub"] == "c1" and claims["exp"] - claims["iat"] == 300
    assert jwt.get_unverified_header(token)["kid"] == keyset["keys"][0]["kid"]


def test_passback_posts_each_score_to_its_member_and_names_the_rest(course):
    platform, settings, state = course
    summary = lti.passback(settings, state, _grades())
    assert platform.problems == []
    assert summary.lineitem_kind == "created" and summary.sent == ["lti-ann", "lti-bo"]
    assert summary.staff_skipped == ["lti-tess"] and summary.no_submission == ["lti-dan"]
    assert set(summary.not_in_lms) == {"lti-cy", "lti-zed"} and "Inactive" in summary.not_in_lms["lti-cy"]
    assert summary.not_in_gradebook == ["Eve Ng"] and summary.failed == {}
    (item,) = platform.lineitems.values()
    assert item["tag"] == "conceptual" and item["scoreMaximum"] == 100 and item["resourceLinkId"] == "link-1"
    book = platform.gradebook[item["id"]]
    assert set(book) == {"ann", "bo"}  # zed (90) and cy (70) went to nobody
    assert book["ann"]["scoreGiven"] == 81.5 and book["ann"]["scoreMaximum"] == 100
    assert (book["ann"]["gradingProgress"], book["ann"]["activityProgress"]) == ("PendingManual", "Submitted")
    assert (book["bo"]["gradingProgress"], book["bo"]["activityProgress"]) == ("FullyGraded", "Completed")
    assert book["bo"]["submission"]["submittedAt"] == "2026-12-01T11:00:00.000Z"
    # one token for the run, asked with exactly the scopes passback uses
    (form,) = [b for m, p, h, b in platform.requests if p == "/token"]
    asked = dict(urllib.parse.parse_qsl(form.decode()))
    assert asked["scope"].split() == [lti.SCOPE_LINEITEM, lti.SCOPE_SCORE, lti.SCOPE_MEMBERS]
    assert sum(p == "/memberships" for _, p, _, _ in platform.requests) == 3  # 7 members, pages of 3
    text = "\n".join(summary.lines())
    assert "not in the LMS lti-zed" in text and "staff, skipped: lti-tess" in text


def test_a_second_passback_sends_only_what_changed_and_finds_its_line_item(course):
    platform, settings, state = course
    lti.passback(settings, state, _grades())
    posted = len(platform.scores)
    with open(state / "lti" / "passback.jsonl", "a") as ledger:
        ledger.write('{"lineitem": "cut off by a cra')  # a crash mid-line: ignored
    again = lti.passback(settings, state, _grades())
    assert again.sent == [] and again.unchanged == ["lti-ann", "lti-bo"] and len(platform.scores) == posted
    assert again.lineitem_kind == "found" and len(platform.lineitems) == 1
    graded = _grades()
    graded[0] = lti.Grade("lti-ann", 87.5, 100.0, False, "2026-12-01T10:00:00.000Z")  # written answer graded
    third = lti.passback(settings, state, graded)
    assert third.sent == ["lti-ann"] and third.unchanged == ["lti-bo"]
    ann = platform.gradebook[third.lineitem]["ann"]
    assert (ann["scoreGiven"], ann["gradingProgress"]) == (87.5, "FullyGraded")
    forced = lti.passback(settings, state, graded, force=True)
    assert forced.sent == ["lti-ann", "lti-bo"] and platform.problems == []


def test_the_platforms_declarative_line_item_is_used(tmp_path):
    platform, settings, state = _course(tmp_path, declarative=True)
    try:
        summary = lti.passback(settings, state, _grades())
        assert summary.lineitem_kind == "declarative" and summary.lineitem == f"{platform.url}/lineitems/1"
        assert not [p for m, p, _, _ in platform.requests if m == "POST" and p == "/lineitems"]
        assert set(platform.gradebook[summary.lineitem]) == {"ann", "bo"} and platform.problems == []
    finally:
        platform.stop()


def test_errors_of_the_platform_lose_no_grade_and_a_rerun_sends_it(course):
    platform, settings, state = course
    platform.fail("/lineitems/1/scores", 503, times=2)  # retried with backoff: both sent
    first = lti.passback(settings, state, _grades()[:1])
    assert first.sent == ["lti-ann"]
    platform.fail("/lineitems/1/scores", 400)  # a refusal is not retried: named, with the answer
    refused = lti.passback(settings, state, _grades()[:2])
    assert refused.sent == [] and refused.unchanged == ["lti-ann"]
    assert "HTTP 400" in refused.failed["lti-bo"] and "injected" in refused.failed["lti-bo"]
    assert "bo" not in platform.gradebook[refused.lineitem]
    rerun = lti.passback(settings, state, _grades()[:2])
    assert rerun.sent == ["lti-bo"] and platform.gradebook[rerun.lineitem]["bo"]["scoreGiven"] == 55.0
    platform.fail("/token", 500, times=3)  # down for longer than the retries: stops, sends nothing
    with pytest.raises(lti.PlatformError, match="HTTP 500.*tried 3 times"):
        lti.passback(settings, state, _grades(), force=True)


def test_an_unreachable_platform_and_a_foreign_key_are_refused(course, tmp_path):
    platform, settings, state = course
    platform.stop()
    with pytest.raises(lti.PlatformError, match="tried 3 times"):
        lti.passback(settings, state, _grades())
    other, other_settings, _ = _course(tmp_path / "other")
    try:  # the tool signs with a key the platform does not know (state's, not other's)
        with pytest.raises(lti.PlatformError, match="HTTP 401"):
            lti.passback(other_settings, state, _grades())
        assert any("bad assertion" in p for p in other.problems) and other.scores == []
    finally:
        other.stop()


def test_without_any_launch_passback_says_what_to_do(tmp_path):
    platform, settings, state = _course(tmp_path, launched=())
    try:
        with pytest.raises(lti.PlatformError, match="launch the tool once"):
            lti.passback(settings, state, _grades())
    finally:
        platform.stop()


def test_gradebook_grades_of_the_graded_sample_class(graded_class):
    """The gradebook's score of every sample student; PendingManual for all but the untouched release,
    whose written answers are the release's own (nbgrader scores those 0 without a grader)."""
    db = f"sqlite:///{graded_class['root'] / 'gradebook.db'}"
    grades = {g.student: g for g in lti.gradebook_grades(db)}
    table = graded_class["table"]
    assert set(grades) == set(table)
    for student, cells in table.items():
        grade = grades[student]
        assert grade.max_score == 100 and grade.pending_manual == (student != "untouched"), grade
        assert grade.score == pytest.approx(sum(s for s, _ in cells.values()), abs=0.01)
        # the sample class was written, not submitted: no timestamp, so no submittedAt is sent
        assert grade.submitted_at == "" and "submission" not in grade.payload("x")
    assert {g.student: g.score for g in lti.gradebook_grades(db, "lms")} == {s: g.score for s, g in grades.items()}


def _authenticator(state, **settings):
    from grading.hosting.lti_hub import CourseLtiAuthenticator
    return CourseLtiAuthenticator(course_lti=lti.Lti(**settings), state=str(state))


def test_the_hubs_authenticator_names_records_and_refuses(tmp_path):
    """The launch as jupyterhub-ltiauthenticator hands it over (verified): name, record, refusals."""
    import asyncio

    from ltiauthenticator.lti13.error import LoginError
    platform = Platform(MEMBERS)
    platform.url = "https://lms.example"
    claims = jwt.decode(platform.id_token("ivy", "n", "t"), options={"verify_signature": False})
    auth = _authenticator(tmp_path, deployment_ids=["deployment-1"])
    model = asyncio.run(auth.authenticate(None, claims))  # staff: no account is made
    assert model["name"] == "lti-ivy" and model["auth_state"] is claims
    record = lti.launches(tmp_path)["lti-ivy"]
    assert record["staff"] and record["nrps"] == "https://lms.example/memberships"
    assert record["ags"]["lineitems"] == "https://lms.example/lineitems" and "nonce" not in record
    by_login = _authenticator(tmp_path, username_claim="custom_login", username_prefix="x-")
    assert asyncio.run(by_login.authenticate(None, dict(claims, **{lti.LTI + "custom": {"login": "ivy.p"}})))[
        "name"] == lti.hub_username("ivy.p", "x-")
    with pytest.raises(LoginError, match="deployment 'deployment-9'"):
        asyncio.run(auth.authenticate(None, dict(claims, **{lti.LTI + "deployment_id": "deployment-9"})))
    other_course = _authenticator(tmp_path, context_ids=["course-7"])
    with pytest.raises(LoginError, match="course 'course-42' in the LMS is not this hub's course"):
        asyncio.run(other_course.authenticate(None, claims))
    with pytest.raises(LoginError, match="no 'custom_login'"):
        asyncio.run(by_login.authenticate(None, claims))
    assert set(lti.launches(tmp_path)) == {"lti-ivy", lti.hub_username("ivy.p", "x-")}  # refusals: no record


def test_staff_servers_run_as_the_instructors_account():
    from grading.hosting.lti_hub import CourseSpawner

    class User:
        name = "lti-ivy"
    spawner = CourseSpawner(user=User())
    spawner.system_user = "root"
    assert spawner.user_env({})["HOME"] == "/root" and spawner.user_env({})["USER"] == "root"


def test_the_late_penalty_is_taken_off_once_as_the_course_setting_says(tmp_path):
    from nbgrader.api import Gradebook

    from grading.settings import LatePenalty
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db) as gb:
        gb.add_assignment("conceptual", duedate="2026-12-01 10:00:00")
        gb.add_notebook("q1", "conceptual")
        gb.add_grade_cell("c1", "q1", "conceptual", max_score=100, cell_type="code")
        gb.add_student("lti-ann")
        gb.add_submission("conceptual", "lti-ann", timestamp="2026-12-02 09:00:00")
        grade = gb.find_grade("c1", "q1", "conceptual", "lti-ann")
        grade.auto_score, grade.needs_manual_grade = 80, False
        gb.find_submission_notebook("q1", "conceptual", "lti-ann").late_submission_penalty = 8
        gb.db.commit()
    (course,) = lti.gradebook_grades(db, LatePenalty().applied_by)  # the default: the course's
    (lms,) = lti.gradebook_grades(db, "lms")
    assert (course.score, lms.score) == (72.0, 80.0)
    assert course.submitted_at == "2026-12-02T09:00:00.000Z" and not course.pending_manual
