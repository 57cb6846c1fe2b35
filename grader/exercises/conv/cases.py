"""The cases of `conv`'s checks, and the golden data of the public ones (judge side: never ships).

``golden_cases()`` declares every public case: its inputs (drawn here once, from a seed per case)
and how its expected values come from the reference; ``dlgrade release`` writes them to
``golden.npz``, which is all the public checks read. The hidden checks draw their own inputs from
the case tables here and compare with the oracle in ``ops.py``. The framework's tests use the
tables too.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from grader.exercises.conv.ops import FLIPS
from grader.golden import Case, case_rng

# ---------------------------------------------------------------- configurations


@dataclass(frozen=True)
class ConvCase:
    """One conv2d configuration: shapes of x (N, C, H, W) and w (F, C, HH, WW)."""

    x: tuple[int, int, int, int]
    w: tuple[int, int, int, int]
    stride: int = 1
    padding: int = 0

    @property
    def id(self) -> str:
        return (f"x={'x'.join(map(str, self.x))},w={'x'.join(map(str, self.w))},"
                f"stride={self.stride},padding={self.padding}")

    @property
    def options(self) -> dict:
        return {"stride": self.stride, "padding": self.padding}

    def inputs(self, rng: np.random.Generator) -> dict:
        """Normal x, w, b; every filter of w asymmetric (see :func:`asymmetric_kernels`)."""
        return {"x": rng.normal(size=self.x), "w": asymmetric_kernels(rng, self.w),
                "b": rng.normal(size=self.w[0])}


# Every filter differs from itself flipped (a true convolution), upside down and left-right by
# at least this much somewhere, so that no kernel flip can pass a forward check by symmetry.
ASYMMETRY = 0.1


def asymmetric_kernels(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Normal filters of ``shape`` (F, C, HH, WW), each redrawn until it is asymmetric under
    every flip its size allows (a 1x1 filter, or a 1-wide axis, has nothing to flip)."""
    w = rng.normal(size=shape)
    flips = [f for f, n in (((2, 3), shape[2] * shape[3]), ((2,), shape[2]), ((3,), shape[3]))
             if n > 1]
    for f in range(shape[0]):
        while any(not (np.abs(w[f] - np.flip(w[f], axis=tuple(a - 1 for a in axes))).max()
                       >= ASYMMETRY) for axes in flips):
            w[f] = rng.normal(size=shape[1:])
    return w


@dataclass(frozen=True)
class PoolCase:
    """One pooling configuration: x (N, C, H, W), a square window, stride (None: the window)."""

    x: tuple[int, int, int, int]
    kernel_size: int
    stride: int | None = None

    @property
    def id(self) -> str:
        return f"x={'x'.join(map(str, self.x))},kernel_size={self.kernel_size},stride={self.stride}"

    @property
    def options(self) -> dict:
        return {"kernel_size": self.kernel_size, "stride": self.stride}

    def inputs(self, rng: np.random.Generator) -> dict:
        """Values all distinct and at least 0.01 apart: no ties, and max pooling is linear
        within +-h of them (the numerical gradient is exact there)."""
        size = int(np.prod(self.x))
        values = rng.permutation(size) * 0.01 + rng.uniform(0.0, 0.001, size) - size * 0.005
        return {"x": values.reshape(self.x)}


# ---------------------------------------------------------------- the public checks' cases

# The lecture's worked example: a 5x5 binary image and a 3x3 "7"-shaped kernel, no padding,
# stride 1. The kernel is asymmetric on purpose: flipped (a true convolution), upside down,
# left-right or transposed it gives another output (in 7 of the 9 positions or more), so a kernel
# flip cannot pass this check. (The lecture's old "X" kernel was symmetric and let a flip pass.)
LECTURE_IMAGE = [[1, 1, 1, 0, 0],
                 [0, 1, 1, 1, 0],
                 [0, 0, 1, 1, 1],
                 [0, 0, 1, 1, 0],
                 [0, 1, 1, 0, 0]]
LECTURE_KERNEL = [[1, 1, 1],
                  [0, 0, 1],
                  [0, 0, 1]]
LECTURE_OUTPUT = [[5, 4, 2],
                  [4, 5, 3],
                  [3, 3, 3]]

