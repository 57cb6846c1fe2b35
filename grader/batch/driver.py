"""``grade_batch``: a whole class in one call; the driver that ``dlgrade grade-batch`` runs.

It finds the submissions in ROOT (:mod:`grader.batch.layout`), skips those graded before from the
same files by the same grader (:mod:`grader.batch.resume`), has an engine grade the rest
(:mod:`grader.batch.engines`, each submission in a fresh judge process), and writes into DIR:

- ``results/<submission>.json``: each submission's state and Gradescope ``results.json`` (key
  ``results``), written as soon as it is graded; each exercise's results are kept apart, so a
  batch of a subset (``exercises``) into the same DIR grades those exercises where they changed
  and keeps the others (see :mod:`grader.batch.resume`);
- ``gradebook.csv``: one row per student (:mod:`grader.batch.gradebook`);
- ``summary.html``: histograms and pass rates per check (:mod:`grader.batch.summary`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from grader.batch import engines, gradebook, layout as layouts, resume, summary
from grader.batch.progress import Progress
from grader.batch.task import make_task
from grader.config import Config
from grader.errors import GraderError
from grader.results import write_atomic
from grader.runner import check_files

SLACK_S = 120  # a submission's batch limit: twice its exercises' time limits, plus this


@dataclass(frozen=True)
class BatchResult:
    layout: layouts.Layout
    graded: tuple[str, ...]       # submission keys graded in this run
    unchanged: tuple[str, ...]    # keys whose earlier results were kept
    failed: tuple[str, ...]       # keys that could not be graded (this run or kept)
    table: tuple[dict[str, str], ...]
    out: Path
    seconds: float
    grader_errors: tuple[str, ...] = ()  # keys with a check that crashed in the grader
    isolation: str = ""  # how the workers were isolated (grader.sandbox.runtime)

    @property
    def grader_failed(self) -> bool:
        """A submission could not be graded, or the grader failed in a check of one: the
        command exits 3 (the rows say which, and the summary page why)."""
        return bool(self.failed or self.grader_errors)

    @property
    def gradebook(self) -> Path:
        return self.out / "gradebook.csv"

    @property
    def summary(self) -> Path:
        return self.out / "summary.html"

    def text(self) -> str:
        rate = (f" ({len(self.graded) / self.seconds * 60:.1f} per minute)"
                if self.graded and self.seconds > 0 else "")
        lines = [f"graded {len(self.graded)} submission(s) in {self.seconds:.0f} s{rate}"
                 + (f"; {len(self.unchanged)} unchanged since their last grading, not graded "
                    "again" if self.unchanged else "")]
        if self.grader_errors:
            lines.append(f"GRADER ERROR: the grader itself failed in checks of "
                         f"{len(self.grader_errors)} submission(s): "
                         f"{', '.join(self.grader_errors[:5])}"
                         + (", ..." if len(self.grader_errors) > 5 else "")
                         + " (flag 'grader error'; their totals are incomplete)")
        if self.failed:
            lines.append(f"{len(self.failed)} could not be graded: {', '.join(self.failed[:5])}"
                         + (", ..." if len(self.failed) > 5 else "")
                         + " (flag 'grading failed'; the reasons are on the summary page)")
        lines += [*([self.isolation] if self.isolation else []), *self.layout.notices,
                  f"gradebook: {self.gradebook} ({len(self.table)} student(s))",
                  f"summary:   {self.summary}",
                  f"results:   {self.out / 'results'}/ (one JSON file per submission)"]
        return "\n".join(lines)


def grade_batch(config: Config, root: Path | str, out: Path | str, *,
                exercises: Sequence[str] | None = None, engine: str = "local",
                jobs: int | None = None, address: str | None = None, force: bool = False,
                progress: Progress | None = None) -> BatchResult:
    """Grade every submission in ``root`` into ``out`` (see the module's docstring).

    Raises ``GraderError`` when the batch cannot run (no submissions, bad arguments, Ray
    missing); anything wrong with one submission is in its own row.
    """
    started = time.monotonic()
    ids = tuple(exercises) if exercises else config.ids
    for ex in ids:
        config.exercise(ex)
    if missing := [ex for ex in ids if not check_files(ex)]:
        raise GraderError(f"no checks found for: {', '.join(missing)}")
    if engine not in engines.ENGINES:
        raise GraderError(f"unknown engine {engine!r} (known: {', '.join(engines.ENGINES)})")
    jobs = jobs or engines.default_jobs()
    if jobs < 1:
        raise GraderError("--jobs must be at least 1")
    root, out = Path(root), Path(out)
    if out.resolve().is_relative_to(root.resolve()):
        raise GraderError(f"the output folder {out} must not be inside the batch root {root}")
    isolation = isolation_line(config)  # fails closed before anything is graded
    found = layouts.find_submissions(root)
    results_dir = out / "results"
    names = resume.results_names([s.key for s in found.submissions])
    hashes_ex = {ex: resume.exercise_hash(config, ex) for ex in ids}

    states: dict[str, dict] = {}
    hashes: dict[str, str] = {}
    earlier: dict[str, dict | None] = {}
    tasks: list[dict] = []
    by_key = {s.key: s for s in found.submissions}
    for sub in found.submissions:
        hashes[sub.key] = resume.submission_hash(sub.path)
        state = earlier[sub.key] = resume.load_state(results_dir / names[sub.key])
        todo = list(ids) if force else resume.stale(state, hashes[sub.key], hashes_ex)
        if not todo:
            states[sub.key] = state
        else:
            timeout = 2 * sum(config.exercise(ex).time_limit for ex in todo) + SLACK_S
            tasks.append(make_task(key=sub.key, submission=sub.path, config=config.path,
                                   exercises=todo, timeout=timeout))
    unchanged = tuple(states)

    def on_done(task: dict, outcome: dict) -> None:
        sub = by_key[task["key"]]
        before = earlier[sub.key]
        # the exercises graded before from these same files stay; the others go
        parts = (dict(before.get("parts") or {}) if before is not None
                 and before.get("submission_hash") == hashes[sub.key] else {})
        for ex in task["exercises"]:
            parts.pop(ex, None)
        failure = None
        if outcome.get("ok"):
            for ex, part in outcome["parts"].items():
                parts[ex] = {**part, "grader_hash": hashes_ex[ex]}
            notices = outcome.get("notices", [])
        else:
            failure = {"error": outcome.get("error", ""), "exercises": task["exercises"],
                       "flags": outcome.get("flags", ["grading failed"])}
            notices = (before or {}).get("notices", []) if parts else []
        parts = {ex: parts[ex] for ex in config.ids if ex in parts}  # in the config's order
        state = {"key": sub.key, "students": [vars(s) for s in sub.students],
                 "submission_hash": hashes[sub.key], "exercise_ids": list(parts),
                 "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "seconds": outcome.get("seconds", 0.0),
                 **resume.combine(parts, notices, config.ids,
                                  stdout_visibility=config.stdout_visibility, failure=failure)}
        resume.save_state(results_dir / names[sub.key], state)
        states[sub.key] = state
        if progress is not None:
            progress.advance(_label(sub), outcome)

    if progress is not None:
        progress.start(len(tasks), len(unchanged), jobs, engine)
    try:
        if engine == "ray":
            engines.run_ray(tasks, on_done, config=config, exercises=ids, address=address,
                            jobs=jobs)
        else:
            engines.run_local(tasks, on_done, jobs=jobs)
    finally:
        if progress is not None:
            progress.close()

    # every exercise some submission holds results of (a subset graded earlier into the same
    # DIR keeps its column), in the config's order
    shown = tuple(ex for ex in config.ids if ex in ids or any(
        ex in (st.get("parts") or {}) for st in states.values()))
    table = gradebook.rows(found.submissions, states, shown)
    gradebook.write_gradebook(out / "gradebook.csv", table, shown)
    write_atomic(out / "summary.html", summary.render(
        title=config.assignment, submissions=found.submissions, states=states, exercises=shown,
        exercise_points={ex: config.exercise(ex).points for ex in shown},
        grader_version=resume.grader_hash(config, shown), notices=(isolation, *found.notices)))
    return BatchResult(
        layout=found, graded=tuple(t["key"] for t in tasks), unchanged=unchanged,
        failed=tuple(s.key for s in found.submissions if not states[s.key].get("ok")),
        table=tuple(table), out=out, seconds=time.monotonic() - started,
        grader_errors=tuple(s.key for s in found.submissions
                            if any(f.startswith("grader error")
                                   for f in states[s.key].get("flags", []))),
        isolation=isolation)


def isolation_line(config: Config) -> str:
    """The isolation every grading process of this batch gets here, in one line (raises
    ``GraderError`` where there is none and the config does not say ``isolation: none``)."""
    from grader.sandbox.runtime import detect_isolation

    isolation, _ = detect_isolation(config)
    return f"sandbox {isolation.summary()}"


def _label(sub: layouts.Submission) -> str:
    names = ", ".join(s.name for s in sub.students if s.name)
    return f"{sub.key} ({names})" if names else sub.key
