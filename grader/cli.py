"""dlgrade: grade deep-learning exercises with checks that student code cannot tamper with.

Each command is a thin layer over a function of the package. Exit codes: 0 grading completed
(whatever the score); 1 the run completed but a requested condition failed (``--min-score``,
``selftest``, ``release --check``); 2 the grader could not run (bad config, bad arguments, a
submission path that does not exist, broken checks), with a one-line message on stderr; 3
grading completed and its results are written, but the grader itself failed in a check (a
missing reference, a hidden check that crashed) or, for ``grade-batch``, could not grade a
submission: the results say so at the top, and the total is incomplete.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TextIO
from pathlib import Path

from grader.config import Config, builtin_notice, find_config, load_config, where_to_set
from grader.errors import GraderError
from grader.results import (Report, format_table, printable, private_folder, publish_folder,
                            write_atomic, write_gradescope, write_junit)

OK, CONDITION_FAILED, CANNOT_RUN, GRADER_FAILED = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    from grader.interrupts import interrupts

    parser = _parser()
    args = parser.parse_args(argv)
    try:
        with interrupts():  # SIGINT, SIGTERM, SIGHUP: every worker ended, every folder removed
            return args.run(args)
    except GraderError as err:
        print(f"dlgrade: error: {err}", file=sys.stderr)
        return CANNOT_RUN
    except ModuleNotFoundError as err:
        if not (err.name or "").startswith("grader."):
            raise
        # A student release ships the engine's student side only (its MANIFEST lists it).
        command = args.run.__name__.removeprefix("cmd_").replace("_", "-")
        print(f"dlgrade: error: `dlgrade {command}` is an instructor command and this "
              f"installation does not include it ({err.name} is not part of the student "
              "release); `dlgrade check EXERCISE` runs the public checks", file=sys.stderr)
        return CANNOT_RUN
    except KeyboardInterrupt as err:
        name = getattr(err, "name", "SIGINT")
        print(f"dlgrade: interrupted ({name}): stopped, nothing left running", file=sys.stderr)
        return getattr(err, "exit_code", 130)


def run() -> None:
    """The console command: :func:`main`, then exit at once. The interpreter's own teardown
    (about 1 s once torch is imported) does nothing useful here: every file a command writes is
    closed, every worker and judge process ended, and Ray shut down, before ``main`` returns."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


CONFIG_HELP = ("autograder.yml to use (default: $DLGRADE_CONFIG, else autograder.yml in the "
               "current folder or a parent, else the built-in config, which says so)")


# Who each command is for: the top-level help lists them in these groups, and a student install
# (the public checks only: no hidden check is installed) leaves out the instructors' group.
GROUPS = (("students", ("check",)),
          ("CI and instructors", ("grade",)),
          ("instructors", ("grade-batch", "selftest", "release", "slips", "calibrate", "bundle",
                           "init-ci", "new")))


def installed_exercises() -> tuple[str, ...]:
    """The exercises whose checks are installed (``grader/exercises/<id>/test_*.py``)."""
    from grader.config import EXERCISES_DIR

    return tuple(sorted(p.name for p in EXERCISES_DIR.iterdir()
                        if p.is_dir() and any(p.glob("test_*.py"))))


def student_install() -> bool:
    """A student release installs the public checks only: no hidden check is there."""
    from grader.config import EXERCISES_DIR

    return not any(EXERCISES_DIR.glob("*/test_hidden*.py"))


