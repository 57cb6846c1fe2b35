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

# The parser lives in the package: `dlgrade slips` records the catalogue's signatures from the
# same files (grader.slips.record).
from grader.slips.edits import REFERENCE, SLIP, StaleMutation, apply_mutation, parse_mutation

__all__ = ["REFERENCE", "SLIP", "StaleMutation", "apply_mutation", "parse_mutation", "materialize"]


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
