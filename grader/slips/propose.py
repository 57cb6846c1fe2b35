"""Candidates for the slip catalogue, from a mutation run (``dlgrade selftest --mutants
--all-killers``).

A mutant of the reference that loses a small, particular set of checks is a slip a student
could make and a pattern of failures a hint could name. Mutants are grouped by the exact set of
checks they lose; a group is proposed when its set is not already named by a catalogued slip
(similarity over check names below the matching bar) and is small (at most half of the
exercise's checks: a mutant that breaks everything says nothing particular). Each proposal
comes with a ``.mutation`` file for its simplest mutant, for an instructor to check, describe
in ``slips.yml`` and record with ``dlgrade slips``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from grader.slips.catalogue import load_catalogue
from grader.slips.match import NAME_AT, similarity

GRADER_ERROR = " (grader error)"


@dataclass(frozen=True)
class Candidate:
    exercise: str
    checks: tuple[str, ...]  # the checks every mutant of the group loses, and no others
    mutants: tuple[object, ...]  # grader.mutants.Mutant, simplest first

    def mutation(self, reference: str) -> str:
        """A ``.mutation`` file for the group's simplest mutant."""
        m = self.mutants[0]
        return (f"# {m.function}: {m.before} -> {m.after} (mutant {m.key}, {m.operator})\n"
                + mutation_blocks(reference, m.source))


def candidates(results: Iterable[object], checks_per_exercise: dict[str, int]) -> list[Candidate]:
    """The proposals from ``grader.mutants.ExerciseStrength`` results graded with
    ``all_killers``; ``checks_per_exercise`` bounds a distinctive set (half of them)."""
    out = []
    for strength in results:
        ex = strength.exercise
        catalogued = [{name: "" for name in sig} for slip in load_catalogue(ex).slips
                      for sig in slip.signatures.values()]
        groups: dict[frozenset[str], list[object]] = {}
        for outcome in strength.killed:
            names = frozenset(n.removesuffix(GRADER_ERROR) for n in outcome.killed_by)
            groups.setdefault(names, []).append(outcome.mutant)
        limit = max(1, checks_per_exercise.get(ex, 0) // 2)
        for names, mutants in groups.items():
            if len(names) > limit:
                continue
            as_signature = {name: "" for name in names}
            if any(similarity(as_signature, sig) >= NAME_AT for sig in catalogued):
                continue
            mutants.sort(key=lambda m: (len(m.after), m.line, m.key))
            out.append(Candidate(ex, tuple(sorted(names)), tuple(mutants)))
    return sorted(out, key=lambda c: (c.exercise, -len(c.mutants), len(c.checks), c.checks))


def mutation_blocks(reference: str, mutated: str) -> str:
    """``@@ reference`` / ``@@ slip`` blocks that turn ``reference`` into ``mutated``, each
    reference block grown by context lines until it occurs once in the reference."""
    old, new = reference.splitlines(keepends=True), mutated.splitlines(keepends=True)
    blocks = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new,
                                                       autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        while i1 > 0 and (not "".join(old[i1:i2]).strip()
                          or reference.count("".join(old[i1:i2])) != 1):
            i1, j1 = i1 - 1, j1 - 1  # the lines before a change are equal in both
        blocks.append("@@ reference\n" + "".join(old[i1:i2]) + "@@ slip\n"
                      + "".join(new[j1:j2]))
    return "".join(blocks)


def format_candidates(found: Sequence[Candidate], references: dict[str, str], *,
                      limit: int = 10) -> str:
    """The proposals as a report section (the ``limit`` largest groups of each exercise)."""
    if not found:
        return "slip candidates: none (every distinctive pattern is in the catalogue)"
    lines = ["slip candidates: mutants that lose a particular set of checks no catalogued slip "
             "names. To describe one, save its .mutation as tests/submissions/<id>/<name>"
             ".mutation, add <name> with a hint to grader/exercises/<id>/slips.yml, and run "
             "`dlgrade slips <id>`."]
    shown: dict[str, int] = {}
    for c in found:
        shown[c.exercise] = shown.get(c.exercise, 0) + 1
        if shown[c.exercise] > limit:
            continue
        lines.append(f"-- {c.exercise}: {len(c.mutants)} mutant(s) lose exactly: "
                     + "; ".join(c.checks))
        lines.append(c.mutation(references[c.exercise]).rstrip())
    hidden = {ex: n - limit for ex, n in shown.items() if n > limit}
    if hidden:
        lines.append("(and " + ", ".join(f"{n} more for {ex}" for ex, n in hidden.items()) + ")")
    return "\n".join(lines)
