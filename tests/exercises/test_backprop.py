"""Framework tests for the `backprop` exercise: the reference scores full marks, the stub zero, and
each deliberately wrong submission loses points in the check that targets its mistake."""

from __future__ import annotations

import re

import pytest

from tests.exercises.forgery import expect_forgery_earns_nothing
from tests.helpers import (ASSIGNMENTS, SOLUTIONS, SUBMISSIONS, full_marks,
                           lost_points)

EX = "backprop"
WRONG = SUBMISSIONS / EX


def name(check: str) -> str:
    return f"{EX}: {check}"


AFFINE_BACKWARD = {name("affine backward matches numerical gradients"),
                   name("affine backward matches torch autograd")}
MLP_TORCH_NO_REG = {name(f"mlp loss matches torch [L={layers}]") for layers in (1, 2, 3)}
MLP_TORCH_REG = {name(f"mlp loss with l2 penalty matches torch [L={layers}]")
                 for layers in (1, 2, 3)}
MLP_TORCH = MLP_TORCH_NO_REG | MLP_TORCH_REG
TRAINING = {name("train mlp classifies held out spirals"),
            name("train mlp with two hidden layers classifies held out spirals")}
REPRODUCIBLE = name("train mlp is reproducible from its seed")  # gated on the public training
# The minibatches are what the run reports: paid only with the public training check too.
MINIBATCHES = name("train mlp visits every sample once per epoch")
STABILITY = {name("softmax cross entropy is stable at large scores"),
             name("mlp loss is stable at large scores")}
RELU_BACKWARD = {name("relu backward matches numerical gradients"),
                 name("relu backward matches torch autograd")}
# Self-consistency checks (the student's backward against central differences of their own
# forward): a zero forward and a zero backward agree, so each is gated on its forward.
NUMERICAL = {name("affine backward matches numerical gradients"),
             name("relu backward matches numerical gradients"),
             name("sigmoid backward matches numerical gradients"),
             name("softmax cross entropy gradient matches numerical gradients"),
             name("mlp loss gradients match numerical gradients")}
GATE_TEXT = "so does a function that does not do the work yet"
# A single layer's numerical check also fails when the forward's values near the input are not
# the layer's (the numerical gradient of a wrong forward vouches for nothing).
PAID_WHEN_FORWARD_RIGHT = "this check is paid when your"
ZERO_EFFORT = ["zero_zeros", "zero_input", "zero_constant", "zero_raises"]
CORRECT_STYLES = ["ok_loops", "ok_functional"]


@pytest.fixture(scope="module")
def reports(graded):
    """Each folder graded once per session (tests/conftest.py)."""
    return lambda folder: graded(folder, EX)


def test_reference_scores_full_marks(reports):
    report = reports(SOLUTIONS)
    assert report.checks
    assert lost_points(report) == set(), [(c.name, c.output) for c in report.checks
                                          if c.score < c.max_score]
    assert full_marks(report)
    assert report.max_score == pytest.approx(30, abs=0.01)  # per-check scores are rounded


def test_stub_scores_zero_with_every_check_listed(reports):
    stub, ref = reports(ASSIGNMENTS), reports(SOLUTIONS)
    assert stub.score == 0
    assert [c.name for c in stub.checks] == [c.name for c in ref.checks]
    assert {c.name for c in stub.checks} >= AFFINE_BACKWARD | MLP_TORCH | TRAINING | STABILITY
    for function in ("affine", "relu", "sigmoid", "softmax cross entropy", "mlp loss",
                     "train mlp"):
        assert any(function in c.name for c in stub.checks), function


def test_loss_summed_loses_softmax_and_mlp_loss_checks(reports):
    report = reports(WRONG / "loss_summed")
    lost = lost_points(report)
    assert {name("softmax cross entropy loss matches torch"),
            name("softmax cross entropy gradient matches torch autograd"),
            name("mlp loss of small random weights is near log c")} <= lost
    assert MLP_TORCH <= lost
    # dscores is consistent with the summed loss, so the numerical check itself passes; it is
    # paid only with a right loss (its gate), and says so.
    numerical = report.check(name("softmax cross entropy gradient matches numerical gradients"))
    assert numerical.score == 0 and PAID_WHEN_FORWARD_RIGHT in numerical.output
    assert not any("affine" in c or "relu" in c or "sigmoid" in c for c in lost)


