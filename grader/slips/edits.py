"""Slips as small edits of the reference (``<slip>.mutation`` files), so they never drift from it.

A mutation file holds a description (``#`` lines) and one or more blocks::

    @@ reference
    <lines exactly as in solutions/<id>.py>
    @@ slip
    <the lines that replace them>

Each reference block must occur exactly once in the current reference: when the reference
changes under a slip, :func:`apply_mutation` fails with a message naming the file, instead of
grading a stale copy. The framework's tests build their wrong submissions from these files
(``tests/mutations.py``) and the slip catalogue records its signatures from them
(:mod:`grader.slips.record`). Instructor tooling: never part of a student release (the files
quote the reference). ``@@ base`` is another name for ``@@ reference``, for edits of another
text (``benchmarks/slips``: slips written from a correct variant in ``tests/submissions``).
"""

from __future__ import annotations

REFERENCE, SLIP = "@@ reference", "@@ slip"
BASE = "@@ base"  # REFERENCE by another name


class StaleMutation(Exception):
    """The mutation no longer applies to the reference (or the base it edits)."""


def parse_mutation(text: str) -> tuple[str, list[tuple[str, str]]]:
    """``(description, [(old, new), ...])``; blocks keep their exact lines."""
    description, hunks, old, new, where = [], [], [], [], None
    for line in text.splitlines(keepends=True):
        marker = line.rstrip("\n")
        if marker in (REFERENCE, BASE):
            if where == "new":
                hunks.append(("".join(old), "".join(new)))
            old, new, where = [], [], "old"
        elif marker == SLIP and where == "old":
            where = "new"
        elif where == "old":
            old.append(line)
        elif where == "new":
            new.append(line)
        elif line.startswith("#"):
            description.append(line[1:].strip())
    if where == "new":
        hunks.append(("".join(old), "".join(new)))
    if not hunks:
        raise StaleMutation("no '@@ reference' / '@@ slip' block")
    return " ".join(description), hunks


def apply_mutation(reference: str, mutation: str, *, name: str = "mutation",
                   base: str = "the reference") -> str:
    """The reference (any base text) with every block replaced; raises ``StaleMutation`` naming
    ``name`` and ``base`` (what the text is, for the message)."""
    description, hunks = parse_mutation(mutation)
    out = reference
    for i, (old, new) in enumerate(hunks, 1):
        count = out.count(old)
        if count != 1 or not old.strip():
            raise StaleMutation(f"{name}: block {i} occurs {count} times in {base} "
                                f"(it must occur once); update the mutation to {base} as it is")
        out = out.replace(old, new)
    header = f"# WRONG ON PURPOSE ({name}): {description}\n" if description else ""
    return header + out
