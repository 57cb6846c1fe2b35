"""The check steps of `conv`, shared by the public and hidden checks: they compare a student's
values with *expected values* they are given and never compute one.

Expected values come from the golden data (public checks: ``golden.npz``, written from the
reference by ``dlgrade release``) or from the judge-only oracle ``ops.py`` (hidden checks), in
the same layout: ``out``; ``dx``, ``dw``, ``db`` for a backward; and for conv2d, the outputs with
the kernel flipped (``flipped_both``, ``flipped_rows``, ``flipped_cols``) and without the bias
(``no_bias``), so that a wrong forward is named. This module ships with the student release.

Every student value arrives through a probe (see ``probes.py``) and is validated here in the
order type -> shape -> dtype -> finite -> values before any arithmetic, so an odd return value
fails the check with a message instead of crashing the grader.

Tolerances (calibrated with ``calibrate.py``, ``dlgrade calibrate conv --seeds 100``; float64):
the expected values are torch's results (the golden data is the reference's, which the
framework's tests hold within 1e-12 relative of torch 2.x on every public case; ``ops.py`` is
held as close to torch on every case and on random ones).
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

from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.errors import Missing
from grader.expect import expect_array, fail, type_name
from grader.numgrad import expect_gradient, gradient_from_values, perturbations, relative_error

FORWARD_RTOL = 1e-8  # reference's worst over 100 seeds 0 (torch: 3.2e-13): margin >= 3e4
FORWARD_ATOL = 1e-10  # for outputs near zero; rounding there is ~1e-15
TORCH_GRAD_TOL = 1e-6  # reference's worst over 100 seeds 4.7e-10 (near-zero elements): margin 2e3
NUMERICAL_GRAD_TOL = 1e-4  # reference's worst over 100 seeds 1.4e-8 with H: margin ~7e3
H = 1e-3  # exact for these (piecewise) linear layers; see the module docstring

GRAD_NAMES = {"conv2d": ("dx", "dw", "db"), "max_pool2d": ("dx",), "avg_pool2d": ("dx",)}
INPUTS = {"conv2d": ("x", "w", "b"), "max_pool2d": ("x",), "avg_pool2d": ("x",)}
OPTIONS = {"conv2d": ("stride", "padding"), "max_pool2d": ("kernel_size", "stride"),
           "avg_pool2d": ("kernel_size", "stride")}


def split(layer: str, values: Mapping[str, Any]) -> tuple[dict, dict, np.ndarray | None]:
    """A golden case's inputs as ``(inputs, options, dout)``: the layer's arrays by name, its
    keyword arguments, and the upstream gradient (None for a forward-only case)."""
    inputs = {k: values[k] for k in INPUTS[layer]}
    options = {k: values[k] for k in OPTIONS[layer]}
    return inputs, options, values.get("dout")


def expected_gradients(layer: str, expected: Mapping[str, Any]) -> list[np.ndarray]:
    """The expected gradients in the layer's input order (``dx``, ``dw``, ``db``)."""
    return [np.asarray(expected[name], dtype=np.float64) for name in GRAD_NAMES[layer]]


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


def check_forward_output(out: Any, layer: str, expected: Mapping[str, Any], what: str) -> None:
    """``out`` against ``expected["out"]``: form first, then values, then (on a mismatch) the
    named slips whose outputs ``expected`` holds (a flipped kernel, a missing bias)."""
    want = np.asarray(expected["out"], dtype=np.float64)
    got = expect_array(out, shape=want.shape, dtype=np.float64, what=what)
    if _close(got, want):
        return
    if layer == "conv2d":
        flip = flipped_kernel(got, expected)
        if flip:
            fail(f"{what}: {flip}")
        if "no_bias" in expected and _close(got, np.asarray(expected["no_bias"], np.float64)):
            fail(f"{what}: the bias b is missing: out[n, f] must include + b[f]")
    expect_array(got, want, what=what, rtol=FORWARD_RTOL, atol=FORWARD_ATOL)


