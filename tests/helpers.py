"""Helpers for the framework's own tests: grade a folder and ask which checks lost points."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

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
