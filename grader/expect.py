"""Assertions for checks, with feedback a student can act on.

Every helper raises ``CheckFailure`` with a message in the order the design asks for:
type -> shape -> dtype -> finite -> values, naming what was given, what was expected and where
they differ (index, relative error, tolerance). Missing functions and exceptions are reported
earlier, by the sandbox proxy, as ``StudentError``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NoReturn, TypeVar

import numpy as np

from grader.errors import CheckFailure, Raised

_KINDS = {"float": "f", "int": "iu", "bool": "b", "complex": "c"}
F = TypeVar("F", bound=Callable[..., Any])

# How many assertions (the expect_* helpers below, numgrad.expect_gradient) the running check has
# made: with its calls to the student's code, that says which of a check's cases failed, for the
# failure signature (grader.slips.signature). grader.plugin counts each check on its own.
_ASSERTIONS: ContextVar[list[int] | None] = ContextVar("dlgrade_assertions", default=None)


@contextmanager
def counting_assertions() -> Iterator[list[int]]:
    """Count the assertions made inside the block: ``box[0]`` once it ends."""
    box = [0]
    token = _ASSERTIONS.set(box)
    try:
        yield box
    finally:
        _ASSERTIONS.reset(token)


def counted(helper: F) -> F:
    """Mark an assertion helper: each call counts (see :func:`counting_assertions`)."""
    @functools.wraps(helper)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        box = _ASSERTIONS.get()
        if box is not None:
            box[0] += 1
        return helper(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def fail(message: str) -> NoReturn:
    """Fail the check with ``message`` (shown to the student as it is)."""
    raise CheckFailure(message)


def short(value: Any, limit: int = 200) -> str:
    """A one-line repr for messages, cut at ``limit`` characters."""
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=6, threshold=20, edgeitems=3, linewidth=10_000):
            text = np.array2string(value, separator=", ")
        text = f"array(shape={value.shape}, dtype={value.dtype}) {text}"
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def type_name(value: Any) -> str:
    return type(value).__name__ if not hasattr(value, "type_name") else value.type_name


@counted
def expect_type(value: Any, types: type | tuple[type, ...], *, what: str) -> None:
    """``value`` must be an instance of ``types`` (``bool`` never passes for ``int``)."""
    types = types if isinstance(types, tuple) else (types,)
    bad_bool = isinstance(value, bool) and bool not in types
    if bad_bool or not isinstance(value, types):
        wanted = " or ".join(t.__name__ for t in types)
        fail(f"{what}: expected {wanted}, got {type_name(value)}: {short(value)}")


@counted
def expect_int(value: Any, *, what: str) -> int:
    """A Python or numpy integer (not bool); returns it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        fail(f"{what}: expected an int, got {type_name(value)}: {short(value)}")
    return int(value)


@counted
def expect_len(value: Any, length: int, *, what: str) -> None:
    if len(value) != length:
        fail(f"{what}: expected {length} items, got {len(value)}")


@counted
def expect_equal(got: Any, expected: Any, *, what: str) -> None:
    """Exact equality for scalars, strings and small structures."""
    if got != expected:
        fail(f"{what}: expected {short(expected)}, got {short(got)}")


@counted
def expect_array(got: Any, expected: Any = None, *, what: str,
                 shape: tuple[int, ...] | None = None, dtype: str | np.dtype | None = None,
                 rtol: float = 1e-7, atol: float = 1e-10, finite: bool = True) -> np.ndarray:
    """Check an array returned by student code, step by step.

    - ``expected``: the oracle's values (any array-like) or ``None`` to check only the form;
    - ``shape``: defaults to ``expected``'s shape;
    - ``dtype``: ``"float"``, ``"int"``, ``"bool"`` (a kind) or an exact numpy dtype;
    - values compare element-wise as ``|got - expected| <= atol + rtol * |expected|``;
      the message names the worst index, both values, the errors and the tolerance.
    Returns ``got`` as an ndarray.
    """
    if not isinstance(got, np.ndarray):
        fail(f"{what}: expected a numpy array, got {type_name(got)}: {short(got)}")
    exp = None if expected is None else np.asarray(expected)
    want_shape = shape if shape is not None else (None if exp is None else exp.shape)
    if want_shape is not None and tuple(got.shape) != tuple(want_shape):
        fail(f"{what}: expected shape {tuple(want_shape)}, got shape {tuple(got.shape)}")
    if dtype is not None:
        if isinstance(dtype, str) and dtype in _KINDS:
            if got.dtype.kind not in _KINDS[dtype]:
                fail(f"{what}: expected a {dtype} array, got dtype {got.dtype}")
        elif got.dtype != np.dtype(dtype):
            fail(f"{what}: expected dtype {np.dtype(dtype)}, got dtype {got.dtype}")
    if finite and got.dtype.kind in "fc" and not np.all(np.isfinite(got)):
        bad = np.argwhere(~np.isfinite(got))
        first = tuple(int(i) for i in bad[0])
        fail(f"{what}: {len(bad)} non-finite value(s) (NaN or inf), first at index {first}: "
             f"{got[first]!r}")
    if exp is not None:
        compare(got, exp, what=what, rtol=rtol, atol=atol)
    return got


