"""Framework tests for the dropout exercise: the reference scores full marks, the stub zero, each
wrong implementation loses points in the check meant to catch it; the statistical verdicts are
also tested directly (pure functions, no sandbox)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader.errors import CheckFailure
from grader.exercises.dropout import stats
from tests.helpers import ASSIGNMENTS, SOLUTIONS, SUBMISSIONS, full_marks, grade_dir, lost_points

EX = "dropout"


def name(check: str) -> str:
    return f"{EX}: {check}"


# Each slip and the checks it must lose: exactly these, except where a slip's other losses
# depend on the seed (marked SUBSET).
WRONG = {
    "no_rescaling": {"survivors scaled by one over one minus p", "mean is preserved",
                     "statistics at another p"},
    "p_is_keep_probability": {"fraction dropped is p", "survivors scaled by one over one minus p",
                              "p zero keeps everything", "statistics at another p"},
    "drops_in_eval_mode": {"eval mode is identity"},
    "nan_at_p_one": {"p one drops everything without nan"},
    "backward_without_factor": {"backward matches forward mask",
                                "backward matches numerical gradient", "backward at another p"},
    "module_ignores_training": {"module eval mode is identity"},
    "module_numpy_rng": {"module reproducible with torch seed"},
}
SUBSET = {
    # A mask shared by all rows also moves the fraction and the mean by chance (one draw of
    # `cols` values instead of rows * cols): whether those checks fail depends on the seed.
    "same_mask_for_every_row": {"elements dropped independently", "statistics at another p"},
}


@pytest.fixture(scope="module")
def reference_report():
    return grade_dir(SOLUTIONS, EX)


def test_reference_full_marks(reference_report):
    assert full_marks(reference_report), [
        (c.name, c.output) for c in reference_report.checks if c.score < c.max_score]
    assert reference_report.max_score == pytest.approx(15)
    assert len(reference_report.checks) == 22


def test_stub_scores_zero_with_every_check_listed(reference_report):
    report = grade_dir(ASSIGNMENTS, EX)
    assert report.score == 0
    assert {c.name for c in report.checks} == {c.name for c in reference_report.checks}


@pytest.mark.parametrize("slip", sorted(WRONG))
def test_slip_loses_exactly_its_checks(slip):
    report = grade_dir(SUBMISSIONS / EX / slip, EX)
    assert lost_points(report) == {name(c) for c in WRONG[slip]}


@pytest.mark.parametrize("slip", sorted(SUBSET))
def test_slip_loses_at_least_its_checks(slip):
    report = grade_dir(SUBMISSIONS / EX / slip, EX)
    assert {name(c) for c in SUBSET[slip]} <= lost_points(report)


def test_calling_torch_dropout_gets_the_clear_message():
    report = grade_dir(SUBMISSIONS / EX / "module_calls_torch_dropout", EX)
    check = name("module does not call torch dropout")
    assert lost_points(report) == {check}
    output = report.check(check).output
    assert "torch.nn.functional.dropout" in output
    assert "by hand" in output and "torch.rand" in output


# -- the verdicts, directly -------------------------------------------------------------------

def _reference_like(p: float, shape=(200, 1000), seed=0, keep_prob=False, rescale=True):
    rng = np.random.default_rng([seed, 7])
    x = rng.uniform(0.5, 1.5, size=shape).astype(np.float32)
    keep = rng.random(shape) < (p if keep_prob else 1.0 - p)
    scale = (1.0 / (p if keep_prob else 1.0 - p)) if rescale else 1.0
    return x * keep.astype(np.float32) * np.float32(scale), x


def test_bounds_follow_hoeffding():
    n, delta = 200_000, stats.DELTA
    assert stats.hoeffding_mean_bound(n, delta) == pytest.approx(
        math.sqrt(math.log(2 / delta) / (2 * n)))
    assert stats.hoeffding_mean_bound(n, delta) < 0.008
    # all 12 comparisons of a grading run together stay within the stated budget
    assert 12 <= stats.COMPARISONS and stats.COMPARISONS * stats.DELTA <= 1e-9 * (1 + 1e-12)


def test_verdicts_pass_a_correct_dropout():
    for seed in range(5):
        for p in (0.3, 0.8):
            out, x = _reference_like(p, seed=seed)
            stats.check_inverted_dropout(out, x, p, what="out", rtol=stats.survivor_rtol(x.dtype))


def test_keep_probability_fails_the_fraction_with_a_hint():
    out, x = _reference_like(0.3, keep_prob=True)
    with pytest.raises(CheckFailure, match="probability of DROPPING"):
        stats.check_fraction_dropped(out, x, 0.3, what="out")


def test_missing_rescale_fails_mean_and_survivors_with_hints():
    out, x = _reference_like(0.3, rescale=False)
    with pytest.raises(CheckFailure, match="shrank by about 1 - p"):
        stats.check_mean_preserved(out, x, 0.3, what="out")
    with pytest.raises(CheckFailure, match="kept elements equal x"):
        stats.check_survivors_scaled(out, x, 0.3, what="out", rtol=stats.survivor_rtol(x.dtype))


def test_shared_row_mask_fails_independence():
    out, x = _reference_like(0.3, shape=(1, 1000))
    out = np.broadcast_to(out, (200, 1000)) * 1.0
    with pytest.raises(CheckFailure, match="Every row has the same mask"):
        stats.check_independent_rows(out, np.ones_like(out), 0.3, what="out")
