"""Record each catalogued slip's signature by grading it: ``dlgrade slips [EXERCISE ...]``.

Each slip of ``grader/exercises/<id>/slips.yml`` names one or more ``.mutation`` files (edits of
the reference, ``tests/submissions/<id>/`` by default). Each edit is applied to the current
reference, handed in as ``<id>.py`` and graded with every check; the failed checks and where
they failed are its signature. The two generated files (every check; the visible checks only)
are written whole, in a fixed order, so the same grading writes the same bytes, and
``--check`` grades again and fails when they are not what the checks give now (as
``dlgrade release --check`` does for stubs). Instructor tooling: it needs the references.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from grader.config import EXERCISES_DIR, Config
from grader.errors import GraderError
from grader.slips.catalogue import (PUBLIC_SIGNATURES_FILE, SIGNATURES_FILE, Catalogue, Slip,
                                    load_descriptions, signatures_text)
from grader.slips.edits import StaleMutation, apply_mutation
from grader.slips.match import NAME_AT, hints_for, similarity
from grader.slips.signature import signature_of, visible_part


@dataclass(frozen=True)
class Graded:
    """One submission of one exercise graded: its signature, the exercise's visible checks, the
    seconds it took, the slips its report's hint names, and those a student's ``dlgrade check``
    (the visible checks only) would name."""

    signature: dict[str, str]
    visible: tuple[str, ...]
    seconds: float
    hint: tuple[str, ...] = ()
    public_hint: tuple[str, ...] = ()
    full_marks: bool = False


@dataclass(frozen=True)
class Recorded:
    exercise: str
    signatures: dict[str, dict[str, dict[str, str]]]  # slip -> mutation -> signature
    visible: frozenset[str]
    seconds: float  # grading every edit, one after the other

    def texts(self) -> dict[str, str]:
        """The generated files' names and contents."""
        public = {s: {m: visible_part(sig, self.visible) for m, sig in edits.items()}
                  for s, edits in self.signatures.items()}
        return {SIGNATURES_FILE: signatures_text(self.exercise, self.signatures, public=False),
                PUBLIC_SIGNATURES_FILE: signatures_text(self.exercise, public, public=True)}

    def catalogue(self, slips: Sequence[Slip]) -> Catalogue:
        return Catalogue(self.exercise, tuple(
            Slip(s.id, s.hint, s.mutations, self.signatures.get(s.id, {})) for s in slips))


def mutations_folder(config: Config) -> Path:
    """Where the slips' ``.mutation`` files are: ``tests/submissions`` beside the config."""
    return config.root / "tests" / "submissions"


def slip_sources(config: Config, exercise: str, folder: Path) -> list[tuple[str, str, str]]:
    """``(slip, mutation, source)`` for every edit of the exercise's catalogue."""
    if config.solutions is None or not (config.solutions / f"{exercise}.py").is_file():
        raise GraderError(f"recording slips needs the reference {exercise}.py: set 'solutions' "
                          "in the config")
    reference = (config.solutions / f"{exercise}.py").read_text()
    out = []
    for slip in load_descriptions(exercise):
        for mutation in slip.mutations:
            path = folder / exercise / f"{mutation}.mutation"
            if not path.is_file():
                raise GraderError(f"{exercise}/slips.yml: slip {slip.id!r} names {mutation}, but "
                                  f"there is no {path}")
            try:
                source = apply_mutation(reference, path.read_text(), name=f"{exercise}/{mutation}")
            except StaleMutation as err:
                raise GraderError(f"slip {slip.id!r}: {err}") from None
            out.append((slip.id, mutation, source))
    return out