def compare(got: np.ndarray, expected: np.ndarray, *, what: str, rtol: float, atol: float) -> None:
    """Element-wise closeness with a message that locates the worst element."""
    got_f = got.astype(np.float64) if got.dtype.kind in "biu" else got
    exp_f = expected.astype(np.float64) if expected.dtype.kind in "biu" else expected
    if exp_f.dtype.kind in "fc" and not np.all(np.isfinite(exp_f)):
        first = tuple(int(i) for i in np.argwhere(~np.isfinite(exp_f))[0])
        fail(f"{what}: the expected value is not finite ({exp_f[first]!r} at index {first}), so "
             "this cannot be compared: does your code produce huge, infinite or NaN values "
             "that the expected value was computed from?")
    with np.errstate(over="ignore", invalid="ignore"):  # huge values fail below, quietly
        err = np.abs(got_f - exp_f)
        allowed = atol + rtol * np.abs(exp_f)
    bad = ~(err <= allowed)
    if not np.any(bad):
        return
    excess = np.where(bad, err - allowed, -np.inf)
    idx = np.unravel_index(int(np.argmax(excess)), got.shape) if got.ndim else ()
    with np.errstate(over="ignore", invalid="ignore"):
        rel = err[idx] / max(1e-12, abs(float(exp_f[idx])))
    where = f" at index {tuple(int(i) for i in idx)}" if got.ndim else ""
    fail(f"{what}: {int(bad.sum())} of {got.size} value(s) differ; worst{where}: "
         f"got {_scalar(got[idx])!r}, expected {_scalar(expected[idx])!r} (abs error {float(err[idx]):.3g}, "
         f"rel error {float(rel):.3g}; tolerance atol={atol:g}, rtol={rtol:g})")


def _scalar(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (numpy 2 prints ``np.float64(0.5)``)."""
    return value.item() if isinstance(value, np.generic) else value


@counted
def expect_close(got: Any, expected: float, *, what: str, rtol: float = 1e-7,
                 atol: float = 1e-10) -> float:
    """A real scalar (Python or numpy, or a 0-d array) close to ``expected``."""
    if isinstance(got, np.ndarray) and got.shape == ():
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
        fail(f"{what}: expected a number, got {type_name(got)}: {short(got)}")
    value = float(got)
    if not np.isfinite(expected):
        fail(f"{what}: the expected value is not finite ({expected!r}), so {value!r} cannot be "
             "compared with it: does your code produce huge, infinite or NaN values that it was "
             "computed from?")
    if not np.isfinite(value):
        fail(f"{what}: got {value!r}, expected a finite number close to {expected!r}")
    if not abs(value - expected) <= atol + rtol * abs(expected):
        fail(f"{what}: got {value!r}, expected {expected!r} (abs error "
             f"{abs(value - expected):.3g}; tolerance atol={atol:g}, rtol={rtol:g})")
    return value


@counted
@contextmanager
def expect_raises(exc_name: str, *, what: str) -> Iterator[None]:
    """The student call inside the block must raise ``exc_name`` (or a subclass of it).

    >>> with expect_raises("ValueError", what="kfold_indices(10, 1)"):
    ...     student.kfold_indices(10, 1)
    """
    try:
        yield
    except Raised as err:
        if err.is_a(exc_name):
            return
        fail(f"{what}: expected {exc_name}, but it raised {err.exc_type}: {err.exc_message}")
    fail(f"{what}: expected {exc_name} to be raised, but it returned normally")
