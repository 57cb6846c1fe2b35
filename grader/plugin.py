"""The pytest plugin that turns check functions into graded results, inside the judge.

Registered only by :func:`grader.runner.grade`, with the state of one grading run. It provides the
fixtures checks use (``student``, ``reference``, ``settings``, ``seed``, ``rng``, ``device``,
``feedback``), validates the ``points``/``visibility`` markers, scales points to the config, and
records one :class:`~grader.results.CheckResult` per check, telling a student's failure apart
from a grader error.
"""

from __future__ import annotations

import base64
import html
import os
import re
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from grader.config import VISIBILITIES, Config, ExerciseConfig, where_to_set
from grader.errors import CheckFailure, GraderError, Missing, StudentError
from grader.expect import counting_assertions
from grader.results import CheckResult, write_private
from grader.sandbox.process import ProgressFn, Runtime
from grader.sandbox.student import Student
from grader.slips.signature import locus


@dataclass(frozen=True)
class CheckMeta:
    exercise: str
    name: str
    max_score: float
    visibility: str
    # Function names (same exercise) whose checks must all pass for this one to pay: for
    # properties that a function doing nothing also has (see `gated_by` below).
    gated_by: tuple[str, ...] = ()
    function: str = ""
    case: str = ""  # a parametrised check's case id ("relu"), else ""
    # gated_by(..., paired=True): each case is paid by the same case of the named checks
    paired: bool = False


class Feedback:
    """Information a check attaches to its entry, pass or fail (not points).

    Images are saved under ``images_dir`` (``<artifacts>/<exercise>``): the judge makes the last
    two folders of that path and follows no link there (see :func:`grader.results.write_private`).
    """

    def __init__(self, images_dir: Path | None) -> None:
        self._images_dir = images_dir
        self.texts: list[str] = []
        self.html_parts: list[str] = []

    def info(self, text: str) -> None:
        self.texts.append(str(text))

    def html(self, fragment: str) -> None:
        self.html_parts.append(str(fragment))

    def image(self, png: bytes, name: str, alt: str) -> Path | None:
        """Embed ``png`` in the HTML output; also save it as ``<artifacts>/<name>.png``."""
        saved = None
        if self._images_dir is not None:
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.") or "image"
            folder = self._images_dir
            saved = write_private(folder.parent.parent, (folder.parent.name, folder.name),
                                  f"{safe}.png", png)
        data = base64.b64encode(png).decode()
        self.html_parts.append(f'<figure><img alt="{html.escape(alt)}" '
                               f'src="data:image/png;base64,{data}"/>'
                               f"<figcaption>{html.escape(alt)}</figcaption></figure>")
        return saved


# How the message of a check that passed but was not paid begins (see pay_gated).
GATED = "Your code has this property"
META = pytest.StashKey[CheckMeta]()
FEEDBACK = pytest.StashKey[Feedback]()
OUTCOME = pytest.StashKey[dict]()
STATE = pytest.StashKey["GradingState"]()
CALLS_AT = pytest.StashKey[int]()  # the exercise's student calls when the check started
ASSERTIONS = pytest.StashKey[int]()  # the check's assertions (grader.expect.counted) when it ended