# Strides 1, 2, 3; paddings 0, 1, 2; odd, even and non-square kernels; N = 1 and N > 1; C > 1.
# With stride > 1, the common wrong formulas for H' ((H + 2*padding - HH + 1) // stride, or
# rounding up) give another size than torch in cases 3, 4, 5 and 7.
FORWARD_CASES = [
    ConvCase(x=(1, 1, 5, 5), w=(1, 1, 3, 3)),
    ConvCase(x=(2, 3, 7, 7), w=(4, 3, 3, 3), stride=1, padding=1),
    ConvCase(x=(2, 3, 8, 8), w=(4, 3, 3, 3), stride=2, padding=1),
    ConvCase(x=(2, 2, 9, 9), w=(3, 2, 3, 3), stride=2, padding=1),
    ConvCase(x=(3, 2, 9, 7), w=(2, 2, 2, 4), stride=3, padding=2),
    ConvCase(x=(2, 3, 6, 6), w=(2, 3, 5, 5), stride=1, padding=2),
    ConvCase(x=(1, 4, 7, 9), w=(3, 4, 3, 1), stride=2, padding=0),
]

# Small enough for central differences (2 * size forward calls per input, one worker call).
# The last two are the edge cases public implementations get wrong: padding = 0 (cropping the
# padded gradient with [p:-p] leaves nothing when p = 0) and a stride that does not divide
# H + 2p - HH (here 8 = 9 + 2 - 3 and 8 = 8 + 2 - 2 with stride 3: the windows never reach the last
# 2 rows and columns of the padded input, one more than the padding, so a gradient sized from the
# output, (H' - 1) * stride + HH, misses a row and a column of x itself). Each case is its own
# check, so each of these slips costs its case.
BACKWARD_CASES = [
    ConvCase(x=(2, 3, 6, 6), w=(4, 3, 3, 3), stride=1, padding=1),
    ConvCase(x=(2, 2, 7, 6), w=(3, 2, 3, 2), stride=2, padding=2),
    ConvCase(x=(2, 3, 6, 5), w=(4, 3, 3, 2), stride=1, padding=0),
    ConvCase(x=(2, 2, 9, 8), w=(3, 2, 3, 2), stride=3, padding=1),
]

# A 1x1 kernel and no bias: out[n, f] = sum over c of w[f, c] * x[n, c]. It judges only that the
# forward computes with its inputs (not zeros, not its input), so it is robust to the common
# slips (flip, padding, stride, bias) and is the evidence that the shape and argument checks wait
# for (see their gated_by markers).
CHANNEL_CASE = ConvCase(x=(2, 3, 4, 5), w=(4, 3, 1, 1))

# Non-overlapping (stride = window, the default), overlapping, and sizes that leave a remainder.
POOL_CASES = [
    PoolCase(x=(2, 3, 6, 6), kernel_size=2),
    PoolCase(x=(2, 2, 6, 7), kernel_size=3, stride=1),
    PoolCase(x=(1, 3, 7, 8), kernel_size=3, stride=2),
]
# The pool numerical-gradient check's case: overlapping windows, contributions must add up.
POOL_NUMERICAL_CASE = POOL_CASES[1]

# The timed forward. Its inputs are whole numbers in -2..2, so its output is exact whole numbers
# too (stored as int8), and the golden data holds every SPEED_STEP-th element of the output in
# row-major order (18,725 of 131,072): 20 KB instead of 1.2 MB of float64. The other forward
# checks judge every element; a slip that moves some elements of this output (a flip, padding,
# stride, bias, an edge row) moves about one in SPEED_STEP of them among those kept.
SPEED_CASE = ConvCase(x=(8, 3, 32, 32), w=(16, 3, 3, 3), stride=1, padding=1)
SPEED_STEP = 7

# Max pooling on values in {0, 1, 2}: non-overlapping and overlapping windows.
TIE_CASES = [
    PoolCase(x=(2, 2, 6, 6), kernel_size=2),
    PoolCase(x=(1, 2, 6, 5), kernel_size=3, stride=1),
]

POOLS = ("max_pool2d", "avg_pool2d")


def tie_inputs(rng: np.random.Generator, case: PoolCase) -> dict:
    """Values in {0, 1, 2}: most windows hold their maximum more than once. Rows 0 and 1 are all
    1: a window there is all ties, and its gradient must go to its top-left position."""
    x = rng.integers(0, 3, size=case.x).astype(np.float64)
    x[:, :, 0, :] = 1.0
    x[:, :, 1, :] = 1.0
    return {"x": x}


# ---------------------------------------------------------------- golden data

