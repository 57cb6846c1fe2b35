"""Framework tests for the `backprop` exercise: the reference scores full marks, the stub zero, and
each deliberately wrong submission loses points in the check that targets its mistake."""

from __future__ import annotations

import re

import pytest

from tests.helpers import (ASSIGNMENTS, SOLUTIONS, SUBMISSIONS, full_marks,
                           lost_points)

EX = "backprop"
WRONG = SUBMISSIONS / EX


def name(check: str) -> str:
    return f"{EX}: {check}"


AFFINE_BACKWARD = {name("affine backward matches numerical gradients"),
                   name("affine backward matches torch autograd")}
MLP_TORCH = {name(f"mlp loss matches torch [L={layers}-reg={reg}]")
             for layers in (1, 2, 3) for reg in ("0", "0.1")}
MLP_TORCH_REG = {name(f"mlp loss matches torch [L={layers}-reg=0.1]") for layers in (1, 2, 3)}
MLP_TORCH_NO_REG = MLP_TORCH - MLP_TORCH_REG
TRAINING = {name("train mlp classifies held out spirals"),
            name("train mlp with two hidden layers classifies held out spirals")}
STABILITY = {name("softmax cross entropy is stable at large scores"),
             name("mlp loss is stable at large scores")}


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
    lost = lost_points(reports(WRONG / "loss_summed"))
    assert {name("softmax cross entropy loss matches torch"),
            name("softmax cross entropy gradient matches torch autograd"),
            name("mlp loss of small random weights is near log c")} <= lost
    assert MLP_TORCH <= lost
    # dscores is consistent with the summed loss, so only the oracles see it
    assert name("softmax cross entropy gradient matches numerical gradients") not in lost
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
    assert MLP_TORCH_REG <= lost
    assert name("mlp loss matches reference on a deeper network") in lost
    assert not lost & MLP_TORCH_NO_REG
    assert not any("affine" in c or "softmax" in c for c in lost)


def test_softmax_without_max_shift_loses_only_the_stability_checks(reports):
    report = reports(WRONG / "softmax_no_max_shift")
    assert lost_points(report) == STABILITY
    output = report.check(name("softmax cross entropy is stable at large scores")).output
    assert "expected a finite number" in output and "maximum" in output


def test_train_that_never_updates_loses_only_the_training_checks(reports):
    report = reports(WRONG / "train_never_updates")
    assert lost_points(report) == TRAINING
    output = report.check(name("train mlp classifies held out spirals")).output
    assert re.search(r"classifies 3\d\.\d% of 600 held-out spiral points", output), output


def test_relu_gradient_passed_through_loses_relu_backward_checks(reports):
    report = reports(WRONG / "relu_grad_passes_negatives")
    lost = lost_points(report)
    assert {name("backward matches numerical gradients [relu]"),
            name("backward matches torch autograd [relu]")} <= lost
    assert name("backward matches numerical gradients [sigmoid]") not in lost
    assert name("forward matches torch [relu]") not in lost


def test_failing_gradient_check_names_parameter_index_error_and_tolerance(reports):
    report = reports(WRONG / "relu_grad_passes_negatives")
    output = report.check(name("backward matches numerical gradients [relu]")).output
    # e.g. "relu_forward/relu_backward on x of shape (3, 5): dx: gradient wrong at 6 of 15
    # element(s); worst at index (0, 4): yours -0.61550813, numerical 0 (relative error 1 >
    # tolerance 1e-07)"
    pattern = (r"relu_backward on x of shape \(\d+, \d+\): dx: gradient wrong at \d+ of \d+ "
               r"element\(s\); worst at index \(\d+, \d+\): yours -?[\d.e+-]+, numerical 0 "
               r"\(relative error 1 > tolerance 1e-07\)")
    assert re.search(pattern, output), output
