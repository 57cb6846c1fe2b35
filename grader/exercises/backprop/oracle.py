"""The oracle of `backprop` (judge side only: it never ships to students; the public checks
compare with the golden data ``dlgrade release`` writes from the reference).

- torch autograd versions of every function of the contract, in float64;
- numpy forwards of the layers (calibration, the framework's tests);
- input generators that keep ReLU inputs away from the kink (numerical gradients are meaningless
  within ``h`` of it) and draw well-conditioned gradients: the public cases (``cases.py``),
  the hidden checks and calibration draw their inputs with them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.exercises.backprop.validate import count_layers
from grader.numgrad import random_upstream, well_conditioned

# Every ReLU input of a network's numerical check is at least this far from 0: 100 times the finite
# difference step (1e-5), so no perturbation crosses the kink.
KINK_MARGIN = 1e-3
# Random inputs are redrawn until every non-zero true gradient element is at least this large (see
# grader.numgrad.well_conditioned): rounding gives central differences an absolute error of about
# 1e-11, so elements >= 1e-2 keep the relative error near 1e-9, 100x under the 1e-7 tolerance.
GRAD_FLOOR = 1e-2
# Same for whole networks, whose tolerance is 1e-5: elements >= 1e-4 keep it near 1e-7.
NETWORK_GRAD_FLOOR = 1e-4
TRIES = 1000


# ---------------------------------------------------------------- torch autograd oracles (float64)

def _torch():
    import torch

    return torch


def _leaf(value: np.ndarray):
    return _torch().tensor(np.asarray(value, dtype=np.float64), requires_grad=True)


def torch_affine(x: np.ndarray, w: np.ndarray, b: np.ndarray,
                 dout: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(out, dx, dw, db)`` of ``x @ w + b`` for upstream ``dout``, by torch autograd."""
    tx, tw, tb = _leaf(x), _leaf(w), _leaf(b)
    out = tx @ tw + tb
    out.backward(_torch().tensor(dout, dtype=_torch().float64))
    return (out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy())


def torch_elementwise(kind: str, x: np.ndarray, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(out, dx)`` of ``torch.relu`` or ``torch.sigmoid`` (``kind``) for upstream ``dout``."""
    torch = _torch()
    tx = _leaf(x)
    out = getattr(torch, kind)(tx)
    out.backward(torch.tensor(dout, dtype=torch.float64))
    return out.detach().numpy(), tx.grad.numpy()


def torch_softmax_cross_entropy(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """``(mean loss, dscores)`` of ``torch.nn.functional.cross_entropy``."""
    torch = _torch()
    ts = _leaf(scores)
    loss = torch.nn.functional.cross_entropy(ts, torch.tensor(y, dtype=torch.int64))
    loss.backward()
    return float(loss.item()), ts.grad.numpy()


def torch_mlp_loss(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray,
                   reg: float) -> tuple[float, dict[str, np.ndarray]]:
    """``(loss, grads)`` of the contract's MLP (ReLU between layers, mean cross-entropy,
    ``0.5 * reg * sum ||W||^2``), by torch autograd."""
    torch = _torch()
    leaves = {key: _leaf(value) for key, value in params.items()}
    n_layers = count_layers(params)
    h = torch.tensor(X, dtype=torch.float64)
    for layer in range(1, n_layers + 1):
        h = h @ leaves[f"W{layer}"] + leaves[f"b{layer}"]
        if layer < n_layers:
            h = torch.relu(h)
    loss = torch.nn.functional.cross_entropy(h, torch.tensor(y, dtype=torch.int64))
    loss = loss + 0.5 * reg * sum((leaves[f"W{l}"] ** 2).sum() for l in range(1, n_layers + 1))
    loss.backward()
    return float(loss.item()), {key: leaf.grad.numpy() for key, leaf in leaves.items()}


# ---------------------------------------------------------------- numpy forwards

def forward_value(name: str, args: list[Any]) -> Any:
    """What the contract's forward ``name`` gives on ``args`` (its ``out``; for
    ``softmax_cross_entropy`` the loss), computed here in float64."""
    if name == "affine_forward":
        x, w, b = (np.asarray(a, np.float64) for a in args)
        return x @ w + b
    if name == "relu_forward":
        return np.maximum(np.asarray(args[0], np.float64), 0.0)
    if name == "sigmoid_forward":
        x = np.asarray(args[0], np.float64)
        return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))),
                        np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))
    if name == "softmax_cross_entropy":
        scores, y = np.asarray(args[0], np.float64), np.asarray(args[1], np.int64)
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -float(np.mean(log_probs[np.arange(len(y)), y]))
    raise ValueError(f"no forward {name!r}")


def min_preactivation(params: dict[str, np.ndarray], X: np.ndarray) -> float:
    """Smallest ``|pre-activation|`` over the hidden ReLUs (inf for L = 1): how far from a kink."""
    h = np.asarray(X, dtype=np.float64)
    n_layers = count_layers(params)
    smallest = np.inf
    for layer in range(1, n_layers):
        h = h @ params[f"W{layer}"] + params[f"b{layer}"]
        smallest = min(smallest, float(np.abs(h).min()))
        h = np.maximum(h, 0.0)
    return smallest


def random_params(rng: np.random.Generator, sizes: list[int], *,
                  scale: float = 0.5) -> dict[str, np.ndarray]:
    """``{"W1", "b1", ...}`` for layer widths ``sizes`` (input first), normal, std ``scale``."""
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = rng.normal(0.0, scale, (fan_in, fan_out))
        params[f"b{layer}"] = rng.normal(0.0, scale, fan_out)
    return params


def network_case(rng: np.random.Generator, sizes: list[int], n: int, reg: float,
                 ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """A network, inputs and labels for a numerical check of the whole ``mlp_loss``: every hidden
    pre-activation at least ``KINK_MARGIN`` from 0 (so central differences are exact up to
    O(h^2)) and a well-conditioned true gradient (redrawn until both hold)."""
    for _ in range(TRIES):
        params = random_params(rng, sizes)
        X = rng.normal(0.0, 1.0, (n, sizes[0]))
        y = rng.integers(0, sizes[-1], n)
        if (min_preactivation(params, X) > KINK_MARGIN
                and well_conditioned(list(torch_mlp_loss(params, X, y, reg)[1].values()),
                                     NETWORK_GRAD_FLOOR)):
            return params, X, y
    raise RuntimeError(f"could not draw a well-conditioned network of sizes {sizes}")


def affine_case(rng: np.random.Generator, n: int, d: int, m: int,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x, w, b, dout)`` with a well-conditioned true gradient."""
    for _ in range(TRIES):
        case = (rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m),
                random_upstream((n, m), rng))
        if well_conditioned(list(torch_affine(*case)[1:]), GRAD_FLOOR):
            return case
    raise RuntimeError("could not draw a well-conditioned affine case")


