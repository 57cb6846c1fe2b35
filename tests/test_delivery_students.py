"""What students get from the command line: a progress bar on a terminal (tested in a
pseudo-terminal), one line on the isolation, and a --help that describes every argument, lists
the exercises, and leaves out the instructors' commands in a student install. (The student zip
unpacked and installed in an empty folder: tests/test_delivery_bundles.py.)"""

from __future__ import annotations

import argparse
import os
import pty
import select
import shutil
import sys
import time
from pathlib import Path

import pytest

from grader import cli
from grader.cli import main as dlgrade
from grader.config import load_config
from tests.helpers import REPO, SOLUTIONS, subparsers


def run_in_a_terminal(argv: list[str], cwd: Path, timeout: float = 600) -> list[tuple[float, bytes]]:
    """Run ``argv`` with a pseudo-terminal as its stdin, stdout and stderr; (seconds, bytes)
    of what it wrote, in order."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal, not CI
        os.chdir(cwd)
        env = {k: v for k, v in os.environ.items() if k not in ("CI", "DLGRADE_CONFIG")}
        os.execve(argv[0], argv, env)
    chunks, started = [], time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append((time.monotonic() - started, data))
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, b"".join(d for _, d in chunks)[-3000:]
    return chunks


@pytest.mark.slow
def test_the_progress_bar_shows_on_a_terminal_while_the_model_trains(tmp_path):
    shutil.copy(SOLUTIONS / "autoencoder.py", tmp_path)
    dlgrade_bin = str(Path(sys.executable).with_name("dlgrade"))
    chunks = run_in_a_terminal([dlgrade_bin, "--config", str(REPO / "autograder.yml"), "check",
                                "autoencoder", "--submission", str(tmp_path)], tmp_path)
    text = b"".join(d for _, d in chunks)
    table = text.index(b"autoencoder (30 points)")
    bars = [t for t, d in chunks if b"training your autoencoder" in d and b"[#" in d]
    assert len(bars) >= 3, text[:2000]  # redrawn as the model trains, before the table
    assert text.index(b"training your autoencoder") < table
    assert max(bars) - min(bars) > 0.3  # drawn over time, not all at the end


def test_check_shows_one_isolation_line_and_no_warning_a_student_cannot_act_on():
    config = load_config(REPO / "grader" / "default_config.yml")  # no references
    notices = ("unpacked hw.zip",
               "sandbox: workers run each under a uid of its own (61000-61999), under Landlock",
               "sandbox: not enforced: namespaces (not offered)",
               "sandbox: WARNING: workers may read /home/a/.venv, which holds the checkout")
    shown = cli.student_notices(notices, config)
    assert shown == ("unpacked hw.zip", "sandbox: your code runs in a worker process of its own, "
                                        "under a uid of its own (61000-61999), under Landlock")
    # with references configured (an instructor's check), the exposure warning stays
    assert len(cli.student_notices(notices, load_config(REPO / "autograder.yml"))) == 3
    # no mechanism at all: still one line saying how the code ran
    (line,) = cli.student_notices(("sandbox: not enforced: Landlock; namespaces",), config)
    assert line.startswith("sandbox: your code runs in a process of its own")


def test_help_describes_every_argument_and_lists_the_exercises(capsys):
    parser = cli._parser()
    ids = ", ".join(cli.installed_exercises())
    assert "kfold" in ids
    for name, sub in subparsers(parser).items():
        for action in sub._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)
    with pytest.raises(SystemExit):
        dlgrade(["check", "--help"])
    assert ids in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        dlgrade(["calibrate", "--help"])
    assert "how many seeds" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        dlgrade(["--help"])
    out = capsys.readouterr().out
    for group in ("commands for students:", "commands for CI and instructors:",
                  "commands for instructors:"):
        assert group in out
    assert out.index("\n  check ") < out.index("\n  grade ") < out.index("\n  grade-batch ")
    assert f"exercises installed: {ids}" in out


def test_a_student_install_leaves_out_the_instructors_commands(monkeypatch, capsys):
    monkeypatch.setattr(cli, "student_install", lambda: True)
    with pytest.raises(SystemExit):
        dlgrade(["--help"])
    out = capsys.readouterr().out
    assert "\n  check " in out and "\n  grade " in out
    for command in ("grade-batch", "selftest", "release", "calibrate", "bundle", "init-ci",
                    "new"):
        assert f"\n  {command} " not in out, command
    assert "a student install" in out
