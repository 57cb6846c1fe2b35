"""How long grading takes: each exercise on the references and on the stubs, and all together.

    .venv/bin/python benchmarks/grading_time.py [--repeat 3]

Prints wall-clock seconds (median of the repeats) per exercise and the whole `grade solutions`.
Numbers, not assertions: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from grader.config import load_config
from grader.runner import grade

REPO = Path(__file__).resolve().parents[1]


def timed(config, folder, exercises=None) -> tuple[float, float, float]:
    started = time.perf_counter()
    report = grade(config, folder, exercises=exercises)
    return time.perf_counter() - started, report.score, report.max_score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = load_config(REPO / "autograder.yml")
    print(f"{os.cpu_count()} CPU(s); median of {args.repeat} run(s); seconds")
    print(f"{'exercise':<14} {'solutions':>10} {'score':>12} {'stubs':>8}")
    for ex in config.ids:
        ref = [timed(config, config.solutions, [ex]) for _ in range(args.repeat)]
        stub = [timed(config, config.assignments, [ex]) for _ in range(args.repeat)]
        print(f"{ex:<14} {statistics.median(r[0] for r in ref):>10.2f} "
              f"{ref[0][1]:>6g}/{ref[0][2]:<5g} {statistics.median(s[0] for s in stub):>8.2f}")
    whole = [timed(config, config.solutions) for _ in range(args.repeat)]
    print(f"{'all':<14} {statistics.median(w[0] for w in whole):>10.2f} "
          f"{whole[0][1]:>6g}/{whole[0][2]:<5g}")


if __name__ == "__main__":
    main()
