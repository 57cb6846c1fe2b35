"""The gradebook: one CSV row per student, built from the submissions' results files.

Columns: ``id`` (the student's ``:sid:`` from a Gradescope export, else their email, else the
submission's key), ``name``, ``email``, ``submission`` (folder or zip name), one column per
exercise (its points, 2 decimals at most), ``total``, ``flags`` (``; ``-separated: ``missing
kfold.py``, ``timed out (kfold)``, ``grader error (kfold)``, ``grading failed``). A group
submission gives one row per submitter, with the same points. A submission that could not be
graded has empty points and the flag ``grading failed`` (the reason is in its results file and
on the summary page); when only some of its exercises could not be graded, the others keep
their points and the total is empty. The exercise columns are those of every exercise graded
into the batch's folder, so a batch of a subset keeps the other columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from grader.batch.layout import Student, Submission
from grader.results import TOTAL_DECIMALS, write_atomic

FIXED = ("id", "name", "email", "submission")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def points(x: float) -> str:
    """``7.41``, ``10``, ``0``: as the results table shows points."""
    x = round(float(x), TOTAL_DECIMALS)
    return str(int(x)) if x == int(x) else f"{x:.2f}".rstrip("0").rstrip(".")


def columns(exercises: Sequence[str]) -> list[str]:
    return [*FIXED, *exercises, "total", "flags"]


def rows(submissions: Sequence[Submission], states: dict[str, dict],
         exercises: Sequence[str]) -> list[dict[str, str]]:
    """One row per student of each submission, in the order of ``submissions``."""
    out = []
    for sub in submissions:
        state = states.get(sub.key) or {}
        graded = bool(state.get("ok"))
        scores = state.get("exercises") or {}  # what was graded, also beside a failed part
        cells = {ex: points(scores[ex][0]) if ex in scores else "" for ex in exercises}
        total = points(sum(scores[ex][0] for ex in exercises if ex in scores)) if graded else ""
        # a column this submission has no result in (its files changed since a subset was
        # graded, or it failed): said, so that the total is never read as complete
        missing = [f"not graded ({ex})" for ex in exercises
                   if graded and ex not in scores]
        flags = "; ".join([*state.get("flags", ["not graded"]), *missing])
        for student in sub.students or (Student(),):
            out.append({"id": student.sid or student.email or sub.key, "name": student.name,
                        "email": student.email, "submission": sub.key, **cells,
                        "total": total, "flags": flags})
    return out


def to_csv(table: Sequence[dict[str, str]], exercises: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns(exercises), lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: _inert(v) if k in (*FIXED, "flags") else v for k, v in row.items()})
    return buf.getvalue()


def _inert(text: str) -> str:
    """Names come from students: a cell a spreadsheet would run as a formula gets a quote."""
    return "'" + text if text.startswith(FORMULA_START) else text


def write_gradebook(path: Path, table: Sequence[dict[str, str]],
                    exercises: Sequence[str]) -> None:
    write_atomic(path, to_csv(table, exercises))


def read_gradebook(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
