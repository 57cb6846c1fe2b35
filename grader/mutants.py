"""Grader strength: mutation testing of the references, with our own grading as the test.

The mutants are made by cosmic-ray's operators (an established mutation tool; we use its
operator plugins and its mutator, not a home-made one), applied only inside the ``# BEGIN
SOLUTION`` / ``# END SOLUTION`` regions of ``solutions/<id>.py``: the rest of the file is the
contract (signatures, docstrings) that a student receives as it is. Each mutant is handed in as
``<id>.py`` and graded like any submission, in parallel processes; it is *killed* when it loses
points, and the report says which checks killed it. A mutant that survives is either a gap in
the checks or equivalent to the reference; equivalents are listed, each with its reason, in the
reviewed file ``grader/exercises/<id>/equivalent_mutants.yml``. Mutations inside the message of a
raised exception or a type hint are not made: the contract names the exception type, not its
wording, and hints do not run.
"""

from __future__ import annotations

import difflib
import multiprocessing
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from grader.config import EXERCISES_DIR, Config
from grader.errors import GraderError
from grader.leaks import solution_region_lines
from grader.plugin import GATED

# cosmic-ray's operators, less those that only make noise here. A replacement *into* a bitwise,
# shift or modulo operator (`a + b` -> `a << b`), into `is`/`is not` (`x < 0` -> `x is 0`) or
# into `~` is killed by the same checks as the plain arithmetic and comparison mutants, or
# raises a TypeError at once, and would triple the run time; replacements *out of* those
# operators are kept. Operators that need per-project arguments (VariableReplacer,
# VariableInserter) are left out.
_BITS = {"RShift", "LShift", "BitOr", "BitAnd", "BitXor"}
_IDENTITY = {"Is", "IsNot"}
_ORDER = {"Lt", "LtE", "Gt", "GtE"}
EQUIVALENTS_FILE = "equivalent_mutants.yml"
DEFAULT_MIN_KILL_RATE = 0.9


@dataclass(frozen=True)
class Mutant:
    """One mutation of a reference: where, by which operator, and the mutated source."""

    exercise: str
    operator: str
    occurrence: int
    line: int  # 1-based line of the mutation in the reference
    function: str  # the enclosing definition, e.g. "Dropout.forward"
    before: str  # the reference's line, stripped
    after: str  # the mutated line(s), stripped
    source: str

    @property
    def key(self) -> str:
        return f"{self.exercise}:{self.line}:{self.operator}:{self.occurrence}"

    def diff(self, reference: str) -> str:
        return "".join(difflib.unified_diff(
            reference.splitlines(keepends=True), self.source.splitlines(keepends=True),
            f"solutions/{self.exercise}.py", f"mutant {self.key}", n=1))


@dataclass(frozen=True)
class Equivalent:
    """A reviewed surviving mutant that computes what the reference computes."""

    function: str
    before: str
    after: str
    reason: str

    def matches(self, mutant: Mutant) -> bool:
        return (self.function, self.before, self.after) == (mutant.function, mutant.before,
                                                            mutant.after)


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    killed: bool
    killed_by: tuple[str, ...] = ()  # the checks that lost points
    error: str = ""  # grading could not run (counts as not killed)
    seconds: float = 0.0


@dataclass(frozen=True)
class ExerciseStrength:
    exercise: str
    outcomes: tuple[Outcome, ...]
    equivalents: tuple[Equivalent, ...]
    stale: tuple[Equivalent, ...] = ()  # listed equivalents that no mutant matches any more
    skipped: int = 0  # mutants that do not compile or repeat another mutant

    @property
    def killed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.killed]

    @property
    def equivalent(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.killed and self._listed(o.mutant)]

    @property
    def survived(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.killed and not self._listed(o.mutant)]

    @property
    def kill_rate(self) -> float:
        counted = len(self.outcomes) - len(self.equivalent)
        return len(self.killed) / counted if counted else 1.0

    def _listed(self, mutant: Mutant) -> bool:
        return any(e.matches(mutant) for e in self.equivalents)

    def killers(self) -> Counter[str]:
        """How many mutants each check killed (the first check each lost, or every check it
        lost when graded with ``all_killers``)."""
        return Counter(name for o in self.killed for name in o.killed_by)


