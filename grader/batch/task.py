"""One submission of a batch, graded in a fresh judge process; every engine runs this.

``grade_in_subprocess(task)`` starts ``python -m grader.batch.task TASK.json OUTCOME.json``,
which calls the same :func:`grader.runner.grade` as ``dlgrade grade`` and writes the outcome as
plain JSON. A fresh interpreter per submission: ``grade()`` runs pytest in-process, and a Ray or
pool worker must not carry one submission's judge state into the next. Whatever happens to that
process (a crash, a hang past the batch time limit) becomes this submission's outcome only.

An outcome is a dict: ``ok``; when ok, ``results`` (Gradescope's ``results.json``, from
:func:`grader.results.to_gradescope`), ``exercises`` ({id: [score, max]}), ``checks`` (name,
exercise, status, score, max_score), ``flags``, ``hints`` ({id: {slips, texts}}: the likely
slip under each exercise), ``score``, ``max_score``, ``seconds``; when not,
``error`` (why it could not be graded, for the instructor) and ``flags``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from grader.results import Report, printable, to_gradescope, write_atomic

TIME_LIMIT_TEXT = re.compile(r"time limit|time budget", re.IGNORECASE)
LOG_TAIL = 2000
GRACE_S = 5  # after SIGTERM, for the judge to stop its workers, before SIGKILL


def make_task(*, key: str, submission: Path, config: Path, exercises: Sequence[str],
              timeout: float) -> dict:
    """What a grading process needs, as plain data (it crosses to Ray workers as is)."""
    return {"key": key, "submission": str(Path(submission).absolute()),
            "config": str(Path(config).absolute()), "exercises": list(exercises),
            "timeout": float(timeout)}


def grade_in_subprocess(task: dict, *,
                        on_start: Callable[[subprocess.Popen], None] | None = None,
                        on_end: Callable[[subprocess.Popen], None] | None = None) -> dict:
    """Grade ``task`` in a fresh ``python -m grader.batch.task`` process; never raises for
    anything the submission does. ``on_start``/``on_end`` let an engine kill what still runs
    when the batch is interrupted."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dlgrade-batch-") as tmp:
        task_file, outcome_file, log_file = (Path(tmp) / n for n in
                                             ("task.json", "outcome.json", "log.txt"))
        task_file.write_text(json.dumps(task))
        with open(log_file, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "grader.batch.task", str(task_file), str(outcome_file)],
                cwd=tmp, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)  # its own group: a timeout kills all it started
            if on_start is not None:
                on_start(proc)
            try:
                code = proc.wait(timeout=task["timeout"])
            except subprocess.TimeoutExpired:
                stop([proc])
                return failed(f"grading took longer than the batch limit of "
                              f"{task['timeout']:g} s and was stopped", "timed out",
                              seconds=time.monotonic() - started)
            except BaseException:  # interrupted (a Ray cancel, ^C): the process goes too
                stop([proc])
                raise
            finally:
                if on_end is not None:
                    on_end(proc)
        try:
            return json.loads(outcome_file.read_text())
        except (OSError, ValueError):
            tail = log_file.read_text(errors="replace")[-LOG_TAIL:].strip()
            return failed(f"the grading process ended with exit code {code} and no result"
                          + (f":\n{tail}" if tail else ""), seconds=time.monotonic() - started)


def stop(procs: Sequence[subprocess.Popen], grace: float = GRACE_S) -> None:
    """Stop grading processes: SIGTERM (each judge then stops its sandbox workers, which run
    in sessions of their own), then SIGKILL to what is left of their process groups."""
    for proc in procs:
        _signal(proc, signal.SIGTERM, group=False)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        _signal(proc, signal.SIGKILL, group=True)
        proc.wait()


def _signal(proc: subprocess.Popen, sig: int, *, group: bool) -> None:
    try:
        os.killpg(proc.pid, sig) if group else proc.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass


def failed(error: str, *flags: str, seconds: float = 0.0) -> dict:
    return {"ok": False, "error": error, "flags": ["grading failed", *flags],
            "seconds": round(seconds, 2)}


def outcome_of(report: Report) -> dict:
    """The plain data a batch keeps of a report: per exercise (``parts``, so that a later batch
    of a subset can replace some exercises and keep the others), the run's ``notices``, and
    the whole (``results``, ``exercises``, ``checks``, ``flags``, ``score``: see
    :func:`grader.batch.resume.combine`)."""
    from grader.batch.resume import combine

    results = to_gradescope(report)
    flags = exercise_flags(report)
    parts = {}
    for ex in report.exercises:
        mine = [c for c in report.checks if c.exercise == ex]
        score, top = report.exercise_score(ex)
        parts[ex] = {
            "score": [score, top],
            "checks": [{"name": c.name, "exercise": c.exercise, "status": c.status,
                        "score": round(c.score, 6), "max_score": round(c.max_score, 6)}
                       for c in mine],
            "tests": [t for t in results["tests"] if t.get("tags") == [ex]],
            "notes": [f"{ex}: {note}" for note in report.exercise_notes.get(ex, ())],
            "flags": flags.get(ex, []),
            # the likely slip named under the exercise (grader.slips): the summary counts them
            "hint": ({"slips": list(hint.slips), "texts": list(hint.texts),
                      "together": hint.together, "public": hint.public,
                      "line": f"{ex}: {printable(hint.line)}"}
                     if (hint := report.hints.get(ex)) is not None else None),
        }
    return {"ok": True, **combine(parts, list(report.notices), list(report.exercises),
                                  stdout_visibility=report.stdout_visibility),
            "seconds": round(report.seconds, 2)}


def exercise_flags(report: Report) -> dict[str, list[str]]:
    """Per exercise: ``missing kfold.py`` (no usable file: every check of the exercise shows
    the intake's reason), ``timed out (kfold)`` (a check's message says a time limit or budget
    was hit), ``grader error (kfold)`` (a check crashed in the grader)."""
    from grader.runner import _absent_message

    flags: dict[str, list[str]] = {}
    for ex in report.exercises:
        mine = [c for c in report.checks if c.exercise == ex]
        out = flags.setdefault(ex, [])
        if mine and all(c.output == _absent_message(ex) for c in mine):
            out.append(f"missing {ex}.py")
            continue
        if any(c.status != "passed" and TIME_LIMIT_TEXT.search(c.output) for c in mine):
            out.append(f"timed out ({ex})")
        if any(c.status == "error" for c in mine):
            out.append(f"grader error ({ex})")
    return flags


def main(argv: Sequence[str] | None = None) -> int:
    """The grading process: ``python -m grader.batch.task TASK.json OUTCOME.json``."""
    task_path, outcome_path = (Path(a) for a in (argv if argv is not None else sys.argv[1:]))
    started = time.monotonic()
    _stop_when_asked_or_orphaned()
    try:
        from grader.config import load_config
        from grader.errors import GraderError
        from grader.runner import grade

        task = json.loads(task_path.read_text())
        try:
            report = grade(load_config(task["config"]), task["submission"],
                           exercises=task["exercises"])
            outcome = outcome_of(report)
        except GraderError as err:
            outcome = failed(f"the grader could not run: {err}", "grader error",
                             seconds=time.monotonic() - started)
    except Exception as err:  # the grader itself broke: its row says so, the batch goes on
        outcome = failed(f"the grader crashed: {type(err).__name__}: {err}\n"
                         + traceback.format_exc()[-LOG_TAIL:], "grader error",
                         seconds=time.monotonic() - started)
    write_atomic(outcome_path, json.dumps(outcome))
    return 0


def _stop_when_asked_or_orphaned() -> None:
    """SIGTERM, or the engine that started this process going away (a killed driver, a
    cancelled Ray task), interrupts the run: pytest stops and the runner's clean-up kills the
    sandbox workers."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="dlgrade-orphan-watch", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