def _parser() -> argparse.ArgumentParser:
    # --config is accepted before and after the command; SUPPRESS keeps the later one from
    # resetting what the earlier one set
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH", help=CONFIG_HELP)
    ids = installed_exercises()
    ids_text = ", ".join(ids) or "none installed"
    exercise_help = f"an exercise id: {ids_text}"
    helps: dict[str, str] = {}
    parser = argparse.ArgumentParser(
        prog="dlgrade", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="", epilog="Run dlgrade COMMAND --help for a command's arguments.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND", dest="command",
                                help="one of the commands above")

    def command(name: str, run: Callable[[argparse.Namespace], int], help: str,
                ) -> argparse.ArgumentParser:
        helps[name] = help
        # no help= here: the grouped list in the description replaces argparse's own
        p = sub.add_parser(name, parents=[common], description=help)
        p.set_defaults(run=run)
        return p

    p = command("check", cmd_check, "run the public checks of one exercise on your file")
    p.add_argument("exercise", metavar="EXERCISE", help=exercise_help)
    p.add_argument("--submission", default=None, metavar="PATH",
                   help="folder, .zip or notebook holding <exercise>.py (default: the config's "
                        "assignments folder, else the current folder and its assignments/; no "
                        "other folder and no zip around it is looked at)")

    p = command("grade", cmd_grade, "run every check on a submission; exit codes for CI")
    p.add_argument("submission", metavar="SUBMISSION",
                   help="a folder (files may sit a level or two deeper), a .zip, or a "
                        "notebook; near-miss names like KFold.py are accepted; a path that "
                        "does not exist is an error (exit code 2)")
    p.add_argument("--exercises", default=None, metavar="IDS",
                   help=f"comma-separated exercise ids (default: all of the config): {ids_text}")
    p.add_argument("--results", type=Path, default=None, metavar="PATH",
                   help="write Gradescope's results.json here")
    p.add_argument("--junit", type=Path, default=None, metavar="PATH",
                   help="write JUnit XML here")
    p.add_argument("--min-score", type=float, default=None, metavar="POINTS",
                   help="exit with code 1 when the total is below this many points (points, "
                        "not a percentage: the total is out of the graded exercises' points)")
    p.add_argument("--quiet", action="store_true",
                   help="print only the total (no check's message, no printed output of the "
                        "code: use it where students read the log)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="exercises graded at once, each in a judge process of its own "
                        "(default: the number of CPU cores; the scores do not depend on it)")

    p = command("grade-batch", cmd_grade_batch, "grade a whole class (a Gradescope export, or "
                "a folder of per-student folders or zips) into a gradebook and a summary")
    p.add_argument("root", type=Path, metavar="ROOT",
                   help="a Gradescope 'Export Submissions' folder (with "
                        "submission_metadata.yml), or one folder or <student>.zip per student")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="where gradebook.csv, summary.html and results/ go; run again with "
                        "the same DIR to grade only what changed")
    p.add_argument("--exercises", default=None, metavar="IDS",
                   help="comma-separated exercise ids (default: all); into an existing DIR, "
                        "the other exercises' columns are kept")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="submissions graded at once (default: the number of CPU cores)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: processes on this machine; ray: one Ray task per submission "
                        "(pip install 'dlgrade[ray]')")
    p.add_argument("--address", default=None, metavar="ADDRESS",
                   help="Ray cluster to use ('auto' inside a job that ran `ray start`; "
                        "default: start a local one with --jobs CPUs)")
    p.add_argument("--force", action="store_true",
                   help="grade every submission again, even those unchanged")

    p = command("selftest", cmd_selftest, "prove the grader: references score full marks, "
                "stubs zero, every check listed; with --mutants, its mutation score")
    p.add_argument("exercises", nargs="*", metavar="EXERCISE",
                   help=f"the exercises to test (default: all of the config): {ids_text}")
    p.add_argument("--mutants", nargs="*", default=None, metavar="EXERCISE",
                   help="mutation testing instead: grade cosmic-ray mutants of each reference "
                        "(default: the EXERCISEs, else every exercise) and report the kill rate "
                        "per exercise")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="mutants graded at once (default: the number of CPU cores)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="grade only N mutants per exercise, spread over the file (a smoke test)")
    p.add_argument("--all-killers", action="store_true",
                   help="grade each mutant through every check and count each check that killed "
                        "it (slower; default: stop at the first)")
    p.add_argument("--min-kill-rate", type=float, default=None, metavar="RATE",
                   help="exit 1 when an exercise kills fewer of its non-equivalent mutants "
                        "(default: 0.9)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH",
                   help="also write every mutant's outcome here")

    p = command("release", cmd_release, "write assignments/ (stubs) and each exercise's golden "
                                        "data (the public cases' expected values) from solutions/")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the stubs or the golden data differ from what "
                        "would be written")

    p = command("slips", cmd_slips, "record the slip catalogue's signatures by grading each "
                "described slip (instructors; after changing checks, a reference or slips.yml)")
    p.add_argument("exercises", nargs="*", metavar="EXERCISE",
                   help="exercise ids (default: every exercise with a slips.yml)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 when a recorded signature is not what the checks "
                        "give now")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="slips graded at once (default: the number of CPU cores)")
    p.add_argument("--mutations", type=Path, default=None, metavar="DIR",
                   help="the folder of <id>/<name>.mutation files (default: tests/submissions "
                        "beside the config)")

    p = command("calibrate", cmd_calibrate, "run a reference over many seeds: each threshold's "
                "pass rate, worst value and margin")
    p.add_argument("exercise", metavar="EXERCISE",
                   help=f"an exercise with thresholds to calibrate: {ids_text}")
    p.add_argument("--seeds", type=int, default=20, metavar="N",
                   help="how many seeds (0, 1, ..., N-1) to train with (default: 20)")
    p.add_argument("--device", default=None, choices=("cpu", "cuda"),
                   help="where to train (default: the config's device)")

    p = command("bundle", cmd_bundle, "build what an instructor hands out or uploads")
    p.add_argument("target", choices=("student", "gradescope", "otter"),
                   help="student: a zip for students (stubs, public checks, the engine); "
                        "gradescope: autograder.zip; otter: one otter autograder zip per exercise")
    p.add_argument("--out", type=Path, required=True, metavar="PATH",
                   help="the zip to write (student, gradescope) or a folder (otter)")
    p.add_argument("--exercises", default=None, metavar="IDS",
                   help=f"comma-separated exercise ids to ship (default: all): {ids_text}")

    p = command("init-ci", cmd_init_ci, "write a GitHub Actions workflow and a GitHub Classroom "
                                        "autograding.json that grade a student repository")
    p.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                   help="the student repository's root (default: the current folder)")
    p.add_argument("--min-score", type=float, default=None, metavar="POINTS",
                   help="points the workflow requires to pass (default: none)")

    p = command("new", cmd_new, "start an exercise: a skeleton (reference, stub, a public and a "
                "hidden check, probes, README, tests, config entry) that passes selftest")
    p.add_argument("exercise", metavar="EXERCISE",
                   help="the new exercise's id (a Python identifier, e.g. activations)")

    hidden = {"instructors"} if student_install() else set()
    lines = [__doc__.split("\n\n")[0].strip(), ""]
    for group, names in GROUPS:
        if group in hidden:
            continue
        lines.append(f"commands for {group}:")
        lines += [textwrap.fill(helps[n], 79, initial_indent=f"  {n:<13}",
                                subsequent_indent=" " * 15, break_on_hyphens=False)
                  for n in names]
        lines.append("")
    if hidden:
        lines.append("(a student install: the instructors' commands are not listed)")
    lines.append(f"exercises installed: {ids_text}")
    parser.description = "\n".join(lines)
    return parser


