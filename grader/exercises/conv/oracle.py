"""Judge-side helpers for `conv`: the oracle (torch's results, computed in numpy by ``ops.py``),
input makers and the shared check steps.

Runs in the trusted judge only. Every student value arrives through a probe (see ``probes.py``)
and is validated here in the order type -> shape -> dtype -> finite -> values before any
arithmetic, so an odd return value fails the check with a message instead of crashing the grader.

Tolerances (calibrated with ``calibrate.py``, ``dlgrade calibrate conv --seeds 100``; float64):
The oracle is torch's result computed in numpy (``ops.py``; the framework's tests hold it within
1e-12 relative of torch 2.x on every case and on random ones), so grading needs no torch.
- FORWARD_RTOL/ATOL: the reference differs from the oracle by 0 (the same einsum; from torch
  itself by at most 3.2e-13, scaled as in ``expect_array``); a float64 loop that sums in another
  order stays as close (the naive-loops and im2col variants get full marks). Real slips (flip,
  padding, bias, stride) are O(1) off.
- TORCH_GRAD_TOL: per-element relative error ``|a-b| / max(1e-8, |a|+|b|)`` against torch
  autograd. Absolute differences are ~1e-15, so only elements near zero have a relative error
  above 1e-12 (measured worst 4.7e-10 against the oracle, 1.2e-10 against torch).
- NUMERICAL_GRAD_TOL with step H: central differences of the student's *own* forward. Every layer
  here is linear in each of its inputs (max pooling piecewise linear, and the checks' inputs keep
  every value 0.009 or more from the others, so a step of H never changes a window's maximum):
  the central difference has no truncation error at all and only rounding, ~1e-16 * |f| / H,
  remains. So H = 1e-3 rather than numgrad's usual 1e-5: 100x less rounding, same exactness.
  Measured worst for the reference 1.4e-8 (on near-zero elements); a real slip gives >= 1e-2.

Every comparison is NaN-safe: ``_close`` tests ``|got - torch| <= tol`` (NaN is never close), and
the gradient checks use grader.numgrad's ``not (err <= tol)``. The numerical checks also require
the student's forward to be right on their input first (``run_roundtrip(forward_must_match=True)``):
central differences of a zero or identity forward are matched by a zero or pass-through backward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.errors import Missing
from grader.exercises.conv import ops
from grader.expect import expect_array, fail, type_name
from grader.numgrad import expect_gradient, gradient_from_values, perturbations, relative_error

FORWARD_RTOL = 1e-8  # reference's worst over 100 seeds 0 (torch: 3.2e-13): margin >= 3e4
FORWARD_ATOL = 1e-10  # for outputs near zero; rounding there is ~1e-15
TORCH_GRAD_TOL = 1e-6  # reference's worst over 100 seeds 4.7e-10 (near-zero elements): margin 2e3
NUMERICAL_GRAD_TOL = 1e-4  # reference's worst over 100 seeds 1.4e-8 with H: margin ~7e3
H = 1e-3  # exact for these (piecewise) linear layers; see the module docstring

GRAD_NAMES = {"conv2d": ("dx", "dw", "db"), "max_pool2d": ("dx",), "avg_pool2d": ("dx",)}


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


# ---------------------------------------------------------------- the oracle (judge only)

def expected_forward(layer: str, inputs: dict, options: dict) -> np.ndarray:
    """torch.nn.functional's result for the layer, float64 (computed by :mod:`.ops` in numpy,
    held equal to torch by the framework's tests)."""
    return ops.forward(layer, inputs, options)


def expected_gradients(layer: str, inputs: dict, options: dict,
                       dout: np.ndarray) -> list[np.ndarray]:
    """torch autograd's gradients of ``sum(layer(inputs) * dout)`` w.r.t. each input, in INPUTS
    order (computed by :mod:`.ops`)."""
    return ops.gradients(layer, inputs, options, dout)


# ---------------------------------------------------------------- describing calls

def call_text(layer: str, inputs: dict, options: dict) -> str:
    """``conv2d_forward(x of shape (2, 3, 7, 7), ..., stride=1, padding=1)``: shapes, not the
    (random) values, which would not help a student find the slip."""
    parts = [f"{k} of shape {tuple(np.shape(v))}" for k, v in inputs.items()]
    parts += [f"{k}={v!r}" for k, v in options.items()]
    return f"{layer}_forward({', '.join(parts)})"


def backward_text(layer: str, inputs: dict, options: dict) -> str:
    """``conv2d_backward(dout, cache) after conv2d_forward(...)``."""
    return f"{layer}_backward(dout, cache) after {call_text(layer, inputs, options)}"


# ---------------------------------------------------------------- check steps

