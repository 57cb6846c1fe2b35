"""Numerical gradients for the judge: float64 central differences and readable verdicts.

Conventions (see ``../shared/reference.md``):
- central differences ``(f(x + h) - f(x - h)) / (2h)``, h = 1e-5 by default (1e-6 for smooth f);
- a vector-valued f is reduced through a fixed random upstream gradient ``dout``:
  ``g = d/dx sum(f(x) * dout)``;
- relative error per element ``|a - b| / max(1e-8, |a| + |b|)``.

Everything here runs in the judge on values it computed or received as data; ``f`` may call into
the sandbox (each evaluation is then a worker call) or be a trusted oracle.

Two ways to differentiate a student's forward:
- in the judge, with a callable: :func:`numerical_gradient`, :func:`numerical_gradient_vector`;
- in one worker call: send :func:`perturbations` of the input to a probe that returns the forward's
  output at each, then :func:`gradient_from_outputs` (vector outputs, with a ``dout`` from
  :func:`random_upstream`) or :func:`gradient_from_values` (scalar outputs such as a loss).
Then :func:`expect_gradient` gives the verdict (parameter, worst index, both values, tolerance).
Random inputs should be redrawn until :func:`well_conditioned`, so rounding cannot fail a right
answer; :func:`worst_relative_error` is the figure calibration records.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from grader.expect import counted, fail, short, type_name

ScalarFn = Callable[[np.ndarray], float]
VectorFn = Callable[[np.ndarray], np.ndarray]


def numerical_gradient(f: ScalarFn, x: np.ndarray, *, h: float = 1e-5) -> np.ndarray:
    """Gradient of scalar ``f`` at float64 ``x`` by central differences; ``x`` is not modified."""
    x = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = float(f(x.copy()))
        x[idx] = old - h
        minus = float(f(x.copy()))
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * h)
    return grad


def numerical_gradient_vector(f: VectorFn, x: np.ndarray, dout: np.ndarray, *,
                              h: float = 1e-5) -> np.ndarray:
    """Gradient of ``sum(f(x) * dout)`` at ``x``: what a backward pass returns for upstream ``dout``."""
    dout = np.asarray(dout, np.float64)
    return numerical_gradient(lambda z: float(np.sum(np.asarray(f(z), dtype=np.float64) * dout)),
                              x, h=h)


def perturbations(x: np.ndarray, *, h: float = 1e-5) -> np.ndarray:
    """All ``2 * x.size`` perturbed copies of ``x``, stacked: ``[x + h e_0, x - h e_0, x + h e_1, ...]``.

    For sending one batch to the worker instead of one call per evaluation; pair with
    :func:`gradient_from_values`.
    """
    x = np.asarray(x, np.float64)
    flat = np.repeat(x.reshape(1, -1), 2 * x.size, axis=0)
    rows = np.arange(x.size)
    flat[2 * rows, rows] += h
    flat[2 * rows + 1, rows] -= h
    return flat.reshape((2 * x.size, *x.shape))


def gradient_from_values(values: np.ndarray, shape: tuple[int, ...], *, h: float = 1e-5) -> np.ndarray:
    """Central differences from scalar values at :func:`perturbations` (plus, minus, plus, ...)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    return ((values[0::2] - values[1::2]) / (2 * h)).reshape(shape)


def relative_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise ``|a - b| / max(1e-8, |a| + |b|)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, np.float64)
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


