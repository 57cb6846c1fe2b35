"""Probes for `conv`: run a student's layer inside the worker and return plain data.

A cache cannot cross the sandbox, so a forward and its backward run here, in one probe. A probe
never judges: it returns what the student's code produced, or a short description of a return
value that is not the promised ``(out, cache)`` pair, and the judge decides.

Layers are named ``"conv2d"`` (inputs ``x, w, b``), ``"max_pool2d"`` and ``"avg_pool2d"``
(input ``x``); ``inputs`` is a dict of arrays by name, ``options`` the keyword arguments
(``stride``, ``padding`` / ``kernel_size``, ``stride``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

INPUTS = {"conv2d": ("x", "w", "b"), "max_pool2d": ("x",), "avg_pool2d": ("x",)}


def _forward(module: Any, layer: str, inputs: dict, options: dict) -> Any:
    func = getattr(module, f"{layer}_forward")
    # Copies: a student who writes into an input must not change the judge's later evaluations.
    return func(*(np.array(inputs[k], copy=True) for k in INPUTS[layer]), **options)


def _pair(result: Any) -> tuple[Any, Any] | None:
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return result[0], result[1]
    return None


def _describe(result: Any) -> str:
    size = f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
    return f"{type(result).__name__}{size}"


def forward(module: Any, layer: str, inputs: dict, options: dict) -> dict:
    """``{"out": out}``, or ``{"not_a_pair": description}`` when the result is not (out, cache)."""
    result = _forward(module, layer, inputs, options)
    pair = _pair(result)
    return {"not_a_pair": _describe(result)} if pair is None else {"out": pair[0]}


def timed_forward(module: Any, layer: str, inputs: dict, options: dict) -> dict:
    """Like :func:`forward`, plus ``"seconds"``: the wall time of the student's call alone.

    A fast call is repeated (up to 5 runs, while the total stays under a second) and the fastest
    run is reported, as the judge does for its own timing: a first call pays one-off costs
    (caches, einsum path search) that say nothing about the method. Slow code runs once.
    """
    func = getattr(module, f"{layer}_forward")
    best, total, runs, result = float("inf"), 0.0, 0, None
    while runs < 5 and (runs == 0 or total + best < 1.0):
        args = [np.array(inputs[k], copy=True) for k in INPUTS[layer]]
        start = time.perf_counter()
        result = func(*args, **options)
        seconds = time.perf_counter() - start
        best, total, runs = min(best, seconds), total + seconds, runs + 1
    pair = _pair(result)
    answer = {"not_a_pair": _describe(result)} if pair is None else {"out": pair[0]}
    return {**answer, "seconds": best}


def roundtrip(module: Any, layer: str, inputs: dict, options: dict, dout: np.ndarray) -> dict:
    """Forward, then backward with upstream gradient ``dout``.

    Returns ``{"out": out, "grads": backward's result}``; ``"grads"`` is ``None`` (backward not
    called) when ``out`` is not an array of ``dout``'s shape: the judge reports the forward first.
    """
    result = _forward(module, layer, inputs, options)
    pair = _pair(result)
    if pair is None:
        return {"not_a_pair": _describe(result)}
    out, cache = pair
    if not isinstance(out, np.ndarray) or out.shape != np.shape(dout):
        return {"out": out, "grads": None}
    backward = getattr(module, f"{layer}_backward")
    return {"out": out, "grads": backward(np.array(dout, copy=True), cache)}


def interleaved(module: Any, layer: str, first: dict, second: dict, options: dict,
                dout_first: np.ndarray, dout_second: np.ndarray) -> dict:
    """Forward on ``first``, forward on ``second``, then backward of the *first* call, then of
    the second: each cache must carry its own call's state (no module-level globals)."""
    one = _pair(_forward(module, layer, first, options))
    two = _pair(_forward(module, layer, second, options))
    if one is None or two is None:
        return {"not_a_pair": "a forward result that is not (out, cache)"}
    backward = getattr(module, f"{layer}_backward")
    grads_one = backward(np.array(dout_first, copy=True), one[1])
    grads_two = backward(np.array(dout_second, copy=True), two[1])
    return {"grads_first": grads_one, "grads_second": grads_two}


def objective(module: Any, layer: str, inputs: dict, options: dict, dout: np.ndarray,
              name: str, stack: np.ndarray) -> dict:
    """``sum(forward(...)[0] * dout)`` with input ``name`` replaced by each ``stack[i]`` in turn.

    For central differences in the judge (``grader.numgrad.perturbations``): one worker call for
    all ``2 * size`` evaluations. Returns ``{"values": array}``, or ``{"bad_out": description}``
    at the first output that is not a float array of ``dout``'s shape.
    """
    dout = np.asarray(dout, np.float64)
    values = np.empty(len(stack), dtype=np.float64)
    for i, replacement in enumerate(stack):
        pair = _pair(_forward(module, layer, {**inputs, name: replacement}, options))
        out = None if pair is None else pair[0]
        if (not isinstance(out, np.ndarray) or out.shape != dout.shape
                or out.dtype.kind not in "fiu"):
            return {"bad_out": _describe(out) if not isinstance(out, np.ndarray)
                    else f"array of shape {out.shape}, dtype {out.dtype}"}
        values[i] = float(np.sum(out.astype(np.float64) * dout))
    return {"values": values}
