"""Hidden checks for `conv`: configurations the student has not seen, and independent caches.

The oracle is torch's result (``ops.py``, numpy, held equal to torch by the framework's tests;
independent of our reference; judge side only, it never ships); the reference is used where
a second trusted implementation is worth having: it must agree with torch on the same hidden
inputs, so a grader-side mistake in a case shows up as a grader error, not as a student's loss.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.exercises.conv import ops, oracle
from grader.exercises.conv.cases import ConvCase, PoolCase
from grader.expect import fail, type_name

pytestmark = pytest.mark.visibility("hidden")

# Drawn once and frozen so that every student sees the same hidden cases: larger channels, a
# stride larger than the kernel (skipped pixels), padding larger than half the kernel, a 1x1 kernel.
HIDDEN_CONV = [
    ConvCase(x=(4, 5, 11, 10), w=(6, 5, 3, 5), stride=2, padding=2),
    ConvCase(x=(3, 2, 10, 10), w=(2, 2, 2, 2), stride=3, padding=0),
    ConvCase(x=(2, 6, 5, 7), w=(3, 6, 1, 1), stride=1, padding=1),
    ConvCase(x=(1, 3, 4, 4), w=(2, 3, 3, 3), stride=1, padding=2),
]

HIDDEN_POOL = [
    PoolCase(x=(3, 4, 9, 9), kernel_size=4, stride=2),
    PoolCase(x=(2, 3, 10, 7), kernel_size=2, stride=3),
    PoolCase(x=(2, 3, 3, 3), kernel_size=3),  # the window is the whole input: a 1x1 output
    PoolCase(x=(2, 2, 5, 6), kernel_size=1, stride=2),  # a 1x1 window: subsampling
]


def _ids(cases: list) -> list[str]:
    return [c.id for c in cases]


def _oracle_forward(reference, layer: str, inputs: dict, options: dict) -> np.ndarray:
    """Torch's output (``ops.forward``) on a hidden case, after a trusted second opinion: the
    reference must agree with it, so the case itself is sound (a grader error if not)."""
    names = ("x", "w", "b") if layer == "conv2d" else ("x",)
    out, _ = getattr(reference, f"{layer}_forward")(*(inputs[k] for k in names), **options)
    expected = ops.forward(layer, inputs, options)
    assert out.shape == expected.shape and np.allclose(out, expected, rtol=1e-9, atol=1e-12), (
        f"grader error: the reference disagrees with torch on hidden case {layer} {options}")
    return expected


def _forward_and_backward(student, reference, rng, layer: str, case) -> None:
    inputs = case.inputs(rng)
    options = case.options
    out = _oracle_forward(reference, layer, inputs, options)
    dout = rng.normal(size=out.shape)
    expected = ops.expected(layer, inputs, options, dout, out=out)
    what = oracle.backward_text(layer, inputs, options)
    grads = oracle.run_roundtrip(student, layer, inputs, options, dout, expected["out"], what)
    fwd = oracle.call_text(layer, inputs, options)
    answer = oracle.probe(student, "forward", layer, inputs, options)
    oracle.check_forward_output(oracle.take_out(answer, fwd), layer, expected, fwd)
    kernel = {"options": options, "kernel": case.w} if layer == "conv2d" else {}
    oracle.expect_gradients(grads, oracle.expected_gradients(layer, expected), layer,
                            tol=oracle.TORCH_GRAD_TOL, what=what, reference="torch autograd",
                            **kernel)


@pytest.mark.points(1)
@pytest.mark.parametrize("case", HIDDEN_CONV, ids=_ids(HIDDEN_CONV))
def test_conv_forward_and_backward_on_hidden_cases(student, reference, rng, case):
    _forward_and_backward(student, reference, rng, "conv2d", case)


@pytest.mark.points(1)
@pytest.mark.parametrize("case", HIDDEN_POOL, ids=_ids(HIDDEN_POOL))
@pytest.mark.parametrize("layer", ["max_pool2d", "avg_pool2d"])
def test_pool_forward_and_backward_on_hidden_cases(student, reference, rng, layer, case):
    _forward_and_backward(student, reference, rng, layer, case)


@pytest.mark.points(1)
@pytest.mark.parametrize("layer", ["conv2d", "max_pool2d", "avg_pool2d"])
def test_each_cache_belongs_to_its_own_call(student, rng, layer):
    """Two forwards, then the two backwards: state kept outside the cache (a module-level
    variable) gives the first backward the second call's inputs."""
    if layer == "conv2d":
        case = ConvCase(x=(2, 3, 6, 6), w=(4, 3, 3, 3), stride=1, padding=1)
    else:
        case = PoolCase(x=(2, 3, 6, 6), kernel_size=2)
    first, second = case.inputs(rng), case.inputs(rng)
    shape = ops.forward(layer, first, case.options).shape
    d1, d2 = rng.normal(size=shape), rng.normal(size=shape)
    call = oracle.call_text(layer, first, case.options)
    answer = oracle.answer_dict(
        oracle.probe(student, "interleaved", layer, first, second, case.options, d1, d2), call)
    if "not_a_pair" in answer:
        oracle.take_out(answer, f"{call} (called twice)")
    for label, inputs, dout, key in (("first", first, d1, "grads_first"),
                                     ("second", second, d2, "grads_second")):
        what = (f"{layer}_forward on two different inputs, then {layer}_backward with the "
                f"{label} call's cache")
        grads = answer.get(key)
        if layer == "conv2d":
            if not isinstance(grads, (tuple, list)) or len(grads) != 3:
                fail(f"{what}: expected a tuple (dx, dw, db), got {type_name(grads)}")
            grads = list(grads)
        else:
            grads = [grads]
        expected = ops.gradients(layer, inputs, case.options, dout)
        oracle.expect_gradients(grads, expected, layer, tol=oracle.TORCH_GRAD_TOL, what=what,
                                reference="torch autograd")