@counted
def expect_gradient(got: object, expected: np.ndarray, *, name: str, tol: float,
                    what: str = "", reference: str = "numerical",
                    shape_of: str | None = None, dtype: str | None = None) -> None:
    """Compare a student's gradient with an oracle's; the message names the parameter, the worst
    index, both values, the relative error and the tolerance.

    ``reference`` names the oracle in the message ("numerical", "torch autograd"); ``shape_of``
    names the input whose shape the gradient must have (default: ``name`` without its leading
    ``d``, so "dw" -> "w"); ``dtype`` (e.g. "float64"), when given, is required exactly (a
    float32 gradient cannot meet a float64 tolerance).
    """
    label = f"{what}: {name}" if what else name
    expected = np.asarray(expected, dtype=np.float64)
    if not isinstance(got, np.ndarray):
        fail(f"{label}: expected a numpy array, got {type_name(got)}: {short(got)}")
    if got.shape != expected.shape:
        fail(f"{label}: expected shape {expected.shape} (the shape of "
             f"{shape_of or name.lstrip('d')}), got shape {got.shape}")
    if got.dtype.kind not in "fiu":
        fail(f"{label}: expected a float array, got dtype {got.dtype}")
    if dtype is not None and got.dtype != np.dtype(dtype):
        fail(f"{label}: expected dtype {np.dtype(dtype)}, got dtype {got.dtype}")
    if not np.all(np.isfinite(got)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
        fail(f"{label}: non-finite value {got[idx]!r} at index {idx}")
    if not np.all(np.isfinite(expected)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(expected))[0])
        fail(f"{label}: the {reference} gradient of your forward is not finite ({expected[idx]!r} "
             f"at index {idx}), so your backward pass cannot be checked: does your forward "
             "return huge, infinite or NaN values on this input?")
    err = relative_error(got, expected)
    if err.size == 0:
        return
    bad = ~(err <= tol)  # written so that a NaN error is a failure, never a pass
    worst = np.unravel_index(int(np.argmax(np.where(np.isnan(err), np.inf, err))), err.shape)
    if np.any(bad):
        idx = tuple(int(i) for i in worst)
        n_bad = int(bad.sum())
        fail(f"{label}: gradient wrong at {n_bad} of {err.size} element(s); worst at index {idx}: "
             f"yours {float(got[worst]):.8g}, {reference} {float(expected[worst]):.8g} "
             f"(relative error {float(err[worst]):.3g} > tolerance {tol:g})")


def random_upstream(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A random upstream gradient ``dout`` (float64, standard normal) for a vector-valued output.

    Random rather than all ones, so that a backward pass that sums over the wrong axis or mixes up
    elements cannot agree with the truth by symmetry.
    """
    return rng.standard_normal(shape)


def gradient_from_outputs(outputs: np.ndarray, dout: np.ndarray, shape: tuple[int, ...], *,
                          h: float = 1e-5) -> np.ndarray:
    """Central differences of ``sum(f(x) * dout)`` from ``f``'s outputs at :func:`perturbations`.

    ``outputs`` has shape ``(2 * prod(shape), *dout.shape)``: the forward at ``x + h e_0``,
    ``x - h e_0``, ... The outputs are subtracted element-wise before the upstream gradient is
    applied (``sum((f(x + h) - f(x - h)) * dout) / 2h``), so elements that do not depend on the
    perturbed input cancel exactly instead of adding their rounding error to every difference.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    dout = np.asarray(dout, np.float64)
    # A forward near 1e308 overflows here; expect_gradient then fails on the non-finite result.
    with np.errstate(over="ignore", invalid="ignore"):
        diff = (outputs[0::2] - outputs[1::2]).reshape(len(outputs) // 2, -1)
        return ((diff * dout.reshape(1, -1)).sum(axis=1) / (2 * h)).reshape(shape)


def upstream_values(outputs: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """``sum(out * dout)`` for each output of a stack (one per perturbation), for
    :func:`gradient_from_values`. Prefer :func:`gradient_from_outputs`, which subtracts first and
    so keeps the rounding error of the untouched outputs out of every difference."""
    outputs = np.asarray(outputs, dtype=np.float64)
    dout = np.asarray(dout, np.float64)
    return (outputs.reshape(len(outputs), -1) * dout.reshape(1, -1)).sum(axis=1)

def worst_relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    """The largest element-wise :func:`relative_error` (0.0 for empty arrays); for calibration."""
    err = relative_error(got, expected)
    return float(err.max()) if err.size else 0.0


def well_conditioned(gradients: list[np.ndarray], floor: float) -> bool:
    """True when every non-zero element of ``gradients`` has magnitude at least ``floor``.

    Rounding makes a central difference's absolute error about ``eps * |f| / h`` (~1e-11 for
    values of order one), so a true gradient element of 1e-6 cannot pass a relative tolerance of
    1e-7 however right the backward pass is. Checks redraw their random inputs until the oracle's
    gradient is well conditioned; exact zeros (a ReLU's dead inputs) are exact on both sides.
    """
    for grad in gradients:
        grad = np.asarray(grad, dtype=np.float64)
        nonzero = np.abs(grad[grad != 0])
        if nonzero.size and float(nonzero.min()) < floor:
            return False
    return True
