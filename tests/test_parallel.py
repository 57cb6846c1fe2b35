"""Exercises graded in parallel judges give the serial scores, check for check."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.runner import grade, share_out
from tests.helpers import ASSIGNMENTS, REPO, SOLUTIONS, SUBMISSIONS, repo_config

EXERCISES = ("kfold", "param_count", "backprop")


def test_share_out_balances_the_measured_costs():
    groups = share_out(("kfold", "param_count", "backprop", "conv", "dropout", "autoencoder"), 2)
    assert len(groups) == 2 and sorted(ex for g in groups for ex in g) == sorted(
        ("kfold", "param_count", "backprop", "conv", "dropout", "autoencoder"))
    assert ("autoencoder",) in groups or any("autoencoder" in g and len(g) <= 2 for g in groups)
    assert share_out(("kfold",), 4) == [("kfold",)]
    assert share_out(("kfold", "conv"), 1) == [("kfold", "conv")]


def outcome(report):
    return [(c.name, c.score, c.max_score, c.status, c.output) for c in report.checks]


@pytest.mark.parametrize("submission", ["references", "mixed"])
def test_two_judges_score_as_one(submission, tmp_path):
    if submission == "references":
        folder = SOLUTIONS
    else:  # a slip, a stub and a reference: failures and their messages must match too
        folder = tmp_path
        shutil.copy(SUBMISSIONS / "kfold" / "remainder_dropped" / "kfold.py", folder)
        shutil.copy(ASSIGNMENTS / "param_count.py", folder)
        shutil.copy(SOLUTIONS / "backprop.py", folder)
    config = repo_config()
    serial = grade(config, folder, exercises=EXERCISES, jobs=1)
    parallel = grade(config, folder, exercises=EXERCISES, jobs=2)
    assert outcome(parallel) == outcome(serial)
    assert parallel.student_output == serial.student_output
    assert parallel.notices == serial.notices


def test_the_cli_grades_in_parallel_by_default_and_leaves_no_judge(tmp_path):
    results = tmp_path / "results.json"
    # the judges' task files go to this TMPDIR: judges of other test lanes, grading beside this
    # one, are not taken for this run's leftovers
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "dlgrade"), "--config",
                           str(REPO / "autograder.yml"), "grade", str(SOLUTIONS), "--exercises",
                           "kfold,param_count", "--results", str(results), "--quiet"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "TMPDIR": str(own_tmp)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "20 / 20"
    left = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        if b"judge_main" in cmdline and str(own_tmp).encode() in cmdline:
            left.append(pid)
    assert left == []


def test_the_first_judge_uses_its_share_of_threads_and_gives_them_back():
    """The judge in the calling process runs its torch work on its share of the cores, as the
    other judges do by their environment, and leaves the process as it found it."""
    torch = pytest.importorskip("torch")
    from grader.runner import _judge_threads

    threads, omp = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    with _judge_threads(1):
        assert torch.get_num_threads() == 1 and os.environ["OMP_NUM_THREADS"] == "1"
    assert torch.get_num_threads() == threads and os.environ.get("OMP_NUM_THREADS") == omp
