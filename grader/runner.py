"""Run the checks of some exercises against a submission folder, in the judge, with pytest."""

from __future__ import annotations

import io
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from grader.config import EXERCISES_DIR, Config
from grader.errors import GraderError
# re-exported: callers and tests import these from the runner
from grader.interrupts import (INTERRUPT_SIGNALS, _SIGNALS, Interrupted, _Signals,  # noqa: F401
                               deferred_interrupts, interrupts)
from grader import fixtures, tamper
from grader.plugin import CheckMeta, DlgradePlugin, GradingState
from grader.probe_files import import_problem
from grader.results import Report, printable
from grader.slips.match import hints_for
from grader.delivery.intake import Intake, take_submission
from grader.sandbox.process import ProgressFn, Runtime, prepare_runtime

CHECKS_INI = Path(__file__).parent / "checks.ini"
MAX_SOURCE_BYTES = 2 * 1024 * 1024  # as the worker takes it
JUDGE_GRACE_S = 10  # a parallel judge's time to stop its workers after SIGTERM, before SIGKILL


class _InterruptWatch:
    """A pytest plugin that keeps the interrupt pytest caught (it ends the session and returns
    ``INTERRUPTED``), so that the runner raises it again once every worker is dead, and ends
    the workers at once (``on_interrupt``): pytest then spends seconds formatting the
    interrupted traceback, which no worker should outlive."""

    def __init__(self, on_interrupt: Callable[[], None]) -> None:
        self.error: BaseException | None = None
        self._on_interrupt = on_interrupt

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo) -> None:
        self.error = excinfo.value
        with deferred_interrupts():
            self._on_interrupt()


def check_files(exercise: str) -> list[Path]:
    """An exercise's check modules: public first, then hidden, then any others."""
    files = sorted((EXERCISES_DIR / exercise).glob("test_*.py"))
    order = {"test_public.py": 0, "test_hidden.py": 1}
    return sorted(files, key=lambda p: (order.get(p.name, 2), p.name))


def pytest_args(files: Sequence[Path]) -> list[str]:
    return [*map(str, files), "-c", str(CHECKS_INI), "--rootdir", str(EXERCISES_DIR),
            "-p", "no:cacheprovider", "-p", "no:randomly", "--import-mode=importlib",
            "-q", "--no-header", "-p", "no:warnings", "-o", "strict_markers=true"]


@contextmanager
def no_bytecode() -> Iterator[None]:
    """No bytecode written while checks are collected or run: pytest's assertion rewriting
    would leave ``__pycache__/test_hidden.*.pyc`` beside the hidden checks, readable by a worker
    (which could unmarshal the hidden inputs), and importing a reference would cache it too."""
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        yield
    finally:
        sys.dont_write_bytecode = before


def list_checks(config: Config, exercises: Sequence[str] | None = None, *,
                public_only: bool = False) -> list[CheckMeta]:
    """The checks a grading run would list (name, points, visibility), without running any."""
    ids = tuple(exercises) if exercises else config.ids
    for ex in ids:
        config.exercise(ex)
    files = [f for ex in ids for f in check_files(ex)]
    runtime = Runtime()  # never started
    state = GradingState(config=config, submission=Path("."), runtime=runtime,
                         public_only=public_only)
    sink = io.StringIO()
    with no_bytecode(), redirect_stdout(sink), redirect_stderr(sink):
        code = pytest.main([*pytest_args(files), "--collect-only"],
                           plugins=[DlgradePlugin(state), fixtures])
    if state.errors or code != pytest.ExitCode.OK:
        raise GraderError("the checks cannot be collected: " + "; ".join(
            state.errors or sink.getvalue().strip().splitlines()[-3:]))
    return list(state.collected)


