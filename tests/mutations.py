"""Wrong implementations as small edits of the reference, so they never drift from it.

A mutation file ``tests/submissions/<id>/<slip>.mutation`` holds a description (``#`` lines) and
one or more blocks::

    @@ reference
    <lines exactly as in solutions/<id>.py>
    @@ slip
    <the lines that replace them>

Each reference block must occur exactly once in the current reference: when the reference
changes under a slip, :func:`apply_mutation` fails with a message naming the file, instead of
the test silently grading a stale copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REFERENCE, SLIP = "@@ reference", "@@ slip"


class StaleMutation(Exception):
    """The mutation no longer applies to the reference."""


def parse_mutation(text: str) -> tuple[str, list[tuple[str, str]]]:
    """``(description, [(old, new), ...])``; blocks keep their exact lines."""
    description, hunks, old, new, where = [], [], [], [], None
    for line in text.splitlines(keepends=True):
        marker = line.rstrip("\n")
        if marker == REFERENCE:
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


def apply_mutation(reference: str, mutation: str, *, name: str = "mutation") -> str:
    """The reference with every block replaced; raises ``StaleMutation`` naming ``name``."""
    description, hunks = parse_mutation(mutation)
    out = reference
    for i, (old, new) in enumerate(hunks, 1):
        count = out.count(old)
        if count != 1 or not old.strip():
            raise StaleMutation(f"{name}: block {i} occurs {count} times in the reference "
                                "(it must occur once); update the mutation to the new reference")
        out = out.replace(old, new)
    header = f"# WRONG ON PURPOSE ({name}): {description}\n" if description else ""
    return header + out


def materialize(sources: Path, solutions: Path, dest: Path) -> Path:
    """Copy ``sources`` (folders of hand-written submissions) to ``dest`` and turn every
    ``<id>/<slip>.mutation`` into ``dest/<id>/<slip>/<id>.py``."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(sources, dest, ignore=shutil.ignore_patterns("*.mutation", "__pycache__"),
                    symlinks=True)
    for path in sorted(sources.glob("*/*.mutation")):
        exercise, slip = path.parent.name, path.stem
        folder = dest / exercise / slip
        folder.mkdir(parents=True, exist_ok=True)
        reference = (solutions / f"{exercise}.py").read_text()
        (folder / f"{exercise}.py").write_text(
            apply_mutation(reference, path.read_text(), name=f"{exercise}/{slip}"))
    return dest