def test_dw_transposed_loses_affine_backward_checks(reports):
    report = reports(WRONG / "dw_transposed")
    lost = lost_points(report)
    assert AFFINE_BACKWARD <= lost
    assert name("affine forward matches torch") not in lost
    assert "dw: expected shape (5, 4) (the shape of w), got shape (4, 5)" in \
        report.check(name("affine backward matches torch autograd")).output


def test_bias_gradient_wrong_axis_loses_affine_backward_checks(reports):
    report = reports(WRONG / "db_wrong_axis")
    lost = lost_points(report)
    assert AFFINE_BACKWARD <= lost
    assert name("affine forward matches torch") not in lost
    assert "db: expected shape (4,) (the shape of b), got shape (3,)" in \
        report.check(name("affine backward matches numerical gradients")).output


def test_biases_regularised_loses_only_regularised_mlp_checks(reports):
    lost = lost_points(reports(WRONG / "biases_regularised"))
    # Loss and gradients agree with each other, so the numerical check (gated on the
    # unregularised family only) keeps its points: one slip, the L2 checks.
    assert lost == MLP_TORCH_REG | {name("mlp loss matches reference on a deeper network")}


def test_softmax_without_max_shift_loses_only_the_stability_checks(reports):
    report = reports(WRONG / "softmax_no_max_shift")
    assert lost_points(report) == STABILITY
    output = report.check(name("softmax cross entropy is stable at large scores")).output
    assert "expected a finite number" in output and "maximum" in output


def test_train_that_never_updates_loses_only_the_training_checks(reports):
    report = reports(WRONG / "train_never_updates")
    # Reproducibility holds for a trainer that does nothing, and its minibatches are right: both
    # are paid only with the training.
    assert lost_points(report) == TRAINING | {REPRODUCIBLE, MINIBATCHES}
    assert GATE_TEXT in report.check(MINIBATCHES).output
    output = report.check(name("train mlp classifies held out spirals")).output
    assert re.search(r"classifies 3\d\.\d% of 600 held-out spiral points", output), output
    assert GATE_TEXT in report.check(REPRODUCIBLE).output


def test_relu_gradient_passed_through_loses_relu_backward_checks(reports):
    report = reports(WRONG / "relu_grad_passes_negatives")
    lost = lost_points(report)
    assert RELU_BACKWARD <= lost
    assert name("sigmoid backward matches numerical gradients") not in lost
    assert name("relu forward matches torch") not in lost


def test_relu_gradient_at_zero_loses_only_the_torch_check_and_says_why(reports):
    """`dx[x < 0] = 0` passes dout through at x == 0 exactly; the contract says 0 (as torch).
    Central differences cannot see it (they give dout / 2 at the kink): the torch check feeds
    exact zeros."""
    report = reports(WRONG / "relu_grad_at_zero")
    check = name("relu backward matches torch autograd")
    assert lost_points(report) == {check}
    output = report.check(check).output
    assert "exactly 0" in output and "x > 0" in output, output


def test_failing_gradient_check_names_parameter_index_error_and_tolerance(reports):
    report = reports(WRONG / "relu_grad_passes_negatives")
    output = report.check(name("relu backward matches numerical gradients")).output
    # e.g. "relu_forward/relu_backward on x of shape (3, 5): dx: gradient wrong at 6 of 15
    # element(s); worst at index (0, 4): yours -0.61550813, numerical 0 (relative error 1 >
    # tolerance 1e-07)"
    pattern = (r"relu_backward on x of shape \(\d+, \d+\): dx: gradient wrong at \d+ of \d+ "
               r"element\(s\); worst at index \(\d+, \d+\): yours -?[\d.e+-]+, numerical 0 "
               r"\(relative error 1 > tolerance 1e-07\)")
    assert re.search(pattern, output), output


