"""Public checks for `conv`: the student's layers against expectations, never an implementation.

The expected values (torch's results, as the reference computes them) are the golden data of the
public cases, ``golden.npz``, written from the reference by ``dlgrade release``; numerical
gradients are taken of the student's own forward. Nothing here needs ``solutions/`` or computes
a layer: the student release runs these as they are.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader import golden
from grader.exercises.conv import oracle
from grader.expect import expect_array, expect_raises, fail

pytestmark = pytest.mark.visibility("visible")

GOLDEN = golden.load("conv")
FORWARD = GOLDEN.names("forward/")
BACKWARD = GOLDEN.names("backward/")
POOL_CASES = GOLDEN.names("max_pool2d/")
TIES = GOLDEN.names("ties/")
POOL_NUMERICAL = "x=2x2x6x7,kernel_size=3,stride=1"  # overlapping windows: contributions add up


def _case(name: str, layer: str = "conv2d"):
    """``(inputs, options, dout, expected)`` of golden case ``name``."""
    case = GOLDEN[name]
    inputs, options, dout = oracle.split(layer, case.inputs)
    return inputs, options, dout, case.expected


# ---------------------------------------------------------------- conv2d forward

@pytest.mark.points(2)
def test_lecture_example(student):
    inputs, options, _, expected = _case("lecture")
    kernel = inputs["w"][0, 0].astype(int).tolist()
    what = ("conv2d_forward(x = the lecture's 5x5 image as (1, 1, 5, 5), w = the 3x3 '7' kernel "
            f"{kernel} as (1, 1, 3, 3), b = [0.0])")
    out = oracle.take_out(oracle.probe(student, "forward", "conv2d", inputs, options), what)
    want = np.asarray(expected["out"], dtype=np.float64)
    got = expect_array(out, shape=want.shape, dtype=np.float64, what=what)
    flip = None if np.array_equal(got, want) else oracle.flipped_kernel(got, expected)
    if flip:
        fail(f"{what}: expected {want[0, 0].tolist()}, got {got[0, 0].tolist()}: {flip}")
    expect_array(got, want, what=what, rtol=0, atol=1e-12)


@pytest.mark.points(1)
def test_conv_forward_sums_over_channels_with_a_1x1_kernel(student):
    """Evidence of a real forward (the shape and argument checks wait for it)."""
    inputs, options, _, expected = _case("channels")
    what = (oracle.call_text("conv2d", inputs, options)
            + " with a 1x1 kernel and b = 0: out[n, f] = sum over c of w[f, c, 0, 0] * x[n, c]")
    out = oracle.take_out(oracle.probe(student, "forward", "conv2d", inputs, options), what)
    oracle.check_forward_output(out, "conv2d", expected, what)


@pytest.mark.points(1)
@pytest.mark.parametrize("case", FORWARD, ids=FORWARD)
def test_conv_forward_matches_torch(student, case):
    inputs, options, _, expected = _case(f"forward/{case}")
    what = oracle.call_text("conv2d", inputs, options)
    out = oracle.take_out(oracle.probe(student, "forward", "conv2d", inputs, options), what)
    oracle.check_forward_output(out, "conv2d", expected, what)


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
        inputs = {"x": rng.normal(size=xs), "w": rng.normal(size=ws), "b": rng.normal(size=ws[0])}
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
def test_conv_forward_speed_on_a_batch_of_32x32_images(student, settings, feedback):
    """Correct output on an (8, 3, 32, 32) batch (the points), and the time it took (information:
    beside the work of a vectorised conv2d in the judge)."""
    inputs, options, _, expected = _case("speed")
    what = oracle.call_text("conv2d", inputs, options)
    answer = oracle.probe(student, "timed_forward", "conv2d", inputs, options,
                          _timeout=settings.speed_timeout)
    oracle.check_sampled_output(oracle.take_out(answer, what), expected, what)
    label, run = oracle.baseline(inputs, options)
    theirs = oracle.best_seconds(run)
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
@pytest.mark.parametrize("case", BACKWARD, ids=BACKWARD)
def test_conv_backward_matches_numerical_gradients(student, case):
    inputs, options, dout, expected = _case(f"backward/{case}")
    what = oracle.backward_text("conv2d", inputs, options)
    grads = oracle.run_roundtrip(student, "conv2d", inputs, options, dout, expected["out"], what,
                                 forward_must_match=True)
    numerical = oracle.numerical_gradients(student, "conv2d", inputs, options, dout, expected,
                                           what)
    oracle.expect_gradients(grads, numerical, "conv2d", tol=oracle.NUMERICAL_GRAD_TOL,
                            what=what, reference="numerical (from your forward)",
                            options=options, kernel=inputs["w"].shape)


@pytest.mark.points(1)
@pytest.mark.parametrize("case", BACKWARD, ids=BACKWARD)
def test_conv_backward_matches_torch_autograd(student, case):
    inputs, options, dout, expected = _case(f"backward/{case}")
    what = oracle.backward_text("conv2d", inputs, options)
    grads = oracle.run_roundtrip(student, "conv2d", inputs, options, dout, expected["out"], what)
    oracle.expect_gradients(grads, oracle.expected_gradients("conv2d", expected), "conv2d",
                            tol=oracle.TORCH_GRAD_TOL, what=what, reference="torch autograd",
                            options=options, kernel=inputs["w"].shape)


# ---------------------------------------------------------------- pooling

POOLS = ["max_pool2d", "avg_pool2d"]


@pytest.mark.points(1)
@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_CASES)
@pytest.mark.parametrize("layer", POOLS)
def test_pool_forward_matches_torch(student, layer, case):
    inputs, options, _, expected = _case(f"{layer}/{case}", layer)
    what = oracle.call_text(layer, inputs, options)
    out = oracle.take_out(oracle.probe(student, "forward", layer, inputs, options), what)
    oracle.check_forward_output(out, layer, expected, what)


@pytest.mark.points(1)
@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_CASES)
@pytest.mark.parametrize("layer", POOLS)
def test_pool_backward_matches_torch_autograd(student, layer, case):
    inputs, options, dout, expected = _case(f"{layer}/{case}", layer)
    what = oracle.backward_text(layer, inputs, options)
    grads = oracle.run_roundtrip(student, layer, inputs, options, dout, expected["out"], what)
    oracle.expect_gradients(grads, oracle.expected_gradients(layer, expected), layer,
                            tol=oracle.TORCH_GRAD_TOL, what=what, reference="torch autograd")


@pytest.mark.points(1)
@pytest.mark.parametrize("layer", POOLS)
def test_pool_backward_matches_numerical_gradients(student, layer):
    inputs, options, dout, expected = _case(f"{layer}/{POOL_NUMERICAL}", layer)
    what = oracle.backward_text(layer, inputs, options)
    grads = oracle.run_roundtrip(student, layer, inputs, options, dout, expected["out"], what,
                                 forward_must_match=True)
    numerical = oracle.numerical_gradients(student, layer, inputs, options, dout, expected, what)
    oracle.expect_gradients(grads, numerical, layer, tol=oracle.NUMERICAL_GRAD_TOL, what=what,
                            reference="numerical (from your forward)")


@pytest.mark.points(1)
@pytest.mark.parametrize("case", TIES, ids=TIES)
def test_max_pool_ties_send_the_gradient_to_the_first_maximum(student, case):
    # Values in {0, 1, 2}: most windows hold their maximum more than once. The first row of
    # ones is a window that is all ties: its gradient must go to its top-left position.
    inputs, options, dout, expected = _case(f"ties/{case}", "max_pool2d")
    what = (oracle.backward_text("max_pool2d", inputs, options)
            + " with tied maxima (x holds only 0, 1 and 2; rows 0 and 1 are all 1)")
    grads = oracle.run_roundtrip(student, "max_pool2d", inputs, options, dout, expected["out"],
                                 what)
    oracle.expect_gradients(
        grads, oracle.expected_gradients("max_pool2d", expected), "max_pool2d",
        tol=oracle.TORCH_GRAD_TOL, reference="torch autograd",
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
