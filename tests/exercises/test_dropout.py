"""Framework tests for the dropout exercise: the reference scores full marks, the stub zero, each
wrong implementation loses points in the check meant to catch it; the statistical verdicts are
also tested directly (pure functions, no sandbox)."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from grader.errors import CheckFailure
from grader.exercises.dropout import judge, probes, stats
from tests.exercises.forgery import expect_forgery_earns_nothing
from tests.helpers import ASSIGNMENTS, SOLUTIONS, SUBMISSIONS, full_marks, lost_points

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
    # A float64 mask makes a float32 input's output float64, values right: only the dtype checks.
    "float64_output": {"output dtype matches input", "module output dtype matches input"},
    # x.zero_() at p = 1: raises on a leaf that requires grad, breaks a ReLU's backward.
    "module_zero_in_place_at_p_one": {"module p one drops everything"},
    # x.mul_(mask).div_(1 - p): the same at every p, judged where gradients are.
    "module_in_place": {"module gradient flows"},
}
# torch's own dropout in the module, spelled five ways: called, through an alias, hidden from a
# TorchFunctionMode, through scaled_dot_product_attention(dropout_p=p), by a built name
# (pydoc.locate). No check can tell any of them from a mask drawn by hand (README.md, "torch's
# own dropout"): "module does not call torch dropout" is gone, and each scores full marks.
TORCH_DROPOUT = ["module_calls_torch_dropout", "module_torch_dropout_alias",
                 "module_torch_dropout_unrecorded", "module_torch_dropout_through_attention",
                 "module_torch_dropout_by_built_name"]
SUBSET = {
    # A mask shared by all rows also moves the fraction and the mean by chance (one draw of
    # `cols` values instead of rows * cols): whether those checks fail depends on the seed.
    "same_mask_for_every_row": {"elements dropped independently", "statistics at another p"},
}
# Hand-written folders: functions that do no work, in every function of the contract. Each
# earns at most 10 % of the exercise (today: 0; the properties they have are gated).
ZERO_EFFORT = ["zero_identity", "zero_zeros", "zero_scale_only", "zero_raises", "zero_constant"]
# Correct in other styles: Python loops (numpy Generator per element, module per row), torch
# generators (a seeded torch.Generator for the numpy forward, torch.bernoulli in the module),
# np.where / torch.where with in-place work on the module's own copy.
CORRECT = ["ok_loops", "ok_torch_generator", "ok_vectorised_where"]
NUMPY_EVIDENCE = "training mode zeroes some elements"
MODULE_EVIDENCE = "module train mode zeroes some elements"


@pytest.fixture(scope="module")
def reference_report(graded):
    return graded(SOLUTIONS, EX)


def test_reference_full_marks(reference_report):
    assert full_marks(reference_report), [
        (c.name, c.output) for c in reference_report.checks if c.score < c.max_score]
    assert reference_report.max_score == pytest.approx(15)
    assert len(reference_report.checks) == 26


def test_stub_scores_zero_with_every_check_listed(reference_report, graded):
    report = graded(ASSIGNMENTS, EX)
    assert report.score == 0
    assert {c.name for c in report.checks} == {c.name for c in reference_report.checks}


@pytest.mark.parametrize("slip", sorted(WRONG))
def test_slip_loses_exactly_its_checks(slip, graded):
    report = graded(SUBMISSIONS / EX / slip, EX)
    assert lost_points(report) == {name(c) for c in WRONG[slip]}


@pytest.mark.parametrize("slip", sorted(SUBSET))
def test_slip_loses_at_least_its_checks(slip, graded):
    report = graded(SUBMISSIONS / EX / slip, EX)
    assert {name(c) for c in SUBSET[slip]} <= lost_points(report)


@pytest.mark.parametrize("variant", CORRECT)
def test_correct_variant_full_marks(variant, graded):
    report = graded(SUBMISSIONS / EX / variant, EX)
    assert full_marks(report), [(c.name, c.output) for c in report.checks if not c.passed]


@pytest.mark.parametrize("variant", ZERO_EFFORT)
def test_zero_effort_earns_at_most_a_tenth(variant, graded):
    report = graded(SUBMISSIONS / EX / variant, EX)
    assert report.max_score == pytest.approx(15)
    assert report.score <= 0.1 * report.max_score, [
        (c.name, c.score) for c in report.checks if c.score > 0]


# Forgeries: every function a stub, and the probes replaced at import by ones that return the
# judge's input as output, no warnings, "a torch.nn.Module", "the gradient reached x", "no torch
# dropout was called", made-up network gradients and a falling loss history. Measured on the
# checks as they were: 0; asserted to stay so.
FORGED = ["forge_claims"]


@pytest.mark.parametrize("forge", FORGED)
def test_forged_probe_answers_earn_no_more_than_the_stub(forge, graded, monkeypatch):
    expect_forgery_earns_nothing(graded(SUBMISSIONS / EX / forge, EX), graded(ASSIGNMENTS, EX),
                                 SUBMISSIONS / EX / forge, EX, monkeypatch)


@pytest.mark.parametrize("spelling", TORCH_DROPOUT)
def test_torch_dropout_however_spelled_is_not_a_check(spelling, graded):
    report = graded(SUBMISSIONS / EX / spelling, EX)
    assert full_marks(report), [(c.name, c.output) for c in report.checks if not c.passed]
    assert not any("torch dropout" in c.name for c in report.checks)


def test_the_training_demonstration_is_judged_from_the_weights(reference_module):
    """The judge recomputes the demonstration's losses: the reference's trained weights bring
    the training loss far down; the initial weights sent back as "trained" (a made-up falling
    history beside them) do not; the judge draws the initial weights as the run does."""
    from grader.exercises.dropout import Settings

    settings = Settings(demo_steps=40, demo_every=20)
    history = probes.overfitting_demo(reference_module, p=settings.demo_p,
                                      seed=settings.demo_seed, width=settings.demo_width,
                                      steps=settings.demo_steps, every=settings.demo_every,
                                      n_train=settings.demo_train, n_val=settings.demo_val)
    start, end = judge.demo_losses(history, settings)
    assert start == pytest.approx(history["dropout_train"][0], rel=1e-5)
    assert end == pytest.approx(history["dropout_train"][-1], rel=1e-4)
    assert end < 0.5 * start
    forged = dict(history, weights=judge.demo_initial_weights(settings),
                  dropout_train=[1.0, 0.1, 0.01])
    assert judge.demo_losses(forged, settings) == pytest.approx((start, start))
    with pytest.raises(CheckFailure, match="weights"):
        judge.demo_losses(dict(history, weights=None), settings)


def test_a_trivial_property_is_paid_only_with_the_evidence(graded):
    """The identity has "eval mode is identity" and the module's "gradient flows" (dx = dout is
    its right gradient): both are failed at 0, naming the evidence that is missing."""
    report = graded(SUBMISSIONS / EX / "zero_identity", EX)
    for check, evidence in (("eval mode is identity", NUMPY_EVIDENCE),
                            ("module gradient flows", MODULE_EVIDENCE),
                            ("backward at another p", NUMPY_EVIDENCE)):
        result = report.check(name(check))
        assert result.score == 0
        assert "paid together with" in result.output and name(evidence) in result.output
    # zeros pass "p one drops everything" (numpy and module); they are gated the same way
    zeros = graded(SUBMISSIONS / EX / "zero_zeros", EX)
    for check in ("p one drops everything without nan", "module p one drops everything"):
        assert "paid together with" in zeros.check(name(check)).output


def test_in_place_on_the_input_gets_the_clear_message(graded):
    report = graded(SUBMISSIONS / EX / "module_zero_in_place_at_p_one", EX)
    output = report.check(name("module p one drops everything")).output
    assert "requires grad" in output and "in-place operation" in output
    assert "must not change its input in place" in output and "x * 0.0" in output
    assert "return x.zero_()" in output  # the student's own line, from their file


def test_a_float64_output_gets_the_dtype_message(graded):
    report = graded(SUBMISSIONS / EX / "float64_output", EX)
    output = report.check(name("output dtype matches input")).output
    assert "dtype float64" in output and "float32" in output and "astype(x.dtype)" in output


def test_feedback_never_names_grader_internals(graded):
    for folder in ["zero_identity", "zero_raises", "module_zero_in_place_at_p_one",
                   "float64_output"]:
        for check in graded(SUBMISSIONS / EX / folder, EX).checks:
            text = check.output.lower()
            for word in ("probe", "worker", "sandbox", "judge", "input_rng"):
                assert word not in text, (folder, check.name, word)


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


def test_evidence_fails_every_trivial_output_and_passes_single_slips():
    out, x = _reference_like(0.3, shape=(20, 50))
    for trivial in (x, np.zeros_like(x), x / np.float32(0.7), np.ones_like(x)):
        with pytest.raises(CheckFailure):
            stats.check_zeroes_some_elements(trivial, x, 0.3, what="out")
    stats.check_zeroes_some_elements(out, x, 0.3, what="out")
    for slip in (_reference_like(0.3, shape=(20, 50), keep_prob=True)[0],
                 _reference_like(0.3, shape=(20, 50), rescale=False)[0],
                 out.astype(np.float16), out.astype(np.float64)):
        stats.check_zeroes_some_elements(slip, x, 0.3, what="out")
    noisy = out * np.random.default_rng(0).uniform(0.5, 1.5, size=out.shape).astype(np.float32)
    with pytest.raises(CheckFailure, match="one common positive factor"):
        stats.check_zeroes_some_elements(noisy, x, 0.3, what="out")


def test_survivors_are_judged_at_the_coarser_precision():
    out, x = _reference_like(0.3)
    assert stats.survivor_rtol(np.float32, np.float64) == stats.survivor_rtol(np.float32)
    stats.check_survivors_scaled(out.astype(np.float64), x, 0.3, what="out",
                                 rtol=stats.survivor_rtol(x.dtype, np.float64))
    half = out.astype(np.float16)
    stats.check_survivors_scaled(half, x, 0.3, what="out",
                                 rtol=stats.survivor_rtol(x.dtype, half.dtype))


# -- the network around the module, in-process with the reference ------------------------------

@pytest.fixture(scope="module")
def reference_module():
    spec = importlib.util.spec_from_file_location("dropout_reference_for_tests",
                                                  SOLUTIONS / f"{EX}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("p", [0.3, 0.8, 1.0])
def test_the_network_oracle_agrees_with_autograd(reference_module, p):
    case = judge.network_case(judge.input_rng(5))
    result = probes.network_run(reference_module, case, p, seed=5)
    d = judge.expect_network_gradients(result, case, p, what="net")
    assert (d == 0).all() if p == 1.0 else 0 < (d == 0).mean() < 1


def test_the_network_oracle_catches_a_wrong_gradient(reference_module):
    case = judge.network_case(judge.input_rng(6))
    result = probes.network_run(reference_module, case, 0.3, seed=6)
    wrong = dict(result, grads=dict(result["grads"], w1=result["grads"]["w1"] * 0.7))
    with pytest.raises(CheckFailure, match="first nn.Linear's weight is wrong"):
        judge.expect_network_gradients(wrong, case, 0.3, what="net")
    missing = dict(result, grads=dict(result["grads"], x=None))
    with pytest.raises(CheckFailure, match="no gradient reached the network's input"):
        judge.expect_network_gradients(missing, case, 0.3, what="net")


def test_an_in_place_error_is_explained():
    result = {"is_module": True, "error": {"stage": "backward", "text": (
        "RuntimeError: one of the variables needed for gradient computation has been modified "
        "by an inplace operation\n  dropout.py, line 3, in forward: return x.zero_()")}}
    with pytest.raises(CheckFailure, match="must not change its input in place") as err:
        judge.expect_network_gradients(result, {}, 1.0, what="net")
    assert str(err.value).endswith("return x.zero_()")
    with pytest.raises(CheckFailure, match="the forward pass raised ValueError: bad"):
        judge.module_out({"is_module": True, "error": {"stage": "forward",
                                                       "text": "ValueError: bad"}},
                         np.ones(3), 0.3, what="Dropout(0.3)")
