# The front door. Every target sets up what it needs (a virtualenv from requirements.txt).
#   make demo   the full grading pipeline on the bundled sample class (SQLite gradebook)
#   make test   pytest over tests/ and nbval over source/
#   make lab    JupyterLab on the student copy in release/
#   make release    regenerate release/ from source/ (commit both)
#   make sample     write the sample class into submitted/
#   make autograde  grade everything in submitted/ in parallel, sandboxed
#   make feedback   feedback/ for every graded student (hidden tests removed)
#   make export     grades.csv;  make scores: the students x notebooks table
#   make report the instructor's HTML report (after autograde)
#   make bench  timings (medians of several runs)
#   make similarity  which pairs of students wrote alike answers, cell by cell (reports/similarity.json and .html)
#   make import ARCHIVE=submissions.zip ROSTER=roster.csv   an LMS bulk download (Canvas, Moodle) into submitted/ (docs/lms.md)
#   make lms-export   grades-canvas.csv and grades-moodle.csv from the gradebook, for the LMS's grade import
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# nbgrader runs `alembic` by name: the venv's bin must come first on PATH.
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
ASSIGNMENT := conceptual

.PHONY: help setup grading-tools test-tools release sample autograde feedback export scores report demo test lab bench import lms-export similarity clean

help:
	@sed -n 's/^#   //p' Makefile

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@# rfc3987-syntax (pulled in by jsonschema's format extras) builds a grammar at import: 2-3 s in
	@# every nbgrader, nbconvert and nbval process. Only jsonschema's "iri" format check needs it.
	$(BIN)/python -m pip uninstall -y -q rfc3987-syntax
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP)

# Debian packages: bubblewrap (the grading sandbox; util-linux brings setpriv and prlimit),
# chromium (browser tests), postgresql (the server the scale tests start on loopback).
# Installed when missing and we may (root with apt-get); otherwise named, and the step fails.
system-packages = @missing=""; for pair in $(1); do cmd=$${pair%%:*}; pkg=$${pair\#*:}; \
	command -v $$cmd >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/$$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (sudo apt-get install$$missing)"; exit 1; fi; fi

grading-tools:
	$(call system-packages,bwrap:bubblewrap)

test-tools:
	$(call system-packages,bwrap:bubblewrap chromium:chromium initdb:postgresql)

release: setup  ## regenerate release/ from source/ (commit the result)
	nbgrader generate_assignment $(ASSIGNMENT) --force --log-level=WARN

sample: setup  ## write the sample class into submitted/
	python -m grading.sample_class

autograde: setup grading-tools  ## grade everything in submitted/ in parallel
	python -m grading.runner

feedback: setup  ## feedback/ for every graded student (hidden tests removed)
	nbgrader generate_feedback $(ASSIGNMENT) --force --log-level=WARN

export: setup  ## grades.csv
	nbgrader export --to grades.csv --log-level=WARN
	@echo "grades exported to grades.csv"

scores: setup
	python -m grading.scores

report: setup  ## reports/report.html: distributions, failure rate per test cell, manual queue
	python -m grading.report

demo: setup  ## resets submitted/, autograded/, feedback/ and the gradebook, then runs it all
	rm -rf submitted feedback gradebook.db grades.csv
	find autograded -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
	$(MAKE) --no-print-directory release sample autograde feedback export report scores

test: setup test-tools  ## the slowest tests are printed at the end (--durations=15), in CI's output too
	python -m pytest tests --durations=15
	python -m pytest --nbval-lax -p no:cacheprovider source/$(ASSIGNMENT)

lab: setup
	jupyter lab --notebook-dir=release/$(ASSIGNMENT)

# LMS bulk download in, LMS grades file out (grading/lms.py, docs/lms.md)
import: setup  ## make import ARCHIVE=submissions.zip ROSTER=roster.csv [DUEDATE='2026-12-01 23:59 UTC']
	@test -n "$(ARCHIVE)" && test -n "$(ROSTER)" || { echo "usage: make import ARCHIVE=submissions.zip ROSTER=roster.csv [DUEDATE='2026-12-01 23:59 UTC']"; exit 2; }
	python -m grading.lms import "$(ARCHIVE)" "$(ROSTER)" $(if $(DUEDATE),--duedate "$(DUEDATE)")

lms-export: setup  ## [CANVAS_ASSIGNMENT="Conceptual questions" CANVAS_ASSIGNMENT_ID=12345 MOODLE_ITEM=...]
	python -m grading.lms export $(if $(CANVAS_ASSIGNMENT),--canvas-assignment "$(CANVAS_ASSIGNMENT)") \
	  $(if $(CANVAS_ASSIGNMENT_ID),--canvas-assignment-id "$(CANVAS_ASSIGNMENT_ID)") $(if $(MOODLE_ITEM),--moodle-item "$(MOODLE_ITEM)")

similarity: setup  ## reports/similarity.json (pairs, most alike first) and reports/similarity.html
	python -m grading.similarity

bench: setup  ## every benchmark (~30 min); one section: make bench SECTIONS="widget class"
	python -m bench $(SECTIONS)

clean:
	rm -rf submitted feedback gradebook.db grades.csv grades-canvas.csv grades-moodle.csv .bench
	find autograded -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
