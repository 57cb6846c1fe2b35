"""Helpers for the framework's own tests: grade a folder and ask which checks lost points."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pytest

from grader.config import Config, load_config
from grader.results import Report
from grader.runner import grade

REPO = Path(__file__).resolve().parents[1]
SUBMISSION_SOURCES = REPO / "tests" / "submissions"  # hand-written folders and *.mutation files
# What tests grade: the sources with every mutation applied to the current reference (made by
# tests/conftest.py at the start of the session, removed at its end).
SUBMISSIONS = Path(tempfile.gettempdir()) / f"dlgrade-test-submissions-{os.getpid()}"
SOLUTIONS = REPO / "solutions"
ASSIGNMENTS = REPO / "assignments"


def repo_config() -> Config:
    return load_config(REPO / "autograder.yml")


def passable(path: Path) -> bool:
    """Every folder down to ``path`` lets other users through (a worker's uid must reach the
    interpreter and the checkout: a clone under a 0700 folder, say mktemp -d, does not)."""
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


# Where workers can only be kept apart by a uid of their own (or the judge runs as another
# user), the checkout and the venv must be reachable by other users; where they are not, the
# engine refuses to grade (fail closed, tests/test_sandbox_isolation.py), so these tests skip.
needs_worker_uids = pytest.mark.skipif(
    not (passable(REPO) and passable(Path(sys.prefix))),
    reason="the checkout or the venv sits in a folder other users cannot pass (mode 0700): "
           "workers could not run under their own uids")


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands of ``parser`` (``dlgrade``'s), by name."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def grade_dir(submission: Path, *exercises: str, public_only: bool = False,
              config: Config | None = None, artifacts_dir: Path | None = None) -> Report:
    """Grade ``submission`` on ``exercises`` (default: all) with the repository's config."""
    return grade(config or repo_config(), submission, exercises=exercises or None,
                 public_only=public_only, artifacts_dir=artifacts_dir)


def lost_points(report: Report) -> set[str]:
    """Names of the checks that scored below their maximum."""
    return {c.name for c in report.checks if c.score < c.max_score}


def full_marks(report: Report) -> bool:
    return bool(report.checks) and report.score == report.max_score
