"""The course's hub with LTI 1.3 login (docs/lti.md) instead of PAM, against a real platform on
loopback (tests/lti_platform.py): a student and an instructor launch from the LMS in Chromium and
land in their JupyterLab (the student's with nbgrader's student parts, the instructor's on the
course's instructor account with the formgrader); the student submits, the instructor grades and
passes back, and the platform's gradebook holds the gradebook's score for that member only. Forged,
expired, wrong-audience, replayed and foreign-deployment launches are refused with a page and a
line in the hub's log.

Students' Linux accounts are made by the hub at their first launch: here ``hubtest-lti-*`` (the
test's username prefix), wiped when the module starts. Run under the hub tests' locks.
"""
import http.cookiejar
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from hub_helpers import (
    TEST_EXCHANGE,
    TEST_INSTRUCTOR,
    Hub,
    _free_base_port,
    as_user,
    instructor,
    nbgrader_menu,
    wait_lab,
)
from lti_platform import CLIENT_ID, INSTRUCTOR, LEARNER, Platform

from grading import sample_class
from grading.course import ASSIGNMENT
from grading.hosting import hub as course_hub
from grading.hosting import lti
from grading.hosting.hub import HUB_ENV, HubLayout
from ml_conceptual import sample_class as course_class

PREFIX = "hubtest-lti-"
MEMBERS = {"ann": {"name": "Ann Lee", "email": "ann@example.edu", "roles": [LEARNER]},
           "ivy": {"name": "Ivy Park", "email": "ivy@example.edu", "roles": [INSTRUCTOR]}}
ANN, IVY = PREFIX + "ann", PREFIX + "ivy"
ZED = PREFIX + "zed"  # in the gradebook, never launched, not in the LMS


@pytest.fixture(scope="module")
def lti_hub(tmp_path_factory):
    state = tmp_path_factory.mktemp("lti-hub-state")
    layout = HubLayout(instructor=TEST_INSTRUCTOR, students=[], exchange=TEST_EXCHANGE, state=str(state),
                       port=_free_base_port(), course_folder="course")
    shutil.rmtree(layout.exchange, ignore_errors=True)
    for user in (layout.instructor, ANN):
        try:
            course_hub.reset_student(layout, user)
        except KeyError:
            pass  # not made yet
    course_hub.setup(layout)
    hub_url = layout.url
    platform = Platform(MEMBERS, tool_login_url=f"{hub_url}/hub/lti13/oauth_login",
                        tool_redirect_url=f"{hub_url}/hub/lti13/oauth_callback",
                        tool_jwks=f"{hub_url}/hub/lti13/jwks").start()
    settings = {**platform.settings(), "username_prefix": PREFIX, "enabled": True, "backoff": 0.2}
    with open(layout.course_dir / "nbgrader_config.py", "a") as f:  # what an admin writes (docs/lti.md)
        f.write("\n# LTI registration (tests/browser/test_hub_lti.py)\n")
        f.writelines(f"c.Lti.{k} = {v!r}\n" for k, v in settings.items())
    instructor(layout, "nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=WARN")
    instructor(layout, "nbgrader", "release_assignment", ASSIGNMENT, "--force", "--log-level=WARN")
    hub = Hub(layout)
    yield hub, platform
    hub.stop()
    platform.stop()