def _config(args: argparse.Namespace) -> Config:
    config = load_config(find_config(getattr(args, "config", None)))
    if config.builtin:  # said once, where no autograder.yml was found
        print(f"dlgrade: {builtin_notice(config)}", file=sys.stderr)
    return config


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
    # Without --submission: the config's assignments folder, else the current folder, each
    # with its own files and its assignments/ only (never every zip around a home folder).
    folder = Path(args.submission) if args.submission else (config.assignments or Path.cwd())
    if args.submission:
        _must_exist(folder)
    terminal = _terminal(sys.stderr)
    bar = progress_bar(terminal) if terminal is not None else None
    if terminal is not None:  # until the first check draws: starting the worker takes seconds
        terminal.write(f"\rchecking {args.exercise} ...")
        terminal.flush()
    try:
        report = grade(config, folder, exercises=[args.exercise], public_only=True, on_progress=bar,
                       scope="submission" if args.submission else "here")
    finally:
        if bar is not None:
            bar(0, 0, "")  # clear the line
            terminal.close()
    _print_notices(replace(report, notices=student_notices(report.notices, config)))
    print(format_table(report))
    _print_output(report)
    print()
    for ex in report.exercises:
        print(public_share_line(report, ex))
    return _grader_failed(report) or OK


def _must_exist(submission: Path) -> None:
    """A path that names nothing is a mistake (a typo in a CI job), never a graded zero; an
    existing empty folder is an empty submission, graded as one."""
    if not os.path.lexists(submission):
        raise GraderError(f"the submission {submission} does not exist (nothing was graded; an "
                          "existing empty folder is graded as an empty submission)")


