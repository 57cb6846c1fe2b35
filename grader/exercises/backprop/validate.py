"""The check steps of `backprop`, shared by the public and hidden checks: validators that turn a
student's odd return value into a clear ``CheckFailure`` before any arithmetic touches it, and
verdicts against *expected values* they are given (the golden data's in the public checks, the
reference's or the oracle's in the hidden ones). Nothing here computes a layer, a loss or a
gradient: this module ships with the student release.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.expect import expect_array, expect_close, expect_type, fail, short, type_name
from grader.numgrad import expect_gradient, relative_error

H = 1e-5  # finite-difference step of the numerical checks (design.md: about 1e-5 in float64)
# The gradient checks' tolerances (relative error per element), measured with `dlgrade calibrate
# backprop` (test_public.py's docstring says how).
TOL_LAYER = 1e-7  # single layers; reference's worst 1.5e-9 over 50 seeds
TOL_NETWORK = 1e-5  # whole networks (kinks avoided); reference's worst 7.0e-8


def count_layers(params: dict[str, Any]) -> int:
    return sum(1 for key in params if key.startswith("W"))


def layer_keys(n_layers: int) -> list[str]:
    return [f"{p}{l}" for l in range(1, n_layers + 1) for p in ("W", "b")]


# The outputs a single layer's numerical gradient is taken of must be the layer's (as its forward
# check judges it: relative 1e-10 against torch). The numerical checks are paid only when the
# forward check passes, and a forward that passes it computes the layer; outputs made up to
# agree with some gradient (a submission can report any) are not the layer's. A value within
# this tolerance moves a central difference (h = 1e-5) by at most ~1e-5 of the values' size, far
# less than a wrong gradient. (mlp_loss is not verified this way: its numerical check is paid
# only with every loss and gradient of the unregularised networks right against torch, and a
# slip in the L2 penalty must keep costing the L2 checks only.)
FORWARD_RTOL, FORWARD_ATOL = 1e-10, 1e-12


def expect_forward_values(stacked: np.ndarray, expected: np.ndarray, *, name: str,
                          what: str) -> None:
    """The student's forward outputs at the perturbed inputs are what the layer gives there
    (``expected``, computed by the judge): the numerical gradient is taken of those."""
    err = np.abs(stacked - expected)
    bad = ~(err <= FORWARD_ATOL + FORWARD_RTOL * np.abs(expected))
    if np.any(bad):
        rows = bad.reshape(len(stacked), -1).any(axis=1)
        fail(f"{what}: your {name} gives wrong values at {int(rows.sum())} of {len(stacked)} "
             f"inputs near this one (each moved by 1e-5 in one element; up to "
             f"{float(np.nanmax(np.where(bad, err, 0.0))):.3g} off), so the numerical gradient "
             f"of your forward cannot vouch for the backward: this check is paid when your "
             f"{name} is right (its forward check says where it is not)")


def expect_zero_at_the_kink(dx: Any, expected: np.ndarray, x: np.ndarray, *, tol: float,
                            what: str) -> None:
    """When ``dx`` is wrong only where ``x == 0``, say so (the contract: 0 there, as in torch).

    Anything else (wrong form, wrong values elsewhere) is left to ``expect_gradient``."""
    if not (isinstance(dx, np.ndarray) and dx.shape == expected.shape and dx.dtype.kind == "f"
            and np.all(np.isfinite(dx))):
        return
    wrong = ~(relative_error(dx, expected) <= tol)
    if wrong.any() and np.all(x[wrong] == 0):
        idx = tuple(int(i) for i in np.argwhere(wrong)[0])
        fail(f"{what}: dx: wrong at {int(wrong.sum())} of {int((x == 0).sum())} input(s) that are "
             f"exactly 0, e.g. index {idx}: yours {float(dx[idx]):.8g}, expected 0. The gradient "
             "of max(x, 0) is dout where x > 0 and 0 elsewhere, x == 0 included (as in torch): "
             "keep dout only where x > 0 (masking only x < 0 lets it through at 0)")


# ---------------------------------------------------------------- validators of student values

def expect_pair(result: Any, *, what: str, names: str) -> tuple[Any, Any]:
    """A tuple or list ``(a, b)``; ``names`` describes it in messages, e.g. "(loss, dscores)"."""
    expect_type(result, (tuple, list), what=what)
    if len(result) != 2:
        fail(f"{what}: expected a pair {names}, got a tuple of {len(result)} items: "
             f"{short(result)}")
    return result


def expect_triple(result: Any, *, what: str, names: str) -> tuple[Any, Any, Any]:
    expect_type(result, (tuple, list), what=what)
    if len(result) != 3:
        fail(f"{what}: expected a tuple {names}, got a tuple of {len(result)} items: "
             f"{short(result)}")
    return result


def expect_number(value: Any, *, what: str) -> float:
    """A finite real number (Python, numpy scalar or 0-d array), as float."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        fail(f"{what}: expected a number (float), got {type_name(value)}: {short(value)}")
    if not np.isfinite(float(value)):
        fail(f"{what}: got {float(value)!r}, expected a finite number")
    return float(value)


