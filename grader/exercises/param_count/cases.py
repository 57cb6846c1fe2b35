"""The public cases of `param_count` and their golden data (judge side: never ships).

``golden_cases()`` declares every call of a public check that is compared with an expected value,
grouped by check (``<group>/<the call as text>``), and how the expected value comes from the
reference: a count, an output shape, or ``{"raises": "ValueError"}``; and for each public model,
the reference's counts with and without ``trainable_only`` and, computed with PyTorch, the counts
the usual mistakes give (so that the check can name the mistake). ``dlgrade release`` writes them
to ``golden.npz``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from grader.exercises.param_count.counts import model_counts
from grader.exercises.param_count.oracle import call_text
from grader.exercises.param_count.probes import build_model
from grader.golden import Case

DENSE = [[784, 10], [2, 3, 1], [100, 50, 50, 50, 10], [1, 1], (64, 32, 16)]
DENSE_WITHOUT_BIAS = [[784, 10], [10000, 1000, 1000, 1000, 10], [2, 3, 1]]
CONV_SQUARE = [(3, 16, 3), (1, 6, 5), (64, 128, 1), (16, 32, 7), (4, 1, 3)]
CONV_RECTANGULAR = [(3, 8, (1, 7)), (16, 32, (5, 3)), (2, 4, [3, 2]), (8, 8, (3, 3))]
CONV_GROUPS = [(8, 16, 3, 2), (32, 32, 3, 32), (6, 12, (3, 5), 3), (4, 4, 1, 4)]
CONV_WITHOUT_BIAS = [(3, 16, 3, 1), (16, 32, (5, 3), 1), (8, 16, 3, 4)]
SHAPE_STRIDE_PADDING = [(size, size, k, {"stride": stride, "padding": padding})
                        for size in (5, 28, 32) for k in (1, 3, 5) for stride in (1, 2, 3)
                        for padding in (0, 1, 2)]
SHAPE_DILATION = [(size, size, k, {"stride": s, "padding": p, "dilation": d})
                  for size, k, s, p, d in ((28, 3, 1, 0, 2), (32, 3, 2, 1, 3), (15, 5, 1, 4, 2),
                                           (9, 2, 1, 0, 8), (64, 7, 4, 3, 5))]
SHAPE_PAIRS = [(28, 20, (3, 5), {}), (32, 17, 3, {"stride": (2, 1)}),
               (10, 12, (1, 3), {"padding": (0, 2)}),
               (30, 31, (3, 2), {"stride": (1, 3), "padding": (2, 1), "dilation": (3, 2)}),
               (7, 9, [3, 3], {"stride": [2, 2], "padding": [1, 0], "dilation": [1, 2]}),
               (1, 7, (1, 3), {}), (9, 1, 1, {"stride": 2})]  # one row, one column
# torch refuses each of these ("Kernel size can't be greater than actual input size").
SHAPE_NON_POSITIVE = [(2, 2, 3, {"stride": 2}), (4, 10, 5, {}), (10, 10, 3, {"dilation": 5}),
                      (8, 3, (1, 4), {"dilation": (1, 2)})]
MODELS = ["mlp", "cnn_with_batchnorm", "tied_autoencoder", "frozen_encoder", "temperature_classifier"]


def _call(function: str):
    def compute(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            value = getattr(ref, function)(*inputs["args"], **inputs["kwargs"])
        except ValueError:
            return {"raises": "ValueError"}
        if function == "conv2d_output_shape":
            return {"shape": tuple(int(v) for v in value)}
        return {"count": int(value)}
    return compute


def _model(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
    """The judge's counts for the model (right and usual wrong ones), with "all" and "trainable"
    from the reference's ``count_parameters``."""
    counts = model_counts(inputs["name"])
    model = build_model(inputs["name"])
    counts["all"] = int(ref.count_parameters(model))
    counts["trainable"] = int(ref.count_parameters(model, trainable_only=True))
    return counts


def _cases(group: str, function: str, calls: list[tuple[tuple, dict]]) -> list[Case]:
    return [Case(f"{group}/{call_text(function, *args, **kwargs)}",
                 {"args": list(args), "kwargs": dict(kwargs)}, _call(function))
            for args, kwargs in calls]


def golden_cases() -> list[Case]:
    cases = _cases("dense", "dense_param_count", [((s,), {}) for s in DENSE])
    cases += _cases("dense_without_bias", "dense_param_count",
                    [((s,), {"bias": False}) for s in DENSE_WITHOUT_BIAS])
    cases += _cases("conv_square", "conv2d_param_count", [(c, {}) for c in CONV_SQUARE])
    cases += _cases("conv_rectangular", "conv2d_param_count", [(c, {}) for c in CONV_RECTANGULAR])
    cases += _cases("conv_groups", "conv2d_param_count",
                    [((i, o, k), {"groups": g}) for i, o, k, g in CONV_GROUPS])
    cases += _cases("conv_without_bias", "conv2d_param_count",
                    [((i, o, k), {"bias": False, "groups": g}) for i, o, k, g in CONV_WITHOUT_BIAS])
    for group, calls in (("shape_stride_padding", SHAPE_STRIDE_PADDING),
                         ("shape_dilation", SHAPE_DILATION), ("shape_pairs", SHAPE_PAIRS),
                         ("shape_non_positive", SHAPE_NON_POSITIVE)):
        cases += _cases(group, "conv2d_output_shape", [((h, w, k), kw) for h, w, k, kw in calls])
    cases += [Case(f"model/{name}", {"name": name}, _model) for name in MODELS]
    return cases
