"""Bad submissions get a clear message in their checks, a valid report, and lose nothing else.

Each case is a small folder under ``tests/submissions/bad/``. The fast config below gives kfold a
1-second call limit and a 4-second exercise budget so that loops are cut quickly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import time
from pathlib import Path

import pytest

from grader.cli import main as dlgrade
from grader.config import load_config
from grader.runner import grade
from tests.helpers import SOLUTIONS, SUBMISSIONS, full_marks
from tests.redteam.harness import own_markers

BAD = SUBMISSIONS / "bad"


@pytest.fixture(scope="module")
def fast_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "autograder.yml"
    path.write_text(f"""
solutions: {SOLUTIONS}
sandbox: {{output_limit_kb: 4}}
exercises:
  kfold: {{points: 10, time_limit: 4, call_timeout: 1}}
  param_count: {{points: 10, time_limit: 60, call_timeout: 20}}
""")
    return load_config(path)


def with_reference_param_count(case: str, tmp_path: Path) -> Path:
    """The bad kfold.py of ``case`` next to a correct param_count.py."""
    folder = tmp_path / case
    shutil.copytree(BAD / case, folder)
    shutil.copy(SOLUTIONS / "param_count.py", folder / "param_count.py")
    return folder


def kfold_outputs(report) -> list[str]:
    return [c.output for c in report.checks if c.exercise == "kfold"]


def assert_kfold_zero_everything_listed(report, reference_names):
    kfold = [c for c in report.checks if c.exercise == "kfold"]
    assert [c.name for c in kfold] == reference_names
    assert all(c.score == 0 and c.max_score > 0 and c.status == "failed" for c in kfold)
    assert report.exercise_score("kfold") == (0, 10)


@pytest.fixture(scope="module")
def kfold_names(fast_config):
    report = grade(fast_config, SOLUTIONS, exercises=["kfold"])
    assert full_marks(report)
    return [c.name for c in report.checks]


@pytest.mark.parametrize("case, message", [
    ("syntax_error", "kfold.py has a syntax error on line 4"),
    ("infinite_loop", "did not finish within 1 s (time limit)"),
    ("exit_at_import", "exited with code 0 (does the module call os._exit()"),
])
def test_broken_kfold_does_not_sink_param_count(case, message, fast_config, kfold_names, tmp_path):
    report = grade(fast_config, with_reference_param_count(case, tmp_path))
    assert_kfold_zero_everything_listed(report, kfold_names)
    assert message in kfold_outputs(report)[0]
    assert report.exercise_score("param_count") == (10, 10)


@pytest.mark.parametrize("case, message", [
    ("exception", "kfold_indices(10, 3) raised ZeroDivisionError: integer division or modulo by zero"),
    ("import_loop", "importing kfold.py did not finish within"),
    ("sys_exit_at_import", "kfold.py called sys.exit(None) while being imported"),
    ("wrong_type", "expected list, got generator"),
])
def test_bad_kfold_gets_a_clear_message(case, message, fast_config, kfold_names):
    report = grade(fast_config, BAD / case, exercises=["kfold"])
    assert_kfold_zero_everything_listed(report, kfold_names)
    assert message in kfold_outputs(report)[0]


def test_exception_names_the_line_in_the_student_file(fast_config):
    report = grade(fast_config, BAD / "exception", exercises=["kfold"])
    assert "kfold.py, line 5, in kfold_indices" in kfold_outputs(report)[0]


def test_infinite_loop_uses_up_the_budget_then_stops_early(fast_config, kfold_names):
    started = time.monotonic()
    report = grade(fast_config, BAD / "infinite_loop", exercises=["kfold"])
    assert time.monotonic() - started < 30
    assert any("time budget of 4 s is used up" in out for out in kfold_outputs(report))


def test_wrong_dtype_is_named(fast_config):
    report = grade(fast_config, BAD / "wrong_dtype", exercises=["kfold"])
    assert report.exercise_score("kfold")[0] < 10
    assert any("float64" in out for out in kfold_outputs(report))


def test_patched_allclose_in_the_worker_fools_nobody(fast_config):
    report = grade(fast_config, BAD / "allclose_patched", exercises=["kfold"])
    failed = [c.name for c in report.checks if not c.passed]
    assert "kfold: train and validation are disjoint and cover all" in failed
    assert report.exercise_score("kfold")[0] <= 3  # only shape/error checks can pass


def test_nan_counts_are_rejected_with_a_message(fast_config):
    report = grade(fast_config, BAD / "nan", exercises=["param_count"])
    assert report.exercise_score("param_count")[0] == 0
    assert all(c.status == "failed" for c in report.checks)
    assert any("nan" in c.output.lower() for c in report.checks)


def test_forged_results_file_is_replaced_by_the_judge(fast_config, tmp_path):
    target = Path(f"/tmp/dlgrade-forge-target-{os.getpid()}")
    target.mkdir(exist_ok=True)
    target.chmod(0o777)  # give the forgery every chance to land
    results = target / "results.json"
    try:
        code = dlgrade(["--config", str(fast_config.path), "grade", str(BAD / "writes_results"),
                        "--exercises", "kfold", "--results", str(results), "--quiet"])
        assert code == 0
        data = json.loads(results.read_text())
        assert data["score"] == 0
        assert all(t["name"].startswith("kfold: ") for t in data["tests"])
        assert "forged" not in results.read_text()
    finally:
        shutil.rmtree(target, ignore_errors=True)


def test_reading_the_solutions_is_refused_when_the_judge_drops_privileges(fast_config, kfold_names):
    hidden = sorted(SOLUTIONS.parent.glob("grader/exercises/*/test_hidden*.py"))
    before = {p: stat.S_IMODE(p.stat().st_mode) for p in [SOLUTIONS, *hidden]}
    report = grade(fast_config, BAD / "reads_solutions", exercises=["kfold"])
    if not any(n.startswith("sandbox: workers run") and "uid" in n for n in report.notices):
        pytest.skip("privilege drop not enforced here: " + "; ".join(report.notices))
    assert_kfold_zero_everything_listed(report, kfold_names)
    # absent from the worker's private root, refused by Landlock, or root-only for the run
    assert re.search(r"(FileNotFoundError|PermissionError|has no function kfold_indices|"
                     r"reaches into the grader)",
                     kfold_outputs(report)[0])
    # and the checkout is left as it was
    assert {p: stat.S_IMODE(p.stat().st_mode) for p in before} == before


def test_processes_that_escape_the_process_group_are_killed(fast_config, tmp_path):
    # a marker of this run's own: the red team grades the same source beside this test
    run = f"{os.getpid()}-{time.monotonic_ns()}"
    source = {"kfold.py": (BAD / "escapes_process_group" / "kfold.py").read_bytes()}
    (tmp_path / "kfold.py").write_bytes(
        own_markers(source, ("dlgrade-escapee-marker",), run)["kfold.py"])
    marker = f"dlgrade-escapee-marker-{run}"
    grade(fast_config, tmp_path, exercises=["kfold"])
    time.sleep(0.5)
    survivors = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry.name}/cmdline").read_bytes():
                    survivors.append(entry.name)
            except OSError:
                pass
    assert survivors == []


def test_huge_output_is_cut(fast_config):
    report = grade(fast_config, BAD / "prints_a_lot", exercises=["kfold"])
    out = report.student_output["kfold"]
    assert "output cut" in out and len(out) < 10_000


def test_missing_module_scores_zero_with_its_own_message(fast_config, kfold_names, tmp_path):
    shutil.copy(SOLUTIONS / "param_count.py", tmp_path / "param_count.py")
    report = grade(fast_config, tmp_path)
    assert_kfold_zero_everything_listed(report, kfold_names)
    assert all("no usable kfold.py" in out for out in kfold_outputs(report))
    # the reason, with what was found and expected, is shown once for the exercise
    (note,) = report.exercise_notes["kfold"]
    assert "no kfold.py found" in note and "param_count.py" in note
    assert report.exercise_score("param_count") == (10, 10)


def test_missing_function_loses_only_its_checks(fast_config, tmp_path):
    source = (SOLUTIONS / "kfold.py").read_text()
    cut = source.index("def iterated_kfold_indices")
    (tmp_path / "kfold.py").write_text(source[:cut])
    report = grade(fast_config, tmp_path, exercises=["kfold"])
    lost = [c for c in report.checks if not c.passed]
    assert lost and all("has no function iterated_kfold_indices()" in c.output for c in lost)
    assert len(lost) < len(report.checks) / 2  # the kfold_indices checks still pass


def test_symlinked_module_is_not_followed(fast_config, tmp_path):
    (tmp_path / "kfold.py").symlink_to(SOLUTIONS / "kfold.py")
    report = grade(fast_config, tmp_path, exercises=["kfold"])
    assert report.score == 0
    assert "symbolic link" in " ".join(report.exercise_notes["kfold"])


def test_a_function_missing_inside_a_probe_reads_as_missing(tmp_path):
    source = (SOLUTIONS / "conv.py").read_text()
    (tmp_path / "conv.py").write_text(source.replace("def max_pool2d_backward(",
                                                     "def max_pool2d_backward_renamed("))
    from tests.helpers import grade_dir

    report = grade_dir(tmp_path, "conv")
    lost = [c for c in report.checks if not c.passed]
    assert lost and all("max_pool" in c.name or "max pool" in c.name for c in lost)
    assert any("conv.py has no function max_pool2d_backward()" in c.output for c in lost)
    assert not any("AttributeError" in c.output for c in lost)


def test_a_worker_that_dies_shows_its_last_output(fast_config, tmp_path):
    (tmp_path / "kfold.py").write_text(
        "import os, sys\nprint('loading weights from /nonexistent', file=sys.stderr, flush=True)\n"
        "os._exit(3)\n")
    report = grade(fast_config, tmp_path, exercises=["kfold"])
    assert report.score == 0
    message = report.checks[0].output
    assert "exited with code 3" in message and "loading weights from /nonexistent" in message
