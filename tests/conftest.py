"""Session set-up for the framework's tests: build the submission folders they grade."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import SOLUTIONS, SUBMISSION_SOURCES, SUBMISSIONS, grade_dir
from tests.mutations import materialize


def pytest_sessionstart(session):
    materialize(SUBMISSION_SOURCES, SOLUTIONS, SUBMISSIONS)
    SUBMISSIONS.chmod(0o755)


def pytest_sessionfinish(session):
    shutil.rmtree(SUBMISSIONS, ignore_errors=True)


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """``graded(folder, exercise, public_only=False)``: grade once per test session, then reuse."""
    cache = {}

    def get(folder, exercise, *, public_only=False):
        key = (Path(folder), exercise, public_only)
        if key not in cache:
            cache[key] = grade_dir(Path(folder), exercise, public_only=public_only,
                                   artifacts_dir=tmp_path_factory.mktemp("artifacts"))
        return cache[key]

    return get
