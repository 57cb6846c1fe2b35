"""Wrong implementations are edits of the current reference; a stale one fails loudly."""

from __future__ import annotations

import pytest

from tests.helpers import SOLUTIONS, SUBMISSION_SOURCES, SUBMISSIONS, repo_config
from tests.mutations import StaleMutation, apply_mutation

MUTATIONS = sorted(SUBMISSION_SOURCES.glob("*/*.mutation"))


def test_there_are_at_least_three_slips_per_exercise():
    exercises = set(repo_config().ids)  # every exercise of the config, whatever they are
    assert {p.parent.name for p in MUTATIONS} <= exercises
    few = {ex: len(list((SUBMISSION_SOURCES / ex).glob("*.mutation"))) for ex in exercises}
    assert all(n >= 3 for n in few.values()), few


@pytest.mark.parametrize("path", MUTATIONS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_mutation_applies_to_the_current_reference_and_changes_it(path):
    reference = (SOLUTIONS / f"{path.parent.name}.py").read_text()
    mutated = apply_mutation(reference, path.read_text(), name=f"{path.parent.name}/{path.stem}")
    assert mutated.split("\n", 1)[1] != reference  # below the header line, code changed
    compile(mutated, str(path), "exec")
    built = SUBMISSIONS / path.parent.name / path.stem / f"{path.parent.name}.py"
    assert built.read_text() == mutated


def test_a_stale_block_is_reported_with_the_slip_name():
    mutation = "# says hi\n@@ reference\n    return 42\n@@ slip\n    return 41\n"
    with pytest.raises(StaleMutation, match="kfold/answer: block 1 occurs 0 times"):
        apply_mutation("def f():\n    return 7\n", mutation, name="kfold/answer")
    assert apply_mutation("def f():\n    return 42\n", mutation, name="x").startswith(
        "# WRONG ON PURPOSE (x): says hi\n")
