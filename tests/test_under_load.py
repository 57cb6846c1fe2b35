"""Scores do not depend on speed: the references keep full marks on a loaded core."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO, SOLUTIONS

# The exercises whose checks time something or train: conv (its timed forward is information
# only), dropout (a training demonstration), autoencoder (four trainings).
EXERCISES = "conv,dropout,autoencoder"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity")
def test_references_keep_full_marks_with_two_busy_processes_on_their_core(tmp_path):
    core = min(os.sched_getaffinity(0))
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        for proc in busy:
            os.sched_setaffinity(proc.pid, {core})
        # the judge and everything it starts inherit the affinity: one core for all of them
        proc = subprocess.run(["taskset", "-c", str(core), str(REPO / ".venv" / "bin" / "dlgrade"),
                               "--config", str(REPO / "autograder.yml"), "grade", str(SOLUTIONS),
                               "--exercises", EXERCISES, "--jobs", "2", "--quiet"],
                              capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "70 / 70", proc.stdout + proc.stderr