def test_huge_forward_fails_every_gradient_check(reports):
    """Forwards near +-1e308 make central differences inf/NaN; an arbitrary backward must not
    pass (a comparison `err > tol` is false for NaN)."""
    report = reports(WRONG / "huge_forward")
    lost = lost_points(report)
    assert NUMERICAL <= lost
    assert AFFINE_BACKWARD | RELU_BACKWARD <= lost
    assert report.score == 0
    outputs = " ".join(report.check(c).output for c in NUMERICAL)
    # each single layer's forward is refused near the input before any difference is taken;
    # the others name the non-finite (or absurd) numerical gradient
    assert "cannot vouch for the backward" in outputs, outputs
    assert "not finite" in outputs or "e+30" in outputs, outputs


@pytest.mark.parametrize("folder", ZERO_EFFORT)
def test_zero_effort_earns_at_most_a_tenth(reports, folder):
    report = reports(WRONG / folder)
    assert report.score <= 0.1 * report.max_score, [
        (c.name, c.score) for c in report.checks if c.score > 0]


def test_zero_backward_of_a_zero_forward_is_not_paid_by_the_numerical_checks(reports):
    report = reports(WRONG / "zero_zeros")
    for check in NUMERICAL:
        result = report.check(check)
        assert result.score == 0 and (GATE_TEXT in result.output
                                      or PAID_WHEN_FORWARD_RIGHT in result.output), (
            check, result.output)
    assert GATE_TEXT in report.check(name("mlp loss gradients match numerical gradients")).output
    for check in (name("relu backward matches numerical gradients"),
                  name("sigmoid backward matches numerical gradients")):  # identity forwards
        output = reports(WRONG / "zero_input").check(check).output
        assert GATE_TEXT in output or PAID_WHEN_FORWARD_RIGHT in output


# Forgeries: every function a stub, and the probes replaced at import by ones that describe a
# made-up, self-consistent network (smooth forwards with their exact gradients, so "backward"
# agrees with central differences of "forward"), claim no warnings, make up losses, and report
# perfect minibatches without training. Measured on the checks as they were: 0.59 / 30 (the
# minibatch check); now nothing.
FORGED = ["forge_probes"]


@pytest.mark.parametrize("forge", FORGED)
def test_forged_probe_answers_earn_no_more_than_the_stub(reports, forge, monkeypatch):
    expect_forgery_earns_nothing(reports(WRONG / forge), reports(ASSIGNMENTS), WRONG / forge, EX,
                                 monkeypatch)


def test_numerical_checks_refuse_outputs_that_are_not_the_forwards():
    """The values a numerical gradient is taken of are compared with the forward computed by
    the judge: outputs of another function (here, one whose gradient is an arbitrary "dx")
    fail, the forward's own pass."""
    import numpy as np

    from grader.errors import CheckFailure
    from grader.exercises.backprop import oracle, validate
    from grader.numgrad import perturbations

    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(3, 5)), rng.normal(size=(5, 4)), rng.normal(size=4)
    batch = perturbations(x, h=1e-5)
    right = np.stack([oracle.forward_value("affine_forward", [v, w, b]) for v in batch])
    validate.expect_forward_values(right, right + 1e-13, name="affine_forward", what="w")
    fake_dx = rng.normal(size=(5, 4))
    forged = np.stack([v @ fake_dx for v in batch])
    with pytest.raises(CheckFailure, match="cannot vouch for the backward"):
        validate.expect_forward_values(forged, right, name="affine_forward", what="w")
    for kind in ("relu", "sigmoid"):
        x = np.array([[-1000.0, -3.0, -1e-3, 0.5, 40.0]])
        assert np.allclose(oracle.forward_value(f"{kind}_forward", [x]),
                           oracle.torch_elementwise(kind, x, np.ones_like(x))[0],
                           rtol=1e-15, atol=0)
    scores, y = rng.normal(size=(5, 4)), rng.integers(0, 4, 5)
    assert oracle.forward_value("softmax_cross_entropy", [scores, y]) == pytest.approx(
        oracle.torch_softmax_cross_entropy(scores, y)[0], rel=1e-13)