def _launch(browser, platform, hub, sub, user):
    """A new browser session launched from the LMS into JupyterLab: (context, page, seconds)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    started = time.monotonic()
    page.goto(platform.launch_url(sub, f"{hub.url}/hub"))
    wait_lab(page, user)
    return context, page, time.monotonic() - started


def _reference_texts():
    student = next(s for s in course_class.STUDENTS if s.id == "reference")
    return {f"{name}.ipynb": text for name, text in sample_class.student_notebooks(student).items()}


def test_student_and_instructor_launch_from_the_lms_submit_grade_and_pass_back(lti_hub, browser, shots):
    hub, platform = lti_hub
    layout = hub.layout
    context, page, seconds = _launch(browser, platform, hub, "ann", ANN)
    print(f"launch to JupyterLab (student, first spawn): {seconds:.1f} s")
    shots(page, "lti_student_lab")
    assert nbgrader_menu(page) == ["Assignment List"]  # a student's server
    context.close()
    # the account the hub made at her launch: her own, home 0700; she fetches and submits
    assert layout.home(ANN).stat().st_mode & 0o777 == 0o700
    as_user(layout, ANN, "nbgrader", "fetch_assignment", ASSIGNMENT)
    for name, text in _reference_texts().items():
        path = layout.home(ANN) / ASSIGNMENT / name
        as_user(layout, ANN, "python", "-c", f"open({str(path)!r}, 'w').write({text!r})")
    as_user(layout, ANN, "nbgrader", "submit", ASSIGNMENT)

    context, page, seconds = _launch(browser, platform, hub, "ivy", IVY)
    print(f"launch to JupyterLab (instructor, first spawn): {seconds:.1f} s")
    assert {"Formgrader", "Course List"} <= set(nbgrader_menu(page))  # the instructor's server
    listing = page.request.get(f"{hub.url}/user/{IVY}/api/contents").json()
    assert layout.course_folder in {item["name"] for item in listing["content"]}  # the course account's home
    shots(page, "lti_instructor_lab")
    context.close()
    assert json.loads((Path(layout.state) / "lti" / "launches.json").read_text())[IVY]["staff"] is True

    for student in (ANN, ZED):
        instructor(layout, "nbgrader", "db", "student", "add", student, "--log-level=WARN")
    instructor(layout, "nbgrader", "collect", ASSIGNMENT, "--log-level=WARN")
    course_hub.grade(layout, [ANN])
    started = time.monotonic()
    proc = subprocess.run([str(HUB_ENV / "bin" / "python"), "-m", "grading.hosting.lti", "passback",
                           "--layout", str(layout.layout_file)], cwd=layout.course_dir, capture_output=True, text=True)
    print(f"passback: {time.monotonic() - started:.1f} s")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"not in the LMS {ZED}" in proc.stdout and f"sent: 1 ({ANN})" in proc.stdout
    score = float(instructor(layout, "python", "-c", "import sys; sys.path.insert(0, '.');"
                             "from grading.course import nbgrader_api; from nbgrader.api import Gradebook;"
                             "gb = Gradebook(nbgrader_api().coursedir.db_url);"
                             f"print(gb.find_submission('conceptual', {ANN!r}).score)").stdout)
    (book,) = platform.gradebook.values()
    assert set(book) == {"ann"} and platform.problems == []  # the assertion checked against the hub's JWKS
    assert book["ann"]["scoreGiven"] == pytest.approx(score) and score > 50
    assert book["ann"]["gradingProgress"] == "PendingManual"  # written answers not graded yet
    assert re.match(r"\d{4}-\d\d-\d\dT", book["ann"]["submission"]["submittedAt"])


def _flow(platform, hub, sub, tamper=None, replay=False):
    """A launch by a scripted browser (cookies, redirects; the platform's page posted by hand):
    (status, page text) of the hub's answer to the id_token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    platform.tamper = tamper
    page = opener.open(platform.launch_url(sub, f"{hub.url}/hub"), timeout=30).read().decode()
    form = {name: value for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', page)}
    form = {k: v.replace("&amp;", "&").replace("&quot;", '"') for k, v in form.items()}
    callback = f"{hub.url}/hub/lti13/oauth_callback"
    posts = 2 if replay else 1
    for _ in range(posts):
        try:
            answer = opener.open(callback, urllib.parse.urlencode(form).encode(), timeout=60)
            status, text = answer.status, answer.read().decode()
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read().decode()
    return status, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


def test_forged_expired_replayed_and_foreign_launches_are_refused(lti_hub):
    hub, platform = lti_hub
    log = Path(hub.layout.state) / "hub.log"
    cases = {
        "forged": {"foreign_key": True},
        "expired": {"claims": {"exp": int(time.time()) - 60, "iat": int(time.time()) - 1200}},
        "wrong audience": {"claims": {"aud": "another-tool"}},
        "foreign deployment": {"claims": {lti.LTI + "deployment_id": "deployment-9"}},
    }
    for what, tamper in cases.items():
        before = log.read_text().count("LTI launch refused")
        status, text = _flow(platform, hub, "ann", tamper)
        assert status in (400, 401) and "This launch from the LMS was refused" in text, (what, status, text[:500])
        assert log.read_text().count("LTI launch refused") == before + 1, what
    status, text = _flow(platform, hub, "ann", replay=True)  # the same id_token and state posted twice
    assert status == 400 and "refused" in text and "state missing" in text, text[:500]
    status, _ = _flow(platform, hub, "ann")  # and an honest launch still works
    assert status == 200
    assert CLIENT_ID in (Path(hub.layout.course_dir) / "nbgrader_config.py").read_text()
