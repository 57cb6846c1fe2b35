"""The public cases of `backprop` and their golden data (judge side: never ships).

``golden_cases()`` declares the inputs of every public check that compares with an expected value
(drawn here once, from a seed per case, with the oracle's well-conditioned generators) and how the
expected values come from the reference: forward outputs, gradients, losses, and the forward's
outputs at every perturbed input of the numerical checks (the values a numerical gradient is
taken of must be the layer's). ``dlgrade release`` writes them to ``golden.npz``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from grader.exercises.backprop import oracle
from grader.exercises.backprop.validate import H
from grader.golden import Case, case_rng
from grader.numgrad import perturbations, random_upstream

# Non-square everywhere (N, D, M all different, so a transposed gradient has the wrong shape) and a
# batch of one (a sum over the wrong axis is then the wrong shape too).
AFFINE_SHAPES = [(3, 5, 4), (1, 4, 3)]
ELEMENTWISE_SHAPES = [(3, 5), (1, 4)]
RELU_ZEROS_SHAPE = (4, 6)  # a third ReLU input for the torch check, a third of it exact zeros
SOFTMAX_SHAPES = [(5, 4), (1, 3)]
MLP_SIZES = {1: [4, 3], 2: [4, 5, 3], 3: [4, 6, 5, 3]}
MLP_REG = 0.1  # the regularised family's strength
NUMERICAL_MLP = ([4, 6, 5, 3], 6, 0.1)  # sizes, rows, reg of the whole-network numerical check
LARGE_SCORES = np.array([[1000.0, -1000.0, 0.0, 999.0],
                         [-1000.0, -999.0, 1000.0, 0.0],
                         [0.0, 0.0, 0.0, 1000.0]])
LARGE_SCORES_Y = np.array([0, 1, 3])
LARGE_SIGMOID = np.array([[-1000.0, -700.0, -40.0, 0.0, 40.0, 700.0, 1000.0]])


def shape_id(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


# Where a sigmoid's stable form switches branches (at 0), and where a slip in the switch shows:
# every sigmoid case holds inputs below -1, in [-1, 0), in [0, 1) and from 1 up (the forward,
# numerical and torch checks share these inputs, so they must cover the branches together).
SIGMOID_BINS = (-np.inf, -1.0, 0.0, 1.0, np.inf)


def _elementwise_case(rng: np.random.Generator, kind: str, shape: tuple[int, ...]):
    """``oracle.elementwise_case``, redrawn for the sigmoid until its inputs cover every bin of
    SIGMOID_BINS."""
    for _ in range(oracle.TRIES):
        x, dout = oracle.elementwise_case(rng, kind, shape)
        if kind != "sigmoid" or np.all(np.histogram(x, SIGMOID_BINS)[0] > 0):
            return x, dout
    raise RuntimeError(f"could not draw a {kind} case covering {SIGMOID_BINS}")


def _perturbed(forward: Any, args: list[Any], wrt: int) -> np.ndarray:
    """The forward's first output at every perturbation of ``args[wrt]`` (grader.numgrad's
    order, step H), stacked: what the student's forward must give there."""
    outs = []
    for value in perturbations(np.asarray(args[wrt], dtype=np.float64), h=H):
        moved = list(args)
        moved[wrt] = value
        outs.append(np.asarray(forward(*moved)[0], dtype=np.float64))
    return np.stack(outs)


