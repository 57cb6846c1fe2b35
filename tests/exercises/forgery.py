"""The assertion every exercise's forgeries share (``tests/submissions/<id>/forge_*``).

A forgery is a submission whose functions are stubs but which, at import, replaces the probes
of its exercise (grader/exercises/<id>/probes.py) to send the judge plausible data and claims.
What a probe returns is the submission's word, never a verdict, so a forgery must earn no more
than the stub: nothing.
"""

from __future__ import annotations

from grader.results import Report


def expect_no_more_than_the_stub(report: Report, stub: Report) -> None:
    assert stub.score == 0
    assert report.score <= stub.score, [(c.name, c.score) for c in report.checks if c.score > 0]
    assert {c.name for c in report.checks} == {c.name for c in stub.checks}
    errors = [(c.name, c.output[:300]) for c in report.checks
              if c.status not in ("passed", "failed")]
    assert not errors, errors  # a forged answer fails a check; it never breaks the grader