_NEEDS = {"forward": ("forward",), "timed_forward": ("forward",), "objective": ("forward",),
          "roundtrip": ("forward", "backward"), "interleaved": ("forward", "backward")}


def probe(student: Any, name: str, layer: str, *args: Any, **kwargs: Any) -> Any:
    """``student.probe(name, layer, ...)``, after checking that the functions it drives exist
    (so a missing function reads "no function ...", not an AttributeError inside a probe)."""
    for part in _NEEDS[name]:
        func = f"{layer}_{part}"
        if not student.has(func):
            raise Missing(f"conv.py has no function {func}(): define it with the signature "
                          "in the assignment")
    return student.probe(name, layer, *args, **kwargs)


def answer_dict(answer: Any, what: str) -> dict:
    """A probe's answer is a dict; anything else (a submission can replace the probes) fails
    the check instead of breaking the grader."""
    if not isinstance(answer, dict):
        fail(f"{what}: the call did not return its result (got {type_name(answer)})")
    return answer


def take_out(answer: Any, what: str) -> Any:
    """The ``out`` of a probe answer; fails when the student's forward returned no pair."""
    answer = answer_dict(answer, what)
    if "not_a_pair" in answer:
        fail(f"{what}: expected a pair (out, cache), got {str(answer['not_a_pair'])[:100]}")
    return answer.get("out")


def check_forward_output(out: Any, layer: str, inputs: dict, options: dict, what: str) -> None:
    """``out`` against torch: form first, then values, then (on a mismatch) named slips."""
    expected = expected_forward(layer, inputs, options)
    got = expect_array(out, shape=expected.shape, dtype=np.float64, what=what)
    if _close(got, expected):
        return
    if layer == "conv2d":
        flip = flipped_kernel(got, inputs, options)
        if flip:
            fail(f"{what}: {flip}")
        unbiased = expected_forward(layer, {**inputs, "b": np.zeros_like(inputs["b"])}, options)
        if _close(got, unbiased):
            fail(f"{what}: the bias b is missing: out[n, f] must include + b[f]")
    expect_array(got, expected, what=what, rtol=FORWARD_RTOL, atol=FORWARD_ATOL)


FLIP_HINT = "this looks like a flipped kernel (convolution instead of cross-correlation)"
CROSS_CORRELATION = ("out[n, f, i, j] = b[f] + sum over c, p, q of "
                     "xpad[n, c, i*stride + p, j*stride + q] * w[f, c, p, q], with w not flipped")


def flipped_kernel(got: np.ndarray, inputs: dict, options: dict) -> str | None:
    """A message when ``got`` is conv2d's output with the kernel flipped (both axes: a true
    convolution; or one axis), else None. ``got`` has the right shape already."""
    for axes, how in (((2, 3), FLIP_HINT),
                      ((2,), "this looks like a kernel flipped upside down (rows reversed)"),
                      ((3,), "this looks like a kernel flipped left-right (columns reversed)")):
        w = np.flip(inputs["w"], axis=axes)
        if np.array_equal(w, inputs["w"]):
            continue  # nothing to flip (a 1-wide axis): a flip cannot be told apart
        if _close(got, expected_forward("conv2d", {**inputs, "w": w}, options)):
            return (f"{how}: torch's conv2d, and this exercise, compute a cross-correlation: "
                    f"{CROSS_CORRELATION}")
    return None


def _close(got: np.ndarray, expected: np.ndarray) -> bool:
    return bool(np.all(np.abs(got - expected) <= FORWARD_ATOL + FORWARD_RTOL * np.abs(expected)))


def run_roundtrip(student: Any, layer: str, inputs: dict, options: dict,
                  rng: np.random.Generator, what: str, *,
                  forward_must_match: bool = False) -> tuple[np.ndarray, list[Any]]:
    """Forward + backward in the worker with a random upstream gradient.

    Validates the forward output's form and the backward result's structure; returns ``dout``
    and the list of gradients (one per input, unchecked values).

    ``forward_must_match``: for the checks against numerical gradients of the student's own
    forward. Those say something about the backward only where the forward is right: a forward
    that returns zeros (or its input) has a zero (or pass-through) gradient, which a backward
    doing nothing matches. So the forward's values on this very input must match torch first.
    """
    expected = expected_forward(layer, inputs, options)
    shape = expected.shape
    dout = rng.normal(size=shape)
    answer = probe(student, "roundtrip", layer, inputs, options, dout)
    out = take_out(answer, what)
    expect_array(out, shape=shape, dtype=np.float64, what=f"{what} (forward output)")
    if forward_must_match and not _close(out, expected):
        fail(f"{what}: your {layer}_forward gives wrong values on this input (the forward checks "
             "say where), so the numerical gradient of your forward cannot vouch for your "
             f"{layer}_backward: this check is paid when your forward is right on this input")
    grads = answer.get("grads")
    if layer == "conv2d":
        if not isinstance(grads, (tuple, list)) or len(grads) != 3:
            size = f" of length {len(grads)}" if isinstance(grads, (tuple, list)) else ""
            fail(f"{what}: expected a tuple (dx, dw, db), got {type_name(grads)}{size}")
        return dout, list(grads)
    return dout, [grads]


