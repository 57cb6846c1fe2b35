"""Session set-up for the framework's tests: build the submission folders they grade."""

from __future__ import annotations

import shutil

from tests.helpers import SOLUTIONS, SUBMISSION_SOURCES, SUBMISSIONS
from tests.mutations import materialize


def pytest_sessionstart(session):
    materialize(SUBMISSION_SOURCES, SOLUTIONS, SUBMISSIONS)
    SUBMISSIONS.chmod(0o755)


def pytest_sessionfinish(session):
    shutil.rmtree(SUBMISSIONS, ignore_errors=True)