def operators() -> list[tuple[str, object]]:
    """``(name, operator instance)`` for every cosmic-ray operator used here."""
    try:
        import cosmic_ray.plugins as plugins
    except ImportError:
        raise GraderError("mutation testing needs cosmic-ray: pip install 'dlgrade[mutants]'") \
            from None
    chosen = []
    for name in plugins.operator_names():
        cls = plugins.get_operator(name)
        if cls.arguments() or not _wanted(name):
            continue
        chosen.append((name, cls()))
    return chosen


def _wanted(name: str) -> bool:
    """``core/ReplaceBinaryOperator_Add_Sub`` -> keep? (see the comment on ``_BITS``)."""
    parts = name.split("/")[-1].split("_")
    if len(parts) != 3:
        return True
    _, source, target = parts
    if target in _BITS or target in ("Mod", "Invert"):
        return source in _BITS
    if target in _IDENTITY:
        return source in _IDENTITY
    return not (source in _IDENTITY and target in _ORDER)


def solution_lines(source: str) -> set[int]:
    """1-based numbers of the lines inside solution regions (markers excluded)."""
    return set(solution_region_lines(source))


def make_mutants(exercise: str, source: str) -> tuple[list[Mutant], int]:
    """Every mutant of ``source`` inside its solution regions, and how many were skipped (they
    do not compile, or their code repeats an earlier mutant's)."""
    from cosmic_ray.ast import ast_nodes, get_ast
    from cosmic_ray.ast.ast_query import ASTQuery
    from cosmic_ray.mutating import mutate_code

    region = solution_lines(source)
    reference_lines = source.splitlines()
    mutants, seen, skipped = [], {source}, 0
    for name, operator in operators():
        positions = [(node, start) for node in ast_nodes(get_ast(source))
                     for start, _ in operator.mutation_positions(node)]
        for occurrence, (node, start) in enumerate(positions):
            if start[0] not in region or _in_error_message(node) or _in_annotation(node):
                continue
            mutated = mutate_code(source, operator, occurrence)
            if mutated is None or mutated in seen or not _compiles(mutated):
                skipped += mutated is not None and mutated not in seen
                continue
            seen.add(mutated)
            after = _changed_lines(reference_lines, mutated.splitlines())
            mutants.append(Mutant(
                exercise=exercise, operator=name, occurrence=occurrence, line=start[0],
                function=ASTQuery(node).get_definition_name() or "<module>",
                before=reference_lines[start[0] - 1].strip(), after=after, source=mutated))
    mutants.sort(key=lambda m: (m.line, m.operator, m.occurrence))
    return mutants, skipped


def _in_error_message(node: object) -> bool:
    """Whether ``node`` sits in the arguments of a raised exception (``raise ValueError(f"got
    {x.shape[1]}")``): the contract names the exception, not its wording, so a mutant of the
    message is not a mistake any check should catch."""
    in_call, parent = False, getattr(node, "parent", None)
    while parent is not None and parent.type not in ("funcdef", "classdef", "file_input"):
        if parent.type == "trailer" and getattr(parent.children[0], "value", None) == "(":
            in_call = True
        if parent.type == "raise_stmt":
            return in_call
        parent = parent.parent
    return False


def _in_annotation(node: object) -> bool:
    """Whether ``node`` is part of a type hint (``x: int | None``, ``-> int``): hints do not run,
    so ``int | None`` -> ``int + None`` changes nothing a check could see."""
    child, parent = node, getattr(node, "parent", None)
    while parent is not None and parent.type != "file_input":
        kids = parent.children
        if parent.type == "tfpdef" and kids.index(child) > 0:
            return True
        if parent.type == "annassign" and kids.index(child) == 1:
            return True
        if parent.type == "funcdef":
            at = kids.index(child)
            return at > 0 and getattr(kids[at - 1], "value", None) == "->"
        child, parent = parent, parent.parent
    return False


