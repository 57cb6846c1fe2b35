"""Public checks for dropout: oracles a student also has (statistics, the mask their own forward
used, numerical gradients). Inputs come from ``input_rng(seed)`` and the student's dropout gets
the check's ``seed`` (or ``torch.manual_seed(seed)``), so a grading run is reproducible.

Statistical checks fail a correct dropout with probability at most ``stats.DELTA`` per
comparison (6.25e-11), at most 1e-9 for all 12 comparisons of a grading run together
(union bound; README.md lists them).
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.exercises.dropout import stats
from grader.exercises.dropout.judge import (call_text, demo_losses, dtype_hint,
                                            expect_network_gradients, forward_out,
                                            identity_rtol, implied_gradient,
                                            input_rng, module_grad, module_out, network_case,
                                            network_text, no_warnings, positive_input)
from grader.expect import expect_array, expect_raises, fail
from grader.numgrad import expect_gradient, gradient_from_values, perturbations

pytestmark = pytest.mark.visibility("visible")

# Evidence of real work (README.md, "Gates"): a property that a function doing nothing also has
# (the identity, zeros, a constant, x / (1 - p) everywhere, only raising) pays only when the
# same part of the submission also zeroes some elements and scales the rest in training mode.
# The evidence is deliberately weaker than the statistics, so that one slip (p taken as the
# keep probability, no rescaling, one mask for every row) does not also cost the gated checks.
NUMPY_WORK = "test_training_mode_zeroes_some_elements"
MODULE_WORK = "test_module_train_mode_zeroes_some_elements"

# Backward is elementwise x * m, so its gradient is exact up to rounding: float64 relative error
# about 1e-16 against the implied mask (reference: 0 measured); numerical central differences of
# a linear function: reference 1.6e-11 worst over 200 seeds. Wrong backward (no 1/(1-p)) gives
# p / (2 - p) = 0.18 at p = 0.3.
MASK_GRAD_TOL = 1e-9
NUMERICAL_GRAD_TOL = 1e-7


def _statistical_forward(student, settings, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    x = positive_input(input_rng(seed), (settings.rows, settings.cols))
    what = call_text(x.shape, x.dtype, settings.p, seed=seed)
    out = forward_out(student.probe("forward", x, settings.p, seed=seed), x, what=what)
    return out, x, what


# -- numpy forward in training mode: the evidence and the statistics ---------------------------

@pytest.mark.points(1)
def test_training_mode_zeroes_some_elements(student, settings, seed):
    """Some outputs are 0 and the others are x times one common factor (any factor: its value is
    the survivors check's verdict). A correct dropout of 1,000 elements at p = 0.3 drops none or
    all of them with probability below 1e-150. The evidence the gated checks wait for."""
    x = positive_input(input_rng(seed), (20, 50))
    what = call_text(x.shape, x.dtype, settings.p, seed=seed)
    out = forward_out(student.probe("forward", x, settings.p, seed=seed), x, what=what)
    stats.check_zeroes_some_elements(out, x, settings.p, what=what)


@pytest.mark.points(2)
def test_fraction_dropped_is_p(student, settings, seed):
    """About a fraction p of the elements are zeroed. Hoeffding on 200,000 elements: +/-0.0078
    at p = 0.3; false-failure probability <= stats.DELTA = 6.25e-11."""
    out, x, what = _statistical_forward(student, settings, seed)
    stats.check_fraction_dropped(out, x, settings.p, what=what)


@pytest.mark.points(2)
@pytest.mark.gated_by(NUMPY_WORK)
def test_survivors_scaled_by_one_over_one_minus_p(student, settings, seed):
    """Every nonzero output is exactly x / (1 - p) (within 8 ulp of the coarser of x's and out's
    dtypes): no randomness, never a false failure. Gated: zeros (no survivors) and x / (1 - p)
    everywhere also pass it."""
    out, x, what = _statistical_forward(student, settings, seed)
    stats.check_survivors_scaled(out, x, settings.p, what=what,
                                 rtol=stats.survivor_rtol(x.dtype, out.dtype))


@pytest.mark.points(1)
@pytest.mark.gated_by(NUMPY_WORK)
def test_mean_is_preserved(student, settings, seed):
    """mean(out) is mean(x): Hoeffding for independent terms of width x / (1 - p), about +/-0.012
    on 200,000 elements at p = 0.3; false-failure probability <= stats.DELTA = 6.25e-11. Gated:
    the identity (and a constant 1) also keep the mean."""
    out, x, what = _statistical_forward(student, settings, seed)
    stats.check_mean_preserved(out, x, settings.p, what=what)


@pytest.mark.points(1)
def test_elements_dropped_independently(student, settings, seed):
    """Rows 2k and 2k+1 agree on a fraction p^2 + (1-p)^2 of the positions (0.58 at p = 0.3):
    Hoeffding on 100,000 pairs, +/-0.011; false-failure probability <= stats.DELTA = 6.25e-11."""
    out, x, what = _statistical_forward(student, settings, seed)
    stats.check_independent_rows(out, x, settings.p, what=what)


@pytest.mark.points(0.5)
@pytest.mark.gated_by(NUMPY_WORK)
def test_output_dtype_matches_input(student, settings, seed):
    """out has x's dtype (float32 stays float32, float64 stays float64): in training, at p = 0
    and p = 1, and with train=False. The only check that judges the dtype; the others compare
    values as float64."""
    rng = input_rng(seed)
    cases = [("float32", settings.p, True), ("float64", settings.p, True),
             ("float32", 0.0, True), ("float32", 1.0, True), ("float32", settings.p, False)]
    for dtype, p, train in cases:
        x = positive_input(rng, (4, 25), dtype)
        kw = {"seed": seed} if train else {"train": False}
        what = call_text(x.shape, x.dtype, p, **kw)
        out = forward_out(student.probe("forward", x, p, train=train, seed=seed), x, what=what,
                          finite=False)
        if out.dtype != x.dtype:
            fail(f"{what}: out has dtype {out.dtype}; it must keep the dtype of x ({x.dtype})."
                 + dtype_hint(x.dtype, out.dtype))


# -- numpy forward: the properties a trivial function also has (gated) ---------------------------

@pytest.mark.points(1)
@pytest.mark.gated_by(NUMPY_WORK)
def test_eval_mode_is_identity(student, settings, seed):
    """train=False: out is x exactly and backward passes dout through unchanged."""
    rng = input_rng(seed)
    x = positive_input(rng, (8, 50), "float64")
    dout = rng.normal(size=x.shape)
    what = call_text(x.shape, x.dtype, settings.p, train=False)
    result = student.probe("forward_backward", x, settings.p, dout, train=False, seed=seed)
    out = forward_out(result, x, what=what)
    expect_array(out, x, what=f"{what}: out (eval mode is the identity)",
                 rtol=identity_rtol(x, out), atol=0.0)
    dx = expect_array(result["dx"], what=f"dropout_backward(dout, cache) after {what}",
                      shape=x.shape, dtype="float")
    expect_array(dx, dout, what=f"dropout_backward(dout, cache) after {what}",
                 rtol=identity_rtol(dout, dx), atol=0.0)


@pytest.mark.points(1)
@pytest.mark.gated_by(NUMPY_WORK)
def test_p_zero_keeps_everything(student, seed):
    """p = 0: nothing is dropped and 1 / (1 - 0) = 1, so out is x (within 1 ulp)."""
    x = positive_input(input_rng(seed), (8, 50), "float64")
    what = call_text(x.shape, x.dtype, 0.0, seed=seed)
    out = forward_out(student.probe("forward", x, 0.0, seed=seed), x, what=what)
    expect_array(out, x, what=f"{what}: out", rtol=max(2.5e-16, identity_rtol(x, out)), atol=0.0)


@pytest.mark.points(1)
@pytest.mark.gated_by(NUMPY_WORK)
def test_p_one_drops_everything_without_nan(student, seed):
    """p = 1, float32 and float64 inputs: out is all zeros, with no NaN and no warning (no
    division by 1 - p = 0); the gradient is all zeros."""
    rng = input_rng(seed)
    for dtype in ("float64", "float32"):
        x = positive_input(rng, (8, 50), dtype)
        dout = rng.normal(size=x.shape).astype(dtype)
        what = call_text(x.shape, x.dtype, 1.0, seed=seed)
        result = student.probe("forward_backward", x, 1.0, dout, seed=seed)
        out = forward_out(result, x, what=what)
        expect_array(out, np.zeros(x.shape), what=f"{what}: out", rtol=0.0, atol=0.0)
        expect_array(result["dx"], np.zeros(x.shape), shape=x.shape, dtype="float",
                     what=f"dropout_backward(dout, cache) after {what}", rtol=0.0, atol=0.0)
        no_warnings(result, what=what)


@pytest.mark.points(0.5)
@pytest.mark.gated_by(NUMPY_WORK)
@pytest.mark.parametrize("p", [-0.1, 1.5], ids=["negative", "above one"])
def test_invalid_p_raises(student, p):
    """p outside [0, 1] raises ValueError."""
    x = np.ones((2, 3))
    with expect_raises("ValueError", what=f"dropout_forward(np.ones((2, 3)), {p})"):
        student.dropout_forward(x, p)


@pytest.mark.points(1)
@pytest.mark.gated_by(NUMPY_WORK)
def test_same_seed_same_mask(student, settings, seed):
    """Two calls with the same seed return the same output."""
    x = positive_input(input_rng(seed), (20, 50))
    what = call_text(x.shape, x.dtype, settings.p, seed=seed)
    first = forward_out(student.probe("forward", x, settings.p, seed=seed), x, what=what)
    second = forward_out(student.probe("forward", x, settings.p, seed=seed), x, what=what)
    expect_array(second, first, what=f"{what}, called twice (same seed: same mask)",
                 rtol=0.0, atol=0.0)


@pytest.mark.points(1)
def test_masks_differ_without_seed(student, settings, seed):
    """Two calls without a seed drop different elements (a correct dropout repeats a mask on
    1,000 elements with probability (p^2 + (1-p)^2)^1000 < 1e-230). Not gated: no function that
    ignores randomness passes it."""
    x = positive_input(input_rng(seed), (20, 50))
    what = call_text(x.shape, x.dtype, settings.p)
    first = forward_out(student.probe("forward", x, settings.p), x, what=what)
    second = forward_out(student.probe("forward", x, settings.p), x, what=what)
    if np.array_equal(first == 0, second == 0):
        fail(f"{what}, called twice: both calls dropped exactly the same elements; without a "
             f"seed every call must draw a new mask (np.random.default_rng(seed) draws fresh "
             f"entropy when seed is None)")


# -- numpy backward (gated: for the identity, dx = dout is the right gradient) ------------------

@pytest.mark.points(2)
@pytest.mark.gated_by(NUMPY_WORK)
def test_backward_matches_forward_mask(student, settings, seed):
    """dx = dout * m where out = x * m is what your forward computed (m = out / x): zero where
    dropped, dout / (1 - p) where kept."""
    rng = input_rng(seed)
    x = positive_input(rng, (20, 50), "float64")
    dout = rng.normal(size=x.shape)
    what = call_text(x.shape, x.dtype, settings.p, seed=seed)
    result = student.probe("forward_backward", x, settings.p, dout, seed=seed)
    out = forward_out(result, x, what=what)
    expect_gradient(result["dx"], implied_gradient(out, x, dout), name="dx",
                    tol=MASK_GRAD_TOL, what=f"dropout_backward(dout, cache) after {what}",
                    reference="dout * out / x")


@pytest.mark.points(1)
@pytest.mark.gated_by(NUMPY_WORK)
def test_backward_matches_numerical_gradient(student, settings, seed):
    """dx against central differences of sum(out * dout) with the same seed on every evaluation
    (h = 1e-5, float64, relative error <= 1e-7)."""
    rng = input_rng(seed)
    x = positive_input(rng, (4, 5), "float64")
    dout = rng.normal(size=x.shape)
    what = call_text(x.shape, x.dtype, settings.p, seed=seed)
    xs = perturbations(x)
    outs = student.probe("forward_many", xs, settings.p, seed=seed)
    if not isinstance(outs, list) or len(outs) != len(xs):
        fail(f"{what}: calling dropout_forward at {len(xs)} nearby inputs did not give one "
             f"output each")
    values, patterns = [], set()
    for xi, got in zip(xs, outs):
        out = forward_out({"out": got, "returned": type(got).__name__}, xi, what=what)
        patterns.add((out == 0).tobytes())
        values.append(float(np.sum(out.astype(np.float64) * dout)))
    if len(patterns) > 1:
        fail(f"{what}: calls with the same seed dropped different elements, so a numerical "
             f"gradient cannot be taken; the same seed must give the same mask")
    numerical = gradient_from_values(np.array(values), x.shape)
    result = student.probe("forward_backward", x, settings.p, dout, seed=seed)
    forward_out(result, x, what=what)
    expect_gradient(result["dx"], numerical, name="dx", tol=NUMERICAL_GRAD_TOL,
                    what=f"dropout_backward(dout, cache) after {what}")


# -- the module ------------------------------------------------------------------------------

def _module_what(p: float, shape: tuple[int, ...], dtype, train: bool, seed: int,
                 requires_grad: bool = False) -> str:
    mode = "train()" if train else "eval()"
    grad = " that requires grad" if requires_grad else ""
    return (f"Dropout({p}).{mode} after torch.manual_seed({seed}), on x of shape {shape} and "
            f"dtype {np.dtype(dtype)}{grad}")


@pytest.mark.points(1)
def test_module_train_mode_zeroes_some_elements(student, settings, seed):
    """In train mode some outputs are 0 and the others are x times one common factor (as for the
    numpy forward; none or all dropped by chance: below 1e-150). The evidence the gated module
    checks wait for."""
    x = positive_input(input_rng(seed), (20, 50))
    what = _module_what(settings.p, x.shape, x.dtype, True, seed)
    result = student.probe("module_run", x, settings.p, train=True, seed=seed,
                           requires_grad=False)
    out = module_out(result, x, settings.p, what=what)
    stats.check_zeroes_some_elements(out, x, settings.p, what=what,
                                     mask_hint="torch.rand(x.shape) >= self.p")


# 2.5 points: 2, and the 0.5 of "module does not call torch dropout", removed (README.md,
# "torch's own dropout"): what the module computes pays, not how its source is spelled.
@pytest.mark.points(2.5)
def test_module_train_mode_is_inverted_dropout(student, settings, seed):
    """In train mode the module drops a fraction p, scales survivors by exactly 1 / (1 - p),
    keeps the mean and drops elements independently: 3 statistical comparisons, each with
    false-failure probability <= stats.DELTA = 6.25e-11 (bounds as in the numpy checks)."""
    x = positive_input(input_rng(seed), (settings.rows, settings.cols))
    what = _module_what(settings.p, x.shape, x.dtype, True, seed)
    result = student.probe("module_run", x, settings.p, train=True, seed=seed,
                           requires_grad=False)
    out = module_out(result, x, settings.p, what=what)
    stats.check_inverted_dropout(out, x, settings.p, what=what,
                                 rtol=stats.survivor_rtol(x.dtype, out.dtype))


@pytest.mark.points(0.5)
@pytest.mark.gated_by(MODULE_WORK)
def test_module_output_dtype_matches_input(student, settings, seed):
    """The module's output has the input's dtype: float32 and float64 in train mode, float32 at
    p = 1 and in eval mode. The only module check that judges the dtype."""
    rng = input_rng(seed)
    cases = [("float32", settings.p, True), ("float64", settings.p, True),
             ("float32", 1.0, True), ("float32", settings.p, False)]
    for dtype, p, train in cases:
        x = positive_input(rng, (4, 25), dtype)
        what = _module_what(p, x.shape, x.dtype, train, seed)
        result = student.probe("module_run", x, p, train=train, seed=seed, requires_grad=False)
        out = module_out(result, x, p, what=what, finite=False)
        if out.dtype != x.dtype:
            fail(f"{what}: the output has dtype {out.dtype}; it must keep the input's dtype "
                 f"({x.dtype}), or the next layer of a {x.dtype} network fails."
                 + dtype_hint(x.dtype, out.dtype))


@pytest.mark.points(1)
@pytest.mark.gated_by(MODULE_WORK)
def test_module_eval_mode_is_identity(student, settings, seed):
    """In eval() mode the output is the input and the gradient is dout (self.training is
    False)."""
    rng = input_rng(seed)
    x = positive_input(rng, (8, 50))
    dout = rng.normal(size=x.shape).astype(np.float32)
    what = _module_what(settings.p, x.shape, x.dtype, False, seed, requires_grad=True)
    result = student.probe("module_run", x, settings.p, train=False, seed=seed, dout=dout)
    out = module_out(result, x, settings.p, what=what)
    if np.any(out == 0):
        fail(f"{what}: {int(np.sum(out == 0))} of {out.size} outputs are 0; in eval mode "
             f"(self.training is False) dropout must return its input unchanged")
    expect_array(out, x, what=f"{what} (eval mode is the identity)",
                 rtol=identity_rtol(x, out), atol=0.0)
    expect_array(module_grad(result, x, what=what), dout, rtol=0.0, atol=0.0,
                 what=f"{what}: gradient of sum(out * dout)")


@pytest.mark.points(2)
@pytest.mark.gated_by(MODULE_WORK)
def test_module_gradient_flows(student, settings, seed):
    """In train mode autograd's gradient is the one of the mask the forward used: on a leaf
    tensor, x.grad = dout * out / x (relative error <= 1e-9); inside
    nn.Sequential(Linear, ReLU, Dropout, Linear), the gradients of the first layer and of the
    input are those backpropagated through that mask (NETWORK_GRAD_TOL; an input changed in place
    breaks the ReLU's backward here). Gated: for the identity, x.grad = dout is the right
    gradient."""
    rng = input_rng(seed)
    x = positive_input(rng, (20, 50), "float64")
    dout = rng.normal(size=x.shape)
    what = _module_what(settings.p, x.shape, x.dtype, True, seed, requires_grad=True)
    result = student.probe("module_run", x, settings.p, train=True, seed=seed, dout=dout)
    out = module_out(result, x, settings.p, what=what)
    expect_gradient(module_grad(result, x, what=what), implied_gradient(out, x, dout),
                    name="x.grad", tol=MASK_GRAD_TOL, what=f"{what}, backward of sum(out * dout)",
                    reference="dout * out / x")
    case = network_case(rng)
    expect_network_gradients(student.probe("network_run", case, settings.p, seed=seed), case,
                             settings.p, what=network_text(settings.p, seed))


@pytest.mark.points(1)
@pytest.mark.gated_by(MODULE_WORK)
def test_module_p_one_drops_everything(student, seed):
    """Dropout(1.0) in train mode: on a leaf tensor that requires grad (as a network's input
    does) the forward pass works, the output is all zeros (no NaN) and x.grad is all zeros (0,
    not missing); inside nn.Sequential(Linear, ReLU, Dropout(1.0), Linear) backward works and the
    first layer's and the input's gradients are all zeros. Changing the input in place
    (x.zero_()) fails here. Gated: zeros everywhere also pass it."""
    rng = input_rng(seed)
    x = positive_input(rng, (8, 50))
    dout = rng.normal(size=x.shape).astype(np.float32)
    what = _module_what(1.0, x.shape, x.dtype, True, seed, requires_grad=True)
    result = student.probe("module_run", x, 1.0, train=True, seed=seed, dout=dout)
    out = module_out(result, x, 1.0, what=what)
    expect_array(out, np.zeros(x.shape), what=f"{what}: out (p = 1 drops every element)",
                 rtol=0.0, atol=0.0)
    grad = module_grad(result, x, what=f"{what}, backward of sum(out * dout)")
    expect_array(grad, np.zeros(x.shape), rtol=0.0, atol=0.0,
                 what=f"{what}: x.grad after backward of sum(out * dout)")
    case = network_case(rng)
    what = network_text(1.0, seed)
    d = expect_network_gradients(student.probe("network_run", case, 1.0, seed=seed), case, 1.0,
                                 what=what)
    expect_array(d, np.zeros(d.shape), rtol=0.0, atol=0.0,
                 what=f"{what}: the output of your Dropout(1.0)")


@pytest.mark.points(0.5)
@pytest.mark.gated_by(MODULE_WORK)
def test_module_reproducible_with_torch_seed(student, settings, seed):
    """The mask comes from torch's generator: the same torch.manual_seed gives the same output, a
    different one a different output."""
    x = positive_input(input_rng(seed), (20, 50))
    runs = {}
    for s in (seed, seed, seed + 1):
        what = _module_what(settings.p, x.shape, x.dtype, True, s)
        runs.setdefault(s, []).append(module_out(
            student.probe("module_run", x, settings.p, train=True, seed=s, requires_grad=False),
            x, settings.p, what=what))
    what = _module_what(settings.p, x.shape, x.dtype, True, seed)
    expect_array(runs[seed][1], runs[seed][0], rtol=0.0, atol=0.0,
                 what=f"{what}, run twice (draw the mask with torch.rand so that "
                      f"torch.manual_seed makes it reproducible)")
    if np.array_equal(runs[seed][0] == 0, runs[seed + 1][0] == 0):
        fail(f"{what} and after torch.manual_seed({seed + 1}) dropped exactly the same "
             f"elements: draw the mask with torch's generator (torch.rand), not a fixed seed")


def _demo_table(history: dict) -> str:
    lines = [f"{'':>6} | {'without dropout':^21} | {'with your Dropout':^21}",
             f"{'step':>6} | {'train loss':>10} {'val loss':>10} | {'train loss':>10} "
             f"{'val loss':>10}"]
    lines.append("-" * len(lines[1]))
    for i, step in enumerate(history["step"]):
        lines.append(f"{step:>6} | {history['plain_train'][i]:>10.4f} "
                     f"{history['plain_val'][i]:>10.4f} | {history['dropout_train'][i]:>10.4f} "
                     f"{history['dropout_val'][i]:>10.4f}")
    return "\n".join(lines)


@pytest.mark.points(1)
@pytest.mark.gated_by(MODULE_WORK, "test_module_train_mode_is_inverted_dropout")
def test_module_trains_in_a_network(student, settings, feedback):
    """A wide MLP with your Dropout after each hidden layer trains: its final training loss (eval
    mode) is at most demo_loss_ratio of the initial one (reference: 0.017; at most 0.045 over
    20 seeds, a margin of 5.5x). Both losses are computed here: the initial one from the
    network's initial weights (drawn here as the demonstration draws them), the final one from
    the trained weights the run returns, on the demonstration's data. The losses the run
    reports (with and without dropout) are shown as information, not points.
    Gated: the identity trains too, and only a real dropout makes this "with your Dropout"."""
    history = student.probe("overfitting_demo", p=settings.demo_p, seed=settings.demo_seed,
                            width=settings.demo_width, steps=settings.demo_steps,
                            every=settings.demo_every, n_train=settings.demo_train,
                            n_val=settings.demo_val, _timeout=60)
    start, end = demo_losses(history, settings)
    keys = ("step", "plain_train", "plain_val", "dropout_train", "dropout_val")
    if (isinstance(history, dict)
            and all(isinstance(history.get(k), list) for k in keys)
            and len({len(history[k]) for k in keys}) == 1 and history["step"]
            and not any(isinstance(v, bool) or not isinstance(v, (int, float))
                        for k in keys for v in history[k])):
        feedback.info(
            f"Overfitting demonstration: a 10 -> {settings.demo_width} -> {settings.demo_width} "
            f"-> 1 MLP trained on {settings.demo_train} samples (validation: {settings.demo_val}),"
            f" full batch Adam, with and without your Dropout(p={settings.demo_p}) after each "
            f"hidden layer; losses (MSE) measured in eval mode. Dropout usually keeps the "
            f"training loss above 0 and the validation loss lower.\n" + _demo_table(history))
    if not np.isfinite(end):
        fail(f"training with your Dropout gave a network whose training loss is not finite "
             f"({end})")
    if not end <= settings.demo_loss_ratio * start:
        fail(f"with your Dropout(p={settings.demo_p}) in the network the training loss went from "
             f"{start:.4g} to {end:.4g} (computed from the trained weights); it should drop "
             f"below {settings.demo_loss_ratio} x the initial loss "
             f"({settings.demo_loss_ratio * start:.4g}) as it does with a correct dropout")
    feedback.info(f"training loss with your Dropout, computed from the network's weights: "
                  f"{start:.4g} at the start, {end:.4g} after training (must be at most "
                  f"{settings.demo_loss_ratio} x the start)")
