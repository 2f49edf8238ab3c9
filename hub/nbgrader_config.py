"""nbgrader's settings every server on the course hub reads: the course id and the exchange.

Installed by `make hub-setup` into the hub environment's etc/jupyter/ (one of nbgrader's config
folders), so the instructor's server and every student's server read the same file. The
exchange root can be overridden by NBGRADER_EXCHANGE_ROOT (the hub sets it from its layout).
"""
import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "ml-conceptual"
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
# A submission without every notebook of the release (a renamed or deleted one) is refused, and
# the student is told which: nothing half-submitted reaches the instructor.
c.ExchangeSubmit.strict = True