def _conv_expected(ref: ModuleType, inputs: dict[str, Any], *, hints: bool) -> dict[str, Any]:
    """The reference's output (and, with ``dout``, gradients) on ``inputs``; with ``hints``, its
    outputs with the kernel flipped and without the bias, for the checks' diagnoses."""
    x, w, b = inputs["x"], inputs["w"], inputs["b"]
    options = {"stride": inputs["stride"], "padding": inputs["padding"]}
    out, cache = ref.conv2d_forward(x, w, b, **options)
    expected = {"out": out}
    if "dout" in inputs:
        dx, dw, db = ref.conv2d_backward(inputs["dout"], cache)
        expected.update(dx=dx, dw=dw, db=db)
    if hints:
        for key, axes in FLIPS.items():
            flipped = np.ascontiguousarray(np.flip(w, axis=axes))
            if not np.array_equal(flipped, w):  # a 1-wide axis: nothing to flip
                expected[key] = ref.conv2d_forward(x, flipped, b, **options)[0]
        if np.any(b != 0):
            expected["no_bias"] = ref.conv2d_forward(x, w, np.zeros_like(b), **options)[0]
    return expected


def _pool_expected(layer: str):
    def compute(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
        options = {"kernel_size": inputs["kernel_size"], "stride": inputs["stride"]}
        out, cache = getattr(ref, f"{layer}_forward")(inputs["x"], **options)
        dx = getattr(ref, f"{layer}_backward")(inputs["dout"], cache)
        return {"out": out, "dx": dx}
    return compute


def _sampled(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
    out = _conv_expected(ref, inputs, hints=False)["out"]
    return {"shape": tuple(out.shape), "step": SPEED_STEP,
            "sample": np.ascontiguousarray(out.reshape(-1)[::SPEED_STEP])}


def _with_hints(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
    return _conv_expected(ref, inputs, hints=True)


def _without_hints(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
    return _conv_expected(ref, inputs, hints=False)


def _conv_case(name: str, case: ConvCase, *, compute=_with_hints, backward: bool = False,
               inputs: dict | None = None) -> Case:
    rng = case_rng(name)
    values = dict(inputs) if inputs is not None else case.inputs(rng)
    values.update(case.options)
    if backward:
        n, f = case.x[0], case.w[0]
        ho = (case.x[2] + 2 * case.padding - case.w[2]) // case.stride + 1
        wo = (case.x[3] + 2 * case.padding - case.w[3]) // case.stride + 1
        values["dout"] = rng.normal(size=(n, f, ho, wo))
    return Case(name, values, compute)


def _pool_case(name: str, layer: str, case: PoolCase, inputs: dict | None = None) -> Case:
    rng = case_rng(name)
    values = dict(inputs) if inputs is not None else case.inputs(rng)
    values.update(case.options)
    s = case.stride or case.kernel_size
    ho = (case.x[2] - case.kernel_size) // s + 1
    wo = (case.x[3] - case.kernel_size) // s + 1
    values["dout"] = rng.normal(size=(case.x[0], case.x[1], ho, wo))
    return Case(name, values, _pool_expected(layer))


def speed_inputs(rng: np.random.Generator) -> dict:
    """The timed case's inputs: whole numbers in -2..2 (see SPEED_CASE)."""
    return {"x": rng.integers(-2, 3, size=SPEED_CASE.x).astype(np.float64),
            "w": rng.integers(-2, 3, size=SPEED_CASE.w).astype(np.float64),
            "b": rng.integers(-2, 3, size=SPEED_CASE.w[0]).astype(np.float64)}


def golden_cases() -> list[Case]:
    """The public checks' cases: ``lecture``, ``channels``, ``speed``, ``forward/<id>``,
    ``backward/<id>``, ``<pool>/<id>`` and ``ties/<id>`` (max pooling on tied values)."""
    lecture = {"x": np.array(LECTURE_IMAGE, dtype=np.float64)[None, None],
               "w": np.array(LECTURE_KERNEL, dtype=np.float64)[None, None], "b": np.zeros(1)}
    channels = CHANNEL_CASE.inputs(case_rng("channels"))
    channels["b"] = np.zeros(CHANNEL_CASE.w[0])
    cases = [_conv_case("lecture", ConvCase((1, 1, 5, 5), (1, 1, 3, 3)), inputs=lecture),
             _conv_case("channels", CHANNEL_CASE, inputs=channels),
             _conv_case("speed", SPEED_CASE, compute=_sampled,
                        inputs=speed_inputs(case_rng("speed")))]
    cases += [_conv_case(f"forward/{c.id}", c) for c in FORWARD_CASES]
    cases += [_conv_case(f"backward/{c.id}", c, compute=_without_hints, backward=True)
              for c in BACKWARD_CASES]
    cases += [_pool_case(f"{layer}/{c.id}", layer, c) for layer in POOLS for c in POOL_CASES]
    cases += [_pool_case(f"ties/{c.id}", "max_pool2d", c,
                         inputs=tie_inputs(case_rng(f"ties/{c.id}"), c)) for c in TIE_CASES]
    return cases
