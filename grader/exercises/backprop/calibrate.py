"""Calibration for `backprop`: ``dlgrade calibrate backprop --seeds 20``.

Runs the reference in-process, once per seed, through the same case generators, probes and
oracles as the checks, and reports one :class:`Measurement` per threshold:

- held-out spiral accuracy of ``train_mlp`` for the public budget (``hidden_sizes``) and the hidden
  one (``deep_hidden_sizes``), against ``settings.min_accuracy``;
- the worst element-wise relative error of every gradient check (numerical and torch), against
  its tolerance in ``validate.py``: how far the reference stays from a false failure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from grader.calibration import Measurement
from grader.exercises.backprop import oracle, probes, validate
from grader.exercises.backprop.cases import (AFFINE_SHAPES, ELEMENTWISE_SHAPES, MLP_SIZES,
                                             RELU_ZEROS_SHAPE, SOFTMAX_SHAPES)
from grader.exercises.backprop.training import spiral_accuracy
from grader.exercises.backprop.validate import H, HE_SIZES, TOL_LAYER, TOL_NETWORK
from grader.numgrad import (gradient_from_outputs, gradient_from_values, perturbations,
                            worst_relative_error)


def measure(reference: ModuleType, settings: Any, *, seeds: Sequence[int], device: str,
            echo: Callable[[str], None]) -> list[Measurement]:
    """One measurement per threshold over ``seeds`` (``device`` is unused: numpy on CPU)."""
    values: dict[str, list[float]] = {}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        row = gradient_errors(reference, rng)
        for label, hidden, lr in (("public", settings.hidden_sizes, settings.learning_rate),
                                  ("hidden", settings.deep_hidden_sizes,
                                   settings.deep_learning_rate)):
            accuracy, _ = spiral_accuracy(reference.train_mlp, settings, seed=10_000 + seed,
                                          hidden_sizes=hidden, learning_rate=lr)
            row[f"{label} spirals accuracy, hidden {tuple(hidden)}"] = accuracy
        row["He initialisation |ratio - 1|"] = he_deviation(reference, rng)
        for key, value in row.items():
            values.setdefault(key, []).append(value)
        echo(f"seed {seed}: " + ", ".join(f"{k.split(',')[0]}={v:.3g}" for k, v in row.items()))
    out = []
    for key, vals in values.items():
        if "accuracy" in key:
            out.append(Measurement(key, settings.min_accuracy, "above", tuple(vals)))
        elif key.startswith("He"):
            out.append(Measurement(key, validate.HE_TOLERANCE, "below", tuple(vals)))
        else:
            tol = TOL_NETWORK if key.startswith("mlp_loss numerical") else TOL_LAYER
            out.append(Measurement(f"{key} rel. error", tol, "below", tuple(vals)))
    return out


def gradient_errors(module: ModuleType, rng: np.random.Generator) -> dict[str, float]:
    """Worst relative error of each gradient check for ``module`` (the reference), fresh cases."""
    numerical: dict[str, list[float]] = {"affine": [], "relu": [], "sigmoid": [], "softmax": []}
    autograd: list[float] = []
    for n, d, m in AFFINE_SHAPES:
        x, w, b, dout = oracle.affine_case(rng, n, d, m)
        _, grads = probes.affine_roundtrip(module, x, w, b, dout)
        for wrt, got in enumerate(grads):
            numerical["affine"].append(worst_relative_error(
                got, _numerical(module, "affine_forward", [x, w, b], wrt, dout)))
        for got, exp in zip(grads, oracle.torch_affine(x, w, b, dout)[1:]):
            autograd.append(worst_relative_error(got, exp))
    for kind in ("relu", "sigmoid"):
        for shape in ELEMENTWISE_SHAPES:
            x, dout = oracle.elementwise_case(rng, kind, shape)
            _, dx = getattr(probes, f"{kind}_roundtrip")(module, x, dout)[:2]
            numerical[kind].append(worst_relative_error(
                dx, _numerical(module, f"{kind}_forward", [x], 0, dout)))
            autograd.append(worst_relative_error(dx, oracle.torch_elementwise(kind, x, dout)[1]))
    x, dout = oracle.relu_case_with_zeros(rng, RELU_ZEROS_SHAPE)  # the torch check's third case
    _, dx = probes.relu_roundtrip(module, x, dout)
    autograd.append(worst_relative_error(dx, oracle.torch_elementwise("relu", x, dout)[1]))
    for n, c in SOFTMAX_SHAPES:
        scores, y = oracle.softmax_case(rng, n, c)
        _, dscores = module.softmax_cross_entropy(scores, y)
        numerical["softmax"].append(worst_relative_error(
            dscores, _numerical(module, "softmax_cross_entropy", [scores, y], 0, None)))
        autograd.append(worst_relative_error(dscores,
                                             oracle.torch_softmax_cross_entropy(scores, y)[1]))
    for layers in MLP_SIZES:
        for reg in (0.0, 0.1):
            params = oracle.random_params(rng, MLP_SIZES[layers])
            X, y = rng.normal(size=(7, MLP_SIZES[layers][0])), rng.integers(0, 3, 7)
            got = module.mlp_loss(params, X, y, reg=reg)[1]
            exp = oracle.torch_mlp_loss(params, X, y, reg)[1]
            autograd.extend(worst_relative_error(got[k], exp[k]) for k in params)
    reg = 0.1
    params, X, y = oracle.network_case(rng, MLP_SIZES[3], 6, reg)
    grads = module.mlp_loss(params, X, y, reg=reg)[1]
    batches = {key: perturbations(value, h=H) for key, value in params.items()}
    losses = probes.mlp_losses(module, params, X, y, reg, batches)
    network = max(worst_relative_error(grads[key], gradient_from_values(
        np.array(losses[key]), params[key].shape, h=H)) for key in params)
    return {**{f"{layer} numerical": max(errors) for layer, errors in numerical.items()},
            "layers and mlp_loss torch": max(autograd), "mlp_loss numerical (L=3)": network}


def he_deviation(module: ModuleType, rng: np.random.Generator) -> float:
    """The largest ``|mean(W**2) / (2 / fan_in) - 1|`` over the layers of ``train_mlp``'s
    initial params, as the initialisation check draws them (learning rate 0)."""
    sizes = HE_SIZES
    X, y = rng.normal(size=(8, sizes[0])), rng.integers(0, sizes[-1], 8)
    params = module.train_mlp(X, y, hidden_sizes=tuple(sizes[1:-1]), num_classes=sizes[-1],
                              epochs=1, learning_rate=0.0, batch_size=8, reg=0.0,
                              seed=int(rng.integers(2**31)))
    return max(abs(float(np.mean(params[f"W{l}"] ** 2)) / (2.0 / fan_in) - 1.0)
               for l, fan_in in enumerate(sizes[:-1], start=1))


def _numerical(module: ModuleType, name: str, args: list, wrt: int,
               dout: np.ndarray | None) -> np.ndarray:
    x = np.asarray(args[wrt], dtype=np.float64)
    outputs = np.array(probes.forward_outputs(module, name, args, wrt, perturbations(x, h=H)),
                       dtype=np.float64)
    if dout is None:
        return gradient_from_values(outputs, x.shape, h=H)
    return gradient_from_outputs(outputs, dout, x.shape, h=H)
