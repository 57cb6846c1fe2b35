"""Hidden checks for `param_count`: random sizes (from the check's seed), other models.

The oracle stays PyTorch (``counts.py``, judge side only); the random cases are drawn in the judge
from ``rng``.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.exercises.param_count.counts import (model_counts, torch_conv_count,
                                                 torch_dense_count, torch_output_shape)
from grader.exercises.param_count.oracle import (call_text, expect_count, expect_model_count,
                                                 expect_shape_pair, shape_of)
from grader.expect import expect_raises

pytestmark = pytest.mark.visibility("hidden")


@pytest.mark.points(1)
def test_dense_counts_on_hidden_sizes(student, rng):
    for _ in range(6):
        sizes = [int(s) for s in rng.integers(1, 3000, size=int(rng.integers(2, 7)))]
        bias = bool(rng.integers(0, 2))
        expect_count(student.dense_param_count(sizes, bias=bias),
                     torch_dense_count(sizes, bias=bias),
                     what=call_text("dense_param_count", sizes, bias=bias))


@pytest.mark.points(1)
def test_conv_counts_on_hidden_sizes(student, rng):
    for _ in range(8):
        groups = int(rng.choice([1, 1, 2, 3, 4, 8]))
        c_in = groups * int(rng.integers(1, 17))
        c_out = groups * int(rng.integers(1, 17))
        kernel = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
        kernel = kernel[0] if rng.random() < 0.5 else kernel
        bias = bool(rng.integers(0, 2))
        expect_count(student.conv2d_param_count(c_in, c_out, kernel, bias=bias, groups=groups),
                     torch_conv_count(c_in, c_out, kernel, bias=bias, groups=groups),
                     what=call_text("conv2d_param_count", c_in, c_out, kernel, bias=bias,
                                    groups=groups))


def _random_pair(rng: np.random.Generator, low: int, high: int) -> int | tuple[int, int]:
    if rng.random() < 0.5:
        return int(rng.integers(low, high))
    return int(rng.integers(low, high)), int(rng.integers(low, high))


@pytest.mark.points(2)
def test_output_shapes_on_hidden_sizes(student, rng):
    for _ in range(30):
        h, w = (int(v) for v in rng.integers(1, 70, size=2))
        kw = {"stride": _random_pair(rng, 1, 5), "padding": _random_pair(rng, 0, 4),
              "dilation": _random_pair(rng, 1, 4)}
        kernel = _random_pair(rng, 1, 8)
        what = call_text("conv2d_output_shape", h, w, kernel, **kw)
        expected = torch_output_shape(h, w, kernel, **kw)
        if expected is None:
            with expect_raises("ValueError", what=what):
                shape_of(student, h, w, kernel, **kw)
        else:
            expect_shape_pair(shape_of(student, h, w, kernel, **kw), expected, what=what)


@pytest.mark.points(1)
@pytest.mark.gated_by("test_output_shape_with_stride_and_padding")  # raising alone passes this
def test_output_shape_floors_negative_quotients(student):
    # The numerator is negative here (-1 and -2): floor gives 0 (raise), truncation gives 1.
    for h, w, k, kw in ((2, 5, 3, {"stride": 2}), (5, 3, (1, 5), {"stride": 3}),
                        (1, 1, 2, {"stride": 2})):
        assert torch_output_shape(h, w, k, **kw) is None
        with expect_raises("ValueError", what=call_text("conv2d_output_shape", h, w, k, **kw)):
            shape_of(student, h, w, k, **kw)


@pytest.mark.points(2)
def test_count_parameters_of_other_models(student):
    for name in ("lstm_classifier", "tied_language_model", "shared_block", "transformer_layer"):
        expect_model_count(student, name, counts=model_counts(name))


@pytest.mark.points(1)
def test_trainable_only_with_frozen_batchnorm(student):
    counts = model_counts("partly_frozen_cnn")
    expect_model_count(student, "partly_frozen_cnn", counts=counts, trainable_only=True)
    expect_model_count(student, "partly_frozen_cnn", counts=counts)