def check_sampled_output(out: Any, expected: Mapping[str, Any], what: str) -> None:
    """``out`` against an output the golden data holds every ``step``-th element of (row-major):
    ``expected`` has ``shape``, ``step`` and ``sample``. The message names the first element that
    differs by its index in ``out``."""
    shape = tuple(int(n) for n in expected["shape"])
    step = int(expected["step"])
    sample = np.asarray(expected["sample"], dtype=np.float64)
    got = expect_array(out, shape=shape, dtype=np.float64, what=what)
    kept = got.reshape(-1)[::step]
    bad = ~(np.abs(kept - sample) <= FORWARD_ATOL + FORWARD_RTOL * np.abs(sample))
    if np.any(bad):
        i = int(np.argmax(bad))
        idx = tuple(int(k) for k in np.unravel_index(i * step, shape))
        fail(f"{what}: {int(bad.sum())} of the {kept.size} values checked (every {step}th, "
             f"row-major) differ; the first at index {idx}: got {float(kept[i])!r}, expected "
             f"{float(sample[i])!r} (tolerance atol={FORWARD_ATOL:g}, rtol={FORWARD_RTOL:g})")


FLIP_HINT = "this looks like a flipped kernel (convolution instead of cross-correlation)"
CROSS_CORRELATION = ("out[n, f, i, j] = b[f] + sum over c, p, q of "
                     "xpad[n, c, i*stride + p, j*stride + q] * w[f, c, p, q], with w not flipped")
FLIPS = (("flipped_both", FLIP_HINT),
         ("flipped_rows", "this looks like a kernel flipped upside down (rows reversed)"),
         ("flipped_cols", "this looks like a kernel flipped left-right (columns reversed)"))


def flipped_kernel(got: np.ndarray, expected: Mapping[str, Any]) -> str | None:
    """A message when ``got`` is conv2d's output with the kernel flipped (both axes: a true
    convolution; or one axis), as ``expected`` holds it, else None. ``got`` has the right shape
    already; a flip ``expected`` does not hold (a 1-wide axis) cannot be told apart."""
    for key, how in FLIPS:
        if key in expected and _close(got, np.asarray(expected[key], np.float64)):
            return (f"{how}: torch's conv2d, and this exercise, compute a cross-correlation: "
                    f"{CROSS_CORRELATION}")
    return None


def _close(got: np.ndarray, expected: np.ndarray) -> bool:
    return bool(np.all(np.abs(got - expected) <= FORWARD_ATOL + FORWARD_RTOL * np.abs(expected)))


def run_roundtrip(student: Any, layer: str, inputs: dict, options: dict, dout: np.ndarray,
                  expected_out: np.ndarray, what: str, *,
                  forward_must_match: bool = False) -> list[Any]:
    """Forward + backward in the worker with the upstream gradient ``dout``.

    Validates the forward output's form and the backward result's structure; returns the list
    of gradients (one per input, unchecked values).

    ``forward_must_match``: for the checks against numerical gradients of the student's own
    forward. Those say something about the backward only where the forward is right: a forward
    that returns zeros (or its input) has a zero (or pass-through) gradient, which a backward
    doing nothing matches. So the forward's values on this very input must match first.
    """
    expected_out = np.asarray(expected_out, dtype=np.float64)
    shape = expected_out.shape
    answer = probe(student, "roundtrip", layer, inputs, options, dout)
    out = take_out(answer, what)
    expect_array(out, shape=shape, dtype=np.float64, what=f"{what} (forward output)")
    if forward_must_match and not _close(out, expected_out):
        fail(f"{what}: your {layer}_forward gives wrong values on this input (the forward checks "
             "say where), so the numerical gradient of your forward cannot vouch for your "
             f"{layer}_backward: this check is paid when your forward is right on this input")
    grads = answer.get("grads")
    if layer == "conv2d":
        if not isinstance(grads, (tuple, list)) or len(grads) != 3:
            size = f" of length {len(grads)}" if isinstance(grads, (tuple, list)) else ""
            fail(f"{what}: expected a tuple (dx, dw, db), got {type_name(grads)}{size}")
        return list(grads)
    return [grads]


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
                        dout: np.ndarray, expected: Mapping[str, Any],
                        what: str) -> list[np.ndarray]:
    """Central differences of ``sum(student_forward(...) * dout)`` w.r.t. each input, computed
    from one worker call per input (all perturbations sent at once); each perturbed value is
    first held to what the layer gives there (:func:`expect_objective`)."""
    grads = []
    for name in INPUTS[layer]:
        stack = perturbations(inputs[name], h=H)
        answer = answer_dict(probe(student, "objective", layer, inputs, options, dout, name,
                                   stack), what)
        if "bad_out" in answer:
            fail(f"{what}: with {name} perturbed, the forward output became "
                 f"{str(answer['bad_out'])[:100]}; expected a float array of shape {dout.shape}")
        values = expect_array(answer.get("values"), shape=(len(stack),), dtype=np.float64,
                              what=f"{what} (perturbed outputs)")
        expect_objective(values, layer, inputs, dout, name, stack, expected, what=what)
        grads.append(gradient_from_values(values, np.shape(inputs[name]), h=H))
    return grads


