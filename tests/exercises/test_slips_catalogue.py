"""Every catalogued slip, graded: its hint names it, and its recorded signature is what the
checks give now (else `dlgrade slips <id>` must be run: a stale signature would name slips from
failures that no longer happen); the correct submissions (references and other styles) get no
hint. One grading per folder and session, shared with the exercise's own tests (the `graded`
fixture of tests/conftest.py). The autoencoder's, whose gradings train models, are in
test_slips_catalogue_autoencoder.py.
"""

from __future__ import annotations

import pytest

from grader.slips.catalogue import load_catalogue
from grader.slips.signature import signature_of
from tests.helpers import SOLUTIONS, SUBMISSIONS, full_marks

EXERCISES = ["kfold", "param_count", "backprop", "conv", "dropout"]
CORRECT = ("ok_", "naive_loops")


def catalogued(exercises: list[str]) -> list:
    return [pytest.param(ex, slip.id, mutation, id=f"{ex}/{slip.id}/{mutation}")
            for ex in exercises for slip in load_catalogue(ex).slips for mutation in slip.mutations]


def correct(exercises: list[str]) -> list:
    out = []
    for ex in exercises:
        out.append(pytest.param(ex, SOLUTIONS, id=f"{ex}/reference"))
        out += [pytest.param(ex, folder, id=f"{ex}/{folder.name}")
                for folder in sorted((SUBMISSIONS / ex).iterdir())
                if folder.is_dir() and folder.name.startswith(CORRECT)]
    return out


def check_catalogued(report, exercise: str, slip: str, mutation: str) -> None:
    recorded = load_catalogue(exercise).slip(slip).signatures[mutation]
    assert signature_of(report.checks, exercise) == recorded, (
        f"the recorded signature of {exercise}/{slip} ({mutation}) is stale: run "
        f"`dlgrade slips {exercise}`")
    hint = report.hints.get(exercise)
    assert hint is not None and slip in hint.slips, (slip, hint)
    assert hint.slips[0] == slip or len(hint.slips) == 2


def check_correct(report, exercise: str) -> None:
    assert full_marks(report)
    assert exercise not in report.hints


@pytest.mark.parametrize("exercise, slip, mutation", catalogued(EXERCISES))
def test_each_catalogued_slip_is_named(graded, exercise, slip, mutation):
    check_catalogued(graded(SUBMISSIONS / exercise / mutation, exercise), exercise, slip,
                     mutation)


@pytest.mark.parametrize("exercise, folder", correct(EXERCISES))
def test_no_hint_on_a_correct_submission(graded, exercise, folder):
    check_correct(graded(folder, exercise), exercise)
