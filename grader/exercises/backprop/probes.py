"""Probes for `backprop`: run inside the untrusted worker, return data, never a verdict.

A layer's ``cache`` is whatever the student chose and cannot cross the sandbox, so every backward
pass is driven here: forward, then backward on the same cache, and the arrays come back. For
numerical gradients the judge sends a batch of perturbed inputs (``grader.numgrad.perturbations``)
and gets back the forward's output at each; it does the differences itself.

Warnings raised by student code are recorded (as text) where the contract forbids them (overflow
in ``sigmoid_forward`` and ``softmax_cross_entropy``); the judge decides what they mean.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

import numpy as np


def _pair(result: Any, name: str) -> tuple[Any, Any]:
    """Split a forward's ``(out, cache)``; anything else cannot be driven further."""
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"{name} must return a pair (out, cache), got {type(result).__name__}")
    return result


def _forward(module: ModuleType, name: str, args: list[Any]) -> tuple[Any, Any]:
    return _pair(getattr(module, name)(*args), name)


def affine_roundtrip(module: ModuleType, x: np.ndarray, w: np.ndarray, b: np.ndarray,
                     dout: np.ndarray) -> tuple[Any, Any]:
    """``(out, (dx, dw, db))`` from the student's affine forward and backward on one cache."""
    out, cache = _forward(module, "affine_forward", [x, w, b])
    return out, module.affine_backward(dout, cache)


def relu_roundtrip(module: ModuleType, x: np.ndarray, dout: np.ndarray) -> tuple[Any, Any]:
    """``(out, dx)`` from the student's ReLU forward and backward."""
    out, cache = _forward(module, "relu_forward", [x])
    return out, module.relu_backward(dout, cache)


def sigmoid_roundtrip(module: ModuleType, x: np.ndarray,
                      dout: np.ndarray) -> tuple[Any, Any, list[str]]:
    """``(out, dx, warnings)``: the sigmoid's forward and backward and the text of any warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out, cache = _forward(module, "sigmoid_forward", [x])
        dx = module.sigmoid_backward(dout, cache)
    return out, dx, [f"{w.category.__name__}: {w.message}" for w in caught]


def softmax_with_warnings(module: ModuleType, scores: np.ndarray,
                          y: np.ndarray) -> tuple[Any, list[str]]:
    """``(softmax_cross_entropy(scores, y), warnings)``: the student's result, warnings' text."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = module.softmax_cross_entropy(scores, y)
    return result, [f"{w.category.__name__}: {w.message}" for w in caught]


def forward_outputs(module: ModuleType, name: str, args: list[Any], wrt: int,
                    perturbed: np.ndarray) -> list[Any]:
    """The forward ``name``'s ``out`` with ``args[wrt]`` replaced by each of ``perturbed``.

    For a layer forward (returning ``(out, cache)``) the ``out`` part; for
    ``softmax_cross_entropy`` (returning ``(loss, dscores)``) the loss.
    """
    args = list(args)
    outputs = []
    for value in perturbed:
        args[wrt] = value
        outputs.append(_forward(module, name, args)[0])
    return outputs


def mlp_losses(module: ModuleType, params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray,
               reg: float, perturbed: dict[str, np.ndarray]) -> dict[str, list[Any]]:
    """For each key of ``perturbed``, the student's ``mlp_loss`` loss with that parameter replaced
    by each of its perturbed copies (the other parameters as given)."""
    losses: dict[str, list[Any]] = {}
    for key, copies in perturbed.items():
        losses[key] = []
        for value in copies:
            result = _pair(module.mlp_loss({**params, key: value}, X, y, reg=reg), "mlp_loss")
            losses[key].append(result[0])
    return losses


def train_minibatches(module: ModuleType, X: np.ndarray, y: np.ndarray,
                      kwargs: dict[str, Any]) -> list[list[int]]:
    """The rows of ``X`` (as indices) of every call that ``train_mlp`` makes to ``mlp_loss``.

    ``mlp_loss`` is wrapped for the duration of one ``train_mlp(X, y, **kwargs)`` call and put
    back afterwards; a row that is not one of ``X``'s is recorded as -1. The judge decides what
    the calls mean (minibatches, epochs, order).
    """
    rows = np.asarray(X, dtype=np.float64)
    index = {row.tobytes(): i for i, row in enumerate(rows)}
    calls: list[list[int]] = []
    original = module.mlp_loss

    def recording(*args: Any, **kw: Any) -> Any:
        Xb = args[1] if len(args) > 1 else kw.get("X")
        batch = np.asarray(Xb, dtype=np.float64)
        batch = batch.reshape(len(batch), -1) if batch.ndim else batch.reshape(1, -1)
        calls.append([index.get(row.tobytes(), -1) for row in batch])
        return original(*args, **kw)

    module.mlp_loss = recording
    try:
        module.train_mlp(X, y, **kwargs)
    finally:
        module.mlp_loss = original
    return calls
