"""Framework tests for the `conv` exercise: the reference, the stub, and one slip per submission.

Each submission under ``tests/submissions/conv/`` is graded once per session (public and hidden
checks; the ``graded`` fixture of tests/conftest.py, shared with test_slips_catalogue.py) and
the tests assert which checks lose points, by family (the check's name without its ``[case]``)
and, where the slip only shows in some cases, by case.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader import golden
from grader.exercises.conv import ops, oracle
from grader.exercises.conv.cases import (BACKWARD_CASES, CHANNEL_CASE, FORWARD_CASES,
                                         LECTURE_IMAGE, LECTURE_KERNEL, LECTURE_OUTPUT,
                                         POOL_CASES, SPEED_CASE, TIE_CASES)
from grader.exercises.conv.cases import ASYMMETRY, ConvCase, PoolCase
from grader.release import strip_solutions
from grader.results import Report
from tests.exercises.forgery import expect_forgery_earns_nothing
from tests.helpers import SOLUTIONS, SUBMISSIONS, full_marks, grade_dir, lost_points

EX = "conv"
FORWARD = "conv: conv forward matches torch"
SPEED = "conv: conv forward speed on a batch of 32x32 images"
SHAPES = "conv: conv output shapes"
BACK_NUM = "conv: conv backward matches numerical gradients"
BACK_TORCH = "conv: conv backward matches torch autograd"
HIDDEN_CONV = "conv: conv forward and backward on hidden cases"
POOL_BACK_TORCH = "conv: pool backward matches torch autograd"
POOL_BACK_NUM = "conv: pool backward matches numerical gradients"
POOL_HIDDEN = "conv: pool forward and backward on hidden cases"
TIES = "conv: max pool ties send the gradient to the first maximum"
CACHES = "conv: each cache belongs to its own call"
LECTURE = "conv: lecture example"
CHANNELS = "conv: conv forward sums over channels with a 1x1 kernel"
BAD_ARGS = "conv: conv bad arguments raise"
POOL_BAD_ARGS = "conv: pool bad arguments raise"
GATE_TEXT = "so does a function that does not do the work yet"
FLIP_TEXT = "this looks like a flipped kernel (convolution instead of cross-correlation)"
ZERO_EFFORT = ["zero_zeros", "zero_input", "zero_constant", "zero_raises"]
PAD0_CASE = BACKWARD_CASES[2].id  # padding = 0
UNVISITED_CASE = BACKWARD_CASES[3].id  # stride 3 leaves the last 2 rows/columns unvisited


@pytest.fixture(scope="module")
def reports(graded):
    """``reports(name)``: the reference (``"reference"``) or a submission of
    ``tests/submissions/conv/``, graded once per session (tests/conftest.py)."""
    return lambda name: graded(SOLUTIONS if name == "reference" else SUBMISSIONS / EX / name, EX)


def family(check_name: str) -> str:
    return check_name.split(" [")[0]


def lost_families(report: Report) -> set[str]:
    return {family(n) for n in lost_points(report)}


def lost_cases(report: Report, fam: str) -> set[str]:
    """The ``[case]`` ids of family ``fam`` that lost points."""
    return {n[len(fam) + 2:-1] for n in lost_points(report) if family(n) == fam and "[" in n}


def no_grader_errors(report: Report) -> None:
    errors = [(c.name, c.output) for c in report.checks if c.status not in ("passed", "failed")]
    assert not errors, errors


def load_reference():
    spec = importlib.util.spec_from_file_location("conv_reference_for_tests", SOLUTIONS / "conv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- reference and stub

def test_reference_full_marks(reports):
    report = reports("reference")
    no_grader_errors(report)
    assert full_marks(report), sorted(lost_points(report))
    assert report.max_score == pytest.approx(25, abs=1e-9)  # marker points sum to 54
    assert len(report.checks) >= 40


def test_reference_is_fast_enough_to_grade(reports):
    assert reports("reference").seconds < 30  # measured ~3 s on the 2-core dev machine


def test_stub_scores_zero_on_every_check(reports, tmp_path: Path):
    stub = strip_solutions((SOLUTIONS / "conv.py").read_text(), EX)
    (tmp_path / "conv.py").write_text(stub)
    report = grade_dir(tmp_path, EX)
    no_grader_errors(report)
    assert report.score == 0
    assert {c.name for c in report.checks} == {c.name for c in reports("reference").checks}
    assert all("conv: implement" in c.output for c in report.checks)


def test_correct_loops_full_marks_and_speed_report(reports):
    report = reports("naive_loops")
    no_grader_errors(report)
    assert full_marks(report), sorted(lost_points(report))
    speed = report.check(SPEED).output
    assert "yours:" in speed and f"{oracle.BASELINE_LABEL}:" in speed and "x slower" in speed


# ---------------------------------------------------------------- one slip each

def test_flipped_kernel_loses_forward_checks_and_is_named(reports):
    report = reports("flipped_kernel")
    no_grader_errors(report)
    # The lecture's kernel is asymmetric: a flip fails it too. The 1x1-kernel check (the
    # evidence the shape and argument checks wait for) cannot see a flip, so those keep paying.
    assert lost_families(report) == {LECTURE, FORWARD, SPEED, BACK_NUM, HIDDEN_CONV}
    assert FLIP_TEXT in report.check(LECTURE).output
    assert lost_cases(report, FORWARD) == {c.id for c in FORWARD_CASES}
    for name in lost_points(report):
        if family(name) == FORWARD:
            assert FLIP_TEXT in report.check(name).output


def test_padding_on_one_side_loses_padded_cases_only(reports):
    report = reports("padding_one_side")
    no_grader_errors(report)
    assert {FORWARD, SHAPES, BACK_NUM, BACK_TORCH, SPEED} <= lost_families(report)
    lost = lost_cases(report, FORWARD)
    # With stride 2 the last window may never reach the bottom/right padding (x=2x3x8x8 case):
    # there, padding one side gives torch's output, and the check rightly passes.
    assert {c.id for c in FORWARD_CASES if c.padding > 0 and c.stride == 1} <= lost
    assert lost <= {c.id for c in FORWARD_CASES if c.padding > 0}


def test_wrong_output_size_for_stride_loses_strided_cases_only(reports):
    report = reports("stride_output_size")
    no_grader_errors(report)
    assert {FORWARD, SHAPES} <= lost_families(report)
    lost = lost_cases(report, FORWARD)

    def slip_changes_size(case) -> bool:  # the slip: (D + 1) // stride instead of D // stride + 1
        spans = (case.x[2] + 2 * case.padding - case.w[2], case.x[3] + 2 * case.padding - case.w[3])
        return any((d + 1) // case.stride != d // case.stride + 1 for d in spans)

    assert lost == {c.id for c in FORWARD_CASES if slip_changes_size(c)}
    assert all("stride=1," not in case for case in lost)
    assert "expected shape" in report.check(f"{FORWARD} [{sorted(lost)[0]}]").output


def test_backward_crop_minus_pad_loses_the_padding_0_cases_and_says_why(reports):
    """dxpad[:, :, p:-p] is right for p >= 1 and empty for p = 0 (a public implementation)."""
    report = reports("backward_crop_minus_pad")
    no_grader_errors(report)
    assert lost_families(report) == {BACK_NUM, BACK_TORCH, HIDDEN_CONV}
    assert lost_cases(report, BACK_NUM) == lost_cases(report, BACK_TORCH) == {PAD0_CASE}
    output = report.check(f"{BACK_TORCH} [{PAD0_CASE}]").output
    assert "padding=0" in output and "p:-p" in output, output


def test_dx_sized_from_the_output_loses_the_unvisited_stride_cases_and_says_why(reports):
    """A padded gradient of (H' - 1) * stride + HH rows misses the rows no window reaches."""
    report = reports("backward_dx_sized_from_output")
    no_grader_errors(report)
    assert lost_families(report) == {BACK_NUM, BACK_TORCH, HIDDEN_CONV}
    assert lost_cases(report, BACK_NUM) == lost_cases(report, BACK_TORCH) == {UNVISITED_CASE}
    output = report.check(f"{BACK_NUM} [{UNVISITED_CASE}]").output
    assert "windows never reach the last 2 row(s)" in output, output


def test_huge_forward_fails_every_gradient_check(reports):
    report = reports("huge_forward")
    no_grader_errors(report)
    assert report.score == 0
    output = report.check(f"{BACK_NUM} [{BACKWARD_CASES[0].id}]").output
    assert "gives wrong values on this input" in output, output


@pytest.mark.parametrize("folder", ZERO_EFFORT)
def test_zero_effort_earns_at_most_a_tenth(reports, folder):
    report = reports(folder)
    no_grader_errors(report)
    assert report.score <= 0.1 * report.max_score, [
        (c.name, c.score) for c in report.checks if c.score > 0]


# Forgeries: every function a stub, and the probes replaced at import by ones that return outputs
# of the right shapes with made-up values, made-up gradients, perturbed objectives that agree
# with them exactly, and a one-microsecond timing (information only: no points depend on it).
# Measured on the checks as they were: 0; asserted to stay so, and without a grader error.
FORGED = ["forge_probes"]


@pytest.mark.parametrize("forge", FORGED)
def test_forged_probe_answers_earn_no_more_than_the_stub(reports, forge, tmp_path: Path,
                                                         monkeypatch):
    (tmp_path / "conv.py").write_text(strip_solutions((SOLUTIONS / "conv.py").read_text(), EX))
    expect_forgery_earns_nothing(reports(forge), grade_dir(tmp_path, EX), SUBMISSIONS / EX / forge,
                                 EX, monkeypatch)


class _ForgedObjective:
    """A worker whose forward is right but whose perturbed objectives are those of a linear
    function with an arbitrary gradient: what a submission could report to make any backward
    "agree" with central differences."""

    def __init__(self, fake: dict) -> None:
        self.fake = fake

    def has(self, name: str) -> bool:
        return True

    def probe(self, name, layer, inputs, options, dout, which, stack, **kw):
        base = np.asarray(inputs[which], np.float64)
        values = [1.0 + float(np.sum(self.fake[which] * (v - base))) for v in stack]
        return {"values": np.array(values)}


def test_numerical_gradients_are_taken_only_of_the_forward():
    """The perturbed objectives are compared with the layer's on the same inputs (from the
    expected output and gradient): made-up values that would confirm any gradient fail; the
    reference's pass."""
    from grader.errors import CheckFailure
    from grader.exercises.conv.probes import objective

    case = BACKWARD_CASES[0]
    rng = np.random.default_rng(0)
    inputs = case.inputs(rng)
    dout = rng.normal(size=ops.forward("conv2d", inputs, case.options).shape)
    expected = ops.expected("conv2d", inputs, case.options, dout)
    fake = {k: rng.normal(size=np.shape(v)) for k, v in inputs.items()}
    with pytest.raises(CheckFailure, match="the numerical gradient can only vouch"):
        oracle.numerical_gradients(_ForgedObjective(fake), "conv2d", inputs, case.options,
                                   dout, expected, "conv2d")
    reference = load_reference()

    class Honest(_ForgedObjective):
        def probe(self, name, *args, **kw):
            return objective(reference, *args)

    grads = oracle.numerical_gradients(Honest(fake), "conv2d", inputs, case.options, dout,
                                       expected, "conv2d")
    for got, want in zip(grads, ops.gradients("conv2d", inputs, case.options, dout)):
        assert np.allclose(got, want, rtol=1e-5, atol=1e-6)


def test_trivial_properties_are_paid_only_with_a_real_forward(reports):
    zeros = reports("zero_zeros")  # right shapes and the contract's ValueErrors, nothing computed
    for check in (SHAPES, BAD_ARGS):
        assert zeros.check(check).score == 0 and GATE_TEXT in zeros.check(check).output
        assert CHANNELS in zeros.check(check).output
    assert GATE_TEXT in zeros.check(POOL_BAD_ARGS).output
    for case in BACKWARD_CASES:  # a zero backward matches the numerical gradient of zeros
        assert "gives wrong values on this input" in zeros.check(f"{BACK_NUM} [{case.id}]").output
    assert GATE_TEXT in reports("zero_raises").check(BAD_ARGS).output


def test_correct_im2col_full_marks(reports):
    report = reports("ok_im2col")
    no_grader_errors(report)
    assert full_marks(report), sorted(lost_points(report))


def test_db_not_summed_over_batch_loses_backward_checks(reports):
    report = reports("db_not_summed_over_batch")
    no_grader_errors(report)
    assert lost_families(report) == {BACK_NUM, BACK_TORCH, HIDDEN_CONV, CACHES}
    output = report.check(f"{BACK_TORCH} [{ConvCase((2, 3, 6, 6), (4, 3, 3, 3), 1, 1).id}]")
    assert "db: expected shape (4,)" in output.output


def test_max_pool_gradient_to_every_position_loses_max_pool_backward(reports):
    report = reports("max_pool_grad_to_every_position")
    no_grader_errors(report)
    assert lost_families(report) == {POOL_BACK_TORCH, POOL_BACK_NUM, POOL_HIDDEN, TIES, CACHES}
    assert all(n.startswith(f"{TIES}") or "max_pool2d" in n for n in lost_points(report))


def test_avg_pool_gradient_not_divided_loses_avg_pool_backward(reports):
    report = reports("avg_pool_grad_not_divided")
    no_grader_errors(report)
    assert lost_families(report) == {POOL_BACK_TORCH, POOL_BACK_NUM, POOL_HIDDEN, CACHES}
    assert all("avg_pool2d" in n for n in lost_points(report))


def test_state_in_a_global_loses_the_cache_check_only(reports):
    report = reports("conv_state_in_a_global")
    no_grader_errors(report)
    assert lost_points(report) == {f"{CACHES} [conv2d]"}


# ---------------------------------------------------------------- oracles, without the engine

def test_lecture_example_is_consistent():
    ref = load_reference()
    out, _ = ref.conv2d_forward(np.array(LECTURE_IMAGE, float)[None, None],
                                np.array(LECTURE_KERNEL, float)[None, None], np.zeros(1))
    assert out[0, 0].tolist() == LECTURE_OUTPUT
    torch_out = F.conv2d(torch.tensor(LECTURE_IMAGE, dtype=torch.float64)[None, None],
                         torch.tensor(LECTURE_KERNEL, dtype=torch.float64)[None, None])
    assert torch_out[0, 0].tolist() == LECTURE_OUTPUT
    flipped = F.conv2d(torch.tensor(LECTURE_IMAGE, dtype=torch.float64)[None, None],
                       torch.tensor(LECTURE_KERNEL, dtype=torch.float64).flip(0, 1)[None, None])
    assert (flipped[0, 0].numpy() != np.array(LECTURE_OUTPUT)).sum() >= 7  # a flip fails it


def test_torch_sends_tied_maxima_to_the_first_position():
    """The contract's tie rule is torch's behaviour: check it on this torch version."""
    x = torch.ones((1, 1, 2, 4), dtype=torch.float64, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad[0, 0].tolist() == [[1, 0, 1, 0], [0, 0, 0, 0]]


def test_flip_diagnosis_only_fires_for_a_flip():
    rng = np.random.default_rng(0)
    case = FORWARD_CASES[1]
    inputs = case.inputs(rng)
    expected = ops.expected("conv2d", inputs, case.options)
    flipped = ops.forward("conv2d", {**inputs, "w": inputs["w"][:, :, ::-1, ::-1]}, case.options)
    with pytest.raises(AssertionError, match="flipped kernel"):
        oracle.check_forward_output(flipped, "conv2d", expected, "call")
    upside_down = ops.forward("conv2d", {**inputs, "w": inputs["w"][:, :, ::-1]}, case.options)
    with pytest.raises(AssertionError, match="upside down"):
        oracle.check_forward_output(upside_down, "conv2d", expected, "call")
    with pytest.raises(AssertionError, match="differ") as info:
        oracle.check_forward_output(flipped + 1.0, "conv2d", expected, "call")
    assert "flipped" not in str(info.value)
    unbiased = ops.forward("conv2d", {**inputs, "b": np.zeros_like(inputs["b"])}, case.options)
    with pytest.raises(AssertionError, match="the bias b is missing"):
        oracle.check_forward_output(unbiased, "conv2d", expected, "call")


def test_every_case_has_asymmetric_kernels():
    """No kernel flip can pass a forward check by symmetry: every drawn filter differs from
    each of its flips (where the filter has more than one row / column)."""
    rng = np.random.default_rng(1)
    for case in [*FORWARD_CASES, *BACKWARD_CASES]:
        for _ in range(20):
            w = case.inputs(rng)["w"]
            for axes in ((2, 3), (2,), (3,)):
                if all(w.shape[a] > 1 for a in axes):
                    distance = np.abs(w - np.flip(w, axis=axes)).reshape(len(w), -1).max(axis=1)
                    assert np.all(distance >= ASYMMETRY), (case.id, axes)
    lecture = np.array(LECTURE_KERNEL)
    for flip in (lecture[::-1, ::-1], lecture[::-1], lecture[:, ::-1], lecture.T):
        assert not np.array_equal(flip, lecture)


def test_speed_text():
    assert oracle.speed_text(2.3, 0.004, "vectorised reference") == (
        "yours: 2.3 s, vectorised reference: 0.004 s (575x slower)")
    assert oracle.speed_text(0.002, 0.004, "torch's conv2d").endswith("(2.0x faster)")



def test_speed_baseline_needs_no_solutions_and_computes_no_conv2d():
    """The public speed check never needs solutions/ nor an oracle: it times the work of a
    vectorised conv2d on stand-in data of the case's sizes (im2col copy + one matrix product),
    about as fast as the reference's forward."""
    import time

    case = SPEED_CASE
    inputs = case.inputs(np.random.default_rng(0))
    label, run = oracle.baseline(inputs, case.options)
    assert label == oracle.BASELINE_LABEL
    assert run().shape == (8 * 32 * 32, 16)
    reference = load_reference()
    theirs = oracle.best_seconds(run)
    ours = oracle.best_seconds(lambda: reference.conv2d_forward(
        inputs["x"], inputs["w"], inputs["b"], **case.options))
    assert 0.1 < ours / theirs < 10, (ours, theirs)  # the same order of magnitude


# ---------------------------------------------------------------- the oracle is torch's

def torch_apply(layer: str, t: dict, options: dict) -> torch.Tensor:
    if layer == "conv2d":
        return F.conv2d(t["x"], t["w"], t["b"], stride=options["stride"],
                        padding=options["padding"])
    pool = F.max_pool2d if layer == "max_pool2d" else F.avg_pool2d
    return pool(t["x"], options["kernel_size"], options["stride"])


def torch_forward_and_gradients(layer: str, inputs: dict, options: dict,
                                dout: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    tensors = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
               for k, v in inputs.items()}
    out = torch_apply(layer, tensors, options)
    out.backward(torch.from_numpy(dout))
    names = ("x", "w", "b") if layer == "conv2d" else ("x",)
    return out.detach().numpy(), [tensors[k].grad.numpy() for k in names]


def oracle_cases():
    """Every case of the checks, random ones (strides 1-3, paddings 0-2, odd sizes), and
    pools on tied values."""
    rng = np.random.default_rng(7)
    for case in [*FORWARD_CASES, *BACKWARD_CASES, CHANNEL_CASE, SPEED_CASE]:
        yield "conv2d", case.inputs(rng), case.options
    for _ in range(40):
        n, c, f = rng.integers(1, 4, size=3)
        hh, ww = rng.integers(1, 5, size=2)
        p, s = int(rng.integers(0, 3)), int(rng.integers(1, 4))
        h, w = int(rng.integers(max(hh - 2 * p, 1), 12)), int(rng.integers(max(ww - 2 * p, 1), 12))
        case = ConvCase(x=(int(n), int(c), h, w), w=(int(f), int(c), int(hh), int(ww)),
                        stride=s, padding=p)
        yield "conv2d", case.inputs(rng), case.options
    pools = [*POOL_CASES, *TIE_CASES, PoolCase(x=(2, 1, 9, 7), kernel_size=2, stride=3),
             PoolCase(x=(1, 2, 5, 5), kernel_size=1)]
    for case in pools:
        for layer in ("max_pool2d", "avg_pool2d"):
            yield layer, case.inputs(rng), case.options
            ties = rng.integers(0, 3, size=case.x).astype(np.float64)
            yield layer, {"x": ties}, case.options


def test_the_numpy_oracle_computes_what_torch_computes():
    """The judge's oracle (ops.py, numpy: grading conv imports no torch) gives torch's outputs
    and autograd gradients, tied maxima included, to rounding (~1e-15 relative)."""
    rng = np.random.default_rng(8)
    count = 0
    for layer, inputs, options in oracle_cases():
        got = ops.forward(layer, inputs, options)
        dout = rng.normal(size=got.shape)
        want, want_grads = torch_forward_and_gradients(layer, inputs, options, dout)
        assert got.shape == want.shape and got.dtype == np.float64, (layer, options)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13, err_msg=f"{layer} {options}")
        grads = ops.gradients(layer, inputs, options, dout)
        assert len(grads) == len(want_grads)
        for g, e in zip(grads, want_grads):
            assert g.shape == e.shape and g.dtype == np.float64, (layer, options)
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-13, err_msg=f"{layer} {options}")
        count += 1
    assert count > 60