def grade(config: Config, submission: str | Path, *, exercises: Sequence[str] | None = None,
          public_only: bool = False, artifacts_dir: Path | None = None,
          on_progress: ProgressFn | None = None, stop_at_first_loss: bool = False,
          jobs: int = 1, scope: str = "submission") -> Report:
    """Grade ``submission`` on ``exercises`` (default: all).

    ``submission`` is what a student handed in: a folder of ``<id>.py`` files (or one holding
    them a level or two deeper, or a zip, or notebooks, or near-miss names: see
    :mod:`grader.delivery.intake`), or a zip. A missing or empty submission is not an error: every
    check is listed at 0 with the reason. ``stop_at_first_loss`` stops at the first check that
    loses points and lists only the checks run so far (mutation testing asks only *whether* and
    *where* a mutant loses points). ``jobs`` > 1 grades that many exercises at once, each in a
    judge process of its own (same checks, same seeds: the same scores). ``scope="here"``
    looks only at the folder's own files and its ``assignments/`` (``dlgrade check`` without
    ``--submission``: never at every zip around it). Raises ``GraderError``
    only when grading cannot run (bad arguments, broken checks); anything wrong with the
    submission is a failed check.
    """
    started = time.monotonic()
    ids = tuple(exercises) if exercises else config.ids
    for ex in ids:
        config.exercise(ex)  # raises a clear error for an unknown id
    missing = [ex for ex in ids if not check_files(ex)]
    if missing:
        raise GraderError(f"no checks found for: {', '.join(missing)}")
    given = Path(submission)
    work = Path(tempfile.mkdtemp(prefix="dlgrade-intake-"))
    runtime = None
    try:
        with no_bytecode():
            intake = take_submission(given, ids, work, scope=scope)
            refused = _tampering(intake, ids)
            runtime = prepare_runtime(config)
            if jobs > 1 and len(ids) > 1 and not stop_at_first_loss:
                report = _run_in_parallel(config, intake, ids, runtime, jobs=jobs,
                                          public_only=public_only, artifacts_dir=artifacts_dir)
            else:
                report = _run_checks(config, intake, ids, runtime, public_only=public_only,
                                     artifacts_dir=artifacts_dir, on_progress=on_progress,
                                     stop_at_first_loss=stop_at_first_loss)
    finally:
        with deferred_interrupts():  # an interrupt, too, leaves no folder behind
            if runtime is not None:
                runtime.close()
            shutil.rmtree(work, ignore_errors=True)
    scrub = path_scrubber(given, config, runtime)
    # Graded all the same (the sandbox holds whatever the code does), then paid nothing.
    checks = [replace(c, status="failed", score=0.0,
                      output=_refused_message(c.exercise, refused[c.exercise]),
                      output_format="text") if c.exercise in refused and c.status != "error"
              else c
              for c in report.checks]
    # the likely slip behind each exercise's failures: information, never points (none for a
    # run that stopped at the first loss, which mutation testing asks for)
    hints = {} if stop_at_first_loss else hints_for(
        checks, ids, public_only=public_only, skip={*intake.problems, *refused})
    return Report(
        checks=tuple(replace(c, output=intake.locate(c.exercise, scrub(c.output)))
                     for c in checks),
        exercises=ids, points={ex: config.exercise(ex).points for ex in ids},
        notices=tuple(map(scrub, intake.general + runtime.notices)),
        exercise_notes={ex: tuple(map(scrub, _notes(intake, ex, refused))) for ex in ids
                        if _notes(intake, ex, refused)},
        student_output={k: scrub(v) for k, v in report.student_output.items()},
        seconds=time.monotonic() - started, stdout_visibility=config.stdout_visibility,
        timings=report.timings, hints=hints)


def _notes(intake: Intake, exercise: str, refused: dict[str, str]) -> tuple[str, ...]:
    problem = intake.problems.get(exercise) or refused.get(exercise)
    return (*intake.notices.get(exercise, ()), *((problem,) if problem else ()))


def _tampering(intake: Intake, ids: Sequence[str]) -> dict[str, str]:
    """Exercises whose submitted source reaches into the grader (see :mod:`grader.tamper`),
    with the message shown once for each; their checks run, and pay nothing."""
    refused = {}
    for ex in ids:
        path = intake.folder / f"{ex}.py"
        if ex in intake.problems or not path.is_file() or path.is_symlink():
            continue
        message = tamper.verdict(ex, path.read_bytes()[:MAX_SOURCE_BYTES])
        if message:
            refused[ex] = message
    return refused


