"""What starting one worker costs, per exercise: numbers, not assertions.

    .venv/bin/python benchmarks/worker_start.py [--repeat 10] [--exercises conv dropout]

For each exercise, the reference module is given to a fresh worker ``--repeat`` times (the
launcher, the sandbox, the interpreter, importing the module, the hello), with the isolation
this machine offers (``prepare_runtime`` on the repository's config); prints the median and
the range in milliseconds, the mechanisms in force and how many paths the worker's view holds
(read rules for Landlock, binds for the private root). Also prints what preparing the run
costs (``prepare_runtime``: the views are computed there, once per judge process).

Each start with the exercise's view alternates with one in the whole view workers had before
the views (the system folders and the interpreter's prefixes, every package folder in them),
so that both meet the same load on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from dataclasses import replace

from grader.config import load_config
from grader.sandbox.process import Worker, prepare_runtime
from grader.sandbox.runtime import _read_paths
from grader.sandbox.view import worker_sites

REPO = Path(__file__).resolve().parents[1]


def start_once(runtime, exercise: str, source: bytes) -> float:
    worker = Worker(runtime, exercise, source)
    started = time.perf_counter()
    try:
        worker.start(time.monotonic() + 60)
        return time.perf_counter() - started
    finally:
        worker.kill()
        worker.cleanup_logs()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--exercises", nargs="+", default=["conv", "kfold", "dropout"])
    args = parser.parse_args()
    config = load_config(REPO / "autograder.yml")
    started = time.perf_counter()
    runtime = prepare_runtime(config)
    prepared = time.perf_counter() - started
    try:
        print(f"prepare_runtime: {prepared * 1000:.0f} ms")
        for notice in runtime.notices:
            print(f"  {notice}")
        for exercise in args.exercises:
            source = (REPO / "solutions" / f"{exercise}.py").read_bytes()
            paths = len(runtime.view(exercise).binds)
            whole = replace(runtime, views=(), binds=_read_paths(runtime.engine),
                            listable=worker_sites())
            times: dict[str, list[float]] = {"its view": [], "whole view": []}
            for _ in range(args.repeat):
                times["its view"].append(start_once(runtime, exercise, source))
                times["whole view"].append(start_once(whole, exercise, source))
            for label, values in times.items():
                size = paths if label == "its view" else len(whole.binds)
                print(f"{exercise:<12} {label:<10} worker start: median "
                      f"{statistics.median(values) * 1000:.0f} ms (min {min(values) * 1000:.0f}, "
                      f"max {max(values) * 1000:.0f}; {args.repeat} starts), {size} paths")
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
