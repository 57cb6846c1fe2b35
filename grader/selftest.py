"""Prove the grader on its own material: references full marks, stubs zero, every check listed."""

from __future__ import annotations

from grader.config import Config
from grader.errors import GraderError
from grader.release import release, release_golden
from grader.runner import grade


def selftest(config: Config) -> tuple[bool, str]:
    """Return (ok, a report to print)."""
    if config.solutions is None or config.assignments is None:
        raise GraderError("selftest needs both 'solutions' and 'assignments' in the config")
    lines, ok = [], True
    stale = release(config.solutions, config.assignments, check=True)
    if stale:
        ok = False
        lines.append(f"FAIL stubs out of date (run `dlgrade release`): {', '.join(stale)}")
    stale = release_golden(config.solutions, config.ids, check=True)
    if stale:
        ok = False
        lines.append(f"FAIL golden data out of date (run `dlgrade release`): {', '.join(stale)}")
    ref = grade(config, config.solutions)
    stub = grade(config, config.assignments)
    for ex in config.ids:
        r_score, r_max = ref.exercise_score(ex)
        s_score, s_max = stub.exercise_score(ex)
        r_names = [c.name for c in ref.checks if c.exercise == ex]
        s_names = [c.name for c in stub.checks if c.exercise == ex]
        problems = []
        if r_score != r_max:
            lost = [c.name for c in ref.checks if c.exercise == ex and not c.passed]
            problems.append(f"reference lost points in {lost}")
        if s_score != 0:
            won = [c.name for c in stub.checks if c.exercise == ex and c.score > 0]
            problems.append(f"stub scored in {won}")
        if r_names != s_names:
            problems.append("the stub's check list differs from the reference's")
        if abs(r_max - config.exercise(ex).points) > 1e-6:
            problems.append(f"checks sum to {r_max:g}, config says {config.exercise(ex).points:g}")
        ok &= not problems
        lines.append(f"{'ok  ' if not problems else 'FAIL'} {ex:<14} reference {r_score:g}/{r_max:g}"
                     f"  stub {s_score:g}/{s_max:g}  {len(r_names)} checks"
                     + (f"  -- {'; '.join(problems)}" if problems else ""))
    lines.append(f"grading took {ref.seconds:.1f} s (references) and {stub.seconds:.1f} s (stubs)")
    return ok, "\n".join(lines)