def _run_checks(config: Config, intake: Intake, ids: tuple[str, ...], runtime: Runtime, *,
                public_only: bool, artifacts_dir: Path | None,
                on_progress: ProgressFn | None, stop_at_first_loss: bool = False,
                on_interrupt: Callable[[], None] | None = None) -> Report:
    files = [runtime.hidden_copy(f) for ex in ids for f in check_files(ex)]
    state = GradingState(config=runtime.judge_config(config), submission=intake.folder,
                         runtime=runtime, public_only=public_only, artifacts_dir=artifacts_dir,
                         on_progress=on_progress, exercises=ids,
                         absent={ex: _absent_message(ex) for ex in intake.problems},
                         broken={ex: why for ex in ids if (why := import_problem(ex))})
    plugin = DlgradePlugin(state)
    def interrupted() -> None:
        if on_interrupt is not None:
            on_interrupt()
        plugin.close_students()

    watch = _InterruptWatch(interrupted)
    sink = io.StringIO()
    try:
        with redirect_stdout(sink), redirect_stderr(sink):
            code = pytest.main([*pytest_args(files), *(["-x"] if stop_at_first_loss else [])],
                               plugins=[plugin, fixtures, watch])
    finally:
        with deferred_interrupts():
            plugin.close_students()  # every worker is dead before anything is reported
    if watch.error is not None or code == pytest.ExitCode.INTERRUPTED:
        raise watch.error or KeyboardInterrupt()  # not "pytest could not run the checks"
    if state.errors:
        raise GraderError("the checks cannot run: " + "; ".join(state.errors))
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not state.results:
        tail = "\n".join(sink.getvalue().strip().splitlines()[-15:])
        raise GraderError(f"pytest could not run the checks (exit code {int(code)}):\n{tail}")
    return Report(checks=tuple(state.results), exercises=ids, points={},
                  student_output={k: v for k, v in state.outputs.items() if v},
                  timings=dict(state.timings))


# Measured grading seconds of each reference (benchmarks/grading_time.py --repeat 3, quiet 2
# cores, 2026-12-03): the parallel judges share the exercises out so that they finish together.
# (With the older figures the autoencoder's judge also got param_count: 12.5 s against 6.7.)
COSTS = {"autoencoder": 10.5, "dropout": 4.1, "param_count": 2.1, "conv": 1.2, "backprop": 1.1,
         "kfold": 0.4}


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # how a judge's torch threads are set


def share_out(ids: Sequence[str], jobs: int) -> list[tuple[str, ...]]:
    """``ids`` in at most ``jobs`` groups of about equal cost (longest first, each to the
    lightest group), each group in the order of ``ids``."""
    groups: list[list[str]] = [[] for _ in range(min(jobs, len(ids)))]
    load = [0.0] * len(groups)
    for ex in sorted(ids, key=lambda e: -COSTS.get(e, 2.0)):
        i = load.index(min(load))
        groups[i].append(ex)
        load[i] += COSTS.get(ex, 2.0)
    return [tuple(ex for ex in ids if ex in g) for g in groups if g]