def _grader_failed(report: Report) -> int:
    """``GRADER_FAILED`` (with a line on stderr) when the grader failed in any check, else 0."""
    broken = sorted({c.exercise for c in report.checks if c.status == "error"})
    if not broken:
        return 0
    print(f"dlgrade: the grader itself failed in checks of {', '.join(broken)}: the results say "
          f"so at the top and the total is incomplete (exit code {GRADER_FAILED})",
          file=sys.stderr)
    return GRADER_FAILED


def student_notices(notices: Sequence[str], config: Config) -> tuple[str, ...]:
    """What ``check`` shows of a run's notices: one line on the isolation (how the code ran),
    and no sandbox warning a student cannot act on: the mechanisms this machine does not offer,
    and, where the config names no references (a student release), that a folder the worker
    may read holds the checkout (the student's own files). Every other notice stays."""
    out: list[str] = []
    said = False
    for notice in notices:
        if not notice.startswith("sandbox:"):
            out.append(notice)
        elif notice.startswith(("sandbox: not enforced:", "sandbox: each worker has",
                                "sandbox: memory:", "sandbox: each worker sees only")):
            # the filter, the keyring, the memory cap: nothing a student acts on; the import
            # rule is said where it matters, by the refusal of an import it does not allow
            continue
        elif notice.startswith("sandbox: WARNING: workers may read") and config.solutions is None:
            continue
        elif notice.startswith("sandbox: workers run"):
            if not said:
                how = notice.removeprefix("sandbox: workers run").strip()
                out.append("sandbox: your code runs in a worker process of its own, "
                           + how.removeprefix("each "))
                said = True
        else:
            out.append(notice)
    if not said:
        out.insert(0, "sandbox: your code runs in a process of its own, with time and memory "
                      "limits (this machine offers no further isolation)")
    return tuple(out)


def public_share_line(report: Report, exercise: str) -> str:
    """What the public total means: a share of the exercise's points, the rest is hidden."""
    _, public = report.exercise_score(exercise)
    points = report.points[exercise]
    if public >= points - 0.005:
        return f"{exercise}: the public checks are worth all {points:g} points of this exercise."
    return (f"{exercise}: these public checks are worth {public:g} of the exercise's {points:g} "
            f"points; hidden checks on other inputs, run for the final grade, hold the other "
            f"{round(points - public, 2):g}. Make the public ones pass for the right reasons.")


def _print_notices(report: Report) -> None:
    for notice in report.notices:
        print(notice)
    if report.notices:
        print()


def _interactive(stream: TextIO) -> bool:
    """A terminal, and not CI: CI logs get no progress bars."""
    return stream.isatty() and not os.environ.get("CI")


