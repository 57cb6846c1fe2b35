"""Judge-side helpers shared by the public and hidden dropout checks.

They turn what the probes sent back into validated arrays (missing -> raised -> type -> shape ->
dtype -> finite), failing the check with a message the student can act on; the verdicts on the
values are in ``stats.py`` and in the checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.expect import expect_array, expect_type, fail, short


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


def forward_out(result: dict[str, Any], x: np.ndarray, *, what: str) -> np.ndarray:
    """The ``out`` of a ``forward``/``forward_backward`` probe result, validated against ``x``:
    a numpy array with x's shape and dtype, finite."""
    expect_type(result, dict, what=f"{what} (probe result)")
    if result.get("out") is None:
        fail(f"{what}: expected a tuple (out, cache), got {result.get('returned')}")
    return expect_array(result["out"], what=f"{what}: out", shape=x.shape, dtype=x.dtype)


def no_warnings(result: dict[str, Any], *, what: str) -> None:
    """The forward/backward pass raised no warning (e.g. numpy's "invalid value in divide")."""
    caught = result.get("warnings") or []
    if caught:
        fail(f"{what}: your code raised {len(caught)} warning(s), first: {short(caught[0])}; "
             f"a correct dropout divides by 1 - p only when p < 1")


def module_out(result: dict[str, Any], x: np.ndarray, p: float, *, what: str) -> np.ndarray:
    """The ``out`` of a ``module_run`` probe result, validated: a tensor with x's shape and dtype,
    finite (sent back as a numpy array)."""
    expect_type(result, dict, what=f"{what} (probe result)")
    if not result.get("is_module"):
        fail(f"Dropout({p}) should be a torch.nn.Module (class Dropout(torch.nn.Module)), got "
             f"{result.get('built')}")
    if result.get("out") is None:
        fail(f"{what}: expected a torch.Tensor, got {result.get('out_type')}")
    return expect_array(result["out"], what=what, shape=x.shape, dtype=x.dtype)


def module_grad(result: dict[str, Any], x: np.ndarray, *, what: str) -> np.ndarray:
    """The input gradient of a ``module_run`` result, or a failure saying why none arrived."""
    status = result.get("grad_status")
    if status != "ok" or result.get("grad") is None:
        reasons = {
            "out does not require grad": "the output is not connected to the input in autograd's "
                                         "graph (did you use .data, .detach(), .numpy() or build "
                                         "a new tensor from the values?)",
            "shape differs": "the output does not have the input's shape",
            "no gradient reached x": "backward did not reach the input",
        }
        fail(f"{what}: no gradient flowed back to the input: {reasons.get(status, status)}")
    return expect_array(result["grad"], what=f"{what}: gradient of the input", shape=x.shape,
                        dtype="float")


def implied_gradient(out: np.ndarray, x: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """``dout * out / x``: the gradient of an elementwise ``out = x * m`` whatever the multiplier
    ``m`` (``x`` has no zeros). It checks backward against the mask the forward really used."""
    return np.asarray(dout, dtype=np.float64) * (out.astype(np.float64) / x.astype(np.float64))


def torch_dropout_message(calls: list[str]) -> str:
    return (f"Dropout.forward called torch's own dropout ({', '.join(calls)}). This exercise asks "
            f"you to write it by hand: draw a mask with torch.rand(x.shape) >= self.p, multiply "
            f"x by it and divide by 1 - self.p in training mode; return x in eval mode. Do not "
            f"use torch.nn.functional.dropout, torch.dropout or torch.nn.Dropout.")
