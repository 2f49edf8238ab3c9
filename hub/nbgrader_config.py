"""nbgrader's settings every server on the course hub reads: the course id and the exchange.

Installed by `make hub-setup` into the hub environment's etc/jupyter/ (one of nbgrader's config
folders), so the instructor's server and every student's server read the same file. The course
id and the default exchange root come from course-hub.json beside it, which the hub's set-up
writes from their one home (grading/hosting/hub.py: ``write_hub_course_file``); NBGRADER_EXCHANGE_ROOT
overrides the exchange root (the hub sets it from its layout).
"""
import json
import os

c = get_config()  # noqa: F821
with open(os.path.join(os.path.dirname(__file__), "course-hub.json")) as f:
    hub = json.load(f)
c.CourseDirectory.course_id = hub["course_id"]
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT") or hub["exchange"]
# A submission without every notebook of the release (a renamed or deleted one) is refused, and
# the student is told which: nothing half-submitted reaches the instructor.
c.ExchangeSubmit.strict = True

# nbgrader's submit leaves each submission folder in inbound/ mode 0777 ("so the instructor can
# delete later"; here the instructor's collect runs as root and needs no such right), so a
# classmate who learnt a folder's name could add or remove files in it. This submit leaves it
# 0755: only its owner changes it. (Collect still judges every folder as untrusted:
# grading/hosting/collect.py.)
from nbgrader.exchange.default.submit import ExchangeSubmit  # noqa: E402


class OwnerOnlySubmit(ExchangeSubmit):
    def copy_files(self):
        super().copy_files()
        folder = os.path.join(self.inbound_path, self.assignment_filename)
        if os.path.isdir(folder) and not os.path.islink(folder):
            os.chmod(folder, 0o755)


c.ExchangeFactory.submit = OwnerOnlySubmit