def test_held_out_spirals_come_from_a_secret_seed():
    """The worker gets the check's seed (train_mlp's seed argument); the held-out spirals'
    seed is derived from the course's secret, so it is neither that seed nor seed + 1, and it
    is the same on every run."""
    from grader.exercises.backprop.training import held_out_seed

    assert held_out_seed(123, 7) == held_out_seed(123, 7)
    assert held_out_seed(123, 7) not in (7, 8) and held_out_seed(124, 7) != held_out_seed(123, 7)


@pytest.mark.parametrize("folder", CORRECT_STYLES)
def test_correct_variants_in_other_styles_score_full_marks(reports, folder):
    report = reports(WRONG / folder)
    assert lost_points(report) == set(), [(c.name, c.output) for c in report.checks
                                          if c.score < c.max_score]


@pytest.mark.parametrize("folder, check, text", [
    ("train_skips_first_sample", "train mlp visits every sample once per epoch",
     "minibatch sizes [16, 16, 16, 1], expected [16, 16, 16, 2]"),
    ("train_never_shuffles", "train mlp visits every sample once per epoch", "original order"),
    ("train_xavier_init", "train mlp starts from he initialisation", "2 / fan_in"),
])
def test_training_procedure_slips_lose_only_their_check(reports, folder, check, text):
    """Slips that still reach the accuracy bar: the minibatches passed to mlp_loss and the
    initial params (learning rate 0) show them."""
    report = reports(WRONG / folder)
    assert lost_points(report) == {name(check)}
    assert text in report.check(name(check)).output


def test_the_golden_data_is_what_torch_computes():
    """The public checks' expected values (golden.npz, written from the reference by `dlgrade
    release`) are torch's: outputs, autograd's gradients, losses, and the forward's outputs at
    every perturbed input of the numerical checks."""
    import numpy as np

    from grader import golden
    from grader.exercises.backprop import oracle
    from grader.numgrad import perturbations

    data = golden.load("backprop")

    def close(a, b, name):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14,
                                   err_msg=name)

    kinds = set()
    for name in data.names():
        case = data[name]
        v, e = case.inputs, case.expected
        kind = name.split("/")[0]
        kinds.add(kind)
        if kind == "affine":
            out, dx, dw, db = oracle.torch_affine(v["x"], v["w"], v["b"], v["dout"])
            for got, want in ((e["out"], out), (e["dx"], dx), (e["dw"], dw), (e["db"], db)):
                close(got, want, name)
            for wrt, arg in enumerate("xwb"):
                args = [v["x"], v["w"], v["b"]]
                want = []
                for moved in perturbations(args[wrt], h=1e-5):
                    args[wrt] = moved
                    want.append(oracle.torch_affine(*args, v["dout"])[0])
                close(e["perturbed"][arg], np.stack(want), name)
        elif kind in ("relu", "sigmoid"):
            out, dx = oracle.torch_elementwise(kind, v["x"], v["dout"])
            close(e["out"], out, name)
            close(e["dx"], dx, name)
            if "perturbed" in e:
                close(e["perturbed"]["x"], np.stack([oracle.torch_elementwise(
                    kind, z, v["dout"])[0] for z in perturbations(v["x"], h=1e-5)]), name)
        elif kind == "softmax":
            loss, dscores = oracle.torch_softmax_cross_entropy(v["scores"], v["y"])
            close(e["loss"], loss, name)
            close(e["dscores"], dscores, name)
            if "perturbed" in e:
                close(e["perturbed"]["scores"], [oracle.torch_softmax_cross_entropy(z, v["y"])[0]
                                                 for z in perturbations(v["scores"], h=1e-5)],
                      name)
        else:
            loss, grads = oracle.torch_mlp_loss(v["params"], v["X"], v["y"], v["reg"])
            close(e["loss"], loss, name)
            for key in grads:
                close(e["grads"][key], grads[key], f"{name} {key}")
    assert kinds == {"affine", "relu", "sigmoid", "softmax", "mlp"}
