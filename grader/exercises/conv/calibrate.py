"""Calibration of `conv`'s tolerances: the reference's worst errors over many seeds.

``dlgrade calibrate conv --seeds 200`` runs the reference in-process on every case of the public
and hidden checks with fresh random inputs per seed, and reports, per tolerance, the worst value
seen (direction "below": a value passes when it is at most the tolerance):

- forward vs torch: ``max |got - torch| / (atol/rtol + |torch|)`` against ``FORWARD_RTOL``
  (the same test as ``|got - torch| <= atol + rtol * |torch|``);
- gradients vs torch autograd, and vs central differences of the reference's own forward:
  the per-element relative error of ``grader.numgrad`` against ``TORCH_GRAD_TOL`` /
  ``NUMERICAL_GRAD_TOL``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from grader.calibration import Measurement
from grader.exercises.conv import ops, oracle
from grader.exercises.conv.cases import (BACKWARD_CASES, CHANNEL_CASE, FORWARD_CASES,
                                         POOL_CASES, POOL_NUMERICAL_CASE, SPEED_CASE)
from grader.numgrad import gradient_from_values, perturbations

NAMES = {"conv2d": ("x", "w", "b"), "max_pool2d": ("x",), "avg_pool2d": ("x",)}


def _cases() -> list[tuple[str, Any]]:
    from grader.exercises.conv.test_hidden import HIDDEN_CONV, HIDDEN_POOL

    conv = [("conv2d", c) for c in [*FORWARD_CASES, CHANNEL_CASE, *BACKWARD_CASES, *HIDDEN_CONV]]
    pools = [(layer, c) for c in [*POOL_CASES, *HIDDEN_POOL]
             for layer in ("max_pool2d", "avg_pool2d")]
    return conv + pools


def _run(reference: ModuleType, layer: str, inputs: dict, options: dict,
         dout: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray] | None]:
    forward = getattr(reference, f"{layer}_forward")
    out, cache = forward(*(inputs[k] for k in NAMES[layer]), **options)
    if dout is None:
        return out, None
    grads = getattr(reference, f"{layer}_backward")(dout, cache)
    return out, list(grads) if layer == "conv2d" else [grads]


def _numerical(reference: ModuleType, layer: str, inputs: dict, options: dict,
               dout: np.ndarray) -> list[np.ndarray]:
    grads = []
    for name in NAMES[layer]:
        stack = perturbations(inputs[name], h=oracle.H)
        values = [float(np.sum(_run(reference, layer, {**inputs, name: z}, options)[0] * dout))
                  for z in stack]
        grads.append(gradient_from_values(np.array(values), np.shape(inputs[name]), h=oracle.H))
    return grads


def measure(reference: ModuleType, settings: Any, *, seeds: Sequence[int], device: str,
            echo: Callable[[str], None]) -> list[Measurement]:
    forward_worst, torch_worst, numerical_worst = [], [], []
    scale = oracle.FORWARD_ATOL / oracle.FORWARD_RTOL
    # Whether a case is small enough for central differences (as in the checks that use them).
    numeric_ok = {id(c) for c in BACKWARD_CASES} | {id(POOL_NUMERICAL_CASE)}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        # Every value is kept and reduced with np.max, which propagates NaN (Python's max() would
        # drop a NaN that comes second), so a NaN shows up as a failed calibration.
        fw: list[float] = []
        tw: list[float] = []
        nw: list[float] = []
        for layer, case in [*_cases(), ("conv2d", SPEED_CASE)]:
            inputs = case.inputs(rng)
            expected = ops.forward(layer, inputs, case.options)
            dout = rng.normal(size=expected.shape)
            out, grads = _run(reference, layer, inputs, case.options, dout)
            fw.append(float(np.max(np.abs(out - expected) / (scale + np.abs(expected)))))
            for g, e in zip(grads, ops.gradients(layer, inputs, case.options, dout)):
                tw.append(oracle.worst_relative_error(g, e))
            if id(case) in numeric_ok:
                numerical = _numerical(reference, layer, inputs, case.options, dout)
                for g, e in zip(grads, numerical):
                    nw.append(oracle.worst_relative_error(g, e))
        forward_worst.append(float(np.max(fw)))
        torch_worst.append(float(np.max(tw)))
        numerical_worst.append(float(np.max(nw)))
        echo(f"seed {seed}: forward {forward_worst[-1]:.3g}, vs torch autograd "
             f"{torch_worst[-1]:.3g}, vs numerical {numerical_worst[-1]:.3g}")
    return [
        Measurement("forward vs torch (scaled abs error)", oracle.FORWARD_RTOL, "below",
                    tuple(forward_worst)),
        Measurement("gradients vs torch autograd (rel error)", oracle.TORCH_GRAD_TOL, "below",
                    tuple(torch_worst)),
        Measurement("gradients vs numerical (rel error)", oracle.NUMERICAL_GRAD_TOL, "below",
                    tuple(numerical_worst)),
    ]