def _compiles(source: str) -> bool:
    try:
        compile(source, "<mutant>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def _changed_lines(before: list[str], after: list[str]) -> str:
    changed = [line[1:].strip() for line in difflib.unified_diff(before, after, n=0, lineterm="")
               if line.startswith("+") and not line.startswith("+++")]
    return " / ".join(changed) or "(line removed)"


def load_equivalents(exercise: str, folder: Path = EXERCISES_DIR) -> tuple[Equivalent, ...]:
    """The reviewed equivalent mutants of ``exercise`` (none when the file does not exist)."""
    path = folder / exercise / EQUIVALENTS_FILE
    if not path.exists():
        return ()
    data = yaml.safe_load(path.read_text()) or []
    if not isinstance(data, list):
        raise GraderError(f"{path}: expected a list of {{function, before, after, reason}}")
    out = []
    for i, entry in enumerate(data, 1):
        if not isinstance(entry, dict) or not {"function", "before", "after", "reason"} <= set(entry):
            raise GraderError(f"{path}: entry {i} needs function, before, after and reason")
        if not str(entry["reason"]).strip():
            raise GraderError(f"{path}: entry {i} has no reason: an equivalent must say why")
        out.append(Equivalent(str(entry["function"]), str(entry["before"]).strip(),
                              str(entry["after"]).strip(), str(entry["reason"]).strip()))
    return tuple(out)


def grade_mutant(config_path: str, mutant: Mutant, all_killers: bool = False) -> Outcome:
    """Hand ``mutant`` in as ``<id>.py`` and grade that exercise (in a pool process): up to the
    first check that loses points, or every check with ``all_killers``."""
    from grader.config import load_config
    from grader.runner import grade

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dlgrade-mutant-") as folder:
        os.chmod(folder, 0o755)  # a worker that drops to `nobody` must read it
        path = Path(folder) / f"{mutant.exercise}.py"
        path.write_text(mutant.source)
        path.chmod(0o644)
        try:
            report = grade(load_config(Path(config_path)), folder, exercises=(mutant.exercise,),
                           stop_at_first_loss=not all_killers)
        except GraderError as err:
            return Outcome(mutant, killed=False, error=str(err),
                           seconds=time.monotonic() - started)
    lost = [c for c in report.checks if c.score < c.max_score]
    # A check that passed but was not paid (its evidence failed) did not kill the mutant.
    killers = [c for c in lost if not c.output.removeprefix("<p>").startswith(GATED)] or lost
    lost = tuple(c.name + (" (grader error)" if c.status == "error" else "") for c in killers)
    return Outcome(mutant, killed=bool(lost), killed_by=lost, seconds=time.monotonic() - started)


def run_mutants(config: Config, exercises: Sequence[str], *, jobs: int | None = None,
                limit: int | None = None, all_killers: bool = False,
                on_outcome: Callable[[Outcome, int, int], None] | None = None
                ) -> list[ExerciseStrength]:
    """Make and grade the mutants of each exercise's reference, ``jobs`` at a time.

    ``limit`` grades only the first ``limit`` mutants of each exercise, spread over the file
    (for a smoke test). Each mutant is graded up to the first check it fails (the killer), or
    through every check with ``all_killers``. ``on_outcome(outcome, done, total)`` reports
    progress.
    """
    if config.solutions is None:
        raise GraderError("mutation testing needs 'solutions' in the config")
    made: dict[str, tuple[list[Mutant], int]] = {}
    for ex in exercises:
        config.exercise(ex)
        source = (config.solutions / f"{ex}.py").read_text()
        mutants, skipped = make_mutants(ex, source)
        if limit is not None and len(mutants) > limit:
            step = len(mutants) / limit
            mutants = [mutants[int(i * step)] for i in range(limit)]
        made[ex] = (mutants, skipped)
    queue = [m for ex in exercises for m in made[ex][0]]
    outcomes: dict[str, Outcome] = {}
    jobs = max(1, jobs or os.cpu_count() or 1)
    # spawn, not fork: the parent may hold torch's threads, and a forked copy can deadlock.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(grade_mutant, str(config.path), m, all_killers) for m in queue]
        for done, future in enumerate(as_completed(futures), 1):
            outcome = future.result()
            outcomes[outcome.mutant.key] = outcome
            if on_outcome is not None:
                on_outcome(outcome, done, len(queue))
    results = []
    for ex in exercises:
        equivalents = load_equivalents(ex)
        mutants, skipped = made[ex]
        ex_outcomes = tuple(outcomes[m.key] for m in mutants)
        stale = () if limit is not None else tuple(
            e for e in equivalents if not any(e.matches(m) for m in mutants))
        results.append(ExerciseStrength(ex, ex_outcomes, equivalents, stale, skipped))
    return results


def format_report(results: Iterable[ExerciseStrength], config: Config, *,
                  min_kill_rate: float = DEFAULT_MIN_KILL_RATE) -> tuple[bool, str]:
    """``(every exercise reaches min_kill_rate, the report)``."""
    lines, ok = [], True
    summary = []
    for strength in results:
        reference = (config.solutions / f"{strength.exercise}.py").read_text()
        rate = strength.kill_rate
        passed = rate >= min_kill_rate and not strength.stale
        ok &= passed
        lines.append(f"== {strength.exercise}: {len(strength.outcomes)} mutants, "
                     f"{len(strength.killed)} killed, {len(strength.equivalent)} equivalent "
                     f"(listed), {len(strength.survived)} survived; kill rate {rate:.1%} "
                     f"({'ok' if rate >= min_kill_rate else 'below'} {min_kill_rate:.0%}); "
                     f"{strength.skipped} skipped (not compiling or repeated)")
        for name, count in strength.killers().most_common():
            lines.append(f"   killed {count:4d}  by {name}")
        for outcome in strength.survived:
            lines.append(f"-- SURVIVED {outcome.mutant.key} in {outcome.mutant.function} "
                         f"({outcome.mutant.operator})"
                         + (f": grading failed: {outcome.error}" if outcome.error else ""))
            lines.append(outcome.mutant.diff(reference).rstrip())
        for equivalent in strength.stale:
            lines.append(f"-- STALE equivalent in {EQUIVALENTS_FILE}: {equivalent.function}: "
                         f"{equivalent.before!r} -> {equivalent.after!r} (no mutant matches it "
                         "now: remove it)")
        summary.append(f"{strength.exercise:<12} {len(strength.outcomes):5d} {len(strength.killed):7d}"
                       f" {len(strength.equivalent):6d} {len(strength.survived):8d}   {rate:6.1%}")
    lines += ["", "exercise     mutants  killed  equiv  survived  kill rate", *summary]
    return ok, "\n".join(lines)


def write_json(results: Iterable[ExerciseStrength], path: Path) -> None:
    """Every mutant's outcome, for a dashboard or a diff between two runs."""
    import json

    data = {r.exercise: {
        "kill_rate": r.kill_rate, "skipped": r.skipped,
        "mutants": [{"key": o.mutant.key, "function": o.mutant.function,
                     "operator": o.mutant.operator, "line": o.mutant.line,
                     "before": o.mutant.before, "after": o.mutant.after,
                     "killed": o.killed, "killed_by": list(o.killed_by),
                     "equivalent": o in r.equivalent, "error": o.error,
                     "seconds": round(o.seconds, 2)} for o in r.outcomes]}
        for r in results}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
