"""Engines only schedule: each runs :func:`grader.batch.task.grade_in_subprocess` per submission.

- ``local``: ``jobs`` submissions at once on this machine, each in a fresh judge process (a
  thread per running submission only waits for its process).
- ``ray``: one Ray task per submission on a Ray cluster (``address``; a local cluster of
  ``jobs`` CPUs when none is given). Each task asks for one CPU and, when the batch trains on
  a GPU, one GPU, so Ray places it on a GPU node; inside, it runs the same grading process and
  returns its outcome (plain data). The driver writes every file.

GPU rule (``gpus_per_task``): a batch needs a GPU per task when one of its exercises has checks
that use the ``device`` fixture (today: autoencoder) and the config's ``device`` resolves to
CUDA: ``cuda`` always, ``auto`` when the Ray cluster has GPUs, ``cpu`` never.

An engine calls ``on_done(task, outcome)`` in the driver's thread as each submission finishes.
"""

from __future__ import annotations

import ast
import os
import subprocess
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from grader.config import Config
from grader.errors import GraderError
from grader.runner import check_files
from grader.batch.task import failed, grade_in_subprocess, stop

OnDone = Callable[[dict, dict], None]
ENGINES = ("local", "ray")


def run_local(tasks: Sequence[dict], on_done: OnDone, *, jobs: int) -> None:
    """Grade ``tasks``, ``jobs`` at a time; on an interrupt, kill what runs and re-raise."""
    running: set[subprocess.Popen] = set()
    lock = threading.Lock()
    stopping = threading.Event()

    def started(proc: subprocess.Popen) -> None:
        with lock:
            running.add(proc)
        if stopping.is_set():
            stop([proc])

    def ended(proc: subprocess.Popen) -> None:
        with lock:
            running.discard(proc)

    def one(task: dict) -> dict:
        if stopping.is_set():
            return failed("the batch was interrupted")
        try:
            return grade_in_subprocess(task, on_start=started, on_end=ended)
        except Exception as err:  # this machine, not the submission (no space, no fork)
            return failed(f"the grading process could not run: {type(err).__name__}: {err}")

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="dlgrade-batch")
    try:
        pending = {pool.submit(one, t): t for t in tasks}
        while pending:
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                on_done(pending.pop(future), future.result())
    except BaseException:
        stopping.set()
        with lock:
            procs = list(running)
        stop(procs)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_ray(tasks: Sequence[dict], on_done: OnDone, *, config: Config,
            exercises: Sequence[str], address: str | None, jobs: int) -> None:
    """Grade ``tasks`` as Ray tasks (see the module's docstring)."""
    try:
        import ray
    except ImportError:
        raise GraderError("--engine ray needs Ray: pip install 'dlgrade[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, logging_level="WARNING", log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, jobs), include_dashboard=False, logging_level="WARNING",
                     log_to_driver=False)
    try:
        gpus = gpus_per_task(config, exercises, ray.cluster_resources().get("GPU", 0))
        remote = ray.remote(grade_in_subprocess).options(num_cpus=1, num_gpus=gpus,
                                                          max_retries=1)
        refs = {remote.remote(t): t for t in tasks}
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1, timeout=1.0)
                for ref in done:
                    task = refs.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except Exception as err:  # the task or its node died: this row only
                        outcome = failed(f"the Ray task failed: {type(err).__name__}: "
                                         f"{str(err)[:500]}")
                    on_done(task, outcome)
        except BaseException:
            for ref in refs:  # a running task stops its grading process (KeyboardInterrupt)
                ray.cancel(ref)
            raise
    finally:
        if started_here:
            ray.shutdown()


def gpus_per_task(config: Config, exercises: Sequence[str], cluster_gpus: float) -> float:
    """1 when the batch's checks train on CUDA (the module's rule), else 0."""
    if config.device == "cpu" or not any(uses_device(ex) for ex in exercises):
        return 0
    if config.device == "cuda":
        return 1
    return 1 if cluster_gpus > 0 else 0


def uses_device(exercise: str) -> bool:
    """Whether a check module of ``exercise`` has a function taking the ``device`` fixture."""
    for path in check_files(exercise):
        try:
            tree = ast.parse(path.read_text())
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                if any(a.arg == "device" for a in (*args.posonlyargs, *args.args,
                                                    *args.kwonlyargs)):
                    return True
    return False


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)