def elementwise_case(rng: np.random.Generator, kind: str,
                     shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(x, dout)`` for ``relu`` or ``sigmoid`` with a well-conditioned true gradient; ReLU inputs
    stay 0.1 away from the kink so ``x +- h`` never crosses it."""
    for _ in range(TRIES):
        x = away_from_zero(rng, shape) if kind == "relu" else 2.0 * rng.normal(size=shape)
        dout = random_upstream(shape, rng)
        if well_conditioned([torch_elementwise(kind, x, dout)[1]], GRAD_FLOOR):
            return x, dout
    raise RuntimeError(f"could not draw a well-conditioned {kind} case")


def relu_case_with_zeros(rng: np.random.Generator,
                         shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(x, dout)`` for ReLU with about a third of ``x`` exactly 0 (and at least one zero in
    every row), the rest at least 0.1 from it; a well-conditioned upstream gradient."""
    for _ in range(TRIES):
        x = away_from_zero(rng, shape)
        zeros = rng.random(shape) < 1 / 3
        zeros[..., 0] = True
        x[zeros] = 0.0
        dout = random_upstream(shape, rng)
        if np.all(np.abs(dout) >= GRAD_FLOOR):
            return x, dout
    raise RuntimeError("could not draw a ReLU case with zeros")


def softmax_case(rng: np.random.Generator, n: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, y)`` with a well-conditioned true ``dscores`` (no class all but impossible)."""
    for _ in range(TRIES):
        scores, y = rng.normal(size=(n, c)), rng.integers(0, c, n)
        if well_conditioned([torch_softmax_cross_entropy(scores, y)[1]], GRAD_FLOOR):
            return scores, y
    raise RuntimeError("could not draw a well-conditioned softmax case")


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], *,
                   low: float = 0.1) -> np.ndarray:
    """Normal values with random signs and ``|value| >= low`` (ReLU inputs away from the kink)."""
    magnitude = low + np.abs(rng.normal(0.0, 1.0, shape))
    return magnitude * rng.choice([-1.0, 1.0], size=shape)