def _terminal(stream: TextIO) -> TextIO | None:
    """Where a progress bar draws while the checks run: a stream on a copy of ``stream``'s
    descriptor, made now. pytest captures descriptors 1 and 2 while checks run (what the
    engine's own libraries print must not reach a report), so a bar drawn on them is never
    seen; the copy still points at the terminal. None when ``stream`` is no terminal (or CI)."""
    if not _interactive(stream):
        return None
    try:
        return os.fdopen(os.dup(stream.fileno()), "w", encoding="utf-8", errors="replace")
    except (OSError, ValueError, AttributeError):  # not a real descriptor (a test's stream)
        return None


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
    # Artifacts are drawn in a private folder beside the results, then put at <results
    # dir>/artifacts: a link planted there or below is replaced, never written through.
    staging = private_folder(args.results.parent, ".artifacts-") if args.results else None
    try:
        _must_exist(Path(args.submission))
        report = grade(config, args.submission, exercises=ids, artifacts_dir=staging,
                       jobs=args.jobs or _cores())
    except BaseException as err:
        from grader.runner import public_message

        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if args.results and isinstance(err, GraderError):
            # Gradescope shows this file: a visible reason, never a blank score
            write_atomic(args.results, json.dumps({
                "score": 0, "tests": [], "output_format": "text",
                "output": public_message(f"The autograder could not run: {err}. Please tell "
                                         "your instructor.", config)}))
        elif args.results and isinstance(err, KeyboardInterrupt):
            # not a grader failure: the run was stopped from outside, and can be run again
            write_atomic(args.results, json.dumps({
                "tests": [], "output_format": "text",
                "output": f"The grading run was interrupted "
                          f"({getattr(err, 'name', 'SIGINT')}) before it finished; nothing "
                          "was graded. It can be run again."}))
        raise
    if args.results:
        write_gradescope(report, args.results)
        publish_folder(staging, args.results.parent / "artifacts")
    if args.junit:
        write_junit(report, args.junit)
    if args.quiet:
        print(f"{report.score:g} / {report.max_score:g}")
    else:
        _print_notices(report)
        print(format_table(report))
        _print_output(report)
    if failed := _grader_failed(report):
        return failed
    if args.min_score is not None and report.score < args.min_score:
        print(f"dlgrade: score {report.score:g} is below --min-score {args.min_score:g}",
              file=sys.stderr)
        return CONDITION_FAILED
    return OK


def _print_output(report: Report) -> None:
    """Each exercise's captured output, every line marked as the student's (so that a printed
    "Total: ..." cannot pass for the grader's)."""
    for ex, text in report.student_output.items():
        lines = printable(text).rstrip().splitlines()
        print(f"\n--- output of {ex}.py (stdout and stderr) ---")
        print("\n".join(f"  | {line}" for line in lines))


def cmd_grade_batch(args: argparse.Namespace) -> int:
    from grader.batch.driver import grade_batch
    from grader.batch.progress import make_progress

    config = _config(args)
    if args.address and args.engine != "ray":
        raise GraderError("--address is for --engine ray")
    try:  # SIGTERM, SIGHUP (scancel, kill) stop it as ^C does (see main)
        result = grade_batch(config, args.root, args.out,
                             exercises=_exercises(args.exercises, config), engine=args.engine,
                             jobs=args.jobs, address=args.address, force=args.force,
                             progress=make_progress(sys.stderr,
                                                    interactive=_interactive(sys.stderr)))
    except KeyboardInterrupt as err:
        print(f"dlgrade: interrupted ({getattr(err, 'name', 'SIGINT')}); {_batch_kept(args.out)}",
              file=sys.stderr)
        return getattr(err, "exit_code", 130)
    print(result.text())
    if result.grader_failed:
        print(f"dlgrade: the grader could not grade every submission (exit code "
              f"{GRADER_FAILED}): see the flags 'grader error' and 'grading failed'",
              file=sys.stderr)
        return GRADER_FAILED
    return OK


def _batch_kept(out: Path) -> str:
    """What an interrupted batch leaves in ``out``, as it is."""
    results = out / "results"
    kept = sorted(results.glob("*.json")) if results.is_dir() else []
    if not kept:
        return (f"no submission was graded, and nothing is in {out / 'results'}: run the same "
                "command again to start")
    book = out / "gradebook.csv"
    return (f"{results} holds the results of {len(kept)} submission(s), kept (graded by this "
            "run or an earlier one); "
            + (f"{book} is an earlier run's. " if book.exists() else
               "the gradebook and summary are written when a batch ends. ")
            + "Run the same command again to grade only what is left")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (taskset, cgroups)
    except AttributeError:
        return os.cpu_count() or 1


