"""Public checks for `param_count`: the expected values are PyTorch's (``numel`` of real layers,
the output of ``conv2d``), as the reference computes them, read from the golden data
(``golden.npz``, written by ``dlgrade release``), and the course's worked example.

Run them on your work with ``dlgrade check param_count``.

The checks about values judge the value whatever numeric type holds it (``oracle.as_number``);
"results are python ints" is the one check about the contract's types. Checks that a function
doing nothing also passes (bad arguments raise, the right types) pay only together with the
evidence named in their ``gated_by`` marker: the most basic value check of the same function.
"""

from __future__ import annotations

import pytest

from grader import golden
from grader.errors import StudentError
from grader.exercises.param_count.oracle import (call_text, expect_count, expect_model_count,
                                                 expect_shape_pair, pair_type_problem, shape_of,
                                                 type_problem)
from grader.exercises.param_count.probes import DESCRIPTIONS
from grader.expect import expect_raises, fail, short, type_name

pytestmark = pytest.mark.visibility("visible")

GOLDEN = golden.load("param_count")

# Evidence of real work for the checks that a trivial function passes: a basic value check of
# the function concerned, chosen so that the usual slips of that function still pass it
# (biases forgotten passes the bias=False counts; truncating division and a dilation ignored
# pass the plain stride and padding shapes).
REAL_DENSE = "test_dense_without_bias"
REAL_CONV = "test_conv_without_bias"
REAL_SHAPE = "test_output_shape_with_stride_and_padding"
REAL_COUNT = "test_count_parameters_of_an_mlp"


def _calls(group: str):
    """The calls of a group of golden cases: ``(args, kwargs, expected)``."""
    for name in GOLDEN.names(f"{group}/"):
        case = GOLDEN[f"{group}/{name}"]
        yield case.inputs["args"], case.inputs["kwargs"], case.expected


def _counts(student, function: str, group: str) -> None:
    for args, kw, expected in _calls(group):
        what = call_text(function, *args, **kw)
        expect_count(getattr(student, function)(*args, **kw), expected["count"], what=what)


def _shapes(student, group: str) -> None:
    for (h, w, kernel), kw, expected in _calls(group):
        what = call_text("conv2d_output_shape", h, w, kernel, **kw)
        assert "shape" in expected, f"{what}: a case of this check has no output (grader bug)"
        expect_shape_pair(shape_of(student, h, w, kernel, **kw), expected["shape"], what=what)


def _model(student, name: str, *, trainable_only: bool = False) -> None:
    expect_model_count(student, name, counts=GOLDEN[f"model/{name}"].expected,
                       trainable_only=trainable_only)


@pytest.mark.points(2)
def test_course_network_has_12013010_parameters(student):
    # 100x100 grey images, three hidden layers of 1000 units, 10 classes (the course's example).
    sizes = [10000, 1000, 1000, 1000, 10]
    expect_count(student.dense_param_count(sizes), 12_013_010,
                 what=call_text("dense_param_count", sizes))


@pytest.mark.points(1)
def test_dense_counts_match_torch(student):
    _counts(student, "dense_param_count", "dense")


@pytest.mark.points(1)
def test_dense_without_bias(student):
    _counts(student, "dense_param_count", "dense_without_bias")


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_DENSE)
def test_dense_rejects_bad_sizes(student):
    for sizes in ([10], [10, 0, 5], [10, -2], [10, 2.5], [4, True, 2]):
        with expect_raises("ValueError", what=call_text("dense_param_count", sizes)):
            student.dense_param_count(sizes)


@pytest.mark.points(1)
def test_conv_counts_with_square_kernels(student):
    _counts(student, "conv2d_param_count", "conv_square")


@pytest.mark.points(1)
def test_conv_counts_with_rectangular_kernels(student):
    _counts(student, "conv2d_param_count", "conv_rectangular")


@pytest.mark.points(1)
def test_conv_counts_with_groups(student):
    _counts(student, "conv2d_param_count", "conv_groups")


@pytest.mark.points(1)
def test_conv_without_bias(student):
    _counts(student, "conv2d_param_count", "conv_without_bias")


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_CONV)
def test_conv_channels_not_divisible_by_groups_raise(student):
    for c_in, c_out, g in ((6, 8, 4), (8, 6, 4), (5, 10, 2)):
        what = call_text("conv2d_param_count", c_in, c_out, 3, groups=g)
        with expect_raises("ValueError", what=what):
            student.conv2d_param_count(c_in, c_out, 3, groups=g)


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_CONV)
def test_conv_rejects_bad_sizes(student):
    # Not positive integers (zero, a float, a bool), a kernel pair of the wrong length.
    for args, kw in (((0, 4, 3), {}), ((3, 0, 3), {}), ((3, 4, 0), {}), ((3, 4, (3, 0)), {}),
                     ((3, 4, (3,)), {}), ((3, 4, (3, 3, 3)), {}), ((3, 4, 3), {"groups": 0}),
                     ((2.0, 4, 3), {}), ((3, 4, 3), {"groups": True})):
        with expect_raises("ValueError", what=call_text("conv2d_param_count", *args, **kw)):
            student.conv2d_param_count(*args, **kw)