def grade_source(config_path: str, exercise: str, source: str) -> Graded:
    """Hand ``source`` in as ``<exercise>.py``, grade every check of the exercise (in a pool
    process, or here), and return its signature."""
    from grader.config import load_config
    from grader.runner import grade

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dlgrade-slip-") as folder:
        os.chmod(folder, 0o755)  # a worker that drops to `nobody` must read it
        path = Path(folder) / f"{exercise}.py"
        path.write_text(source)
        path.chmod(0o644)
        report = grade(load_config(Path(config_path)), folder, exercises=(exercise,))
    seconds = time.monotonic() - started
    visible = [c for c in report.checks if c.visibility == "visible"]
    # the visible checks of a whole grading fail where a public-only run's do: they run first,
    # with the same seeds and calls
    public = hints_for(visible, (exercise,), public_only=True).get(exercise)
    hint = report.hints.get(exercise)
    return Graded(signature_of(report.checks, exercise), tuple(c.name for c in visible), seconds,
                  hint.slips if hint else (), public.slips if public else (),
                  report.score >= report.max_score - 1e-9)


def grade_sources(config: Config, items: Sequence[tuple[str, str]], *, jobs: int = 1,
                  on_done: Callable[[int, int], None] | None = None) -> list[Graded]:
    """Grade each ``(exercise, source)``, ``jobs`` at a time (spawned processes: the parent
    may hold torch's threads, and a forked copy can deadlock)."""
    if jobs <= 1:
        out = []
        for i, (ex, source) in enumerate(items, 1):
            out.append(grade_source(str(config.path), ex, source))
            if on_done is not None:
                on_done(i, len(items))
        return out
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(grade_source, str(config.path), ex, source) for ex, source in items]
        out = []
        for i, future in enumerate(futures, 1):
            out.append(future.result())
            if on_done is not None:
                on_done(i, len(items))
        return out


def record(config: Config, exercises: Sequence[str], *, folder: Path | None = None,
           jobs: int = 1, on_done: Callable[[int, int], None] | None = None) -> list[Recorded]:
    """Grade every catalogued edit of ``exercises`` and collect the signatures. Raises
    ``GraderError`` when an edit no longer applies or loses no points (its slip would never be
    named: the checks do not see it)."""
    folder = folder or mutations_folder(config)
    work = [(ex, slip, mutation, source) for ex in exercises
            for slip, mutation, source in slip_sources(config, ex, folder)]
    graded = grade_sources(config, [(ex, source) for ex, _, _, source in work], jobs=jobs,
                           on_done=on_done)
    out = []
    for ex in exercises:
        signatures: dict[str, dict[str, dict[str, str]]] = {}
        visible: set[str] = set()
        seconds = 0.0
        for (e, slip, mutation, _), result in zip(work, graded):
            if e != ex:
                continue
            if not result.signature:
                raise GraderError(f"{ex}: slip {slip!r} ({mutation}.mutation) loses no points: "
                                  "no check sees it, so no hint could name it")
            signatures.setdefault(slip, {})[mutation] = result.signature
            visible.update(result.visible)
            seconds += result.seconds
        out.append(Recorded(ex, signatures, frozenset(visible), seconds))
    return out


def write(recorded: Recorded, folder: Path = EXERCISES_DIR) -> list[Path]:
    """Write the generated files; the paths that changed."""
    changed = []
    for name, text in recorded.texts().items():
        path = folder / recorded.exercise / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def stale(recorded: Recorded, folder: Path = EXERCISES_DIR) -> list[str]:
    """The generated files that are not what the checks give now (missing or different)."""
    return [name for name, text in recorded.texts().items()
            if not (folder / recorded.exercise / name).is_file()
            or (folder / recorded.exercise / name).read_text(encoding="utf-8") != text]


def alike(recorded: Recorded, slips: Sequence[Slip]) -> list[tuple[str, str, float]]:
    """Pairs of catalogued slips whose signatures are so alike that a submission with one of
    them, were it not catalogued, would be told the other: ``(a, b, similarity)``, most alike
    first. An instructor merges such slips into one (two ``mutations``) or sharpens a check."""
    catalogue = recorded.catalogue(slips)
    pairs = []
    for i, a in enumerate(catalogue.slips):
        for b in catalogue.slips[i + 1:]:
            score = max((similarity(x, y) for x in a.signatures.values()
                         for y in b.signatures.values()), default=0.0)
            if score >= NAME_AT:
                pairs.append((a.id, b.id, score))
    return sorted(pairs, key=lambda p: -p[2])