@dataclass
class GradingState:
    """Mutable state of one grading run, owned by the runner and this plugin only."""

    config: Config
    submission: Path
    runtime: Runtime
    public_only: bool = False
    artifacts_dir: Path | None = None
    results: list[CheckResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    students: dict[str, Student] = field(default_factory=dict)
    references: dict[str, ModuleType] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    device: str | None = None
    timings: dict[str, dict[str, float]] = field(default_factory=dict)  # exercise -> Student.timings
    gpu_lock: int | None = None  # descriptor of the held GPU lock (see fixtures.device)
    on_progress: ProgressFn | None = None  # draws training progress (the CLI, on a terminal)
    absent: dict[str, str] = field(default_factory=dict)  # exercise -> why its checks don't run
    # exercise -> the check that shows why its module could not be imported (the others say
    # so in one line: one message per exercise, not one per check)
    import_failed: dict[str, str] = field(default_factory=dict)
    # exercise -> why its probes cannot be imported in a worker (grader.probe_files): every
    # check of it is a grader error, never the student's failure
    broken: dict[str, str] = field(default_factory=dict)
    collected: list[CheckMeta] = field(default_factory=list)  # the checks that will run, in order
    exercises: tuple[str, ...] = ()  # graded in this order (their workers start one ahead)


def check_name(exercise: str, item: pytest.Item) -> str:
    func = getattr(item, "originalname", None) or item.name
    label = func.removeprefix("test_").replace("_", " ")
    callspec = getattr(item, "callspec", None)
    return f"{exercise}: {label}" + (f" [{callspec.id}]" if callspec else "")


def exercise_of(path: Path) -> str:
    return Path(path).parent.name


class DlgradePlugin:
    def __init__(self, state: GradingState) -> None:
        self.state = state
        # the exercise whose worker starts when an exercise's first check does
        self._next = dict(zip(state.exercises, state.exercises[1:]))

    # -- configuration and collection ------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[STATE] = self.state
        config.addinivalue_line("markers", "points(n): points of a check (required, > 0)")
        config.addinivalue_line("markers", "visibility(v): visible | hidden | after_due_date | "
                                "after_published")
        config.addinivalue_line("markers", "gpu: needs CUDA")
        config.addinivalue_line("markers", "gated_by(*checks, paired=False): pays only when "
                                "every named check function of the same exercise passes "
                                "(evidence of real work); paired=True: a parametrised check's "
                                "case waits for the same case of the named checks only")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.state.errors.append(f"cannot load checks from {report.nodeid}: "
                                     f"{str(report.longrepr).strip().splitlines()[-1]}")

    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        raw: list[tuple[pytest.Item, str, float, str]] = []
        for item in items:
            ex = exercise_of(item.path)
            marker = item.get_closest_marker("points")
            points = marker.args[0] if marker and marker.args else None
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
                self.state.errors.append(f"check {item.nodeid} has no valid points marker "
                                         "(@pytest.mark.points(n) with n > 0)")
                continue
            vis_marker = item.get_closest_marker("visibility")
            ex_cfg = self.state.config.exercise(ex)
            visibility = (vis_marker.args[0] if vis_marker and vis_marker.args
                          else ex_cfg.visibility or self.state.config.visibility)
            if visibility not in VISIBILITIES:
                self.state.errors.append(f"check {item.nodeid}: visibility {visibility!r} is not "
                                         f"one of {', '.join(VISIBILITIES)}")
                continue
            if visibility == "visible" and "reference" in item.fixturenames:
                self.state.errors.append(f"check {item.nodeid} is visible but uses the reference "
                                         "solution: public checks must use oracles a student has")
                continue
            if ("reference" in item.fixturenames and self.state.config.solutions is None
                    and not self.state.public_only):
                message = (f"the hidden checks of {ex} need the reference solutions: "
                           f"{where_to_set(self.state.config, 'solutions')} (or run `dlgrade "
                           "check` for the public checks only)")
                if message not in self.state.errors:
                    self.state.errors.append(message)
                continue
            raw.append((item, ex, float(points), visibility))
        metas = self._validate_gates(raw)
        totals: dict[str, float] = {}
        shipped_hidden: set[str] = set()
        for _, ex, points, visibility in raw:
            totals[ex] = totals.get(ex, 0.0) + points
            if visibility != "visible":
                shipped_hidden.add(ex)
        keep, drop = [], []
        for (item, ex, points, visibility), meta in zip(raw, metas):
            scale = _public_share(self.state.config.exercise(ex), ex in shipped_hidden) / totals[ex]
            item.stash[META] = replace(meta, max_score=points * scale)
            (drop if self.state.public_only and visibility != "visible" else keep).append(item)
        if self.state.errors:
            drop, keep = items[:], []
        self.state.collected[:] = [item.stash[META] for item in keep]
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """An exercise that was not handed in runs none of its checks: each fails at once.
        When an exercise's first check starts, the next exercise's worker starts meanwhile."""
        ex = item.stash[META].exercise
        item.stash[CALLS_AT] = self.state.students[ex].calls if ex in self.state.students else 0
        if ex in self._next:
            self._prestart(self._next[ex])
        if ex in self.state.broken:
            raise GraderError(self.state.broken[ex])
        reason = self.state.absent.get(ex)
        if reason is not None:
            raise Missing(reason)

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Any:
        """The first exercise's worker starts while the checks are collected (both import
        torch, for seconds)."""
        first = next(iter(self.state.exercises), None)
        if first is not None and not self.state.errors:
            self._prestart(first)
        return (yield)

    def _prestart(self, exercise: str) -> None:
        if exercise in self.state.absent or exercise in self.state.broken or self.state.errors:
            return
        student_for(self.state, exercise).prestart()

    # -- results -------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo) -> pytest.TestReport:
        """Record the verdict from the exception itself, and give pytest a plain report: its own
        would format a traceback (0.3-0.8 s a failed check) that nobody reads."""
        outcome = item.stash.setdefault(OUTCOME, {"seconds": 0.0})
        outcome["seconds"] += call.duration
        if call.excinfo is not None and "status" not in outcome:
            outcome.update(_verdict(call.excinfo, call.when))
            if outcome["status"] != "skipped":
                outcome["failed_at"] = self._locus(item, call.excinfo.value)
        return _plain_report(item, call)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        with counting_assertions() as box:
            try:
                return (yield)
            finally:
                item.stash[ASSERTIONS] = box[0]

    def _locus(self, item: pytest.Item, err: BaseException) -> str:
        """Which case of the check failed (its student calls and assertions so far), where
        and how."""
        student = self.state.students.get(item.stash[META].exercise)
        calls = (student.calls if student is not None else 0) - item.stash.get(CALLS_AT, 0)
        last_call = student.last_call if student is not None else ""  # locus drops it at 0 calls
        return locus(calls, last_call, item.stash.get(ASSERTIONS, 0), err)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        """An exercise's worker ends as soon as its last check has run, not at the end of the
        session: the others' checks do not wait for it to exit."""
        yield
        ex = item.stash[META].exercise
        if (nextitem is None or nextitem.stash[META].exercise != ex) and ex in self.state.students:
            self.state.outputs[ex] = self.state.students[ex].close()
            self.state.timings[ex] = self.state.students[ex].timings

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        result = yield
        meta = item.stash[META]
        outcome = item.stash.get(OUTCOME, {})
        status = outcome.get("status", "passed")
        fb = item.stash.get(FEEDBACK, None)  # set by the `feedback` fixture (grader.fixtures)
        message = outcome.get("message", "")
        if outcome.get("category") == "import":
            first = self.state.import_failed.setdefault(meta.exercise, meta.name)
            if first != meta.name:
                message = (f"not run: {meta.exercise}.py could not be imported (the reason is "
                           f"shown once, in the check \"{first.split(': ', 1)[-1]}\")")
        text = "\n\n".join([message] + (fb.texts if fb else [])).strip()
        fmt = "text"
        if fb and fb.html_parts:
            fmt = "html"
            text = (f"<pre>{html.escape(text)}</pre>" if text else "") + "\n".join(fb.html_parts)
        self.state.results.append(CheckResult(
            exercise=meta.exercise, name=meta.name, visibility=meta.visibility, status=status,
            score=meta.max_score if status == "passed" else 0.0, max_score=meta.max_score,
            output=text, output_format=fmt, seconds=round(outcome.get("seconds", 0.0), 3),
            failed_at=outcome.get("failed_at", "")))
        return result

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.close_students()
        self.state.results[:] = pay_gated(self.state.results, self.state.collected)

    def _validate_gates(self, raw: list[tuple[pytest.Item, str, float, str]]) -> list[CheckMeta]:
        """A gate names checks of its own exercise that exist, are not gated themselves, and
        run wherever the gated check runs (a visible check cannot wait for a hidden one).
        Returns each check's :class:`CheckMeta`, its markers read once here (``max_score``:
        its points, not yet scaled)."""
        metas = [CheckMeta(ex, check_name(ex, item), points, vis, gated_by=_gates(item),
                           function=_function(item), case=_case(item), paired=_paired(item))
                 for item, ex, points, vis in raw]
        visibility = {(m.exercise, m.function): m.visibility for m in metas}
        gated = {(m.exercise, m.function) for m in metas if m.gated_by}
        cases: dict[tuple[str, str], set[str]] = {}
        for m in metas:
            cases.setdefault((m.exercise, m.function), set()).add(m.case)
        for (item, *_), m in zip(raw, metas):
            ex = m.exercise
            extra = {k for mark in item.iter_markers("gated_by")
                     for k in getattr(mark, "kwargs", {})} - {"paired"}
            if extra:
                self.state.errors.append(f"check {item.nodeid}: gated_by takes check names and "
                                         f"paired=True, not {', '.join(sorted(extra))}")
            if m.paired and not m.case:
                self.state.errors.append(f"check {item.nodeid}: gated_by(paired=True) pairs "
                                         "the cases of a parametrised check; this one has none")
            for name in m.gated_by:
                where = f"check {item.nodeid}: gated_by({name!r})"
                if (ex, name) not in visibility:
                    self.state.errors.append(f"{where} names no check of {ex}")
                elif m.paired and m.case and m.case not in cases[(ex, name)]:
                    self.state.errors.append(f"{where}, paired=True: {name} has no case "
                                             f"[{m.case}] to pair with")
                elif (ex, name) in gated:
                    self.state.errors.append(f"{where} names a check that is gated itself")
                elif m.visibility == "visible" and visibility[(ex, name)] != "visible":
                    self.state.errors.append(f"{where}: a visible check cannot be paid by a "
                                             "hidden one (the student release would never pay)")
        return metas

    def close_students(self) -> None:
        for ex, student in self.state.students.items():
            self.state.outputs[ex] = student.close()
            self.state.timings[ex] = student.timings
        if self.state.gpu_lock is not None:
            os.close(self.state.gpu_lock)  # closing drops the flock
            self.state.gpu_lock = None


def student_for(state: GradingState, exercise: str) -> Student:
    """The run's one proxy for ``exercise``'s submitted module (made on first use)."""
    if exercise not in state.students:
        state.students[exercise] = Student(state.runtime, state.config.exercise(exercise),
                                           state.submission, on_progress=state.on_progress,
                                           sandbox=state.config.sandbox)
    return state.students[exercise]


def _function(item: pytest.Item) -> str:
    return getattr(item, "originalname", None) or item.name


def _gates(item: pytest.Item) -> tuple[str, ...]:
    return tuple(name for mark in item.iter_markers("gated_by") for name in mark.args)


def _paired(item: pytest.Item) -> bool:
    return any(getattr(mark, "kwargs", {}).get("paired")
               for mark in item.iter_markers("gated_by"))


def _case(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    return callspec.id if callspec is not None else ""


def pay_gated(results: list[CheckResult], metas: list[CheckMeta]) -> list[CheckResult]:
    """Zero the passed checks whose evidence did not pass, saying which evidence was missing.

    A property that a function doing nothing also has (identity in eval mode, ``p = 0`` keeps
    everything, bad arguments raise) earns its points only alongside the checks that show real
    work. Evidence is judged on this run's results: a check not run (``dlgrade check`` without
    the hidden checks) is not evidence. A ``paired`` gate waits for the same case of the named
    checks only (case ``relu`` of "values" pays case ``relu`` of "shape").
    """
    by_function: dict[tuple[str, str], list[tuple[CheckMeta, CheckResult]]] = {}
    meta_of = {(m.exercise, m.name): m for m in metas}
    for result in results:
        meta = meta_of.get((result.exercise, result.name))
        if meta is not None:
            by_function.setdefault((result.exercise, meta.function), []).append((meta, result))
    paid = []
    for result in results:
        meta = meta_of.get((result.exercise, result.name))
        if meta is None or not meta.gated_by or not result.passed:
            paid.append(result)
            continue
        evidence = {name: [r for m, r in by_function.get((result.exercise, name), [])
                           if not meta.paired or m.case == meta.case]
                    for name in meta.gated_by}
        missing = [r.name for rs in evidence.values() for r in rs if not r.passed]
        missing += [f"{result.exercise}: {name.removeprefix('test_').replace('_', ' ')}"
                    + (f" [{meta.case}]" if meta.paired else "")
                    for name, rs in evidence.items() if not rs]
        if not missing:
            paid.append(result)
            continue
        why = (GATED + ", but so does a function that does not do the work "
               "yet (one that returns its input, zeros or a constant, or only raises), so these "
               "points are paid together with: " + "; ".join(dict.fromkeys(missing))
               + ". Make those pass and this check pays too.")
        paid.append(replace(result, status="failed", score=0.0,
                            output=(why + ("\n\n" + result.output if result.output else ""))
                            if result.output_format == "text" else
                            f"<p>{html.escape(why)}</p>{result.output}"))
    return paid


def _public_share(ex: ExerciseConfig, has_hidden: bool) -> float:
    """Points the collected checks share: all of them, or without the hidden checks when a
    release ships none (its config says how many points those are worth)."""
    if has_hidden or ex.hidden_points is None:
        return ex.points
    return ex.points - ex.hidden_points


def _plain_report(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """What pytest needs of a report (outcome, a one-line reason, times), nothing formatted."""
    excinfo = call.excinfo
    longrepr: Any = None
    outcome = "passed"
    if excinfo is not None and excinfo.errisinstance(pytest.skip.Exception):
        outcome = "skipped"
        longrepr = (str(item.path), item.location[1] or 0, str(getattr(excinfo.value, "msg", "")))
    elif excinfo is not None:
        outcome = "failed"
        longrepr = f"{excinfo.typename}: {str(excinfo.value)[:500]}"
    return pytest.TestReport(item.nodeid, item.location, {k: 1 for k in item.keywords},
                             outcome, longrepr, call.when, sections=[],
                             duration=call.duration, start=call.start, stop=call.stop)


def _verdict(excinfo: pytest.ExceptionInfo, when: str) -> dict:
    err = excinfo.value
    if excinfo.errisinstance(pytest.skip.Exception):
        return {"status": "skipped", "message": f"not run: {getattr(err, 'msg', err)}"}
    if isinstance(err, StudentError):
        return {"status": "failed", "message": str(err), "category": err.category}
    if isinstance(err, CheckFailure):
        return {"status": "failed", "message": str(err)}
    if isinstance(err, AssertionError):
        return {"status": "failed", "message": str(err) or "assertion failed"}
    trace = "".join(traceback.format_exception(type(err), err, err.__traceback__, limit=-3))
    return {"status": "error", "message": (
        f"The grader itself failed in this check ({when}); this is not a verdict on your code. "
        f"Please tell your instructor.\n{type(err).__name__}: {err}\n{trace.strip()}")}


def resolve_device(setting: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without a GPU is an error."""
    if setting == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if setting == "cuda":
        raise GraderError("device: cuda is configured but torch.cuda.is_available() is False")
    return "cpu"
