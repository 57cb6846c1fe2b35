"""Reports: Gradescope results.json, JUnit, the table, and the CLI's exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from grader import runner
from grader.cli import main as dlgrade
from grader.errors import GraderError
from grader.results import format_table, to_gradescope, to_junit
from tests.helpers import ASSIGNMENTS, REPO, SOLUTIONS, grade_dir, repo_config

CONFIG = str(REPO / "autograder.yml")


@pytest.fixture(scope="module")
def stub_report():
    return grade_dir(ASSIGNMENTS, "kfold")


def test_gradescope_format(stub_report):
    data = to_gradescope(stub_report)
    assert set(data) >= {"score", "tests", "stdout_visibility", "output"}
    assert data["score"] == 0
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
        assert test["name"].startswith("kfold: ")
        assert test["max_score"] > 0 and test["visibility"] in ("visible", "hidden")
    assert abs(sum(t["max_score"] for t in data["tests"]) - 10) < 1e-3


def test_junit_lists_every_check_as_a_failure(stub_report):
    root = ET.fromstring(to_junit(stub_report))
    cases = root.findall(".//testcase")
    assert len(cases) == len(stub_report.checks)
    assert all(case.find("failure") is not None for case in cases)


def test_table_says_what_to_fix(stub_report):
    table = format_table(stub_report)
    assert "kfold (10 points)" in table and "FAIL" in table
    assert "is not implemented yet" in table


def test_grade_exit_code_is_0_whatever_the_score_and_results_replace_old_files(tmp_path):
    results = tmp_path / "results.json"
    results.write_text("old garbage")
    junit = tmp_path / "junit.xml"
    code = dlgrade(["--config", CONFIG, "grade", str(ASSIGNMENTS), "--exercises", "kfold",
                    "--results", str(results), "--junit", str(junit), "--quiet"])
    assert code == 0
    assert json.loads(results.read_text())["score"] == 0
    ET.fromstring(junit.read_text())


def test_min_score_fails_ci_below_it(capsys):
    assert dlgrade(["--config", CONFIG, "grade", str(ASSIGNMENTS), "--exercises", "kfold",
                    "--quiet", "--min-score", "5"]) == 1
    assert "below --min-score 5" in capsys.readouterr().err
    assert dlgrade(["--config", CONFIG, "grade", str(SOLUTIONS), "--exercises", "kfold",
                    "--quiet", "--min-score", "10"]) == 0


@pytest.mark.parametrize("argv, message", [
    (["grade", str(SOLUTIONS), "--exercises", "nosuch"], "unknown exercise 'nosuch'"),
    (["check", "nosuch"], "unknown exercise 'nosuch'"),
    (["calibrate", "kfold"], "has no thresholds to calibrate"),
])
def test_cli_errors_exit_2_with_a_message(argv, message, capsys):
    assert dlgrade(["--config", CONFIG, *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("dlgrade: error:")


def test_a_missing_submission_folder_still_writes_every_check_at_zero(tmp_path, capsys):
    """grade() lists every check at 0 with the reason; the command line refuses the path
    (exit code 2, results.json saying why: a typo in a CI job never becomes a zero)."""
    report = grade_dir(Path("/no/such/folder"), "kfold")
    assert report.score == 0
    assert len(report.checks) == len(runner.list_checks(repo_config(), ["kfold"]))
    assert all(c.max_score > 0 and c.score == 0 for c in report.checks)
    assert any("does not exist" in n for n in report.notices)
    results = tmp_path / "results.json"
    assert dlgrade(["--config", CONFIG, "grade", "/no/such/folder", "--exercises", "kfold",
                    "--results", str(results)]) == 2
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "does not exist" in data["output"]


def test_check_runs_public_checks_only(capsys):
    assert dlgrade(["--config", CONFIG, "check", "kfold", "--submission", str(SOLUTIONS)]) == 0
    out = capsys.readouterr().out
    table = out[out.index("kfold (10 points)"):out.index("Total:")]
    assert "PASS" in table and "hidden" not in table
    assert "public checks are worth 7.5 of the exercise's 10 points" in " ".join(out.split())
    report = grade_dir(SOLUTIONS, "kfold", public_only=True)
    assert report.checks and all(c.visibility == "visible" for c in report.checks)
    # points are the same as in the full grade (scaled over all checks)
    full = grade_dir(SOLUTIONS, "kfold")
    assert report.check(report.checks[0].name).max_score == full.check(report.checks[0].name).max_score


def _fake_checks(monkeypatch, tmp_path, body: str) -> None:
    folder = tmp_path / "kfold"
    folder.mkdir()
    (folder / "test_fake.py").write_text("import pytest\n" + body)
    monkeypatch.setattr(runner, "check_files", lambda ex: [folder / "test_fake.py"])


def test_a_check_without_points_is_an_error(monkeypatch, tmp_path):
    _fake_checks(monkeypatch, tmp_path, "def test_no_points(student):\n    pass\n")
    with pytest.raises(GraderError, match="has no valid points marker"):
        runner.grade(repo_config(), SOLUTIONS, exercises=["kfold"])


def test_a_public_check_may_not_use_the_reference(monkeypatch, tmp_path):
    _fake_checks(monkeypatch, tmp_path, "@pytest.mark.points(1)\n"
                 "def test_peeks(reference):\n    pass\n")
    with pytest.raises(GraderError, match="visible but uses the reference"):
        runner.grade(repo_config(), SOLUTIONS, exercises=["kfold"])


def test_a_crashing_check_is_a_grader_error_not_a_verdict(monkeypatch, tmp_path):
    _fake_checks(monkeypatch, tmp_path, "@pytest.mark.points(1)\n"
                 "def test_crashes(student):\n    {}['boom']\n")
    report = runner.grade(repo_config(), SOLUTIONS, exercises=["kfold"])
    (check,) = report.checks
    assert check.status == "error" and check.score == 0 and check.max_score == 10
    assert "not a verdict on your code" in check.output and "KeyError" in check.output


def test_parametrized_cases_are_separate_checks_worth_the_marker(monkeypatch, tmp_path):
    _fake_checks(monkeypatch, tmp_path, "@pytest.mark.points(1)\n"
                 "@pytest.mark.parametrize('n', [1, 2, 3])\n"
                 "def test_case(n):\n    assert n != 2, 'two is wrong'\n"
                 "@pytest.mark.points(3)\ndef test_other():\n    pass\n")
    report = runner.grade(repo_config(), SOLUTIONS, exercises=["kfold"])
    scores = {c.name: (round(c.max_score, 3), round(c.score, 3)) for c in report.checks}
    assert scores == {"kfold: case [1]": (1.667, 1.667), "kfold: case [2]": (1.667, 0),
                      "kfold: case [3]": (1.667, 1.667), "kfold: other": (5.0, 5.0)}
    assert report.check("kfold: case [2]").output == "two is wrong\nassert 2 != 2"


def test_table_wraps_long_messages_instead_of_cutting_them():
    from grader.results import CheckResult, Report

    hint = "word " * 60 + "END-OF-HINT"
    report = Report(checks=(CheckResult("kfold", "kfold: x", 0, 1, "visible", "failed", hint),),
                    exercises=("kfold",), points={"kfold": 1})
    table = format_table(report, width=80)
    assert "END-OF-HINT" in table
    assert all(len(line) <= 80 for line in table.splitlines())


def test_every_format_shows_student_text_printable_only():
    from grader.results import CheckResult, Report

    fake = "\x1b[2J\rTotal: 120 / 120\x00\x0b\u202e\ud800"
    report = Report(checks=(CheckResult("kfold", "kfold: x", 0, 1, "visible", "failed", fake),
                            CheckResult("kfold", "kfold: y", 0, 1, "visible", "error", fake,
                                        output_format="html")),
                    exercises=("kfold",), points={"kfold": 2}, notices=(fake,),
                    exercise_notes={"kfold": (fake,)}, student_output={"kfold": fake})
    root = ET.fromstring(to_junit(report))  # XML 1.0 forbids most of those characters
    assert root.find(".//failure").text == "[2J\nTotal: 120 / 120"
    data = json.dumps(to_gradescope(report))
    assert "\\u001b" not in data and "\\u0000" not in data and "\\ud800" not in data
    table = format_table(report)
    assert "\x1b" not in table and "\r" not in table and "\u202e" not in table