@pytest.mark.points(2)
def test_output_shape_with_stride_and_padding(student):
    _shapes(student, "shape_stride_padding")  # 5, 28, 32 x kernels 1, 3, 5 x 3 strides x 3 pads


@pytest.mark.points(1)
def test_output_shape_with_dilation(student):
    _shapes(student, "shape_dilation")


@pytest.mark.points(1)
def test_output_shape_with_pairs(student):
    _shapes(student, "shape_pairs")  # pairs as tuples and lists; one row, one column


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_SHAPE)
def test_output_shape_rejects_bad_arguments(student):
    # Each argument out of its range, where the formula alone would still give an output
    # (padding makes room for a zero-sized input; a zero kernel or dilation shrinks the kernel).
    for h, w, k, kw in ((0, 5, 1, {"padding": 1}), (5, 0, 1, {"padding": 1}), (5, 5, 0, {}),
                        (5, 5, 3, {"stride": 0}), (5, 5, 3, {"padding": -1}),
                        (5, 5, 3, {"dilation": 0}), (5, 5, (3,), {}), (5, 5, (1, 1, 1), {}),
                        (5.0, 5, 3, {}), (5, 5, 3, {"stride": 1.5})):
        with expect_raises("ValueError", what=call_text("conv2d_output_shape", h, w, k, **kw)):
            shape_of(student, h, w, k, **kw)


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_SHAPE)
def test_non_positive_output_shape_raises(student):
    # torch refuses each of these ("Kernel size can't be greater than actual input size").
    for (h, w, k), kw, expected in _calls("shape_non_positive"):
        assert expected == {"raises": "ValueError"}, f"{(h, w, k, kw)} has an output (grader bug)"
        with expect_raises("ValueError", what=call_text("conv2d_output_shape", h, w, k, **kw)):
            shape_of(student, h, w, k, **kw)


@pytest.mark.points(1)
def test_count_parameters_of_an_mlp(student):
    _model(student, "mlp")


@pytest.mark.points(2)
def test_count_parameters_leaves_out_batchnorm_buffers(student):
    _model(student, "cnn_with_batchnorm")


@pytest.mark.points(2)
def test_count_parameters_counts_tied_weights_once(student):
    _model(student, "tied_autoencoder")


@pytest.mark.points(2)
def test_count_parameters_trainable_only(student):
    _model(student, "frozen_encoder", trainable_only=True)
    _model(student, "frozen_encoder", trainable_only=False)


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_SHAPE, REAL_COUNT)
def test_results_are_python_ints(student):
    # The one check about types: the contract says every count is a Python int and an output
    # shape a tuple of them (torch.Size is one). The values are the other checks' business, and
    # a function that raises is judged by its own checks.
    calls = (
        ("dense_param_count([4, 3])", lambda: student.dense_param_count([4, 3]), type_problem),
        ("conv2d_param_count(3, 8, 3)", lambda: student.conv2d_param_count(3, 8, 3),
         type_problem),
        ("conv2d_output_shape(8, 8, 3)", lambda: student.conv2d_output_shape(8, 8, 3),
         pair_type_problem),
        ("count_parameters(model)",
         lambda: student.probe("count_model", "mlp", False, _what="count_parameters(model)"),
         type_problem),
    )
    problems, errors = [], []
    for what, call, judge in calls:
        try:
            value = call()
        except StudentError as err:
            errors.append(err)
            continue
        problem = judge(value, what=what)
        if problem is not None:
            problems.append(problem)
    if len(errors) == len(calls):
        raise errors[0]
    if problems:
        fail("; ".join(problems))


@pytest.mark.points(1)
def test_count_parameters_with_a_zero_dimensional_parameter(student):
    """A learnable temperature is a 0-d parameter: shape ``()``, one number. The count is right,
    and of the type the same function returns for a model without one (the type itself is "results
    are python ints"' verdict, once): ``np.prod(())`` is the float 1.0, and a count built from it
    turns into a float for this model only."""
    name = "temperature_classifier"
    _model(student, name)
    call = "count_parameters(model)"
    got = student.probe("count_model", name, False, _what=call)
    plain = student.probe("count_model", "mlp", False, _what=call)
    if type(got) is not type(plain):
        fail(f"{call} returned {type_name(got)} {short(got)} for the model {name!r} "
             f"({DESCRIPTIONS[name]}) but {type_name(plain)} for the model 'mlp': the type must "
             f"not depend on the model (the contract: a Python int). A 0-d parameter has shape (), "
             f"and np.prod(()) is the float 1.0: count with p.numel()")
