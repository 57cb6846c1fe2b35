"""Public checks for `backprop`: expectations a student can have, never an implementation. Every
layer is checked three ways: forward against torch's values, backward against numerical
gradients of the student's OWN forward (so a wrong backward cannot hide behind a wrong forward),
and backward against torch autograd's values on the same inputs. The expected values (torch's,
as the reference computes them: the framework's tests hold them within 1e-12) are the golden
data of the public cases, ``golden.npz``, written by ``dlgrade release``.

The numerical checks are gated on the forward they differentiate (``gated_by``): a zero forward
has a zero numerical gradient, which a zero backward matches, so self-consistency is evidence only
alongside a right forward. Every tolerance test is NaN-safe (``not (err <= tol)`` in
grader.numgrad / grader.expect; a non-finite numerical gradient fails with its own message).

Tolerances (relative error per element, ``|a - b| / max(1e-8, |a| + |b|)``, see grader.numgrad),
measured with ``dlgrade calibrate backprop --seeds 50`` (the reference's worst over 50 seeds),
set in ``validate.py``:
- ``TOL_LAYER = 1e-7`` for single layers in float64 with h = 1e-5 (the usual verdict): worst
  1.5e-9 (affine), 4.4e-10 (sigmoid), 1.5e-9 (softmax), 3.3e-12 (ReLU): margin 65x or more; against
  torch the worst is 1.6e-12. A real bug gives errors > 1e-2.
- ``TOL_NETWORK = 1e-5`` for the numerical gradient of a whole network (rounding through the
  layers and the regulariser, ReLU kinks): worst 7.0e-8, margin 140x. Inputs are drawn until
  every hidden ReLU input is 1e-3 (100 h) away from the kink, so no difference straddles one.
- Inputs are drawn until every non-zero true gradient element is at least 1e-2 (1e-4 for the
  network; ``oracle.GRAD_FLOOR``): a central difference has an absolute rounding error of ~1e-11,
  which a tiny gradient element could not absorb under a relative tolerance however right it is.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader import golden
from grader.exercises.backprop import validate
from grader.exercises.backprop.training import expect_spiral_accuracy, held_out_seed
from grader.exercises.backprop.validate import HE_SIZES, TOL_LAYER, TOL_NETWORK
from grader.expect import expect_array, expect_close, expect_type, fail
from grader.numgrad import (expect_gradient, gradient_from_outputs, gradient_from_values,
                            perturbations)

pytestmark = pytest.mark.visibility("visible")

GOLDEN = golden.load("backprop")
H = validate.H  # finite-difference step (design.md: about 1e-5 in float64)
AFFINE = GOLDEN.names("affine/")  # N x D x M: non-square, and a batch of one
RELU = [n for n in GOLDEN.names("relu/") if n != "zeros"]
SIGMOID = [n for n in GOLDEN.names("sigmoid/") if n != "large"]
SOFTMAX = [n for n in GOLDEN.names("softmax/") if n != "large"]


def _numerical_check(student, name: str, args: list, wrt: int, dout: np.ndarray | None,
                     got_grad, expected_outputs: np.ndarray, *, grad_name: str, what: str,
                     tol: float = TOL_LAYER) -> None:
    """Compare ``got_grad`` with central differences of the student's own forward ``name``.

    The worker evaluates the forward at every perturbation of ``args[wrt]`` and returns the
    outputs; the judge validates them, checks that they are what the layer gives there
    (``expected_outputs``, from the golden data: a forward that passes its forward check is the
    layer's, and outputs made up to agree with some gradient are not), and does the
    differences. ``dout`` None: the output is a scalar loss.
    """
    x = np.asarray(args[wrt], dtype=np.float64)
    batch = perturbations(x, h=H)
    outputs = student.probe("forward_outputs", name, args, wrt, batch)
    shape = None if dout is None else dout.shape
    stacked = validate.expect_outputs(outputs, count=len(batch), shape=shape,
                                      what=f"{name} at perturbed inputs")
    validate.expect_forward_values(stacked, expected_outputs, name=name, what=what)
    if dout is None:
        numerical = gradient_from_values(stacked, x.shape, h=H)
    else:
        numerical = gradient_from_outputs(stacked, dout, x.shape, h=H)
    expect_gradient(got_grad, numerical, name=grad_name, tol=tol, what=what,
                    reference="numerical", dtype="float64")


def _affine_student(student, x, w, b, dout, what):
    out, grads = validate.expect_pair(student.probe("affine_roundtrip", x, w, b, dout),
                                      what=what, names="(out, grads)")
    grads = validate.expect_triple(grads, what=f"{what}: affine_backward", names="(dx, dw, db)")
    return out, grads


def _affine_cases():
    for case in AFFINE:
        data = GOLDEN[f"affine/{case}"]
        values = data.inputs
        yield values["x"], values["w"], values["b"], values["dout"], data.expected


# ---------------------------------------------------------------- affine

@pytest.mark.points(2)
def test_affine_forward_matches_torch(student):
    for x, w, b, _, expected in _affine_cases():
        what = f"affine_forward(x {x.shape}, w {w.shape}, b {b.shape})"
        out, _ = validate.expect_pair(student.affine_forward(x, w, b), what=what,
                                      names="(out, cache)")
        expect_array(out, expected["out"], dtype="float64", what=f"{what}: out", rtol=1e-10,
                     atol=1e-12)


@pytest.mark.points(3)
@pytest.mark.gated_by("test_affine_forward_matches_torch")
def test_affine_backward_matches_numerical_gradients(student):
    for x, w, b, dout, expected in _affine_cases():
        what = f"affine_backward for x {x.shape}, w {w.shape}, b {b.shape}"
        _, grads = _affine_student(student, x, w, b, dout, what)
        for wrt, (arg, name) in enumerate(zip("xwb", ("dx", "dw", "db"))):
            _numerical_check(student, "affine_forward", [x, w, b], wrt, dout, grads[wrt],
                             expected["perturbed"][arg], grad_name=name, what=what)


@pytest.mark.points(3)
def test_affine_backward_matches_torch_autograd(student):
    for x, w, b, dout, expected in _affine_cases():
        what = f"affine_backward for x {x.shape}, w {w.shape}, b {b.shape}"
        _, grads = _affine_student(student, x, w, b, dout, what)
        for got, name in zip(grads, ("dx", "dw", "db")):
            expect_gradient(got, expected[name], name=name, tol=TOL_LAYER, what=what,
                            reference="torch autograd", dtype="float64")


# ---------------------------------------------------------------- ReLU and sigmoid

def _elementwise_student(student, kind: str, x, dout):
    what = f"{kind}_forward/{kind}_backward on x of shape {x.shape}"
    result = student.probe(f"{kind}_roundtrip", x, dout)
    if kind == "sigmoid":
        expect_type(result, tuple, what=what)
        result = result[:2]
    out, dx = validate.expect_pair(result, what=what, names="(out, dx)")
    return out, dx, what


def _elementwise_cases(kind: str, extra: tuple[str, ...] = ()):
    for case in [*(RELU if kind == "relu" else SIGMOID), *extra]:
        data = GOLDEN[f"{kind}/{case}"]
        yield data.inputs["x"], data.inputs["dout"], data.expected


def _forward_check(student, kind: str) -> None:
    for x, _, expected in _elementwise_cases(kind):
        what = f"{kind}_forward(x of shape {x.shape})"
        out, _ = validate.expect_pair(getattr(student, f"{kind}_forward")(x), what=what,
                                      names="(out, cache)")
        expect_array(out, expected["out"], dtype="float64", what=f"{what}: out", rtol=1e-10,
                     atol=1e-12)


def _numerical_backward_check(student, kind: str) -> None:
    for x, dout, expected in _elementwise_cases(kind):
        _, dx, what = _elementwise_student(student, kind, x, dout)
        _numerical_check(student, f"{kind}_forward", [x], 0, dout, dx,
                         expected["perturbed"]["x"], grad_name="dx", what=what)


def _torch_backward_check(student, kind: str) -> None:
    # ReLU: also inputs with exact zeros (relu/zeros). The contract (and torch) give the gradient
    # 0 at x == 0; a backward that masks only x < 0 passes dout through there. (No numerical
    # check can see this: a central difference at the kink is dout / 2.)
    for x, dout, expected in _elementwise_cases(kind, ("zeros",) if kind == "relu" else ()):
        _, dx, what = _elementwise_student(student, kind, x, dout)
        if np.any(x == 0):
            what += f" ({int((x == 0).sum())} of its {x.size} inputs exactly 0)"
        if kind == "relu":
            validate.expect_zero_at_the_kink(dx, expected["dx"], x, tol=TOL_LAYER, what=what)
        expect_gradient(dx, expected["dx"], name="dx", tol=TOL_LAYER, what=what,
                        reference="torch autograd", dtype="float64")


@pytest.mark.points(1)
def test_relu_forward_matches_torch(student):
    _forward_check(student, "relu")


@pytest.mark.points(2)
@pytest.mark.gated_by("test_relu_forward_matches_torch")
def test_relu_backward_matches_numerical_gradients(student):
    _numerical_backward_check(student, "relu")


@pytest.mark.points(2)
def test_relu_backward_matches_torch_autograd(student):
    _torch_backward_check(student, "relu")


@pytest.mark.points(1)
def test_sigmoid_forward_matches_torch(student):
    _forward_check(student, "sigmoid")


@pytest.mark.points(2)
@pytest.mark.gated_by("test_sigmoid_forward_matches_torch")
def test_sigmoid_backward_matches_numerical_gradients(student):
    _numerical_backward_check(student, "sigmoid")


@pytest.mark.points(2)
def test_sigmoid_backward_matches_torch_autograd(student):
    _torch_backward_check(student, "sigmoid")


@pytest.mark.points(1)
def test_sigmoid_is_stable_at_large_inputs(student):
    data = GOLDEN["sigmoid/large"]
    x, dout, expected = data.inputs["x"], data.inputs["dout"], data.expected
    what = "sigmoid_forward/sigmoid_backward on x = [-1000, -700, -40, 0, 40, 700, 1000]"
    result = student.probe("sigmoid_roundtrip", x, dout)
    expect_type(result, tuple, what=what)
    out, dx, caught = result
    expect_array(out, expected["out"], dtype="float64", what=f"{what}: out", rtol=1e-10,
                 atol=1e-12)
    expect_array(dx, expected["dx"], dtype="float64", what=f"{what}: dx", rtol=1e-7, atol=1e-12)
    if caught:
        fail(f"{what}: numpy warned ({'; '.join(caught[:3])}); compute exp only of -|x| "
             "(e.g. use exp(x) / (1 + exp(x)) for negative x) so nothing overflows")


# ---------------------------------------------------------------- softmax cross-entropy

def _softmax_student(student, scores, y):
    what = f"softmax_cross_entropy(scores of shape {scores.shape}, y={y.tolist()})"
    loss, dscores = validate.expect_pair(student.softmax_cross_entropy(scores, y), what=what,
                                         names="(loss, dscores)")
    return loss, dscores, what


def _softmax_cases():
    for case in SOFTMAX:
        data = GOLDEN[f"softmax/{case}"]
        yield data.inputs["scores"], data.inputs["y"], data.expected


@pytest.mark.points(2)
def test_softmax_cross_entropy_loss_matches_torch(student):
    for scores, y, expected in _softmax_cases():
        loss, _, what = _softmax_student(student, scores, y)
        validate.expect_loss_close(loss, expected["loss"],
                                   what=f"{what}: loss (the mean over the batch)", rtol=1e-10)


@pytest.mark.points(2)
@pytest.mark.gated_by("test_softmax_cross_entropy_loss_matches_torch")
def test_softmax_cross_entropy_gradient_matches_numerical_gradients(student):
    for scores, y, expected in _softmax_cases():
        _, dscores, what = _softmax_student(student, scores, y)
        _numerical_check(student, "softmax_cross_entropy", [scores, y], 0, None, dscores,
                         expected["perturbed"]["scores"], grad_name="dscores", what=what)


@pytest.mark.points(2)
def test_softmax_cross_entropy_gradient_matches_torch_autograd(student):
    for scores, y, expected in _softmax_cases():
        _, dscores, what = _softmax_student(student, scores, y)
        expect_gradient(dscores, expected["dscores"], name="dscores", tol=TOL_LAYER, what=what,
                        reference="torch autograd", dtype="float64")


@pytest.mark.points(2)
def test_softmax_cross_entropy_is_stable_at_large_scores(student):
    data = GOLDEN["softmax/large"]
    scores, y, expected = data.inputs["scores"], data.inputs["y"], data.expected
    what = "softmax_cross_entropy(scores with entries of +-1000, y=[0, 1, 3])"
    result, caught = student.probe("softmax_with_warnings", scores, y)
    loss, dscores = validate.expect_pair(result, what=what, names="(loss, dscores)")
    hint = " (subtract each row's maximum score before exponentiating)"
    loss = validate.expect_number(loss, what=f"{what}: loss" + hint)
    expect_close(loss, expected["loss"], what=f"{what}: loss" + hint, rtol=1e-10, atol=1e-12)
    expect_array(dscores, expected["dscores"], dtype="float64", what=f"{what}: dscores" + hint,
                 rtol=1e-7, atol=1e-12)
    if caught:
        fail(f"{what}: numpy warned ({'; '.join(caught[:3])}){hint}")


# ---------------------------------------------------------------- the MLP

def _mlp_student(student, params, X, y, reg):
    layers = validate.count_layers(params)
    widths = [params["W1"].shape[0]] + [params[f"b{l}"].shape[0] for l in range(1, layers + 1)]
    what = f"mlp_loss(L={layers} layers of widths {widths}, N={len(X)}, reg={reg})"
    loss, grads = validate.expect_pair(student.mlp_loss(params, X, y, reg=reg), what=what,
                                       names="(loss, grads)")
    expect_type(grads, dict, what=f"{what}: grads")
    missing = [k for k in params if k not in grads]
    if missing or len(grads) != len(params):
        fail(f"{what}: grads must have exactly the keys of params {list(params)}; "
             f"got {sorted(map(str, grads))}")
    return loss, grads, what


def _mlp_case(name: str):
    data = GOLDEN[f"mlp/{name}"]
    values = data.inputs
    return values["params"], values["X"], values["y"], values["reg"], data.expected


def _mlp_torch_check(student, name: str) -> None:
    params, X, y, reg, expected = _mlp_case(name)
    loss, grads, what = _mlp_student(student, params, X, y, reg)
    validate.expect_loss_close(loss, expected["loss"], what=f"{what}: loss", rtol=1e-10)
    for key in validate.layer_keys(validate.count_layers(params)):
        validate.expect_param_gradient(grads, expected["grads"], key, tol=TOL_LAYER, what=what,
                                       reference="torch autograd")


# Two families, so that a slip in the L2 penalty costs the regularised checks only, and the
# checks paid alongside "a real mlp_loss" (gated_by below) wait for the unregularised family.
@pytest.mark.points(1)
@pytest.mark.parametrize("layers", [1, 2, 3], ids=["L=1", "L=2", "L=3"])
def test_mlp_loss_matches_torch(student, layers):
    _mlp_torch_check(student, f"L={layers}")


@pytest.mark.points(1)
@pytest.mark.parametrize("layers", [1, 2, 3], ids=["L=1", "L=2", "L=3"])
def test_mlp_loss_with_l2_penalty_matches_torch(student, layers):
    _mlp_torch_check(student, f"L={layers},reg")


@pytest.mark.points(2)
@pytest.mark.gated_by("test_mlp_loss_matches_torch")
def test_mlp_loss_gradients_match_numerical_gradients(student):
    params, X, y, reg, _ = _mlp_case("numerical")
    _, grads, what = _mlp_student(student, params, X, y, reg)
    batches = {key: perturbations(value, h=H) for key, value in params.items()}
    losses = student.probe("mlp_losses", params, X, y, reg, batches)
    expect_type(losses, dict, what=f"{what} at perturbed parameters")
    for key in validate.layer_keys(validate.count_layers(params)):
        values = validate.expect_outputs(losses.get(key), count=len(batches[key]), shape=None,
                                         what=f"{what}: loss at perturbed {key}")
        numerical = gradient_from_values(values, params[key].shape, h=H)
        validate.expect_param_gradient(grads, {key: numerical}, key, tol=TOL_NETWORK, what=what,
                                       reference="numerical")


@pytest.mark.points(1)
@pytest.mark.gated_by("test_softmax_cross_entropy_loss_matches_torch")  # a constant log(C) passes
def test_mlp_loss_of_small_random_weights_is_near_log_c(student):
    params, X, y, reg, _ = _mlp_case("log_c")
    loss, _, what = _mlp_student(student, params, X, y, reg)
    # Tiny weights give scores ~1e-6, so every class is equally likely: loss = log(10) +- 1e-5.
    validate.expect_number(loss, what=f"{what}: loss")
    expect_close(loss, math.log(10), atol=1e-3, rtol=0,
                 what=f"{what}: loss of tiny random weights (all 10 classes equally likely, so "
                 "about log(10) for the mean over the batch)")


@pytest.mark.points(1)
def test_mlp_loss_is_stable_at_large_scores(student):
    params, X, y, reg, expected = _mlp_case("large")  # weights of std 20: scores of hundreds
    loss, grads, what = _mlp_student(student, params, X, y, reg)
    validate.expect_loss_close(loss, expected["loss"], what=f"{what}: loss", rtol=1e-10)
    for key in validate.layer_keys(2):
        validate.expect_param_gradient(grads, expected["grads"], key, tol=TOL_LAYER, what=what,
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
    params = validate.expect_params(student.train_mlp(X, y, **kwargs), sizes, what=what)
    validate.expect_he_initialisation(params, sizes, what=what)


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
    validate.expect_minibatches(calls, n=n, batch_size=batch_size, epochs=epochs, what=what)