def _run_in_parallel(config: Config, intake: Intake, ids: tuple[str, ...], runtime: Runtime, *,
                     jobs: int, public_only: bool, artifacts_dir: Path | None) -> Report:
    """The exercises shared out between ``jobs`` judges: this process takes the first group,
    a fresh interpreter each of the others (a judge process: it runs checks, never submission
    code). They share this run's runtime (engine copy, private references, isolation), so the
    checks, the seeds and the scores are those of a serial run; the reports are merged in the
    order of ``ids``."""
    groups = share_out(ids, jobs)
    threads = str(max(1, (os.cpu_count() or 1) // len(groups)))  # the judges' own torch work
    with tempfile.TemporaryDirectory(prefix="dlgrade-judges-") as work:
        children = []
        for i, group in enumerate(groups[1:]):
            task, result = Path(work) / f"task{i}", Path(work) / f"result{i}"
            task.write_bytes(pickle.dumps((config, intake, group, runtime, public_only,
                                           artifacts_dir)))
            boot = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r}); "
                    "from grader.runner import judge_main; judge_main(sys.argv[1], sys.argv[2])")
            env = {**os.environ, **dict.fromkeys(THREAD_VARS, threads),
                   "PYTHONDONTWRITEBYTECODE": "1"}
            children.append((subprocess.Popen([sys.executable, "-c", boot, str(task), str(result)],
                                              env=env, stdin=subprocess.DEVNULL), result))
        try:
            with _judge_threads(int(threads)):
                parts = [_run_checks(config, intake, groups[0], runtime, public_only=public_only,
                                     artifacts_dir=artifacts_dir, on_progress=None,
                                     on_interrupt=lambda: _terminate([p for p, _ in children]))]
            for proc, result in children:
                proc.wait()
                parts.append(_child_result(proc, result))
        finally:
            with deferred_interrupts():
                stop_judges([proc for proc, _ in children])
    by_exercise: dict[str, list] = {}
    for c in (c for part in parts for c in part.checks):
        by_exercise.setdefault(c.exercise, []).append(c)
    return Report(checks=tuple(c for ex in ids for c in by_exercise.get(ex, [])), exercises=ids,
                  points={}, student_output={k: v for part in parts
                                             for k, v in part.student_output.items()},
                  timings={k: v for part in parts for k, v in part.timings.items()})


@contextmanager
def _judge_threads(threads: int) -> Iterator[None]:
    """This process's torch threads while it judges beside other judges, as the other judges
    get by their environment: each judge's own torch work (rebuilding and running the student's
    model) on its share of the cores, not on all of them against the others."""
    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    os.environ.update(dict.fromkeys(THREAD_VARS, str(threads)))
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(before if before is not None else os.cpu_count() or 1)


def stop_judges(procs: Sequence[subprocess.Popen], grace: float = JUDGE_GRACE_S) -> None:
    """End parallel judges that still run (this run was interrupted, or failed): SIGTERM first,
    so that each stops its workers and removes its folders (see :func:`judge_main`); whatever
    is left after ``grace`` seconds is killed with its whole process tree, workers included."""
    from grader.sandbox import reaper

    running = _terminate(procs)
    deadline = time.monotonic() + grace
    for proc in running:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            reaper.kill_tree(proc.pid)  # its launchers and workers first, then the judge
            proc.wait()


def _terminate(procs: Sequence[subprocess.Popen]) -> list[subprocess.Popen]:
    """SIGTERM to each of ``procs`` still running (each judge then ends its own workers);
    those."""
    running = [p for p in procs if p.poll() is None]
    for proc in running:
        try:
            proc.send_signal(signal.SIGTERM)
        except OSError:
            pass
    return running


def _child_result(proc: subprocess.Popen, result: Path) -> Report:
    try:
        outcome = pickle.loads(result.read_bytes())  # written by a judge process of ours
    except (OSError, EOFError, pickle.UnpicklingError):
        raise GraderError(f"a parallel judge process ended with code {proc.returncode} "
                          "before reporting") from None
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def judge_main(task: str, result: str) -> None:
    """A parallel judge: grade one group of exercises (see :func:`_run_in_parallel`) and write
    its report, or the error that stopped it, to ``result``."""
    sys.dont_write_bytecode = True
    config, intake, group, runtime, public_only, artifacts_dir = pickle.loads(
        Path(task).read_bytes())
    try:
        with interrupts():
            outcome: Any = _run_checks(config, intake, group, runtime, public_only=public_only,
                                       artifacts_dir=artifacts_dir, on_progress=None)
    except GraderError as err:
        outcome = err
    except Interrupted as err:  # its workers are dead: the caller stops the whole run
        Path(result).write_bytes(pickle.dumps(err))
        sys.exit(err.exit_code)
    Path(result).write_bytes(pickle.dumps(outcome))


def _refused_message(exercise: str, verdict: str) -> str:
    if tamper.UNPARSEABLE in verdict:
        return f"not paid: the judge could not parse your {exercise}.py (why is shown once, above)"
    return (f"not paid: your {exercise}.py reaches into the grader (the lines are shown once, "
            "above)")


