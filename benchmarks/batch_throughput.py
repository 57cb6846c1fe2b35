"""Batch throughput: submissions graded per minute by `dlgrade grade-batch`.

    .venv/bin/python benchmarks/batch_throughput.py [--submissions 20] [--all-exercises]
                                                    [--runs local:1,local:2,ray:2]

Writes N copies of the reference solutions as per-student folders in a temporary ROOT and grades
them from scratch once per run (engine:jobs; ray starts a local cluster with that many CPUs,
and its start-up counts). By default on kfold and param_count (about 10 s a submission on one
core); --all-exercises grades all six. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from grader.batch.driver import grade_batch
from grader.config import load_config

REPO = Path(__file__).resolve().parents[1]
QUICK = ("kfold", "param_count")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--all-exercises", action="store_true")
    parser.add_argument("--runs", default="local:1,local:2,ray:2",
                        help="comma-separated engine:jobs (default: local:1,local:2,ray:2)")
    args = parser.parse_args()
    config = load_config(REPO / "autograder.yml")
    exercises = config.ids if args.all_exercises else QUICK
    runs = [(r.split(":")[0], int(r.split(":")[1])) for r in args.runs.split(",")]
    print(f"{os.cpu_count()} CPU(s); {args.submissions} submissions (the references) on "
          f"{', '.join(exercises)}")
    print(f"{'engine':<8} {'jobs':>4} {'seconds':>8} {'per minute':>11} {'score':>10}")
    with tempfile.TemporaryDirectory(prefix="dlgrade-bench-") as tmp:
        root = Path(tmp) / "root"
        for i in range(args.submissions):
            folder = root / f"student{i:03d}"
            folder.mkdir(parents=True)
            for ex in exercises:
                shutil.copy(config.solutions / f"{ex}.py", folder)
        for n, (engine, jobs) in enumerate(runs):
            started = time.perf_counter()
            result = grade_batch(config, root, Path(tmp) / f"out{n}", exercises=exercises,
                                 engine=engine, jobs=jobs)
            seconds = time.perf_counter() - started
            totals = sorted({row["total"] for row in result.table})
            print(f"{engine:<8} {jobs:>4} {seconds:>8.1f} "
                  f"{len(result.graded) / seconds * 60:>11.1f} {'/'.join(totals):>10}",
                  flush=True)


if __name__ == "__main__":
    main()
