"""Calibration of the dropout checks' deterministic tolerances: the reference's worst values over
many seeds, in-process (``dlgrade calibrate dropout --seeds 200``).

The statistical bounds need no calibration (they follow from the stated false-failure
probability; ``benchmarks/dropout_stats.py`` reports their margins). Measured here, each as
"worst value seen" against its threshold (direction "below"):

- ``NETWORK_GRAD_TOL``: inside ``nn.Sequential(Linear, ReLU, Dropout, Linear)``, the largest
  ``|autograd - judge| / (|judge| + sum of |terms|)`` over the first layer's weight and bias and
  the input, at ``p`` and at ``p = 1`` (``judge.expect_network_gradients``);
- ``MASK_GRAD_TOL``: the module's input gradient on a leaf against ``dout * out / x`` (relative
  error per element, as ``expect_gradient``);
- ``COMMON_FACTOR_RTOL``: the spread ``|out / x - median| / median`` of the kept elements in the
  "zeroes some elements" evidence checks, numpy forward and module, float32.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from grader.calibration import Measurement
from grader.exercises.dropout import probes, stats
from grader.exercises.dropout.judge import (NETWORK_GRAD_TOL, NETWORK_PARTS, implied_gradient,
                                            input_rng, network_case, network_gradients,
                                            positive_input)
from grader.exercises.dropout.test_public import MASK_GRAD_TOL
from grader.numgrad import worst_relative_error


def network_error(reference: ModuleType, p: float, seed: int) -> float:
    """The largest error of the reference's network gradients, relative to the size of the
    terms (what ``NETWORK_GRAD_TOL`` bounds)."""
    case = network_case(input_rng(seed))
    result = probes.network_run(reference, case, p, seed=seed)
    if result["error"] is not None:
        raise RuntimeError(f"the reference raised in the network: {result['error']}")
    grads, scales = network_gradients(case, result["h"], result["d"])
    worst = 0.0
    for name in NETWORK_PARTS:
        err = np.abs(result["grads"][name] - grads[name])
        size = np.abs(grads[name]) + scales[name]
        ratio = np.where(size > 0, err / np.where(size > 0, size, 1.0),
                         np.where(err > 0, np.inf, 0.0))
        worst = max(worst, float(ratio.max()))
    return worst


def leaf_gradient_error(reference: ModuleType, p: float, seed: int) -> float:
    rng = input_rng(seed)
    x = positive_input(rng, (20, 50), "float64")
    dout = rng.normal(size=x.shape)
    result = probes.module_run(reference, x, p, train=True, seed=seed, dout=dout)
    return worst_relative_error(result["grad"], implied_gradient(result["out"], x, dout))


def factor_spread(out: np.ndarray, x: np.ndarray) -> float:
    kept = np.asarray(out, dtype=np.float64) != 0
    ratio = np.asarray(out, dtype=np.float64)[kept] / np.asarray(x, dtype=np.float64)[kept]
    median = float(np.median(ratio))
    return float(np.max(np.abs(ratio - median)) / median)


def measure(reference: ModuleType, settings: Any, *, seeds: Sequence[int], device: str,
            echo: Callable[[str], None]) -> list[Measurement]:
    del device  # everything here runs on the CPU, as the checks' probes do
    values: dict[str, list[float]] = {k: [] for k in
                                      ("net_p", "net_1", "leaf", "np_factor", "mod_factor")}
    for i, seed in enumerate(seeds):
        values["net_p"].append(network_error(reference, settings.p, seed))
        values["net_1"].append(network_error(reference, 1.0, seed))
        values["leaf"].append(leaf_gradient_error(reference, settings.p, seed))
        x = positive_input(input_rng(seed), (20, 50))
        out, _ = reference.dropout_forward(x, settings.p, seed=seed)
        values["np_factor"].append(factor_spread(out, x))
        result = probes.module_run(reference, x, settings.p, train=True, seed=seed,
                                   requires_grad=False)
        values["mod_factor"].append(factor_spread(result["out"], x))
        if (i + 1) % 50 == 0:
            echo(f"  {i + 1} seeds")
    return [
        Measurement(f"network gradients, p = {settings.p} (NETWORK_GRAD_TOL)", NETWORK_GRAD_TOL,
                    "below", tuple(values["net_p"])),
        Measurement("network gradients, p = 1 (NETWORK_GRAD_TOL)", NETWORK_GRAD_TOL, "below",
                    tuple(values["net_1"])),
        Measurement("module leaf gradient (MASK_GRAD_TOL)", MASK_GRAD_TOL, "below",
                    tuple(values["leaf"])),
        Measurement("numpy kept factor spread (COMMON_FACTOR_RTOL)", stats.COMMON_FACTOR_RTOL,
                    "below", tuple(values["np_factor"])),
        Measurement("module kept factor spread (COMMON_FACTOR_RTOL)", stats.COMMON_FACTOR_RTOL,
                    "below", tuple(values["mod_factor"])),
    ]
