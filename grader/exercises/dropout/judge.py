"""Judge-side helpers shared by the public and hidden dropout checks.

They turn what the probes sent back into validated arrays (missing -> raised -> type -> shape ->
dtype -> finite), failing the check with a message the student can act on; the verdicts on the
values are in ``stats.py`` and in the checks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from grader.expect import expect_array, fail, short


def input_rng(seed: int) -> np.random.Generator:
    """The generator for a check's inputs: seeded from ``[seed, 1]``, a stream independent of
    ``np.random.default_rng(seed)``. The check also passes ``seed`` to the student's dropout, and
    a mask drawn from the very stream that drew ``x`` would be correlated with ``x`` (with
    ``x = 0.5 + u`` and ``keep = u >= p`` the large values would survive, biasing the mean)."""
    return np.random.default_rng([seed, 1])


def positive_input(rng: np.random.Generator, shape: tuple[int, ...],
                   dtype: str = "float32") -> np.ndarray:
    """Values in [0.5, 1.5): no zeros (a zero in ``out`` is then a dropped element) and a mean far
    from 0 (so a missing rescaling changes it)."""
    return rng.uniform(0.5, 1.5, size=shape).astype(dtype)


def call_text(shape: tuple[int, ...], dtype: Any, p: float, **kw: Any) -> str:
    """``dropout_forward(x, 0.3, seed=12)`` with x described, for ``what=``."""
    extra = "".join(f", {k}={v!r}" for k, v in kw.items())
    return f"dropout_forward(x of shape {shape} and dtype {np.dtype(dtype)}, {p}{extra})"


def forward_out(result: Any, x: np.ndarray, *, what: str, finite: bool = True) -> np.ndarray:
    """The ``out`` of a ``forward``/``forward_backward`` result, validated against ``x``: a numpy
    float array with x's shape, finite (unless ``finite=False``: the dtype checks judge only the
    dtype). Its dtype is not judged here (``test_output_dtype_matches_input`` does that): every
    other check compares values as float64."""
    if not isinstance(result, dict):
        fail(f"{what}: the call did not return its result")
    if result.get("out") is None:
        fail(f"{what}: expected a tuple (out, cache), got {result.get('returned')}")
    return expect_array(result["out"], what=f"{what}: out", shape=x.shape, dtype="float",
                        finite=finite)


def identity_rtol(x: np.ndarray, out: np.ndarray) -> float:
    """Relative tolerance for "out equals x": 0 when ``out`` is at least as precise as ``x``;
    one ulp of ``out``'s dtype when it is coarser (float64 rounded to float32 is within half an
    ulp), so that a wrong dtype costs the dtype check only."""
    x_eps, out_eps = (float(np.finfo(a.dtype).eps) for a in (x, out))
    return 0.0 if out_eps <= x_eps else out_eps


def dtype_hint(x_dtype: Any, out_dtype: Any) -> str:
    if np.dtype(out_dtype) == np.float64 and np.dtype(x_dtype) != np.float64:
        return (" A float64 mask or scale (a boolean mask divided by the Python float 1 - p, "
                "rng.random(...) values, torch.float64 tensors) promotes the product: cast the "
                "mask to x's dtype (mask.astype(x.dtype), mask.to(x.dtype)).")
    return " Compute in x's dtype (cast the mask to x.dtype) and do not convert x."


def no_warnings(result: dict[str, Any], *, what: str) -> None:
    """The forward/backward pass raised no warning (e.g. numpy's "invalid value in divide")."""
    caught = result.get("warnings") or []
    if caught:
        fail(f"{what}: your code raised {len(caught)} warning(s), first: {short(caught[0])}; "
             f"a correct dropout divides by 1 - p only when p < 1")


INPLACE_HINT = (" Dropout must not change its input in place (x.zero_(), x.mul_(...), x *= ..., "
                "x[mask] = 0, x.data...): autograd raises for a tensor that requires grad and "
                "for a layer's output that its backward pass needs (a ReLU's). Return a new "
                "tensor: x * mask / (1 - p), or x * 0.0 when p = 1.")


def _error_hint(text: str) -> str:
    low = text.lower()
    return INPLACE_HINT if ("in-place" in low or "inplace" in low) else ""


def raised(result: dict[str, Any], stage: str, *, what: str) -> None:
    """Fail with the student's exception if the run raised at ``stage`` ("build", "forward",
    "backward") or before it."""
    error = result.get("error")
    if not isinstance(error, dict):
        return
    stages = ("build", "forward", "backward")
    got = str(error.get("stage"))
    if got in stages and stages.index(got) > stages.index(stage):
        return
    first, _, trace = str(error.get("text", "")).partition("\n")
    doing = {"build": "building the layer", "forward": "the forward pass",
             "backward": "the backward pass (autograd)"}.get(got, got)
    fail(f"{what}: {doing} raised {first}{_error_hint(first)}" + (f"\n{trace}" if trace else ""))


def module_out(result: Any, x: np.ndarray, p: float, *, what: str,
               finite: bool = True) -> np.ndarray:
    """The ``out`` of a ``module_run`` result, validated: a tensor with x's shape, float, finite
    unless ``finite=False`` (sent back as a numpy array). Its dtype is the module dtype check's
    verdict."""
    if not isinstance(result, dict):
        fail(f"{what}: the call did not return its result")
    raised(result, "build", what=f"Dropout({p})")
    if not result.get("is_module"):
        fail(f"Dropout({p}) should be a torch.nn.Module (class Dropout(torch.nn.Module)), got "
             f"{result.get('built')}")
    raised(result, "forward", what=what)
    if result.get("out") is None:
        fail(f"{what}: expected a torch.Tensor, got {result.get('out_type')}")
    return expect_array(result["out"], what=what, shape=x.shape, dtype="float", finite=finite)


_GRAD_REASONS = {
    "out does not require grad": "the output is not connected to the input in autograd's graph "
                                 "(did you use .data, .detach(), .numpy(), torch.no_grad() or "
                                 "build a new tensor from the values, e.g. torch.zeros_like(x)?)",
    "shape differs": "the output does not have the input's shape",
    "no gradient reached x": "backward did not reach the input",
}


def module_grad(result: dict[str, Any], x: np.ndarray, *, what: str) -> np.ndarray:
    """The input gradient of a ``module_run`` result, or a failure saying why none arrived."""
    raised(result, "backward", what=what)
    status = result.get("grad_status")
    if status != "ok" or result.get("grad") is None:
        fail(f"{what}: no gradient flowed back to the input: {_GRAD_REASONS.get(status, status)}")
    return expect_array(result["grad"], what=f"{what}: gradient of the input", shape=x.shape,
                        dtype="float")


def implied_gradient(out: np.ndarray, x: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """``dout * out / x``: the gradient of an elementwise ``out = x * m`` whatever the multiplier
    ``m`` (``x`` has no zeros). It checks backward against the mask the forward really used."""
    return np.asarray(dout, dtype=np.float64) * (out.astype(np.float64) / x.astype(np.float64))


# -- a small network around the student's Dropout ---------------------------------------------

# nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU(), Dropout(p), nn.Linear(HIDDEN, OUT)) on a batch
# of BATCH rows, float64: small enough to compute exactly here, big enough that every mask
# pattern shows (640 dropout inputs, about half of them positive after the ReLU).
BATCH, IN, HIDDEN, OUT = 16, 5, 40, 3

# The network's gradients are sums of at most HIDDEN products; float64 rounding makes each off by
# at most about (HIDDEN + 3) * 1.1e-16 = 5e-15 of the sum of the absolute values of its terms,
# so the tolerance is relative to that sum (an exact sum can cancel to ~0). Reference: worst
# 3.0e-16 at p = 0.3 and exactly 0 at p = 1 over 200 seeds (`dlgrade calibrate dropout`), a
# margin of 3e6x; a missing 1 / (1 - p) at p = 0.3 is off by 0.3 of the value.
NETWORK_GRAD_TOL = 1e-9

NETWORK_PARTS = {"w1": "the first nn.Linear's weight", "b1": "the first nn.Linear's bias",
                 "x": "the network's input"}


def network_text(p: float, seed: int) -> str:
    return (f"Dropout({p}) inside nn.Sequential(nn.Linear({IN}, {HIDDEN}), nn.ReLU(), "
            f"Dropout({p}), nn.Linear({HIDDEN}, {OUT})) in train mode, after "
            f"torch.manual_seed({seed}), on a float64 batch of shape ({BATCH}, {IN}) that "
            f"requires grad, then backward of sum(out * dout)")


def network_case(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Weights, input and upstream gradient of the network, float64."""
    return {
        "x": rng.normal(size=(BATCH, IN)),
        "w1": rng.normal(size=(HIDDEN, IN)) / math.sqrt(IN),
        "b1": 0.1 * rng.normal(size=HIDDEN),
        "w2": rng.normal(size=(OUT, HIDDEN)) / math.sqrt(HIDDEN),
        "b2": 0.1 * rng.normal(size=OUT),
        "dout": rng.normal(size=(BATCH, OUT)),
    }


def network_gradients(case: dict[str, np.ndarray], h: np.ndarray,
                      d: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Gradients of ``sum(out * dout)`` for the first layer and the input, given the input ``h``
    (the ReLU's output) and the output ``d`` of the student's Dropout in that network: the mask
    is ``m = d / h`` where the ReLU passed a positive value (where it passed 0 the gradient is 0
    whatever the mask). The mask comes from the very tensors the Dropout saw: recomputing ``h``
    here would differ from torch's by rounding, which is large relative to a pre-activation
    near 0. Returns ``(gradients, scales)``; a scale is the same sum over absolute values."""
    x, w1, w2, dout = (case[k] for k in ("x", "w1", "w2", "dout"))
    h = np.asarray(h, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    active = h > 0
    m = np.where(active, d / np.where(active, h, 1.0), 0.0)
    g_pre = (dout @ w2) * m
    s_pre = (np.abs(dout) @ np.abs(w2)) * np.abs(m)
    grads = {"w1": g_pre.T @ x, "b1": g_pre.sum(axis=0), "x": g_pre @ w1}
    scales = {"w1": s_pre.T @ np.abs(x), "b1": s_pre.sum(axis=0), "x": s_pre @ np.abs(w1)}
    return grads, scales


def expect_network_gradients(result: Any, case: dict[str, np.ndarray], p: float, *, what: str,
                             tol: float = NETWORK_GRAD_TOL) -> np.ndarray:
    """The student's network ran forward and backward, and the gradients of the first layer and
    the input are the judge's, for the mask their Dropout used. Returns that Dropout's output."""
    if not isinstance(result, dict):
        fail(f"{what}: the call did not return its result")
    raised(result, "build", what=f"Dropout({p})")
    if not result.get("is_module"):
        fail(f"Dropout({p}) should be a torch.nn.Module (class Dropout(torch.nn.Module)), got "
             f"{result.get('built')}")
    raised(result, "backward", what=what)
    h = expect_array(result.get("h"), what=f"{what}: the input of your Dropout",
                     shape=(BATCH, HIDDEN), dtype="float")
    d = expect_array(result.get("d"), what=f"{what}: the output of your Dropout",
                     shape=(BATCH, HIDDEN), dtype="float")
    grads, scales = network_gradients(case, h, d)
    got_all = result.get("grads") if isinstance(result.get("grads"), dict) else {}
    for name, part in NETWORK_PARTS.items():
        got = got_all.get(name)
        if got is None:
            fail(f"{what}: no gradient reached {part} (its .grad is None): the output of your "
                 f"Dropout is not connected to its input in autograd's graph (.data, .detach(), "
                 f"torch.no_grad(), or a new tensor such as torch.zeros_like(x)); "
                 f"x * mask / (1 - p) (x * 0.0 when p = 1) keeps it connected")
        got = expect_array(got, what=f"{what}: the gradient of {part}",
                           shape=grads[name].shape, dtype="float")
        expected = grads[name]
        err = np.abs(got.astype(np.float64) - expected)
        bad = ~(err <= tol * (np.abs(expected) + scales[name]))
        if np.any(bad):
            idx = np.unravel_index(int(np.argmax(np.where(bad, err, -1.0))), err.shape)
            i = tuple(int(k) for k in idx)
            fail(f"{what}: the gradient of {part} is wrong at {int(bad.sum())} of {bad.size} "
                 f"element(s); worst at index {i}: yours {float(got[idx]):.10g}, expected "
                 f"{float(expected[idx]):.10g} (backpropagated through your Dropout's mask, "
                 f"out / in; tolerance {tol:g} of the size of the terms)")
    return d


# -- the overfitting demonstration, judged from the trained weights ---------------------------


def _demo_mse(weights: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """MSE of the 10 -> width -> width -> 1 ReLU network (eval mode: no dropout) in float32,
    as the demonstration measures it."""
    import torch

    w1, b1, w2, b2, w3, b3 = (torch.from_numpy(np.asarray(w, np.float32)) for w in weights)
    with torch.no_grad():
        h = torch.relu(torch.from_numpy(X) @ w1.T + b1)
        h = torch.relu(h @ w2.T + b2)
        out = (h @ w3.T + b3).reshape(-1)
        return float(((out - torch.from_numpy(y)) ** 2).mean())


def demo_initial_weights(settings: Any) -> list[np.ndarray]:
    """The demonstration network's initial weights, drawn here exactly as the demonstration
    draws them (``torch.manual_seed(demo_seed)``, then the three ``nn.Linear`` layers), without
    touching torch's global generator."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.demo_seed)
        layers = [torch.nn.Linear(10, settings.demo_width),
                  torch.nn.Linear(settings.demo_width, settings.demo_width),
                  torch.nn.Linear(settings.demo_width, 1)]
    return [t.detach().numpy().copy() for layer in layers for t in (layer.weight, layer.bias)]


def demo_losses(history: Any, settings: Any) -> tuple[float, float]:
    """``(initial, final)`` training loss of the network trained with the student's Dropout,
    both computed here on the judge's copy of the data: the initial one from the judge's own
    draw of the initial weights, the final one from the trained weights the run sent back
    (validated). The losses the run reports are only shown."""
    from grader.exercises.dropout.probes import _regression_data

    width = settings.demo_width
    shapes = [(width, 10), (width,), (width, width), (width,), (1, width), (1,)]
    weights = history.get("weights") if isinstance(history, dict) else None
    if not isinstance(weights, list) or len(weights) != len(shapes):
        fail("the training demonstration did not return the trained network's weights")
    checked = []
    for k, (value, shape) in enumerate(zip(weights, shapes)):
        checked.append(expect_array(value, shape=shape, dtype="float",
                                    what=f"the trained network's parameter {k}"))
    X, y, _, _ = _regression_data(settings.demo_seed, settings.demo_train, settings.demo_val)
    return (_demo_mse(demo_initial_weights(settings), X, y), _demo_mse(checked, X, y))
