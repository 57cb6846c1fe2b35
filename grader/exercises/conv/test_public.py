"""Public checks for `conv`: oracles a student also has (torch, numerical gradients, the lecture).

Nothing here needs ``solutions/``: the student release runs these as they are.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.exercises.conv import oracle
from grader.exercises.conv.cases import (BACKWARD_CASES, CHANNEL_CASE, FORWARD_CASES,
                                         LECTURE_IMAGE, LECTURE_KERNEL, LECTURE_OUTPUT, POOL_CASES,
                                         SPEED_CASE, TIE_CASES)
from grader.exercises.conv.oracle import ConvCase
from grader.expect import expect_array, expect_raises, fail

pytestmark = pytest.mark.visibility("visible")


def _ids(cases: list) -> list[str]:
    return [c.id for c in cases]


# ---------------------------------------------------------------- conv2d forward

@pytest.mark.points(2)
def test_lecture_example(student):
    inputs = {"x": np.array(LECTURE_IMAGE, dtype=np.float64)[None, None],
              "w": np.array(LECTURE_KERNEL, dtype=np.float64)[None, None],
              "b": np.zeros(1)}
    what = ("conv2d_forward(x = the lecture's 5x5 image as (1, 1, 5, 5), w = the 3x3 '7' kernel "
            f"{LECTURE_KERNEL} as (1, 1, 3, 3), b = [0.0])")
    out = oracle.take_out(oracle.probe(student, "forward", "conv2d", inputs, {}), what)
    expected = np.array(LECTURE_OUTPUT, dtype=np.float64)[None, None]
    got = expect_array(out, shape=expected.shape, dtype=np.float64, what=what)
    flip = None if np.array_equal(got, expected) else oracle.flipped_kernel(got, inputs, {
        "stride": 1, "padding": 0})
    if flip:
        fail(f"{what}: expected {LECTURE_OUTPUT}, got {got[0, 0].tolist()}: {flip}")
    expect_array(got, expected, what=what, rtol=0, atol=1e-12)


@pytest.mark.points(1)
def test_conv_forward_sums_over_channels_with_a_1x1_kernel(student, rng):
    """Evidence of a real forward (the shape and argument checks wait for it)."""
    inputs = {**CHANNEL_CASE.inputs(rng), "b": np.zeros(CHANNEL_CASE.w[0])}
    what = (oracle.call_text("conv2d", inputs, CHANNEL_CASE.options)
            + " with a 1x1 kernel and b = 0: out[n, f] = sum over c of w[f, c, 0, 0] * x[n, c]")
    out = oracle.take_out(oracle.probe(student, "forward", "conv2d", inputs,
                                       CHANNEL_CASE.options), what)
    oracle.check_forward_output(out, "conv2d", inputs, CHANNEL_CASE.options, what)


@pytest.mark.points(1)
@pytest.mark.parametrize("case", FORWARD_CASES, ids=_ids(FORWARD_CASES))
def test_conv_forward_matches_torch(student, rng, case):
    inputs = case.inputs(rng)
    what = oracle.call_text("conv2d", inputs, case.options)
    out = oracle.take_out(oracle.probe(student, "forward", "conv2d", inputs, case.options), what)
    oracle.check_forward_output(out, "conv2d", inputs, case.options, what)


@pytest.mark.points(1)
@pytest.mark.gated_by("test_conv_forward_sums_over_channels_with_a_1x1_kernel")  # zeros pass it
def test_conv_output_shapes(student, rng):
    # (x shape, w shape, stride, padding) -> H' = (H + 2p - HH) // s + 1; includes a kernel as
    # large as the padded input (a 1x1 output), which must be accepted.
    for xs, ws, stride, padding in [((1, 1, 4, 4), (2, 1, 4, 4), 1, 0),
                                    ((2, 3, 3, 3), (1, 3, 5, 5), 1, 1),
                                    ((1, 2, 10, 10), (3, 2, 3, 3), 3, 0),
                                    ((3, 1, 11, 6), (2, 1, 4, 2), 2, 2),
                                    ((1, 1, 5, 12), (1, 1, 1, 3), 4, 1)]:
        inputs = ConvCase(xs, ws).inputs(rng)
        options = {"stride": stride, "padding": padding}
        expected = ((xs[0], ws[0], (xs[2] + 2 * padding - ws[2]) // stride + 1,
                     (xs[3] + 2 * padding - ws[3]) // stride + 1))
        what = oracle.call_text("conv2d", inputs, options)
        out = oracle.take_out(oracle.probe(student, "forward", "conv2d", inputs, options), what)
        expect_array(out, shape=expected, what=what)


@pytest.mark.points(1)
@pytest.mark.gated_by("test_conv_forward_sums_over_channels_with_a_1x1_kernel")  # raising passes
def test_conv_bad_arguments_raise(student, rng):
    # (why, x shape, w shape, b shape or None for (F,), stride, padding): every case the contract
    # lists. Non-square inputs, so a check of the wrong axis shows.
    bad = [("x has 3 channels, w expects 2", (2, 3, 5, 5), (4, 2, 3, 3), None, 1, 0),
           ("a 5x5 kernel on a 4x4 input without padding", (1, 1, 4, 4), (1, 1, 5, 5), None, 1, 0),
           ("a 7x3 kernel on a 4x8 input padded to 6x10", (1, 1, 4, 8), (1, 1, 7, 3), None, 1, 1),
           ("a 3x7 kernel on an 8x4 input padded to 10x6", (1, 1, 8, 4), (1, 1, 3, 7), None, 1, 1),
           ("x is 3-D", (3, 5, 5), (2, 3, 3, 3), None, 1, 0),
           ("b has shape (1,) for 4 filters", (2, 3, 5, 5), (4, 3, 3, 3), (1,), 1, 0),
           ("b has shape (4, 1), not (4,)", (1, 3, 5, 5), (4, 3, 3, 3), (4, 1), 1, 0),
           ("stride=0", (1, 1, 5, 5), (1, 1, 3, 3), None, 0, 0),
           ("padding=-1", (1, 1, 5, 5), (1, 1, 3, 3), None, 1, -1)]
    for why, xs, ws, bs, stride, padding in bad:
        inputs = {"x": rng.normal(size=xs), "w": rng.normal(size=ws),
                  "b": rng.normal(size=bs or ws[0])}
        options = {"stride": stride, "padding": padding}
        what = f"{oracle.call_text('conv2d', inputs, options)} ({why})"
        with expect_raises("ValueError", what=what):
            oracle.probe(student, "forward", "conv2d", inputs, options)


@pytest.mark.points(2)
def test_conv_forward_speed_on_a_batch_of_32x32_images(student, rng, settings, feedback):
    """Correct output on an (8, 3, 32, 32) batch (the points), and the time it took (information:
    beside torch's vectorised conv2d in the judge)."""
    inputs = SPEED_CASE.inputs(rng)
    what = oracle.call_text("conv2d", inputs, SPEED_CASE.options)
    answer = oracle.probe(student, "timed_forward", "conv2d", inputs, SPEED_CASE.options,
                           _timeout=settings.speed_timeout)
    out = oracle.take_out(answer, what)
    oracle.check_forward_output(out, "conv2d", inputs, SPEED_CASE.options, what)
    label, fast = oracle.fast_forward()
    theirs = oracle.best_seconds(lambda: fast(inputs, SPEED_CASE.options))
    # The time is what the run reports (a submission can report any): information only.
    seconds = answer.get("seconds")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0:
        feedback.info(f"Speed of conv2d_forward on x (8, 3, 32, 32), w (16, 3, 3, 3), padding "
                      f"1: {oracle.speed_text(float(seconds), theirs, label)}. "
                      "Information only; no points depend on it.")


# ---------------------------------------------------------------- conv2d backward

# Each case its own point: the last two cases (padding 0; a stride that leaves the last row and
# column unvisited) are the edge cases a backward most often gets wrong, and a slip there costs
# those cases only.
@pytest.mark.points(1)
@pytest.mark.parametrize("case", BACKWARD_CASES, ids=_ids(BACKWARD_CASES))
def test_conv_backward_matches_numerical_gradients(student, rng, case):
    inputs = case.inputs(rng)
    what = oracle.backward_text("conv2d", inputs, case.options)
    dout, grads = oracle.run_roundtrip(student, "conv2d", inputs, case.options, rng, what,
                                       forward_must_match=True)
    expected = oracle.numerical_gradients(student, "conv2d", inputs, case.options, dout, what)
    oracle.expect_gradients(grads, expected, "conv2d", tol=oracle.NUMERICAL_GRAD_TOL, what=what,
                            reference="numerical (from your forward)", options=case.options,
                            kernel=case.w)


@pytest.mark.points(1)
@pytest.mark.parametrize("case", BACKWARD_CASES, ids=_ids(BACKWARD_CASES))
def test_conv_backward_matches_torch_autograd(student, rng, case):
    inputs = case.inputs(rng)
    what = oracle.backward_text("conv2d", inputs, case.options)
    dout, grads = oracle.run_roundtrip(student, "conv2d", inputs, case.options, rng, what)
    expected = oracle.expected_gradients("conv2d", inputs, case.options, dout)
    oracle.expect_gradients(grads, expected, "conv2d", tol=oracle.TORCH_GRAD_TOL, what=what,
                            reference="torch autograd", options=case.options, kernel=case.w)


# ---------------------------------------------------------------- pooling

POOLS = ["max_pool2d", "avg_pool2d"]


@pytest.mark.points(1)
@pytest.mark.parametrize("case", POOL_CASES, ids=_ids(POOL_CASES))
@pytest.mark.parametrize("layer", POOLS)
def test_pool_forward_matches_torch(student, rng, layer, case):
    inputs = case.inputs(rng)
    what = oracle.call_text(layer, inputs, case.options)
    out = oracle.take_out(oracle.probe(student, "forward", layer, inputs, case.options), what)
    oracle.check_forward_output(out, layer, inputs, case.options, what)


@pytest.mark.points(1)
@pytest.mark.parametrize("case", POOL_CASES, ids=_ids(POOL_CASES))
@pytest.mark.parametrize("layer", POOLS)
def test_pool_backward_matches_torch_autograd(student, rng, layer, case):
    inputs = case.inputs(rng)
    what = oracle.backward_text(layer, inputs, case.options)
    dout, grads = oracle.run_roundtrip(student, layer, inputs, case.options, rng, what)
    expected = oracle.expected_gradients(layer, inputs, case.options, dout)
    oracle.expect_gradients(grads, expected, layer, tol=oracle.TORCH_GRAD_TOL, what=what,
                            reference="torch autograd")


@pytest.mark.points(1)
@pytest.mark.parametrize("layer", POOLS)
def test_pool_backward_matches_numerical_gradients(student, rng, layer):
    case = POOL_CASES[1]  # overlapping windows: contributions must add up
    inputs = case.inputs(rng)
    what = oracle.backward_text(layer, inputs, case.options)
    dout, grads = oracle.run_roundtrip(student, layer, inputs, case.options, rng, what,
                                       forward_must_match=True)
    expected = oracle.numerical_gradients(student, layer, inputs, case.options, dout, what)
    oracle.expect_gradients(grads, expected, layer, tol=oracle.NUMERICAL_GRAD_TOL, what=what,
                            reference="numerical (from your forward)")


@pytest.mark.points(1)
@pytest.mark.parametrize("case", TIE_CASES, ids=_ids(TIE_CASES))
def test_max_pool_ties_send_the_gradient_to_the_first_maximum(student, rng, case):
    # Values in {0, 1, 2}: most windows hold their maximum more than once. The first row of
    # ones is a window that is all ties: its gradient must go to its top-left position.
    x = rng.integers(0, 3, size=case.x).astype(np.float64)
    x[:, :, 0, :] = 1.0
    x[:, :, 1, :] = 1.0
    inputs = {"x": x}
    what = (oracle.backward_text("max_pool2d", inputs, case.options)
            + " with tied maxima (x holds only 0, 1 and 2; rows 0 and 1 are all 1)")
    dout, grads = oracle.run_roundtrip(student, "max_pool2d", inputs, case.options, rng, what)
    expected = oracle.expected_gradients("max_pool2d", inputs, case.options, dout)
    oracle.expect_gradients(
        grads, expected, "max_pool2d", tol=oracle.TORCH_GRAD_TOL, reference="torch autograd",
        what=f"{what}; on ties the whole gradient of a window goes to its first maximum in "
             "row-major order, as in torch")


@pytest.mark.points(1)
@pytest.mark.gated_by("test_pool_forward_matches_torch")  # a function that only raises passes
def test_pool_bad_arguments_raise(student, rng):
    for layer in POOLS:
        for why, xs, options in [
                ("a 3x3 window on a 4x2 input", (1, 1, 4, 2), {"kernel_size": 3, "stride": None}),
                ("a 3x3 window on a 2x4 input", (1, 1, 2, 4), {"kernel_size": 3, "stride": None}),
                ("kernel_size=0", (1, 1, 4, 4), {"kernel_size": 0, "stride": None}),
                ("kernel_size=0", (1, 1, 4, 4), {"kernel_size": 0, "stride": 1}),
                ("stride=0", (1, 1, 4, 4), {"kernel_size": 2, "stride": 0}),
                ("x is 3-D", (2, 4, 4), {"kernel_size": 2, "stride": None}),
                ("x is 5-D", (1, 2, 4, 4, 3), {"kernel_size": 2, "stride": None})]:
            inputs = {"x": rng.normal(size=xs)}
            what = f"{oracle.call_text(layer, inputs, options)} ({why})"
            with expect_raises("ValueError", what=what):
                oracle.probe(student, "forward", layer, inputs, options)