def test_grading_conv_does_not_import_torch():
    """The point of the numpy oracle: `dlgrade check conv` stays clear of torch's import."""
    import subprocess
    import sys

    code = ("import sys; import grader.exercises.conv.oracle, grader.exercises.conv.test_public, "
            "grader.exercises.conv.test_hidden; print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=SOLUTIONS.parent, timeout=120)
    assert proc.stdout.strip() == "False", proc.stderr


def test_the_golden_data_is_what_torch_computes():
    """The public checks' expected values (golden.npz, written from the reference by `dlgrade
    release`) are torch's results on the same inputs, hints included: forward outputs, the
    outputs with flipped kernels and without the bias, and autograd's gradients."""
    data = golden.load("conv")
    count = 0
    for name in data.names():
        case = data[name]
        values = case.inputs
        layer = "conv2d" if "w" in values else ("avg_pool2d" if name.startswith("avg_pool2d")
                                                 else "max_pool2d")
        inputs, options, dout = oracle.split(layer, values)
        if "dout" not in values:
            dout = np.zeros(ops.forward(layer, inputs, options).shape)
        want, want_grads = torch_forward_and_gradients(layer, inputs, options, dout)
        expected = case.expected
        if "sample" in expected:  # the timed case: every step-th element
            assert tuple(expected["shape"]) == want.shape
            np.testing.assert_array_equal(expected["sample"],
                                          want.reshape(-1)[::expected["step"]])
            count += 1
            continue
        np.testing.assert_allclose(expected["out"], want, rtol=1e-12, atol=1e-13, err_msg=name)
        if "dout" in values:
            for g, e in zip(oracle.expected_gradients(layer, expected), want_grads):
                np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-13, err_msg=name)
        for key, axes in ops.FLIPS.items():
            if key in expected:
                flipped = {**inputs, "w": np.flip(inputs["w"], axis=axes).copy()}
                np.testing.assert_allclose(expected[key], torch_forward_and_gradients(
                    layer, flipped, options, dout)[0], rtol=1e-12, atol=1e-13, err_msg=name)
        if "no_bias" in expected:
            unbiased = {**inputs, "b": np.zeros_like(inputs["b"])}
            np.testing.assert_allclose(expected["no_bias"], torch_forward_and_gradients(
                layer, unbiased, options, dout)[0], rtol=1e-12, atol=1e-13, err_msg=name)
        count += 1
    assert count == len(data.names()) >= 20
