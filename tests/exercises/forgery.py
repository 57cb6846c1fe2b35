"""The assertion every exercise's forgeries share (``tests/submissions/<id>/forge_*``).

A forgery is a submission whose functions are stubs but which, at import, replaces the probes
of its exercise (grader/exercises/<id>/probes.py) to send the judge plausible data and claims.
What a probe returns is the submission's word, never a verdict, so a forgery must earn no more
than the stub: nothing. Two defences hold it, and each is tested alone: the judge reads the
source and pays nothing to code that reaches into the grader (:mod:`grader.tamper`), and the
judge checks every answer against its own computation, so forged data fails on its own
(:func:`graded_without_the_tampering_rule`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import tamper
from grader.results import Report
from tests.helpers import grade_dir


def expect_no_more_than_the_stub(report: Report, stub: Report) -> None:
    assert stub.score == 0
    assert report.score <= stub.score, [(c.name, c.score) for c in report.checks if c.score > 0]
    assert {c.name for c in report.checks} == {c.name for c in stub.checks}
    errors = [(c.name, c.output[:300]) for c in report.checks
              if c.status not in ("passed", "failed")]
    assert not errors, errors  # a forged answer fails a check; it never breaks the grader


def expect_refused_for_tampering(report: Report, exercise: str) -> None:
    """Every check of ``exercise`` pays nothing and says why: the source reaches into the grader."""
    checks = [c for c in report.checks if c.exercise == exercise]
    assert checks and all(c.score == 0 for c in checks)
    assert all("reaches into the grader" in c.output for c in checks if c.status == "failed")
    assert any("reaches into the grader" in note
               for note in report.exercise_notes.get(exercise, ()))


def graded_without_the_tampering_rule(folder: Path, exercise: str,
                                      monkeypatch: pytest.MonkeyPatch) -> Report:
    """``folder`` graded as if the source check found nothing (in this process, --jobs 1): what
    the data checks alone make of a forgery."""
    monkeypatch.setattr(tamper, "verdict", lambda exercise, source: None)
    return grade_dir(folder, exercise)


def expect_forgery_earns_nothing(report: Report, stub: Report, folder: Path, exercise: str,
                                 monkeypatch: pytest.MonkeyPatch) -> Report:
    """Both defences, each alone: ``report`` (``folder`` graded) is refused for tampering and
    earns no more than ``stub``; graded again without the tampering rule it still earns no more.
    Returns that second report (what the data checks said)."""
    expect_no_more_than_the_stub(report, stub)
    expect_refused_for_tampering(report, exercise)
    data_only = graded_without_the_tampering_rule(folder, exercise, monkeypatch)
    expect_no_more_than_the_stub(data_only, stub)
    return data_only
