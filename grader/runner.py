"""Run the checks of some exercises against a submission folder, in the judge, with pytest."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from grader.config import EXERCISES_DIR, Config
from grader.errors import GraderError
from grader import fixtures
from grader.plugin import DlgradePlugin, GradingState
from grader.results import Report
from grader.sandbox import ProgressFn, prepare_runtime

CHECKS_INI = Path(__file__).parent / "checks.ini"


def check_files(exercise: str) -> list[Path]:
    """An exercise's check modules: public first, then hidden, then any others."""
    files = sorted((EXERCISES_DIR / exercise).glob("test_*.py"))
    order = {"test_public.py": 0, "test_hidden.py": 1}
    return sorted(files, key=lambda p: (order.get(p.name, 2), p.name))


def grade(config: Config, submission: str | Path, *, exercises: Sequence[str] | None = None,
          public_only: bool = False, artifacts_dir: Path | None = None,
          on_progress: ProgressFn | None = None) -> Report:
    """Grade ``submission`` (a folder of ``<id>.py`` files) on ``exercises`` (default: all).

    Raises ``GraderError`` only when grading cannot run (bad arguments, broken checks); anything
    wrong with the submission is a failed check in the returned report.
    """
    started = time.monotonic()
    submission = Path(submission).resolve()
    if not submission.is_dir():
        raise GraderError(f"submission folder not found: {submission}")
    ids = tuple(exercises) if exercises else config.ids
    for ex in ids:
        config.exercise(ex)  # raises a clear error for an unknown id
    files = [f for ex in ids for f in check_files(ex)]
    missing = [ex for ex in ids if not check_files(ex)]
    if missing:
        raise GraderError(f"no checks found for: {', '.join(missing)}")
    runtime = prepare_runtime(config)
    state = GradingState(config=config, submission=submission, runtime=runtime,
                         public_only=public_only, artifacts_dir=artifacts_dir,
                         on_progress=on_progress)
    plugin = DlgradePlugin(state)
    args = [*map(str, files), "-c", str(CHECKS_INI), "--rootdir", str(EXERCISES_DIR),
            "-p", "no:cacheprovider", "-p", "no:randomly", "--import-mode=importlib",
            "-q", "--no-header", "-p", "no:warnings", "-o", "strict_markers=true"]
    sink = io.StringIO()
    try:
        with redirect_stdout(sink), redirect_stderr(sink):
            code = pytest.main(args, plugins=[plugin, fixtures])
    finally:
        plugin.close_students()  # every worker is dead before anything is reported
    if state.errors:
        raise GraderError("the checks cannot run: " + "; ".join(state.errors))
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not state.results:
        tail = "\n".join(sink.getvalue().strip().splitlines()[-15:])
        raise GraderError(f"pytest could not run the checks (exit code {int(code)}):\n{tail}")
    return Report(checks=tuple(state.results), exercises=ids,
                  points={ex: config.exercise(ex).points for ex in ids},
                  notices=runtime.notices,
                  student_output={k: v for k, v in state.outputs.items() if v},
                  seconds=time.monotonic() - started,
                  stdout_visibility=config.stdout_visibility)
