"""Where grading time goes, for the reference submission: numbers, not assertions.

    .venv/bin/python benchmarks/grading_time.py [--repeat 3] [--no-otter]

Prints, median of the repeats, in seconds:

1. per exercise (``grade(..., exercises=[id], jobs=1)`` in this process): the wall time split
   into starting workers (launcher, interpreter, importing the module), the code's own calls
   (its work, sending and decoding the answers) and the judge (collection, oracles, verdicts);
2. the commands as a user runs them (a fresh ``dlgrade`` process each, from outside the repo):
   ``grade solutions`` at ``--jobs 1`` and ``--jobs 2``, ``check kfold``, ``check conv``, and
   the overhead ratio: ``grade solutions`` over the references' own calls;
3. ``dlgrade grade --exercises kfold`` against ``otter run`` of the otter autograder that
   ``dlgrade bundle otter`` builds for the same checks (when otter is installed).

Batch throughput (submissions per minute) is ``benchmarks/batch_throughput.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.config import load_config
from grader.runner import grade

REPO = Path(__file__).resolve().parents[1]
DLGRADE = str(Path(sys.executable).with_name("dlgrade"))


def median(values: list[float]) -> float:
    return statistics.median(values)


def split(config, exercise: str) -> tuple[float, float, float, str]:
    started = time.perf_counter()
    report = grade(config, config.solutions, exercises=[exercise], jobs=1)
    wall = time.perf_counter() - started
    t = report.timings.get(exercise, {"start": 0.0, "calls": 0.0})
    return wall, t["start"], t["calls"], f"{report.score:g}/{report.max_score:g}"


def command(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run([DLGRADE, "--config", str(REPO / "autograder.yml"), *args], cwd=cwd,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def otter_run(config, tmp: Path, repeat: int) -> float | None:
    if shutil.which("otter", path=str(Path(sys.executable).parent)) is None:
        return None
    from grader.delivery.otter import build_otter_bundles

    (bundle,) = build_otter_bundles(config, tmp / "otter", exercises=["kfold"])
    submission = tmp / "otter-sub"
    submission.mkdir()
    shutil.copy(config.solutions / "kfold.py", submission / "kfold.py")
    otter = str(Path(sys.executable).with_name("otter"))
    times = []
    for i in range(repeat):
        out = tmp / f"otter-out-{i}"
        out.mkdir()  # otter run writes into an existing folder only
        started = time.perf_counter()
        subprocess.run([otter, "run", "-a", str(bundle), "-o", str(out), "--no-logo",
                        str(submission / "kfold.py")], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-otter", action="store_true")
    args = parser.parse_args()
    config = load_config(REPO / "autograder.yml")
    print(f"{len(os.sched_getaffinity(0))} core(s), median of {args.repeat} run(s), seconds")
    print(f"{'exercise':<12} {'wall':>6} {'start':>6} {'calls':>6} {'judge':>6} {'x calls':>8}"
          f"  score")
    calls_total = 0.0
    for ex in config.ids:
        runs = [split(config, ex) for _ in range(args.repeat)]
        wall, start, calls = (median([r[i] for r in runs]) for i in range(3))
        calls_total += calls
        print(f"{ex:<12} {wall:>6.2f} {start:>6.2f} {calls:>6.2f} {wall - start - calls:>6.2f} "
              f"{wall / max(calls, 1e-3):>8.1f}  {runs[0][3]}", flush=True)
    with tempfile.TemporaryDirectory(prefix="dlgrade-bench-") as tmp_name:
        tmp = Path(tmp_name)
        rows = [("grade solutions --jobs 1", ("grade", str(config.solutions), "--quiet",
                                              "--jobs", "1")),
                ("grade solutions --jobs 2", ("grade", str(config.solutions), "--quiet",
                                              "--jobs", "2")),
                ("check kfold", ("check", "kfold", "--submission", str(config.solutions))),
                ("check conv", ("check", "conv", "--submission", str(config.solutions)))]
        print(f"\n{'command (a fresh process)':<28} {'wall':>6}")
        walls = {}
        for label, argv in rows:
            walls[label] = median([command(*argv, cwd=tmp) for _ in range(args.repeat)])
            print(f"{label:<28} {walls[label]:>6.2f}", flush=True)
        print(f"\nthe references' own calls: {calls_total:.2f} s; overhead ratio (grade / calls):"
              f" {walls['grade solutions --jobs 1'] / calls_total:.2f}x at --jobs 1, "
              f"{walls['grade solutions --jobs 2'] / calls_total:.2f}x at --jobs 2")
        if not args.no_otter:
            ours = median([command("grade", str(config.solutions), "--exercises", "kfold",
                                   "--quiet", "--jobs", "1", cwd=tmp)
                           for _ in range(args.repeat)])
            theirs = otter_run(config, tmp, args.repeat)
            if theirs is None:
                print("\notter is not installed: no comparison")
            else:
                print(f"\nkfold's checks: dlgrade grade {ours:.2f} s, otter run of the same "
                      f"checks {theirs:.2f} s ({theirs / ours:.1f}x)")


if __name__ == "__main__":
    main()
