"""`dlgrade selftest` proves the grader: it passes on the repository and notices when it should not."""

from __future__ import annotations

import shutil
import subprocess
import sys

from grader.config import load_config
from grader.selftest import selftest
from tests.helpers import ASSIGNMENTS, REPO, SOLUTIONS


def config_for(tmp_path, solutions, assignments):
    path = tmp_path / "autograder.yml"
    path.write_text(f"solutions: {solutions}\nassignments: {assignments}\nexercises:\n"
                    "  kfold: {points: 10}\n  param_count: {points: 10}\n")
    return load_config(path)


def test_selftest_passes_on_the_repository_material(tmp_path):
    ok, text = selftest(config_for(tmp_path, SOLUTIONS, ASSIGNMENTS))
    assert ok, text
    assert "ok   kfold" in text and "reference 10/10" in text and "stub 0/10" in text


def test_selftest_fails_when_a_stub_gives_the_answer_away(tmp_path):
    leaky = tmp_path / "leaky"
    shutil.copytree(ASSIGNMENTS, leaky)
    shutil.copy(SOLUTIONS / "kfold.py", leaky / "kfold.py")  # "stub" = solution
    ok, text = selftest(config_for(tmp_path, SOLUTIONS, leaky))
    assert not ok
    assert "stubs out of date" in text and "FAIL kfold" in text and "stub scored in" in text


def test_python_dash_m_grader_is_the_dlgrade_command():
    proc = subprocess.run([sys.executable, "-m", "grader", "release", "--check"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "assignments/ matches solutions/" in proc.stdout
    assert shutil.which("dlgrade") or (REPO / ".venv" / "bin" / "dlgrade").exists()