def _affine(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
    args = [inputs["x"], inputs["w"], inputs["b"]]
    out, cache = ref.affine_forward(*args)
    dx, dw, db = ref.affine_backward(inputs["dout"], cache)
    return {"out": out, "dx": dx, "dw": dw, "db": db,
            "perturbed": {name: _perturbed(ref.affine_forward, args, wrt)
                          for wrt, name in enumerate(("x", "w", "b"))}}


def _elementwise(kind: str, numerical: bool = True):
    def compute(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
        forward = getattr(ref, f"{kind}_forward")
        out, cache = forward(inputs["x"])
        expected = {"out": out, "dx": getattr(ref, f"{kind}_backward")(inputs["dout"], cache)}
        if numerical:
            expected["perturbed"] = {"x": _perturbed(forward, [inputs["x"]], 0)}
        return expected
    return compute


def _softmax(numerical: bool = True):
    def compute(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
        loss, dscores = ref.softmax_cross_entropy(inputs["scores"], inputs["y"])
        expected = {"loss": float(loss), "dscores": dscores}
        if numerical:
            expected["perturbed"] = {"scores": _perturbed(
                ref.softmax_cross_entropy, [inputs["scores"], inputs["y"]], 0)}
        return expected
    return compute


def _mlp(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
    loss, grads = ref.mlp_loss(inputs["params"], inputs["X"], inputs["y"], reg=inputs["reg"])
    return {"loss": float(loss), "grads": {k: np.asarray(v) for k, v in grads.items()}}


def _mlp_inputs(rng: np.random.Generator, sizes: list[int], n: int, reg: float,
                scale: float = 0.5) -> dict[str, Any]:
    params = oracle.random_params(rng, sizes, scale=scale)
    return {"params": params, "X": rng.normal(size=(n, sizes[0])),
            "y": rng.integers(0, sizes[-1], n), "reg": reg}


def golden_cases() -> list[Case]:
    """``affine/<NxDxM>``, ``relu/<shape>``, ``relu/zeros``, ``sigmoid/<shape>``,
    ``sigmoid/large``, ``softmax/<NxC>``, ``softmax/large``, ``mlp/L=<l>``, ``mlp/L=<l>,reg``,
    ``mlp/numerical``, ``mlp/log_c`` and ``mlp/large``."""
    cases = []
    for n, d, m in AFFINE_SHAPES:
        name = f"affine/{shape_id((n, d, m))}"
        x, w, b, dout = oracle.affine_case(case_rng(name), n, d, m)
        cases.append(Case(name, {"x": x, "w": w, "b": b, "dout": dout}, _affine))
    for kind in ("relu", "sigmoid"):
        for shape in ELEMENTWISE_SHAPES:
            name = f"{kind}/{shape_id(shape)}"
            x, dout = _elementwise_case(case_rng(name), kind, shape)
            cases.append(Case(name, {"x": x, "dout": dout}, _elementwise(kind)))
    x, dout = oracle.relu_case_with_zeros(case_rng("relu/zeros"), RELU_ZEROS_SHAPE)
    cases.append(Case("relu/zeros", {"x": x, "dout": dout}, _elementwise("relu", False)))
    dout = random_upstream(LARGE_SIGMOID.shape, case_rng("sigmoid/large"))
    cases.append(Case("sigmoid/large", {"x": LARGE_SIGMOID.copy(), "dout": dout},
                      _elementwise("sigmoid", False)))
    for n, c in SOFTMAX_SHAPES:
        name = f"softmax/{shape_id((n, c))}"
        scores, y = oracle.softmax_case(case_rng(name), n, c)
        cases.append(Case(name, {"scores": scores, "y": y}, _softmax()))
    cases.append(Case("softmax/large", {"scores": LARGE_SCORES.copy(), "y": LARGE_SCORES_Y.copy()},
                      _softmax(False)))
    for layers, sizes in MLP_SIZES.items():
        for reg, suffix in ((0.0, ""), (MLP_REG, ",reg")):
            name = f"mlp/L={layers}{suffix}"
            cases.append(Case(name, _mlp_inputs(case_rng(name), sizes, 7, reg), _mlp))
    sizes, n, reg = NUMERICAL_MLP
    params, X, y = oracle.network_case(case_rng("mlp/numerical"), sizes, n, reg)
    cases.append(Case("mlp/numerical", {"params": params, "X": X, "y": y, "reg": reg}, _mlp))
    # Tiny weights give scores ~1e-6, so every class is equally likely: loss = log(10) +- 1e-5.
    cases.append(Case("mlp/log_c", _mlp_inputs(case_rng("mlp/log_c"), [5, 8, 10], 20, 0.0, 1e-3),
                      _mlp))
    # Weights of std 20: scores of several hundreds.
    cases.append(Case("mlp/large", _mlp_inputs(case_rng("mlp/large"), [4, 6, 3], 5, 0.0, 20.0),
                      _mlp))
    return cases
