"""`dlgrade init-ci`: a GitHub Actions workflow and a Classroom autograding.json that work."""

from __future__ import annotations

import json

import yaml

from grader.cli import main as dlgrade
from grader.results import Report, CheckResult
from tests.helpers import REPO, repo_config


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
    assert [t["name"].split()[0] for t in tests] == list(repo_config().ids)
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


# -- failures that matter are loud -----------------------------------------------------------------

def test_a_submission_path_that_does_not_exist_exits_2_and_says_so(tmp_path, capsys):
    results = tmp_path / "results.json"
    code = dlgrade(["grade", str(tmp_path / "typo"), "--quiet", "--results", str(results),
                    "--exercises", "kfold", "--config", str(REPO / "autograder.yml")])
    err = capsys.readouterr().err
    assert code == 2 and "typo does not exist" in err
    assert "does not exist" in json.loads(results.read_text())["output"]
    assert dlgrade(["check", "kfold", "--submission", str(tmp_path / "typo"),
                    "--config", str(REPO / "autograder.yml")]) == 2


def test_an_existing_empty_folder_is_still_a_graded_zero(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert dlgrade(["grade", str(tmp_path / "empty"), "--quiet", "--exercises", "kfold",
                    "--config", str(REPO / "autograder.yml")]) == 0
    assert capsys.readouterr().out.strip() == "0 / 10"


def test_a_grader_error_is_a_top_level_notice_and_exit_code_3(tmp_path, capsys):
    """A reference missing from the solutions folder: conv's hidden checks cannot run."""
    (tmp_path / "sol").mkdir()
    config = tmp_path / "autograder.yml"
    config.write_text("solutions: sol\nexercises:\n  kfold: {points: 10}\n  conv: {points: 25}\n")
    results, junit = tmp_path / "results.json", tmp_path / "junit.xml"
    code = dlgrade(["grade", str(REPO / "solutions"), "--results", str(results), "--junit",
                    str(junit), "--config", str(config)])
    out, err = capsys.readouterr()
    assert code == 3
    assert "the grader itself failed in checks of conv" in err and "exit code 3" in err
    table = out[out.index("GRADER ERROR"):]  # the table starts with it (after the run's notices)
    assert table.startswith("GRADER ERROR: the grader itself failed in ")
    assert table.index("GRADER ERROR") < table.index("kfold (10 points)")
    assert out.rstrip().endswith("GRADER ERROR: the total above is incomplete (see the top)")
    data = json.loads(results.read_text())
    assert data["output"].startswith("GRADER ERROR: the grader itself failed in 12 check(s), "
                                     "of conv (12).")
    assert "[x=" not in data["output"]  # no hidden check's name (its case) at the top
    assert any(t["status"] == "failed" and "The grader itself failed" in t["output"]
               for t in data["tests"])
    assert "<error" in junit.read_text()
    # --quiet says it too, and the grader error beats --min-score's code
    assert dlgrade(["grade", str(REPO / "solutions"), "--quiet", "--min-score", "200",
                    "--config", str(config)]) == 3
    assert "the grader itself failed" in capsys.readouterr().err