# The perturbed outputs a numerical gradient is taken of must be the forward's: a submission
# could report values of another function (one whose gradient is whatever its backward says),
# so each reported sum(out * dout) is compared with the layer's on the same perturbed input, with
# the forward checks' tolerance scaled to the sum (|got - expected| <= 1e-9 + 1e-8 sum|out*dout|).
# Within it a central difference (H = 1e-3) moves by at most ~1e-5 of the sum's size, far below
# any wrong gradient. The reference: ~1e-15 relative (einsum against torch's conv2d).
OBJECTIVE_RTOL, OBJECTIVE_ATOL = 1e-8, 1e-9


def expect_objective(values: np.ndarray, layer: str, inputs: dict, dout: np.ndarray, name: str,
                     stack: np.ndarray, expected: Mapping[str, Any], *, what: str) -> None:
    """``values[i]`` is ``sum(forward(inputs with name = stack[i]) * dout)`` as the layer computes
    it (the student's forward was checked right on ``inputs`` just before).

    Every layer here is linear in the perturbed input near ``inputs``: conv2d in x and in w,
    affine in b, average pooling in x, and max pooling in x as long as no window's maximum
    changes, which a step of H never does on the checks' inputs (values 0.009 apart). So
    ``sum(forward(..., name = r) * dout) = sum(out * dout) + <r - inputs[name], g>`` exactly,
    ``out`` and ``g`` (the gradient w.r.t. ``name``) being the expected values: rounding
    ~1e-15 of the sum, against the tolerance's 1e-8."""
    dout = np.asarray(dout, np.float64)
    stack = np.asarray(stack, np.float64)
    term = np.asarray(expected["out"], np.float64) * dout
    grad = np.asarray(expected["d" + name], np.float64)
    moved = (stack - np.asarray(inputs[name], np.float64)).reshape(len(stack), -1)
    want = float(np.sum(term)) + moved @ grad.reshape(-1)
    scale = float(np.sum(np.abs(term)))
    bad = np.flatnonzero(~(np.abs(values - want) <= OBJECTIVE_ATOL + OBJECTIVE_RTOL * scale))
    if bad.size:
        i = int(bad[0])
        fail(f"{what}: with one element of {name} moved by +-{H:g}, your {layer}_forward "
             f"gave sum(out * dout) = {float(values[i]):.10g} where that forward gives "
             f"{float(want[i]):.10g} (perturbation {i}): the numerical gradient can only "
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


BASELINE_LABEL = "a vectorised conv2d's work in numpy (im2col copy + one matrix product)"


def baseline(inputs: Mapping[str, Any], options: Mapping[str, Any]) -> tuple[str, Any]:
    """What to time the student's conv2d forward against, with no conv2d in the judge: the work
    a vectorised (im2col) implementation does for these shapes, on stand-in data, namely copying
    an (N*H'*W', C*HH*WW) matrix and multiplying it by a (C*HH*WW, F) one. Measured on (8, 3, 32,
    32) with 16 3x3 filters: as fast as the reference's einsum forward and torch's conv2d
    (about 1 ms each). Not the reference: a public check must give the same feedback in the
    student release, which has no solutions; and no oracle: it computes nothing of the layer.

    Returns ``(label, func)`` with ``func()`` running the stand-in once in the judge.
    """
    n, c, h, w = np.shape(inputs["x"])
    f, _, hh, ww = np.shape(inputs["w"])
    p, s = options["padding"], options["stride"]
    rows = n * ((h + 2 * p - hh) // s + 1) * ((w + 2 * p - ww) // s + 1)
    patches = np.ones((rows, c * hh * ww))
    filters = np.ones((c * hh * ww, f))

    def run() -> np.ndarray:
        return np.array(patches, copy=True) @ filters

    return BASELINE_LABEL, run