def expect_gradients(got: list[Any], expected: list[np.ndarray], layer: str, *, tol: float,
                     what: str, reference: str, options: dict | None = None,
                     kernel: tuple[int, ...] | None = None) -> None:
    """Each gradient: type, shape (named after its input), dtype float64, finite, values.

    For conv2d, ``options`` (stride, padding) and ``kernel`` (w's shape) let a wrongly shaped
    ``dx`` say which edge case it missed (padding 0, a stride that leaves rows unvisited)."""
    for name, g, e in zip(GRAD_NAMES[layer], got, expected):
        if isinstance(g, np.ndarray) and g.shape == e.shape and g.dtype != np.float64:
            fail(f"{what}: {name}: expected dtype float64, got dtype {g.dtype}")
        if (name == "dx" and layer == "conv2d" and options is not None and kernel is not None
                and isinstance(g, np.ndarray) and g.shape != e.shape):
            hint = dx_shape_hint(g.shape, e.shape, options, kernel)
            if hint:
                fail(f"{what}: dx: expected shape {e.shape} (the shape of x), got shape "
                     f"{g.shape}: {hint}")
        expect_gradient(g, e, name=name, tol=tol, what=what, reference=reference)


def dx_shape_hint(got: tuple[int, ...], want: tuple[int, ...], options: dict,
                  kernel: tuple[int, ...]) -> str | None:
    """Why a conv2d ``dx`` has the wrong spatial size, for the two edge cases that public
    implementations miss; None when neither explains it."""
    if len(got) != 4 or got[:2] != want[:2]:
        return None
    p, s = options["padding"], options["stride"]
    if p == 0 and 0 in got[2:]:
        return ("with padding=0 there is nothing to crop, and a slice like dxpad[:, :, p:-p] is "
                "empty when p = 0; crop with dxpad[:, :, p:p + H, p:p + W] instead")
    spans = [want[2] + 2 * p - kernel[2], want[3] + 2 * p - kernel[3]]
    unvisited = [d % s for d in spans]
    if any(unvisited) and all(g <= w for g, w in zip(got[2:], want[2:])):
        return (f"with stride {s}, the windows never reach the last {unvisited[0]} row(s) and "
                f"{unvisited[1]} column(s) of the padded input ((H + 2p - HH) % stride, "
                "(W + 2p - WW) % stride); those pixels still belong to x, with gradient 0, so size "
                "the padded gradient like the padded input (N, C, H + 2p, W + 2p), not from the "
                "output size")
    return None


def numerical_gradients(student: Any, layer: str, inputs: dict, options: dict,
                        dout: np.ndarray, what: str) -> list[np.ndarray]:
    """Central differences of ``sum(student_forward(...) * dout)`` w.r.t. each input, computed
    from one worker call per input (all perturbations sent at once)."""
    grads = []
    for name in ("x", "w", "b") if layer == "conv2d" else ("x",):
        stack = perturbations(inputs[name], h=H)
        answer = answer_dict(probe(student, "objective", layer, inputs, options, dout, name,
                                   stack), what)
        if "bad_out" in answer:
            fail(f"{what}: with {name} perturbed, the forward output became "
                 f"{str(answer['bad_out'])[:100]}; expected a float array of shape {dout.shape}")
        values = expect_array(answer.get("values"), shape=(len(stack),), dtype=np.float64,
                              what=f"{what} (perturbed outputs)")
        expect_objective(values, layer, inputs, options, dout, name, stack, what=what)
        grads.append(gradient_from_values(values, np.shape(inputs[name]), h=H))
    return grads


# The perturbed outputs a numerical gradient is taken of must be the forward's: a submission
# could report values of another function (one whose gradient is whatever its backward says),
# so each reported sum(out * dout) is compared with torch's on the same perturbed input, with
# the forward checks' tolerance scaled to the sum (|got - torch| <= 1e-9 + 1e-8 sum|out*dout|).
# Within it a central difference (H = 1e-3) moves by at most ~1e-5 of the sum's size, far below
# any wrong gradient. The reference: ~1e-15 relative (einsum against torch's conv2d).
OBJECTIVE_RTOL, OBJECTIVE_ATOL = 1e-8, 1e-9


