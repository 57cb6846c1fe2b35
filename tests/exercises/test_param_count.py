"""Framework tests for the `param_count` exercise: the reference scores full marks, the stub zero,
and each deliberately wrong submission loses points in the check that targets its mistake.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest
import torch
from torch import nn

from grader.exercises.param_count.counts import torch_output_shape
from grader.exercises.param_count.probes import BUILDERS, DESCRIPTIONS, build_model
from tests.exercises.forgery import expect_forgery_earns_nothing
from tests.helpers import ASSIGNMENTS, SOLUTIONS, SUBMISSIONS, full_marks, lost_points

EX = "param_count"


def name(check: str) -> str:
    return f"{EX}: {check}"


COURSE = name("course network has 12013010 parameters")
DENSE = name("dense counts match torch")
DENSE_NO_BIAS = name("dense without bias")
DENSE_ERRORS = name("dense rejects bad sizes")
CONV_SQUARE = name("conv counts with square kernels")
CONV_RECT = name("conv counts with rectangular kernels")
CONV_GROUPS = name("conv counts with groups")
CONV_NO_BIAS = name("conv without bias")
CONV_ERRORS = name("conv channels not divisible by groups raise")
SHAPE = name("output shape with stride and padding")
SHAPE_DILATION = name("output shape with dilation")
SHAPE_PAIRS = name("output shape with pairs")
SHAPE_ERRORS = name("non positive output shape raises")
MLP = name("count parameters of an mlp")
BATCHNORM = name("count parameters leaves out batchnorm buffers")
TIED = name("count parameters counts tied weights once")
TRAINABLE = name("count parameters trainable only")
TYPES = name("results are python ints")
CONV_BAD = name("conv rejects bad sizes")
SHAPE_BAD = name("output shape rejects bad arguments")
ZERO_D = name("count parameters with a zero dimensional parameter")
PUBLIC = {COURSE, DENSE, DENSE_NO_BIAS, DENSE_ERRORS, CONV_SQUARE, CONV_RECT, CONV_GROUPS,
          CONV_NO_BIAS, CONV_ERRORS, SHAPE, SHAPE_DILATION, SHAPE_PAIRS, SHAPE_ERRORS, MLP,
          BATCHNORM, TIED, TRAINABLE, TYPES, CONV_BAD, SHAPE_BAD, ZERO_D}
H_DENSE = name("dense counts on hidden sizes")
H_CONV = name("conv counts on hidden sizes")
H_SHAPE = name("output shapes on hidden sizes")
H_FLOOR = name("output shape floors negative quotients")
H_MODELS = name("count parameters of other models")
H_FROZEN_BN = name("trainable only with frozen batchnorm")
HIDDEN = {H_DENSE, H_CONV, H_SHAPE, H_FLOOR, H_MODELS, H_FROZEN_BN}
ALL = PUBLIC | HIDDEN
# Paid only alongside evidence of real work (gated_by in the checks).
GATED = {DENSE_ERRORS, CONV_ERRORS, SHAPE_ERRORS, H_FLOOR, TYPES, CONV_BAD, SHAPE_BAD}


@pytest.fixture(scope="module")
def reports(graded):
    """Each folder graded once per session (tests/conftest.py)."""
    return lambda folder: graded(folder, EX)


def test_reference_scores_full_marks(reports):
    report = reports(SOLUTIONS)
    assert {c.name for c in report.checks} == PUBLIC | HIDDEN
    assert lost_points(report) == set(), [(c.name, c.output) for c in report.checks
                                          if c.score < c.max_score]
    assert full_marks(report)
    assert report.max_score == pytest.approx(10, abs=0.01)
    assert {c.name for c in report.checks if c.visibility == "hidden"} == HIDDEN


def test_stub_scores_zero_with_every_check_listed(reports):
    stub, ref = reports(ASSIGNMENTS), reports(SOLUTIONS)
    assert stub.score == 0
    assert [c.name for c in stub.checks] == [c.name for c in ref.checks]
    assert "param_count: implement count_parameters" in stub.check(TIED).output


# (submission folder, the checks it must lose, checks it must keep: its slip is elsewhere)
WRONG = {
    "biases_forgotten": ({COURSE, DENSE, CONV_SQUARE, CONV_RECT, CONV_GROUPS, H_DENSE, H_CONV},
                         {DENSE_NO_BIAS, CONV_NO_BIAS, MLP, DENSE_ERRORS, CONV_ERRORS, TYPES}),
    "buffers_counted": ({BATCHNORM, TIED, H_MODELS, H_FROZEN_BN}, {MLP, TRAINABLE, TYPES}),
    "tied_counted_twice": ({TIED, H_MODELS}, {BATCHNORM, MLP, TRAINABLE, TYPES}),
    "dilation_ignored": ({SHAPE_DILATION, SHAPE_PAIRS, SHAPE_ERRORS, H_SHAPE},
                         {SHAPE, H_FLOOR, TYPES}),
    # ignoring groups also means never checking them (groups=0 and groups=True are accepted)
    "groups_ignored": ({CONV_GROUPS, CONV_ERRORS, CONV_NO_BIAS, CONV_BAD, H_CONV},
                       {CONV_SQUARE, CONV_RECT, TYPES}),
    "truncating_division": ({SHAPE_ERRORS, H_FLOOR}, {SHAPE, SHAPE_DILATION, SHAPE_PAIRS, TYPES}),
    "trainable_flag_ignored": ({TRAINABLE, H_FROZEN_BN}, {MLP, BATCHNORM, TIED, TYPES}),
    # a wrong type with the right values costs the one check about types, nothing else
    "types_numpy_int64": ({TYPES}, ALL - {TYPES}),
    "types_float_and_list": ({TYPES}, ALL - {TYPES}),
    # np.prod(p.shape).item(): a float for a model with a 0-d parameter only (issue 18)
    "zero_d_parameter_counted_as_float": ({ZERO_D}, ALL - {ZERO_D}),
}


@pytest.mark.parametrize("wrong", sorted(WRONG))
def test_wrong_implementation_loses_its_checks(reports, wrong):
    must_lose, must_keep = WRONG[wrong]
    lost = lost_points(reports(SUBMISSIONS / EX / wrong))
    assert must_lose <= lost, f"{wrong} should lose {sorted(must_lose - lost)}; lost {sorted(lost)}"
    assert not (must_keep & lost), f"{wrong} should keep {sorted(must_keep & lost)}"


# Doing nothing earns at most 10 % of the exercise: only raising, zeros, constants, the input
# echoed (the last three with the cheap argument checks done; the stub is tested above).
ZERO = ["zero_raises_value_error", "zero_zeros", "zero_constant", "zero_echo"]


@pytest.mark.parametrize("zero", ZERO)
def test_zero_effort_earns_at_most_a_tenth(reports, zero):
    report = reports(SUBMISSIONS / EX / zero)
    assert report.score <= 0.1 * report.max_score + 1e-9, (
        zero, report.score, sorted(c.name for c in report.checks if c.score > 0))
    assert not any(c.score > 0 for c in report.checks if c.name in GATED)


# Forgeries: every function a stub, and the probes the value checks read (count_model,
# output_shape) replaced at import by ones that make up plausible answers (a Python int, a pair
# of positive ints). Measured on the checks as they were: 0; asserted to stay so.
FORGED = ["forge_counts"]


@pytest.mark.parametrize("forge", FORGED)
def test_forged_probe_answers_earn_no_more_than_the_stub(reports, forge, monkeypatch):
    expect_forgery_earns_nothing(reports(SUBMISSIONS / EX / forge), reports(ASSIGNMENTS),
                                 SUBMISSIONS / EX / forge, EX, monkeypatch)


OK = ["ok_torch_modules", "ok_recursive_analytic"]


@pytest.mark.parametrize("ok", OK)
def test_correct_variants_score_full_marks(reports, ok):
    report = reports(SUBMISSIONS / EX / ok)
    assert full_marks(report), [(c.name, c.output) for c in report.checks
                                if c.score < c.max_score]


def test_failure_messages_name_the_mistake(reports):
    buffers = reports(SUBMISSIONS / EX / "buffers_counted").check(BATCHNORM).output
    assert "got 5,621, expected 5,502" in buffers and "state_dict()" in buffers
    assert "buffers" in buffers and "tied" not in buffers
    tied = reports(SUBMISSIONS / EX / "tied_counted_twice").check(TIED).output
    assert "got 2,128, expected 1,104" in tied and "once per layer" in tied
    frozen = reports(SUBMISSIONS / EX / "trainable_flag_ignored").check(TRAINABLE).output
    assert "requires_grad=False" in frozen
    numpy_int = reports(SUBMISSIONS / EX / "types_numpy_int64").check(TYPES).output
    assert "count_parameters(model) returned numpy.int64" in numpy_int
    assert "Python int" in numpy_int and "int(...)" in numpy_int
    two = reports(SUBMISSIONS / EX / "types_float_and_list").check(TYPES).output
    assert "conv2d_param_count(3, 8, 3) returned float 224.0" in two and "//" in two
    assert "conv2d_output_shape(8, 8, 3) returned list" in two and "tuple" in two
    gated = reports(SUBMISSIONS / EX / "zero_zeros").check(DENSE_ERRORS).output
    assert "paid together with" in gated and DENSE_NO_BIAS in gated


# Unit tests of the reference and of the judge's oracles.

def _reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("param_count_reference",
                                                  SOLUTIONS / "param_count.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_course_numbers():
    ref = _reference()
    assert ref.dense_param_count([10000, 1000, 1000, 1000, 10]) == 12_013_010
    assert ref.dense_param_count([10000, 1000, 1000, 1000, 10], bias=False) == 12_010_000
    assert ref.conv2d_param_count(6, 12, (3, 5), groups=3) == 12 * 2 * 15 + 12
    assert ref.conv2d_output_shape(32, 32, 5) == (28, 28)


def test_reference_output_shape_agrees_with_torch_on_a_grid():
    """The formula (reference) and torch's conv2d (the judge's oracle) agree, errors included."""
    ref = _reference()
    for size in (1, 2, 3, 5, 8, 13):
        for k in (1, 2, 3, 5):
            for s in (1, 2, 3):
                for p in (0, 1, 2):
                    for d in (1, 2, 3):
                        expected = torch_output_shape(size, size + 1, k, stride=s, padding=p,
                                                      dilation=d)
                        if expected is None:
                            with pytest.raises(ValueError):
                                ref.conv2d_output_shape(size, size + 1, k, stride=s, padding=p,
                                                        dilation=d)
                        else:
                            assert ref.conv2d_output_shape(size, size + 1, k, stride=s,
                                                           padding=p, dilation=d) == expected


def test_reference_counts_every_probe_model_like_torch():
    ref = _reference()
    assert set(DESCRIPTIONS) == set(BUILDERS)
    for model_name in BUILDERS:
        model = build_model(model_name)
        assert ref.count_parameters(model) == sum(p.numel() for p in model.parameters())
        assert ref.count_parameters(model, trainable_only=True) == sum(
            p.numel() for p in model.parameters() if p.requires_grad)


def test_probe_models_exercise_what_they_are_named_for():
    """Each model makes the usual mistakes give a different count (or the check is useless)."""
    def counts(model_name):
        model = build_model(model_name)
        right = sum(p.numel() for p in model.parameters())
        state = sum(t.numel() for t in model.state_dict().values())
        twice = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        return right, state, twice, trainable

    right, state, _, _ = counts("cnn_with_batchnorm")
    assert state > right
    right, _, twice, _ = counts("tied_autoencoder")
    assert twice > right
    right, _, _, trainable = counts("frozen_encoder")
    assert trainable < right
    assert isinstance(build_model("shared_block")[0], nn.Linear)


@pytest.mark.parametrize("call", [
    lambda m: m.dense_param_count([10]),
    lambda m: m.dense_param_count([10, 0]),
    lambda m: m.dense_param_count([10, 2.5]),
    lambda m: m.conv2d_param_count(6, 8, 3, groups=4),
    lambda m: m.conv2d_param_count(3, 8, (3, 3, 3)),
    lambda m: m.conv2d_output_shape(2, 2, 3, stride=2),
    lambda m: m.conv2d_output_shape(5, 5, 3, stride=0),
    lambda m: m.conv2d_output_shape(5, 5, 3, padding=-1),
])
def test_reference_raises_value_error(call):
    with pytest.raises(ValueError):
        call(_reference())


def test_reference_count_parameters_does_not_modify_the_model():
    model = build_model("frozen_encoder")
    before = [(n, p.requires_grad, p.detach().clone()) for n, p in model.named_parameters()]
    _reference().count_parameters(model, trainable_only=True)
    after = list(model.named_parameters())
    assert all(n == m and g == q.requires_grad and torch.equal(t, q.detach())
               for (n, g, t), (m, q) in zip(before, after))


def test_the_golden_data_is_what_torch_computes():
    """The public checks' expected values (golden.npz, written from the reference by `dlgrade
    release`) are PyTorch's: counts of real layers, conv2d's output shape (or its refusal), and
    each public model's counts."""
    from grader import golden
    from grader.exercises.param_count.counts import (model_counts, torch_conv_count,
                                                     torch_dense_count)

    data = golden.load("param_count")
    groups = set()
    for name in data.names():
        case = data[name]
        group = name.split("/")[0]
        groups.add(group)
        if group == "model":
            assert case.expected == model_counts(case.inputs["name"]), name
            continue
        args, kw = case.inputs["args"], case.inputs["kwargs"]
        if group.startswith("dense"):
            assert case.expected == {"count": torch_dense_count(*args, **kw)}, name
        elif group.startswith("conv"):
            kernel = tuple(args[2]) if isinstance(args[2], list) else args[2]
            assert case.expected == {"count": torch_conv_count(args[0], args[1], kernel, **kw)}
        else:
            shape = torch_output_shape(*args, **kw)
            assert case.expected == ({"raises": "ValueError"} if shape is None
                                     else {"shape": shape}), name
    assert len(groups) == 11


def test_a_zero_dimensional_parameter_counted_as_a_float_is_named(reports):
    output = reports(SUBMISSIONS / EX / "zero_d_parameter_counted_as_float").check(ZERO_D).output
    assert "returned float 69.0" in output and "but int for the model 'mlp'" in output
    assert "np.prod(())" in output and "p.numel()" in output
