"""``dlgrade``: a thin command line over keyword-only functions.

Exit codes: 0 grading completed (whatever the score); 1 the run completed but a requested
condition failed (``--min-score``, ``selftest``, ``release --check``); 2 the grader could not run
(bad config, bad arguments, broken checks), with a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO
from pathlib import Path

from grader.config import Config, load_config
from grader.errors import GraderError
from grader.results import Report, format_table, write_gradescope, write_junit

OK, CONDITION_FAILED, CANNOT_RUN = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except GraderError as err:
        print(f"dlgrade: error: {err}", file=sys.stderr)
        return CANNOT_RUN
    except KeyboardInterrupt:
        print("dlgrade: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlgrade", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="autograder.yml", help="path to autograder.yml")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="run the public checks of one exercise (students)")
    p.add_argument("exercise")
    p.add_argument("--submission", default=None,
                   help="folder holding <exercise>.py (default: the config's assignments/)")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("grade", help="run every check on a submission folder (instructors, CI)")
    p.add_argument("submission")
    p.add_argument("--exercises", default=None, help="comma-separated ids (default: all)")
    p.add_argument("--results", type=Path, default=None, help="write Gradescope results.json here")
    p.add_argument("--junit", type=Path, default=None, help="write JUnit XML here")
    p.add_argument("--min-score", type=float, default=None,
                   help="exit with code 1 when the total is below this")
    p.add_argument("--quiet", action="store_true", help="print only the total")
    p.set_defaults(run=cmd_grade)

    p = sub.add_parser("release", help="write assignments/ (stubs) from solutions/")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if assignments/ differs from what would be written")
    p.set_defaults(run=cmd_release)

    p = sub.add_parser("selftest", help="references score full marks, stubs zero, all listed")
    p.set_defaults(run=cmd_selftest)

    p = sub.add_parser("calibrate", help="run the reference over many seeds: pass rate, margin")
    p.add_argument("exercise")
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--device", default=None, help="cpu | cuda (default: the config's device)")
    p.set_defaults(run=cmd_calibrate)
    return parser


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def _exercises(text: str | None, config: Config) -> tuple[str, ...] | None:
    if not text:
        return None
    ids = tuple(x.strip() for x in text.split(",") if x.strip())
    for ex in ids:
        config.exercise(ex)
    return ids


def cmd_check(args: argparse.Namespace) -> int:
    from grader.runner import grade

    config = _config(args)
    config.exercise(args.exercise)
    folder = Path(args.submission) if args.submission else config.assignments
    if folder is None:
        raise GraderError("no --submission given and the config names no assignments folder")
    bar = progress_bar(sys.stderr) if _interactive(sys.stderr) else None
    try:
        report = grade(config, folder, exercises=[args.exercise], public_only=True, on_progress=bar)
    finally:
        if bar is not None:
            bar(0, 0, "")  # clear the line
    print(format_table(report))
    _print_output(report)
    print("\n(public checks only; the final grade also runs hidden checks)")
    return OK


def _interactive(stream: TextIO) -> bool:
    """A terminal, and not CI: CI logs get no progress bars."""
    return stream.isatty() and not os.environ.get("CI")


def progress_bar(stream: TextIO, width: int = 30) -> Callable[[float, float, str], None]:
    """A one-line bar redrawn in place; ``total == 0`` clears it."""
    def draw(done: float, total: float, label: str) -> None:
        if total <= 0:
            stream.write("\r" + " " * (width + 60) + "\r")
        else:
            filled = int(width * min(1.0, done / total))
            stream.write(f"\r{label[:40]:<40} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{done:g}/{total:g}")
        stream.flush()
    return draw


def cmd_grade(args: argparse.Namespace) -> int:
    from grader.runner import grade

    config = _config(args)
    ids = _exercises(args.exercises, config)
    artifacts = args.results.parent / "artifacts" if args.results else None
    report = grade(config, args.submission, exercises=ids, artifacts_dir=artifacts)
    if args.results:
        write_gradescope(report, args.results)
    if args.junit:
        write_junit(report, args.junit)
    if args.quiet:
        print(f"{report.score:g} / {report.max_score:g}")
    else:
        for notice in report.notices:
            print(notice)
        print(format_table(report))
        _print_output(report)
    if args.min_score is not None and report.score < args.min_score:
        print(f"dlgrade: score {report.score:g} is below --min-score {args.min_score:g}",
              file=sys.stderr)
        return CONDITION_FAILED
    return OK


def _print_output(report: Report) -> None:
    for ex, text in report.student_output.items():
        print(f"\n--- output of {ex}.py (stdout and stderr) ---\n{text.rstrip()}")


def cmd_release(args: argparse.Namespace) -> int:
    from grader.release import release

    config = _config(args)
    if config.solutions is None or config.assignments is None:
        raise GraderError("release needs both 'solutions' and 'assignments' in the config")
    changed = release(config.solutions, config.assignments, check=args.check)
    if args.check:
        if changed:
            print(f"assignments/ is out of date for: {', '.join(changed)}; run `dlgrade release`")
            return CONDITION_FAILED
        print("assignments/ matches solutions/")
        return OK
    print(f"wrote {len(changed)} stub(s)" + (f": {', '.join(changed)}" if changed else ""))
    return OK


def cmd_selftest(args: argparse.Namespace) -> int:
    from grader.selftest import selftest

    ok, text = selftest(_config(args))
    print(text)
    return OK if ok else CONDITION_FAILED


def cmd_calibrate(args: argparse.Namespace) -> int:
    import importlib
    import importlib.util

    from grader.calibration import summarize
    from grader.plugin import resolve_device

    config = _config(args)
    ex = config.exercise(args.exercise)
    try:
        module = importlib.import_module(f"grader.exercises.{ex.id}.calibrate")
    except ModuleNotFoundError:
        raise GraderError(f"exercise {ex.id} has no thresholds to calibrate") from None
    path = (config.solutions / f"{ex.id}.py") if config.solutions else None
    if path is None or not path.is_file():
        raise GraderError(f"calibration needs the reference {ex.id}.py in the solutions folder")
    spec = importlib.util.spec_from_file_location(f"dlgrade_reference_{ex.id}", path)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    device = resolve_device(args.device or config.device)
    if args.seeds < 1:
        raise GraderError("--seeds must be at least 1")
    measurements = module.measure(reference, ex.settings, seeds=range(args.seeds), device=device,
                                  echo=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"calibration of {ex.id} on {device} over {args.seeds} seeds")
    print(summarize(measurements))
    return OK if all(m.pass_rate == 1.0 for m in measurements) else CONDITION_FAILED


if __name__ == "__main__":
    sys.exit(main())
