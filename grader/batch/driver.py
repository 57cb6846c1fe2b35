"""``grade_batch``: a whole class in one call; the driver that ``dlgrade grade-batch`` runs.

It finds the submissions in ROOT (:mod:`grader.batch.layout`), skips those graded before from the
same files by the same grader (:mod:`grader.batch.resume`), has an engine grade the rest
(:mod:`grader.batch.engines`, each submission in a fresh judge process), and writes into DIR:

- ``results/<submission>.json``: each submission's state and Gradescope ``results.json`` (key
  ``results``), written as soon as it is graded;
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
    isolation: str = ""  # how the workers were isolated (grader.sandbox.runtime)

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
    version = resume.grader_hash(config, ids)
    timeout = 2 * sum(config.exercise(ex).time_limit for ex in ids) + SLACK_S

    states: dict[str, dict] = {}
    hashes: dict[str, str] = {}
    tasks: list[dict] = []
    by_key = {s.key: s for s in found.submissions}
    for sub in found.submissions:
        hashes[sub.key] = resume.submission_hash(sub.path)
        state = resume.load_state(results_dir / names[sub.key])
        if not force and resume.is_current(state, hashes[sub.key], version):
            states[sub.key] = state
        else:
            tasks.append(make_task(key=sub.key, submission=sub.path, config=config.path,
                                   exercises=ids, timeout=timeout))
    unchanged = tuple(states)

    def on_done(task: dict, outcome: dict) -> None:
        sub = by_key[task["key"]]
        state = {"key": sub.key, "students": [vars(s) for s in sub.students],
                 "submission_hash": hashes[sub.key], "grader_hash": version,
                 "exercise_ids": list(ids), "complete": bool(outcome.get("ok")),
                 "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 **outcome}
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

    table = gradebook.rows(found.submissions, states, ids)
    gradebook.write_gradebook(out / "gradebook.csv", table, ids)
    write_atomic(out / "summary.html", summary.render(
        title=config.assignment, submissions=found.submissions, states=states, exercises=ids,
        exercise_points={ex: config.exercise(ex).points for ex in ids},
        grader_version=version, notices=(isolation, *found.notices)))
    return BatchResult(
        layout=found, graded=tuple(t["key"] for t in tasks), unchanged=unchanged,
        failed=tuple(s.key for s in found.submissions if not states[s.key].get("ok")),
        table=tuple(table), out=out, seconds=time.monotonic() - started, isolation=isolation)


def isolation_line(config: Config) -> str:
    """The isolation every grading process of this batch gets here, in one line (raises
    ``GraderError`` where there is none and the config does not say ``isolation: none``)."""
    from grader.sandbox.runtime import detect_isolation

    isolation, _ = detect_isolation(config)
    return f"sandbox {isolation.summary()}"


def _label(sub: layouts.Submission) -> str:
    names = ", ".join(s.name for s in sub.students if s.name)
    return f"{sub.key} ({names})" if names else sub.key
