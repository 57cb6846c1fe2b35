"""Public checks for `backprop`: oracles a student has (numerical gradients, torch autograd, the
spirals generator). Every layer is checked three ways: forward against torch, backward against
numerical gradients of the student's OWN forward (so a wrong backward cannot hide behind a wrong
forward), and backward against torch autograd on the same inputs.

The numerical checks are gated on the forward they differentiate (``gated_by``): a zero forward
has a zero numerical gradient, which a zero backward matches, so self-consistency is evidence only
alongside a right forward. Every tolerance test is NaN-safe (``not (err <= tol)`` in
grader.numgrad / grader.expect; a non-finite numerical gradient fails with its own message).

Tolerances (relative error per element, ``|a - b| / max(1e-8, |a| + |b|)``, see grader.numgrad),
measured with ``dlgrade calibrate backprop --seeds 50`` (the reference's worst over 50 seeds):
- ``TOL_LAYER = 1e-7`` for single layers in float64 with h = 1e-5 (the usual verdict): worst
  1.5e-9 (affine), 4.4e-10 (sigmoid), 1.5e-9 (softmax), 3.3e-12 (ReLU): margin 65x or more; against
  torch the worst is 1.6e-12. A real bug gives errors > 1e-2.
- ``TOL_NETWORK = 1e-5`` for the numerical gradient of a whole network (rounding through the
  layers and the regulariser, ReLU kinks): worst 7.0e-8, margin 140x. Inputs are redrawn until
  every hidden ReLU input is 1e-3 (100 h) away from the kink, so no difference straddles one.
- Inputs are redrawn until every non-zero true gradient element is at least 1e-2 (1e-4 for the
  network; ``oracle.GRAD_FLOOR``): a central difference has an absolute rounding error of ~1e-11,
  which a tiny gradient element could not absorb under a relative tolerance however right it is.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader.exercises.backprop import oracle
from grader.exercises.backprop.training import expect_spiral_accuracy, held_out_seed
from grader.expect import expect_array, expect_close, expect_type, fail
from grader.numgrad import (expect_gradient, gradient_from_outputs, gradient_from_values,
                            perturbations, random_upstream)

pytestmark = pytest.mark.visibility("visible")

H = 1e-5  # finite-difference step (design.md: about 1e-5 in float64)
TOL_LAYER = 1e-7  # single layers; reference's worst 1.5e-9 over 50 seeds (module doc)
TOL_NETWORK = 1e-5  # whole networks (kinks avoided); reference's worst 7.0e-8
# Non-square everywhere (N, D, M all different, so a transposed gradient has the wrong shape) and a
# batch of one (a sum over the wrong axis is then the wrong shape too).
AFFINE_SHAPES = [(3, 5, 4), (1, 4, 3)]
ELEMENTWISE_SHAPES = [(3, 5), (1, 4)]
# The initialisation check's widths: layers of 16384, 32768 and 5120 weights, large enough for a
# tight statistical bound (oracle.HE_TOLERANCE).
HE_SIZES = [64, 256, 128, 40]
RELU_ZEROS_SHAPE = (4, 6)  # a third ReLU input for the torch check, a third of it exact zeros


def _numerical_check(student, name: str, args: list, wrt: int, dout: np.ndarray | None,
                     got_grad, *, grad_name: str, what: str, tol: float = TOL_LAYER) -> None:
    """Compare ``got_grad`` with central differences of the student's own forward ``name``.

    The worker evaluates the forward at every perturbation of ``args[wrt]`` and returns the
    outputs; the judge validates them, checks that they are what the layer gives there (a
    forward that passes its forward check is the layer's, and outputs made up to agree with
    some gradient are not), and does the differences. ``dout`` None: the output is a scalar
    loss.
    """
    x = np.asarray(args[wrt], dtype=np.float64)
    batch = perturbations(x, h=H)
    outputs = student.probe("forward_outputs", name, args, wrt, batch)
    shape = None if dout is None else dout.shape
    stacked = oracle.expect_outputs(outputs, count=len(batch), shape=shape,
                                    what=f"{name} at perturbed inputs")
    expected = np.array([oracle.forward_value(name, [*args[:wrt], value, *args[wrt + 1:]])
                         for value in batch])
    oracle.expect_forward_values(stacked, expected, name=name, what=what)
    if dout is None:
        numerical = gradient_from_values(stacked, x.shape, h=H)
    else:
        numerical = gradient_from_outputs(stacked, dout, x.shape, h=H)
    expect_gradient(got_grad, numerical, name=grad_name, tol=tol, what=what,
                    reference="numerical", dtype="float64")


def _affine_student(student, x, w, b, dout, what):
    out, grads = oracle.expect_pair(student.probe("affine_roundtrip", x, w, b, dout),
                                    what=what, names="(out, grads)")
    grads = oracle.expect_triple(grads, what=f"{what}: affine_backward", names="(dx, dw, db)")
    return out, grads


# ---------------------------------------------------------------- affine

@pytest.mark.points(2)
def test_affine_forward_matches_torch(student, rng):
    for n, d, m in AFFINE_SHAPES:
        x, w, b, _ = oracle.affine_case(rng, n, d, m)
        what = f"affine_forward(x {x.shape}, w {w.shape}, b {b.shape})"
        out, _ = oracle.expect_pair(student.affine_forward(x, w, b), what=what,
                                    names="(out, cache)")
        expected = oracle.torch_affine(x, w, b, np.zeros((n, m)))[0]
        expect_array(out, expected, dtype="float64", what=f"{what}: out", rtol=1e-10, atol=1e-12)


@pytest.mark.points(3)
@pytest.mark.gated_by("test_affine_forward_matches_torch")
def test_affine_backward_matches_numerical_gradients(student, rng):
    for n, d, m in AFFINE_SHAPES:
        x, w, b, dout = oracle.affine_case(rng, n, d, m)
        what = f"affine_backward for x {x.shape}, w {w.shape}, b {b.shape}"
        _, grads = _affine_student(student, x, w, b, dout, what)
        for wrt, name in enumerate(("dx", "dw", "db")):
            _numerical_check(student, "affine_forward", [x, w, b], wrt, dout, grads[wrt],
                             grad_name=name, what=what)


@pytest.mark.points(3)
def test_affine_backward_matches_torch_autograd(student, rng):
    for n, d, m in AFFINE_SHAPES:
        x, w, b, dout = oracle.affine_case(rng, n, d, m)
        what = f"affine_backward for x {x.shape}, w {w.shape}, b {b.shape}"
        _, grads = _affine_student(student, x, w, b, dout, what)
        expected = oracle.torch_affine(x, w, b, dout)[1:]
        for got, exp, name in zip(grads, expected, ("dx", "dw", "db")):
            expect_gradient(got, exp, name=name, tol=TOL_LAYER, what=what,
                            reference="torch autograd", dtype="float64")


# ---------------------------------------------------------------- ReLU and sigmoid

def _elementwise_student(student, kind: str, x, dout):
    what = f"{kind}_forward/{kind}_backward on x of shape {x.shape}"
    result = student.probe(f"{kind}_roundtrip", x, dout)
    if kind == "sigmoid":
        expect_type(result, tuple, what=what)
        result = result[:2]
    out, dx = oracle.expect_pair(result, what=what, names="(out, dx)")
    return out, dx, what


def _forward_check(student, rng, kind: str) -> None:
    for shape in ELEMENTWISE_SHAPES:
        x, _ = oracle.elementwise_case(rng, kind, shape)
        what = f"{kind}_forward(x of shape {shape})"
        out, _ = oracle.expect_pair(getattr(student, f"{kind}_forward")(x), what=what,
                                    names="(out, cache)")
        expected, _ = oracle.torch_elementwise(kind, x, np.zeros(shape))
        expect_array(out, expected, dtype="float64", what=f"{what}: out", rtol=1e-10, atol=1e-12)


def _numerical_backward_check(student, rng, kind: str) -> None:
    for shape in ELEMENTWISE_SHAPES:
        x, dout = oracle.elementwise_case(rng, kind, shape)
        _, dx, what = _elementwise_student(student, kind, x, dout)
        _numerical_check(student, f"{kind}_forward", [x], 0, dout, dx, grad_name="dx", what=what)


def _torch_backward_check(student, rng, kind: str) -> None:
    cases = [oracle.elementwise_case(rng, kind, shape) for shape in ELEMENTWISE_SHAPES]
    if kind == "relu":
        # Exact zeros: the contract (and torch) give the gradient 0 at x == 0; a backward that
        # masks only x < 0 passes dout through there. (No numerical check can see this: a
        # central difference at the kink is dout / 2.)
        cases.append(oracle.relu_case_with_zeros(rng, RELU_ZEROS_SHAPE))
    for x, dout in cases:
        _, dx, what = _elementwise_student(student, kind, x, dout)
        if np.any(x == 0):
            what += f" ({int((x == 0).sum())} of its {x.size} inputs exactly 0)"
        _, expected = oracle.torch_elementwise(kind, x, dout)
        if kind == "relu":
            oracle.expect_zero_at_the_kink(dx, expected, x, tol=TOL_LAYER, what=what)
        expect_gradient(dx, expected, name="dx", tol=TOL_LAYER, what=what,
                        reference="torch autograd", dtype="float64")


@pytest.mark.points(1)
def test_relu_forward_matches_torch(student, rng):
    _forward_check(student, rng, "relu")


@pytest.mark.points(2)
@pytest.mark.gated_by("test_relu_forward_matches_torch")
def test_relu_backward_matches_numerical_gradients(student, rng):
    _numerical_backward_check(student, rng, "relu")


@pytest.mark.points(2)
def test_relu_backward_matches_torch_autograd(student, rng):
    _torch_backward_check(student, rng, "relu")


@pytest.mark.points(1)
def test_sigmoid_forward_matches_torch(student, rng):
    _forward_check(student, rng, "sigmoid")


@pytest.mark.points(2)
@pytest.mark.gated_by("test_sigmoid_forward_matches_torch")
def test_sigmoid_backward_matches_numerical_gradients(student, rng):
    _numerical_backward_check(student, rng, "sigmoid")


@pytest.mark.points(2)
def test_sigmoid_backward_matches_torch_autograd(student, rng):
    _torch_backward_check(student, rng, "sigmoid")


@pytest.mark.points(1)
def test_sigmoid_is_stable_at_large_inputs(student, rng):
    x = np.array([[-1000.0, -700.0, -40.0, 0.0, 40.0, 700.0, 1000.0]])
    dout = random_upstream(x.shape, rng)
    what = "sigmoid_forward/sigmoid_backward on x = [-1000, -700, -40, 0, 40, 700, 1000]"
    result = student.probe("sigmoid_roundtrip", x, dout)
    expect_type(result, tuple, what=what)
    out, dx, caught = result
    expected_out, expected_dx = oracle.torch_elementwise("sigmoid", x, dout)
    expect_array(out, expected_out, dtype="float64", what=f"{what}: out", rtol=1e-10, atol=1e-12)
    expect_array(dx, expected_dx, dtype="float64", what=f"{what}: dx", rtol=1e-7, atol=1e-12)
    if caught:
        fail(f"{what}: numpy warned ({'; '.join(caught[:3])}); compute exp only of -|x| "
             "(e.g. use exp(x) / (1 + exp(x)) for negative x) so nothing overflows")


# ---------------------------------------------------------------- softmax cross-entropy

SOFTMAX_SHAPES = [(5, 4), (1, 3)]


def _softmax_student(student, scores, y):
    what = f"softmax_cross_entropy(scores of shape {scores.shape}, y={y.tolist()})"
    loss, dscores = oracle.expect_pair(student.softmax_cross_entropy(scores, y), what=what,
                                       names="(loss, dscores)")
    return loss, dscores, what


@pytest.mark.points(2)
def test_softmax_cross_entropy_loss_matches_torch(student, rng):
    for n, c in SOFTMAX_SHAPES:
        scores, y = oracle.softmax_case(rng, n, c)
        loss, _, what = _softmax_student(student, scores, y)
        expected, _ = oracle.torch_softmax_cross_entropy(scores, y)
        oracle.expect_loss_close(loss, expected, what=f"{what}: loss (the mean over the batch)",
                                 rtol=1e-10)


@pytest.mark.points(2)
@pytest.mark.gated_by("test_softmax_cross_entropy_loss_matches_torch")
def test_softmax_cross_entropy_gradient_matches_numerical_gradients(student, rng):
    for n, c in SOFTMAX_SHAPES:
        scores, y = oracle.softmax_case(rng, n, c)
        _, dscores, what = _softmax_student(student, scores, y)
        _numerical_check(student, "softmax_cross_entropy", [scores, y], 0, None, dscores,
                         grad_name="dscores", what=what)


@pytest.mark.points(2)
def test_softmax_cross_entropy_gradient_matches_torch_autograd(student, rng):
    for n, c in SOFTMAX_SHAPES:
        scores, y = oracle.softmax_case(rng, n, c)
        _, dscores, what = _softmax_student(student, scores, y)
        _, expected = oracle.torch_softmax_cross_entropy(scores, y)
        expect_gradient(dscores, expected, name="dscores", tol=TOL_LAYER, what=what,
                        reference="torch autograd", dtype="float64")


@pytest.mark.points(2)
def test_softmax_cross_entropy_is_stable_at_large_scores(student):
    scores = np.array([[1000.0, -1000.0, 0.0, 999.0],
                       [-1000.0, -999.0, 1000.0, 0.0],
                       [0.0, 0.0, 0.0, 1000.0]])
    y = np.array([0, 1, 3])
    what = "softmax_cross_entropy(scores with entries of +-1000, y=[0, 1, 3])"
    result, caught = student.probe("softmax_with_warnings", scores, y)
    loss, dscores = oracle.expect_pair(result, what=what, names="(loss, dscores)")
    expected_loss, expected_d = oracle.torch_softmax_cross_entropy(scores, y)
    hint = " (subtract each row's maximum score before exponentiating)"
    loss = oracle.expect_number(loss, what=f"{what}: loss" + hint)
    expect_close(loss, expected_loss, what=f"{what}: loss" + hint, rtol=1e-10, atol=1e-12)
    expect_array(dscores, expected_d, dtype="float64", what=f"{what}: dscores" + hint,
                 rtol=1e-7, atol=1e-12)
    if caught:
        fail(f"{what}: numpy warned ({'; '.join(caught[:3])}){hint}")


# ---------------------------------------------------------------- the MLP

MLP_SIZES = {1: [4, 3], 2: [4, 5, 3], 3: [4, 6, 5, 3]}


def _mlp_student(student, params, X, y, reg):
    layers = oracle.count_layers(params)
    widths = [params["W1"].shape[0]] + [params[f"b{l}"].shape[0] for l in range(1, layers + 1)]
    what = f"mlp_loss(L={layers} layers of widths {widths}, N={len(X)}, reg={reg})"
    loss, grads = oracle.expect_pair(student.mlp_loss(params, X, y, reg=reg), what=what,
                                     names="(loss, grads)")
    expect_type(grads, dict, what=f"{what}: grads")
    missing = [k for k in params if k not in grads]
    if missing or len(grads) != len(params):
        fail(f"{what}: grads must have exactly the keys of params {list(params)}; "
             f"got {sorted(map(str, grads))}")
    return loss, grads, what


def _mlp_torch_check(student, rng, layers: int, reg: float) -> None:
    sizes = MLP_SIZES[layers]
    params = oracle.random_params(rng, sizes)
    X, y = rng.normal(size=(7, sizes[0])), rng.integers(0, sizes[-1], 7)
    loss, grads, what = _mlp_student(student, params, X, y, reg)
    expected_loss, expected_grads = oracle.torch_mlp_loss(params, X, y, reg)
    oracle.expect_loss_close(loss, expected_loss, what=f"{what}: loss", rtol=1e-10)
    for key in oracle.layer_keys(layers):
        oracle.expect_param_gradient(grads, expected_grads, key, tol=TOL_LAYER, what=what,
                                     reference="torch autograd")


# Two families, so that a slip in the L2 penalty costs the regularised checks only, and the
# checks paid alongside "a real mlp_loss" (gated_by below) wait for the unregularised family.
@pytest.mark.points(1)
@pytest.mark.parametrize("layers", [1, 2, 3], ids=["L=1", "L=2", "L=3"])
def test_mlp_loss_matches_torch(student, rng, layers):
    _mlp_torch_check(student, rng, layers, 0.0)


@pytest.mark.points(1)
@pytest.mark.parametrize("layers", [1, 2, 3], ids=["L=1", "L=2", "L=3"])
def test_mlp_loss_with_l2_penalty_matches_torch(student, rng, layers):
    _mlp_torch_check(student, rng, layers, 0.1)


@pytest.mark.points(2)
@pytest.mark.gated_by("test_mlp_loss_matches_torch")
def test_mlp_loss_gradients_match_numerical_gradients(student, rng):
    sizes, reg = MLP_SIZES[3], 0.1
    params, X, y = oracle.network_case(rng, sizes, 6, reg)
    _, grads, what = _mlp_student(student, params, X, y, reg)
    batches = {key: perturbations(value, h=H) for key, value in params.items()}
    losses = student.probe("mlp_losses", params, X, y, reg, batches)
    expect_type(losses, dict, what=f"{what} at perturbed parameters")
    for key in oracle.layer_keys(3):
        values = oracle.expect_outputs(losses.get(key), count=len(batches[key]), shape=None,
                                       what=f"{what}: loss at perturbed {key}")
        numerical = gradient_from_values(values, params[key].shape, h=H)
        oracle.expect_param_gradient(grads, {key: numerical}, key, tol=TOL_NETWORK, what=what,
                                     reference="numerical")


@pytest.mark.points(1)
@pytest.mark.gated_by("test_softmax_cross_entropy_loss_matches_torch")  # a constant log(C) passes
def test_mlp_loss_of_small_random_weights_is_near_log_c(student, rng):
    sizes = [5, 8, 10]
    params = oracle.random_params(rng, sizes, scale=1e-3)
    X, y = rng.normal(size=(20, 5)), rng.integers(0, 10, 20)
    loss, _, what = _mlp_student(student, params, X, y, 0.0)
    # Tiny weights give scores ~1e-6, so every class is equally likely: loss = log(10) +- 1e-5.
    oracle.expect_number(loss, what=f"{what}: loss")
    expect_close(loss, math.log(10), atol=1e-3, rtol=0,
                 what=f"{what}: loss of tiny random weights (all 10 classes equally likely, so "
                 "about log(10) for the mean over the batch)")


@pytest.mark.points(1)
def test_mlp_loss_is_stable_at_large_scores(student, rng):
    sizes = [4, 6, 3]
    params = oracle.random_params(rng, sizes, scale=20.0)  # scores of several hundreds
    X, y = rng.normal(size=(5, 4)), rng.integers(0, 3, 5)
    loss, grads, what = _mlp_student(student, params, X, y, 0.0)
    expected_loss, expected_grads = oracle.torch_mlp_loss(params, X, y, 0.0)
    oracle.expect_loss_close(loss, expected_loss, what=f"{what}: loss", rtol=1e-10)
    for key in oracle.layer_keys(2):
        oracle.expect_param_gradient(grads, expected_grads, key, tol=TOL_LAYER, what=what,
                                     reference="torch autograd")


# ---------------------------------------------------------------- training on the spirals

@pytest.mark.points(6)
def test_train_mlp_classifies_held_out_spirals(student, settings, seed, secret_seed, feedback):
    expect_spiral_accuracy(student, settings, seed=seed, hidden_sizes=settings.hidden_sizes,
                           learning_rate=settings.learning_rate, feedback=feedback,
                           test_seed=held_out_seed(secret_seed, seed))


@pytest.mark.points(1)
def test_train_mlp_starts_from_he_initialisation(student, rng):
    # learning_rate = 0: whatever the optimiser, the returned params are the initial ones.
    sizes = HE_SIZES
    X, y = rng.normal(size=(8, sizes[0])), rng.integers(0, sizes[-1], 8)
    kwargs = dict(hidden_sizes=tuple(sizes[1:-1]), num_classes=sizes[-1], epochs=1,
                  learning_rate=0.0, batch_size=8, reg=0.0, seed=int(rng.integers(2**31)))
    what = ("train_mlp(X of shape (8, 64), y, hidden_sizes=(256, 128), num_classes=40, epochs=1, "
            "learning_rate=0.0, ...) (learning rate 0: the params it returns are its initial ones)")
    params = oracle.expect_params(student.train_mlp(X, y, **kwargs), sizes, what=what)
    oracle.expect_he_initialisation(params, sizes, what=what)


# The minibatches are what the run reports (a submission could report any list): they pay only
# when the same train_mlp really trains, judged on held-out spirals from the weights it returns.
@pytest.mark.points(1)
@pytest.mark.gated_by("test_train_mlp_classifies_held_out_spirals")
def test_train_mlp_visits_every_sample_once_per_epoch(student, rng):
    n, batch_size, epochs = 50, 16, 3  # 16 does not divide 50: the last minibatch has 2
    X, y = rng.normal(size=(n, 2)), rng.integers(0, 3, n)
    kwargs = dict(hidden_sizes=(4,), num_classes=3, epochs=epochs, learning_rate=0.05,
                  batch_size=batch_size, reg=0.0, seed=int(rng.integers(2**31)))
    what = (f"train_mlp(X of shape ({n}, 2), y, hidden_sizes=(4,), epochs={epochs}, "
            f"batch_size={batch_size}, ...): the minibatches it passed to mlp_loss")
    calls = student.probe("train_minibatches", X, y, kwargs)
    oracle.expect_minibatches(calls, n=n, batch_size=batch_size, epochs=epochs, what=what)
