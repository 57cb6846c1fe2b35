"""`dlgrade init-ci`: a GitHub Actions workflow and a Classroom autograding.json that work."""

from __future__ import annotations

import json

import yaml

from grader.cli import main as dlgrade
from grader.results import Report, CheckResult
from tests.helpers import REPO


def test_init_ci_writes_a_workflow_and_one_classroom_test_per_exercise(tmp_path, capsys):
    assert dlgrade(["init-ci", "--out", str(tmp_path), "--min-score", "60",
                    "--config", str(REPO / "autograder.yml")]) == 0
    flow = yaml.safe_load((tmp_path / ".github/workflows/dlgrade.yml").read_text())
    steps = flow["jobs"]["grade"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "download.pytorch.org/whl/cpu torch==" in runs and "pip install ." in runs
    assert "dlgrade grade assignments" in runs and "--min-score 60" in runs
    assert "--junit build/report.xml" in runs
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps)
    tests = json.loads((tmp_path / ".github/classroom/autograding.json").read_text())["tests"]
    assert [t["name"].split()[0] for t in tests] == ["kfold", "param_count", "backprop", "conv",
                                                     "dropout", "autoencoder"]
    for t in tests:
        assert {"name", "setup", "run", "input", "output", "comparison", "timeout", "points"} <= set(t)
        assert t["run"].startswith("dlgrade grade assignments --exercises ")
        assert isinstance(t["points"], int) and t["points"] >= 1
    kfold = tests[0]
    assert "--min-score 7.4" in kfold["run"] and kfold["points"] == 7


def test_min_score_is_points_and_totals_round_as_gradescope_shows():
    third = 10 / 3
    checks = tuple(CheckResult("ex", f"ex: c{i}", third, third, "visible", "passed")
                   for i in range(36))
    report = Report(checks=checks, exercises=("ex",), points={"ex": 120})
    assert report.score == report.max_score == 120  # not 119.99999999999997