def cmd_release(args: argparse.Namespace) -> int:
    from grader.release import release, release_golden

    config = _config(args)
    if config.solutions is None or config.assignments is None:
        raise GraderError("release needs both 'solutions' and 'assignments' in the config: "
                          + where_to_set(config, "solutions"))
    changed = release(config.solutions, config.assignments, check=args.check)
    golden = release_golden(config.solutions, config.ids, check=args.check)
    if args.check:
        if changed:
            print(f"assignments/ is out of date for: {', '.join(changed)}; run `dlgrade release`")
        if golden:
            print(f"the golden data is out of date for: {', '.join(golden)}; run `dlgrade "
                  "release`")
        if changed or golden:
            return CONDITION_FAILED
        print("assignments/ matches solutions/; so does the golden data of the public cases")
        return OK
    print(f"wrote {len(changed)} stub(s)" + (f": {', '.join(changed)}" if changed else ""))
    print(f"wrote {len(golden)} golden data file(s)" + (f": {', '.join(golden)}" if golden else ""))
    return OK


def cmd_selftest(args: argparse.Namespace) -> int:
    if args.mutants is not None:
        return cmd_mutants(args)
    from grader.selftest import selftest

    config = _config(args)
    ok, text = selftest(config, exercises=_exercises(",".join(args.exercises), config))
    print(text)
    return OK if ok else CONDITION_FAILED


def cmd_mutants(args: argparse.Namespace) -> int:
    from grader import mutants

    config = _config(args)
    ids = _exercises(",".join(args.mutants or args.exercises), config) or config.ids
    rate = mutants.DEFAULT_MIN_KILL_RATE if args.min_kill_rate is None else args.min_kill_rate
    started = time.monotonic()
    live = _interactive(sys.stderr)

    def progress(outcome: mutants.Outcome, done: int, total: int) -> None:
        line = f"{done}/{total} mutants graded ({time.monotonic() - started:.0f} s)"
        if live:
            sys.stderr.write(f"\r{line}")
            sys.stderr.flush()
        elif done % 50 == 0 or done == total:  # a log line now and then (CI, a file)
            print(line, file=sys.stderr, flush=True)

    results = mutants.run_mutants(config, ids, jobs=args.jobs, limit=args.limit,
                                  all_killers=args.all_killers, on_outcome=progress)
    if live:
        sys.stderr.write("\n")
    ok, text = mutants.format_report(results, config, min_kill_rate=rate)
    print(text)
    print()
    print(_slip_candidates(config, results) if args.all_killers else
          "(with --all-killers, mutants that lose a particular set of checks are proposed as "
          "slips for the catalogue)")
    print(f"{sum(len(r.outcomes) for r in results)} mutants graded in "
          f"{time.monotonic() - started:.0f} s with {args.jobs or os.cpu_count()} job(s)")
    if args.json is not None:
        mutants.write_json(results, args.json)
    return OK if ok else CONDITION_FAILED


def _slip_candidates(config: Config, results: list) -> str:
    from grader.runner import list_checks
    from grader.slips.propose import candidates, format_candidates

    ids = [r.exercise for r in results]
    counts: dict[str, int] = {}
    for meta in list_checks(config, ids):
        counts[meta.exercise] = counts.get(meta.exercise, 0) + 1
    references = {ex: (config.solutions / f"{ex}.py").read_text() for ex in ids}
    return format_candidates(candidates(results, counts), references)


