"""Interrupts end everything cleanly (issue 19): SIGINT, SIGTERM or SIGHUP sent to ``dlgrade grade``
mid-grade stops every judge (the ``--jobs`` ones too) and every worker, removes every temporary
folder, exits 130/143/129 saying "interrupted", and writes no results file that claims a grader
failure.

Each case runs the CLI under a small child subreaper (so that every process the run starts, however
it detaches, stays in its tree) with a temporary folder of its own, waits until a worker is running
submission code, sends the signal to the CLI's process only (as ``timeout``, ``kill`` and CI
runners do), and then looks: the exit code, stderr, the results folder, the temporary folder, and
the processes left in the tree.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.helpers import REPO

RUNNER = textwrap.dedent(r"""
    import ctypes, json, os, signal, subprocess, sys, time
    spec = json.loads(sys.argv[1])
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # a child subreaper: orphans stay in this tree
    started = time.monotonic()
    with open(spec["stderr"], "wb") as err:
        proc = subprocess.Popen(spec["argv"], cwd=spec["cwd"], env=spec["env"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    # mid-grade: a worker is running submission code (its home exists) for a while
    seen = None
    while time.monotonic() - started < 240 and proc.poll() is None:
        homes = [n for n in os.listdir(spec["tmp"]) if n.startswith(tuple(spec["homes"]))]
        if homes and seen is None:
            seen = time.monotonic()
        if seen is not None and time.monotonic() - seen > spec["after"]:
            break
        time.sleep(0.05)
    sent = time.monotonic()
    proc.send_signal(spec["signal"])
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        code = "hung"
    stopped = time.monotonic() - sent
    time.sleep(1.0)
    def tree():
        parents = {}
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    data = open(f"/proc/{pid}/stat", "rb").read()
                except OSError:
                    continue
                rest = data[data.rfind(b")") + 2:].split()
                if rest[0] not in (b"Z", b"X"):
                    parents[int(pid)] = int(rest[1])
        found, todo = [], [os.getpid()]
        while todo:
            parent = todo.pop()
            for pid, ppid in parents.items():
                if ppid == parent:
                    found.append(pid)
                    todo.append(pid)
        return found
    left = []
    for pid in tree():
        try:
            left.append(open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ")
                        .decode(errors="replace")[:200])
        except OSError:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    print(json.dumps({"code": code, "seen": seen is not None, "stopped_s": round(stopped, 2),
                      "left": left}))
""")

SLOW = {
    "kfold": ("import time\n\n\ndef kfold_indices(n_samples, k, *, shuffle=False, seed=None):\n"
              "    while True:\n        time.sleep(0.01)\n\n\n"
              "def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):\n"
              "    while True:\n        time.sleep(0.01)\n"),
    "param_count": ("import time\n\nwhile True:  # an import that never ends\n"
                    "    time.sleep(0.01)\n"),
}


@pytest.fixture
def run_dir():
    """A temporary folder for the run that every worker uid can pass (as root, worker homes go
    there), removed with whatever is in it."""
    folder = Path(tempfile.mkdtemp(prefix="dlgrade-test-interrupt-"))
    folder.chmod(0o755)
    for name in ("tmp", "results", "submission"):
        (folder / name).mkdir()
    (folder / "tmp").chmod(0o1777)
    for exercise, source in SLOW.items():
        (folder / "submission" / f"{exercise}.py").write_text(source)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def interrupt_run(folder: Path, sig: int, *, jobs: int) -> dict:
    config = folder / "autograder.yml"
    config.write_text((REPO / "autograder.yml").read_text()
                      .replace("solutions: solutions", f"solutions: {REPO / 'solutions'}")
                      .replace("assignments: assignments", f"assignments: {REPO / 'assignments'}"))
    argv = [sys.executable, "-m", "grader", "--config", str(config), "grade",
            str(folder / "submission"), "--exercises", "kfold,param_count", "--jobs", str(jobs),
            "--results", str(folder / "results" / "results.json")]
    spec = {"argv": argv, "cwd": str(REPO), "tmp": str(folder / "tmp"),
            "env": {"PATH": os.environ["PATH"], "HOME": str(folder), "LANG": "C.UTF-8",
                    "TMPDIR": str(folder / "tmp")},
            "stderr": str(folder / "stderr.txt"), "signal": int(sig), "after": 1.0,
            "homes": ["dlgrade-kfold-", "dlgrade-param_count-"]}
    proc = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(spec)], capture_output=True,
                          text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("sig, jobs", [(signal.SIGTERM, 2), (signal.SIGINT, 2),
                                       (signal.SIGHUP, 1)],
                         ids=["SIGTERM-jobs2", "SIGINT-jobs2", "SIGHUP"])
def test_a_signal_mid_grade_leaves_nothing_behind(run_dir, sig, jobs):
    outcome = interrupt_run(run_dir, sig, jobs=jobs)
    stderr = (run_dir / "stderr.txt").read_text(errors="replace")
    assert outcome["seen"], "no worker started: the signal was not sent mid-grade"
    assert outcome["code"] == 128 + sig, (outcome, stderr[-2000:])
    assert f"interrupted ({signal.Signals(sig).name})" in stderr
    assert "Traceback" not in stderr and str(REPO) not in stderr, stderr[-2000:]
    assert outcome["left"] == [], outcome["left"]  # no judge, launcher or worker
    assert sorted(os.listdir(run_dir / "tmp")) == []  # no home, engine copy, log or intake
    results = run_dir / "results" / "results.json"
    if results.exists():
        shown = json.loads(results.read_text())
        assert "interrupted" in shown["output"] and "could not run" not in shown["output"]
        assert shown.get("tests") == [] and str(REPO) not in shown["output"]