def expect_outputs(outputs: Any, *, count: int, shape: tuple[int, ...] | None,
                   what: str) -> np.ndarray:
    """The forward's outputs at every perturbation, validated and stacked as float64.

    ``shape`` None means each output is a scalar (a loss).
    """
    expect_type(outputs, list, what=what)
    if len(outputs) != count:
        fail(f"{what}: expected {count} outputs, got {len(outputs)}")
    if shape is None:
        return np.array([expect_number(v, what=what) for v in outputs])
    return np.stack([expect_array(v, shape=shape, dtype="float", what=what).astype(np.float64)
                     for v in outputs])


def expect_params(params: Any, sizes: list[int], *, what: str) -> dict[str, np.ndarray]:
    """A dict with exactly the keys ``W1, b1, ..., WL, bL`` of the widths ``sizes``, float arrays
    of the right shapes, all finite; returned as float64."""
    expect_type(params, dict, what=what)
    n_layers = len(sizes) - 1
    keys = layer_keys(n_layers)
    if set(params) != set(keys):
        missing = [k for k in keys if k not in params]
        extra = sorted(map(str, set(params) - set(keys)))
        fail(f"{what}: expected the keys {keys}; missing {missing}, unexpected {extra}")
    out = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
        for key, shape in ((f"W{layer}", (fan_in, fan_out)), (f"b{layer}", (fan_out,))):
            out[key] = expect_array(params[key], shape=shape, dtype="float",
                                    what=f"{what}[{key!r}]").astype(np.float64)
    return out


def expect_loss_close(got: Any, expected: float, *, what: str, rtol: float) -> float:
    """A finite number close to ``expected`` (relative tolerance ``rtol``)."""
    value = expect_number(got, what=what)
    return expect_close(value, expected, what=what, rtol=rtol, atol=1e-12)


def expect_param_gradient(grads: dict[str, Any], expected: dict[str, np.ndarray], key: str, *,
                          tol: float, what: str, reference: str) -> None:
    """``grads[key]`` (a student's, keys already validated) against ``expected[key]``."""
    expect_gradient(grads[key], expected[key], name=f"grads[{key!r}]", tol=tol, what=what,
                    reference=reference, shape_of=f"params[{key!r}]", dtype="float64")


# ---------------------------------------------------------------- how train_mlp trains

# He initialisation: mean(W**2) / (2 / fan_in) must lie within 1 +- HE_TOLERANCE for every layer.
# For n independent N(0, 2 / fan_in) weights, n * ratio is chi-square with n degrees of freedom:
# for the check's smallest layer (128 x 40 = 5120 weights) P(|ratio - 1| > 0.2) = 8.6e-22, so the
# three layers together fail a right initialisation with probability below 1e-21 (design: at most
# 1e-9). Xavier's 1 / fan_in (ratio 0.5), 3 / fan_in (1.5) or a std of 2 / fan_in are far outside.
HE_TOLERANCE = 0.2
# The initialisation check's widths: layers of 16384, 32768 and 5120 weights, large enough for a
# tight statistical bound (HE_TOLERANCE).
HE_SIZES = [64, 256, 128, 40]