def expect_objective(values: np.ndarray, layer: str, inputs: dict, options: dict,
                     dout: np.ndarray, name: str, stack: np.ndarray, *, what: str) -> None:
    """``values[i]`` is ``sum(forward(inputs with name = stack[i]) * dout)`` as torch computes
    the forward (the student's forward was checked right on ``inputs`` just before)."""
    dout = np.asarray(dout, np.float64)
    stack = np.asarray(stack, np.float64)
    if layer == "max_pool2d":
        # piecewise linear: each perturbed input is evaluated (a cheap forward)
        terms = [expected_forward(layer, {**inputs, name: r}, options) * dout for r in stack]
        expected = np.array([np.sum(t) for t in terms])
        scale = np.array([np.sum(np.abs(t)) for t in terms])
    else:
        # conv2d is linear in x and in w and affine in b, avg pooling linear in x, so
        # sum(forward(..., name = r) * dout) = sum(forward(...) * dout) + <r - inputs[name], g>,
        # g the gradient w.r.t. ``name``, exactly (rounding ~1e-15 of the sum, against the
        # tolerance's 1e-8): one forward and one backward instead of one forward per
        # perturbation (2,300 conv2d forwards in the public checks, 0.6 s)
        term = expected_forward(layer, inputs, options) * dout
        grad = expected_gradients(layer, inputs, options, dout)[GRAD_NAMES[layer].index("d" + name)]
        moved = (stack - np.asarray(inputs[name], np.float64)).reshape(len(stack), -1)
        expected = float(np.sum(term)) + moved @ grad.reshape(-1)
        scale = np.full(len(stack), float(np.sum(np.abs(term))))
    bad = np.flatnonzero(~(np.abs(values - expected) <= OBJECTIVE_ATOL + OBJECTIVE_RTOL * scale))
    if bad.size:
        i = int(bad[0])
        fail(f"{what}: with one element of {name} moved by +-{H:g}, your {layer}_forward "
             f"gave sum(out * dout) = {float(values[i]):.10g} where that forward gives "
             f"{float(expected[i]):.10g} (perturbation {i}): the numerical gradient can only "
             f"vouch for a backward when it is taken of the forward the forward checks verify")


def worst_relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    """For calibration: the largest per-element relative error (numgrad's definition)."""
    err = relative_error(got, expected)
    return float(err.max()) if err.size else 0.0


# ---------------------------------------------------------------- timing (judge side)

def best_seconds(func: Any, *, max_runs: int = 20, budget: float = 0.5) -> float:
    """The fastest run of ``func()``: at least 3 runs, more (up to ``max_runs``) while the total
    stays under ``budget`` seconds. The minimum is the run least disturbed by other processes,
    which matters on a loaded grading machine."""
    import time

    best, total, runs = float("inf"), 0.0, 0
    with _quiet_blas():
        while runs < 3 or (runs < max_runs and total < budget):
            start = time.perf_counter()
            func()
            seconds = time.perf_counter() - start
            best, total, runs = min(best, seconds), total + seconds, runs + 1
    return best


def _quiet_blas() -> Any:
    """One BLAS thread while timing in the judge: with torch loaded, numpy's BLAS threads fight
    torch's OpenMP threads and numpy runs ~10-20x slower (measured: 0.5 ms -> 8-12 ms for the
    reference's forward), which would make the student's code look faster than it is."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def speed_text(yours: float, theirs: float, label: str) -> str:
    """``yours: 2.3 s, vectorised reference: 0.004 s (575x slower)``."""
    ratio = yours / max(theirs, 1e-9)
    if ratio >= 1.5:
        verdict = f"{ratio:.0f}x slower" if ratio >= 10 else f"{ratio:.1f}x slower"
    elif ratio <= 1 / 1.5:
        verdict = f"{1 / ratio:.1f}x faster"
    else:
        verdict = "about as fast"
    return f"yours: {_seconds(yours)}, {label}: {_seconds(theirs)} ({verdict})"


def _seconds(s: float) -> str:
    return f"{s:.2g} s" if s < 10 else f"{s:.0f} s"


def fast_forward() -> tuple[str, Any]:
    """What to time the student's forward against: a vectorised numpy conv2d (``ops.conv2d``,
    one einsum over strided windows, as fast as torch's CPU conv2d on this size: 0.9 ms against
    0.8 ms measured). Not the reference: a public check must give the same feedback in the
    student release, which has no solutions.

    Returns ``(label, func)`` with ``func(inputs, options)`` running one forward in the judge.
    """
    return ("vectorised conv2d (numpy einsum)",
            lambda inputs, options: expected_forward("conv2d", inputs, options))
