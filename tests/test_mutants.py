"""Mutation testing of the references: cosmic-ray's mutants, our grading as the test."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from grader.errors import GraderError
from grader.mutants import (Equivalent, ExerciseStrength, Mutant, Outcome, _wanted,
                            format_report, load_equivalents, make_mutants, run_mutants,
                            solution_lines)
from tests.helpers import REPO, repo_config

SOURCE = '''def f(a, b):
    """Contract: a + b, never mutated here."""
    # BEGIN SOLUTION
    if a < 0:
        return a - b
    raise ValueError(f"a = {a + 1} is not negative")
    # END SOLUTION


LIMIT = 3 + 4

# BEGIN SOLUTION
def _helper(x: int | None = None) -> int | None:
    y: int | None = x
    return y
# END SOLUTION
'''


def test_only_the_solution_regions_are_mutated():
    assert solution_lines(SOURCE) == {4, 5, 6, 13, 14, 15}
    mutants, skipped = make_mutants("toy", SOURCE)
    assert mutants and skipped == 0
    # not the error message on line 6, nor the type hints of _helper
    assert {m.line for m in mutants} == {4, 5}
    assert all(m.function == "f" for m in mutants)
    changed = {(m.before, m.after) for m in mutants}
    assert ("if a < 0:", "if a <= 0:") in changed
    assert ("return a - b", "return a + b") in changed
    assert ("if a < 0:", "if a < 1:") in changed  # cosmic-ray's NumberReplacer
    assert len({m.source for m in mutants}) == len(mutants)  # no duplicates


def test_noisy_operators_are_left_out():
    assert _wanted("core/ReplaceBinaryOperator_Add_Sub")
    assert not _wanted("core/ReplaceBinaryOperator_Add_LShift")
    assert not _wanted("core/ReplaceComparisonOperator_Lt_Is")
    assert _wanted("core/ReplaceComparisonOperator_Is_IsNot")
    assert not _wanted("core/ReplaceComparisonOperator_Is_Lt")
    assert _wanted("core/NumberReplacer")


def _outcome(killed, before="x", after="y", by=()):
    mutant = Mutant("toy", "core/Op", 0, 4, "f", before, after, SOURCE.replace("<", "<="))
    return Outcome(mutant, killed=killed, killed_by=by)


def test_kill_rate_leaves_listed_equivalents_out():
    equivalent = Equivalent("f", "x", "y", "same value")
    strength = ExerciseStrength("toy", (_outcome(True, by=("toy: a",)), _outcome(False),
                                        _outcome(False, before="u")), (equivalent,))
    assert len(strength.equivalent) == 1 and len(strength.survived) == 1
    assert strength.kill_rate == 0.5
    assert strength.killers() == {"toy: a": 1}


def test_the_report_shows_each_survivor_with_its_diff(tmp_path):
    config = repo_config()
    (tmp_path / "toy.py").write_text(SOURCE)
    strength = ExerciseStrength("toy", (_outcome(False),), ())
    ok, text = format_report([strength], replace(config, solutions=tmp_path))
    assert not ok
    assert "SURVIVED toy:4:core/Op:0 in f" in text
    assert "-    if a < 0:" in text and "+    if a <= 0:" in text
    assert "kill rate 0.0% (below 90%)" in text


def test_an_equivalent_needs_a_reason(tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "equivalent_mutants.yml").write_text(
        "- {function: f, before: 'if a < 0:', after: 'if a <= 0:', reason: ''}\n")
    with pytest.raises(GraderError, match="no reason"):
        load_equivalents("toy", tmp_path)
    (folder / "equivalent_mutants.yml").write_text(
        "- {function: f, before: 'if a < 0:', after: 'if a <= 0:', reason: at 0 both return -b}\n")
    (equivalent,) = load_equivalents("toy", tmp_path)
    assert equivalent.reason == "at 0 both return -b"


@pytest.mark.parametrize("exercise", repo_config().ids)  # every exercise, an added one too
def test_every_listed_equivalent_still_matches_a_mutant(exercise):
    source = (REPO / "solutions" / f"{exercise}.py").read_text()
    mutants, _ = make_mutants(exercise, source)
    for equivalent in load_equivalents(exercise):
        assert any(equivalent.matches(m) for m in mutants), (
            f"{exercise}: stale equivalent {equivalent}: no mutant matches it")


def test_smoke_a_few_mutants_are_graded_and_killed():
    """The slow suite (`make mutants`) on three kfold mutants: graded in parallel, killed."""
    (strength,) = run_mutants(repo_config(), ["kfold"], jobs=2, limit=3)
    assert len(strength.outcomes) == 3
    assert all(o.killed and o.killed_by and not o.error for o in strength.outcomes)


def test_the_command_reports_and_writes_json(tmp_path):
    out = tmp_path / "mutants.json"
    run = subprocess.run([sys.executable, "-m", "grader", "--config", str(REPO / "autograder.yml"),
                          "selftest", "--mutants", "kfold", "--limit", "2", "--jobs", "2",
                          "--json", str(out)], capture_output=True, text=True, cwd=tmp_path,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kfold            2       2" in run.stdout
    data = json.loads(out.read_text())
    assert len(data["kfold"]["mutants"]) == 2 and data["kfold"]["kill_rate"] == 1.0