def expect_he_initialisation(params: dict[str, np.ndarray], sizes: list[int], *,
                             what: str) -> None:
    """Validated ``params`` (see :func:`expect_params`) are a He initialisation: weights of
    variance 2 / fan_in (mean 0 known, so the raw second moment), biases exactly 0."""
    for layer, fan_in in enumerate(sizes[:-1], start=1):
        w, b = params[f"W{layer}"], params[f"b{layer}"]
        with np.errstate(over="ignore", invalid="ignore"):  # huge weights: inf, which fails
            square = float(np.mean(w * w))
        ratio = square / (2.0 / fan_in)
        if not (abs(ratio - 1.0) <= HE_TOLERANCE):
            fail(f"{what}: params['W{layer}'] (fan_in {fan_in}) has mean square "
                 f"{square:.4g}, {ratio:.3g} times He initialisation's variance "
                 f"2 / fan_in = {2.0 / fan_in:.4g} (allowed: a factor 1 +- {HE_TOLERANCE}); draw "
                 "Wl ~ Normal(0, std = sqrt(2 / fan_in)), e.g. rng.normal(0.0, np.sqrt(2.0 / "
                 "fan_in), (fan_in, fan_out))")
        if not np.all(b == 0):
            idx = int(np.argmax(b != 0))
            fail(f"{what}: params['b{layer}'][{idx}] is {float(b[idx])!r}; biases start at 0")


def expect_minibatches(calls: Any, *, n: int, batch_size: int, epochs: int, what: str) -> None:
    """``calls`` (the sample indices of each ``mlp_loss`` call during ``train_mlp``) are
    ``epochs`` epochs, each a fresh permutation of ``range(n)`` cut into minibatches of
    ``batch_size`` (the last smaller). Calls on the whole training set (an epoch's loss for
    logging) and a repeated call on the same minibatch are allowed and ignored."""
    expect_type(calls, list, what=what)
    if not calls:
        fail(f"{what}: your train_mlp never called mlp_loss; each step must call "
             "mlp_loss(params, X[batch], y[batch], reg=reg) on its minibatch (the contract)")
    if any(not isinstance(call, list) or any(not isinstance(i, int) for i in call)
           for call in calls):
        fail(f"{what}: could not read the minibatches passed to mlp_loss")
    if any(i < 0 for call in calls for i in call):
        fail(f"{what}: mlp_loss was called with rows that are not rows of the training X; pass "
             "the minibatch X[batch] itself (float64, unchanged)")
    steps: list[list[int]] = []
    for call in calls:
        if len(call) == n and n > batch_size:
            continue  # the whole training set: a loss for logging, not a step
        if steps and call == steps[-1]:
            continue  # the same minibatch twice in a row (loss, then gradients)
        steps.append(call)
    sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    per_epoch = len(sizes)
    if len(steps) != epochs * per_epoch:
        shown = [len(s) for s in steps[:8]]
        fail(f"{what}: expected {epochs} epochs x {per_epoch} minibatches (sizes {sizes}) = "
             f"{epochs * per_epoch} calls of mlp_loss, got {len(steps)} (sizes of the first: "
             f"{shown}); each epoch visits every sample once, in minibatches of batch_size, "
             "the last one smaller when batch_size does not divide N")
    orders = []
    for epoch in range(epochs):
        group = steps[epoch * per_epoch:(epoch + 1) * per_epoch]
        got_sizes = [len(s) for s in group]
        if got_sizes != sizes:
            fail(f"{what}: epoch {epoch + 1}: minibatch sizes {got_sizes}, expected {sizes} "
                 "(every sample once per epoch: minibatches order[start:start + batch_size] "
                 "for start in range(0, N, batch_size))")
        order = [i for s in group for i in s]
        if sorted(order) != list(range(n)):
            missing = sorted(set(range(n)) - set(order))
            twice = sorted({i for i in order if order.count(i) > 1})
            fail(f"{what}: epoch {epoch + 1} does not visit every sample exactly once: missing "
                 f"{missing[:5]}{'...' if len(missing) > 5 else ''}, more than once "
                 f"{twice[:5]}{'...' if len(twice) > 5 else ''}")
        orders.append(order)
    if orders[0] == list(range(n)):
        fail(f"{what}: epoch 1 visits the samples in their original order; shuffle every epoch "
             "(e.g. order = rng.permutation(N))")
    if all(order == orders[0] for order in orders[1:]):
        fail(f"{what}: every epoch visits the samples in the same order; draw a fresh "
             "permutation at the start of each epoch")