def _absent_message(exercise: str) -> str:
    """The one line each check of an exercise that was not handed in shows (the full reason
    is shown once, at the top of the exercise)."""
    return f"not run: no usable {exercise}.py in the submission (the reason is shown once, above)"


def path_scrubber(submission: Path, config: Config, runtime: Runtime) -> Callable[[str], str]:
    """Text -> the same text without the grading machine's absolute paths (a traceback's
    ``/tmp/dlgrade-kfold-x1y2/kfold.py`` becomes ``kfold.py``) and without control characters
    (see :func:`grader.results.printable`): every text of the report passes here.

    Linear in the length of the text, whatever it holds: the texts come from submissions
    (a quadratic regular expression spent 65 s of the judge's time on 64 KiB of ``/a/a/a``)."""
    prefixes = _longest_first({str(p) for p in (
        submission.absolute(), submission.resolve(), config.root,
        Path(__file__).resolve().parents[1], *runtime.private_dirs)})

    def scrub(text: str) -> str:
        return _scrub(text, prefixes)
    return scrub


def public_message(text: str, config: Config | None = None) -> str:
    """An error message fit for a report a student reads: without the grading machine's paths
    (the checkout, the interpreter, the temporary folders, the current folder) and control
    characters. For messages of runs that stopped before a runtime existed."""
    places = {str(Path(__file__).resolve().parents[1]), tempfile.gettempdir(), os.getcwd(),
              str(Path.home())}
    if config is not None:
        places.add(str(config.root))
    return _scrub(text, _longest_first(places), bare="<here>")


def _longest_first(paths: set[str]) -> tuple[str, ...]:
    """``paths`` but "" and "/", longest first: a folder is replaced before one that holds it."""
    return tuple(sorted(paths - {"", "/"}, key=len, reverse=True))


# The interpreter's folders (a virtual environment's, the base installation's): fixed for the
# process, so worked out once.
_PYTHON_PREFIXES = _longest_first({sys.prefix, sys.base_prefix, sys.exec_prefix})


def _scrub(text: str, places: Sequence[str], bare: str | None = None) -> str:
    """``text`` made printable, without dlgrade's temporary folders, with each of ``places``
    (longest first) removed where a path continues after it and, with ``bare``, replaced by
    ``bare`` where it stands alone, and the interpreter's folders shown as ``<python>/``.
    A fixed number of ``str.replace`` passes: linear in the length of the text."""
    text = drop_temp_folders(printable(text))
    for place in places:
        text = text.replace(place + "/", "")
        if bare is not None:
            text = text.replace(place, bare)
    for prefix in _PYTHON_PREFIXES:
        text = text.replace(prefix + "/", "<python>/")
    return text


# One of dlgrade's temporary folders (``dlgrade-kfold-x1y2z3w4/``): the name, a last part of 8.
# From its "/dlgrade-" each match scans only the name's characters, which hold no "/", so two
# matches never scan the same characters: linear.
_TEMP_FOLDER = re.compile(r"/dlgrade-[A-Za-z0-9_-]+?-[A-Za-z0-9_]{8}/")
# What separates paths in a message: a path is a run of anything else.
_PATH_GAPS = re.compile(r"([\s'\":]+)")


def drop_temp_folders(text: str) -> str:
    """``text`` with each path that runs through one of dlgrade's temporary folders cut to what
    follows the last such folder (``/tmp/dlgrade-kfold-x1y2z3w4/kfold.py`` -> ``kfold.py``);
    a path's first component not beginning with ``/`` is kept (``x/tmp/dlgrade-.../f`` ->
    ``xf``, as before). Linear time: the text is split once into paths and gaps."""
    if "/dlgrade-" not in text:
        return text
    parts = _PATH_GAPS.split(text)
    for i in range(0, len(parts), 2):  # the even items are the paths, the odd ones the gaps
        run = parts[i]
        if "/dlgrade-" not in run:
            continue
        last = None
        for last in _TEMP_FOLDER.finditer(run):
            pass
        if last is not None:
            parts[i] = run[:run.find("/")] + run[last.end():]
    return "".join(parts)
