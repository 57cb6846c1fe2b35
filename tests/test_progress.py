"""Training progress: probes report minibatches, `dlgrade check` draws a bar only on a terminal."""

from __future__ import annotations

import io

from grader.cli import _interactive, progress_bar
from grader.runner import grade
from tests.helpers import SOLUTIONS, repo_config


def test_training_probe_reports_progress_to_the_judge():
    calls = []
    report = grade(repo_config(), SOLUTIONS, exercises=["autoencoder"], public_only=True,
                   on_progress=lambda done, total, label: calls.append((done, total, label)))
    assert report.score == report.max_score
    assert calls, "no progress frame reached the judge"
    dones = [c[0] for c in calls]
    assert dones == sorted(dones) and calls[-1][0] == calls[-1][1] > 0
    assert calls[-1][2] == "training your autoencoder"


def test_bar_draws_in_place_and_clears():
    out = io.StringIO()
    draw = progress_bar(out, width=10)
    draw(5, 10, "training")
    assert out.getvalue().startswith("\rtraining") and "[#####.....] 5/10" in out.getvalue()
    draw(0, 0, "")
    assert out.getvalue().endswith("\r")


def test_no_bar_in_ci_or_when_not_a_terminal(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("CI", raising=False)
    assert _interactive(Tty()) and not _interactive(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not _interactive(Tty())