def cmd_slips(args: argparse.Namespace) -> int:
    from grader.config import EXERCISES_DIR
    from grader.slips import record
    from grader.slips.catalogue import CATALOGUE_FILE, load_descriptions

    config = _config(args)
    ids = (_exercises(",".join(args.exercises), config)
           or tuple(ex for ex in config.ids if (EXERCISES_DIR / ex / CATALOGUE_FILE).is_file()))
    started = time.monotonic()
    live = _interactive(sys.stderr)

    def progress(done: int, total: int) -> None:
        if live:
            sys.stderr.write(f"\r{done}/{total} slips graded ({time.monotonic() - started:.0f} s)")
            sys.stderr.flush()

    recorded = record.record(config, ids, folder=args.mutations, jobs=args.jobs or _cores(),
                             on_done=progress)
    if live:
        sys.stderr.write("\n")
    stale = []
    for r in recorded:
        slips = load_descriptions(r.exercise)
        edits = sum(len(v) for v in r.signatures.values())
        if args.check:
            files = record.stale(r)
            stale += [f"{r.exercise}/{name}" for name in files]
            state = f"OUT OF DATE: {', '.join(files)}" if files else "up to date"
        else:
            files = [p.name for p in record.write(r)]
            state = f"wrote {', '.join(files)}" if files else "unchanged"
        print(f"{r.exercise}: {len(slips)} slips, {edits} edits graded in {r.seconds:.1f} s: "
              f"{state}")
        for a, b, score in record.alike(r, slips):
            print(f"  note: {a} and {b} fail alike (similarity {score:.2f}): with one of them "
                  "left out of the catalogue, a submission with it would be told the other")
    print(f"{len(recorded)} exercise(s) in {time.monotonic() - started:.0f} s")
    if stale:
        print(f"slip signatures are out of date for: {', '.join(stale)}; run `dlgrade slips`")
        return CONDITION_FAILED
    return OK


def cmd_calibrate(args: argparse.Namespace) -> int:
    import importlib

    from grader.calibration import summarize
    from grader.plugin import resolve_device
    from grader.release import load_reference

    config = _config(args)
    ex = config.exercise(args.exercise)
    try:
        module = importlib.import_module(f"grader.exercises.{ex.id}.calibrate")
    except ModuleNotFoundError:
        raise GraderError(f"exercise {ex.id} has no thresholds to calibrate") from None
    path = (config.solutions / f"{ex.id}.py") if config.solutions else None
    if path is None or not path.is_file():
        raise GraderError(f"calibration needs the reference {ex.id}.py in the solutions folder")
    reference = load_reference(path, ex.id)
    device = resolve_device(args.device or config.device)
    if args.seeds < 1:
        raise GraderError("--seeds must be at least 1")
    measurements = module.measure(reference, ex.settings, seeds=range(args.seeds), device=device,
                                  echo=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"calibration of {ex.id} on {device} over {args.seeds} seeds")
    print(summarize(measurements))
    return OK if all(m.pass_rate == 1.0 for m in measurements) else CONDITION_FAILED


def cmd_bundle(args: argparse.Namespace) -> int:
    config = _config(args)
    ids = _exercises(args.exercises, config)
    if args.target == "student":
        from grader.delivery.student_zip import build_student_zip
        written = [build_student_zip(config, args.out, exercises=ids)]
    elif args.target == "gradescope":
        from grader.delivery.gradescope import build_gradescope_zip
        written = [build_gradescope_zip(config, args.out, exercises=ids)]
    else:
        from grader.delivery.otter import build_otter_bundles
        written = build_otter_bundles(config, args.out, exercises=ids)
    for path in written:
        print(f"wrote {path}")
    return OK


def cmd_new(args: argparse.Namespace) -> int:
    from grader.skeleton import write_skeleton  # a student release says (main) it has none

    for path in write_skeleton(_config(args), args.exercise):
        print(f"wrote {path}")
    print(f"next: `dlgrade selftest {args.exercise}` (it passes as written), then make the "
          f"exercise your own: see docs/writing-checks.md")
    return OK


def cmd_init_ci(args: argparse.Namespace) -> int:
    from grader.delivery.ci import write_ci_files

    for path in write_ci_files(_config(args), args.out, min_score=args.min_score):
        print(f"wrote {path}")
    return OK


if __name__ == "__main__":
    sys.exit(main())
