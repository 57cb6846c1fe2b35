"""Judge-side validators and verdicts for the `param_count` checks.

They judge a student's value against an *expected value* they are given: the golden data's in
the public checks (written from the reference by ``dlgrade release``), PyTorch's own in the hidden
checks (``counts.py``, judge side only). Nothing here counts parameters or computes a shape: this
module ships with the student release.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from torch import nn

from grader.exercises.param_count.probes import DESCRIPTIONS, build_model
from grader.sandbox.codec import Opaque
from grader.expect import fail, short, type_name


def call_text(name: str, *args: Any, **kwargs: Any) -> str:
    """``name(args, key=value)`` as a student would write the call."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _qualified(value: Any) -> str:
    cls = type(value)
    module = cls.__module__.split(".")[0]
    return cls.__name__ if module == "builtins" else f"{module}.{cls.__name__}"


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "numel")


def as_number(got: Any, *, what: str) -> int | float:
    """The number ``got`` stands for, whatever numeric type holds it: a Python or numpy integer
    or float, a one-element numpy array or torch tensor. A whole number comes back as ``int``.

    The checks about values judge the value only; "results are python ints" is the one check
    about the contract's type. A bool, ``None`` or anything else that is not a number fails.
    """
    value = got
    if _is_tensor(value):
        if value.numel() != 1:
            fail(f"{what}: expected a single number, got a tensor of shape "
                 f"{tuple(value.shape)}: {short(value)}")
        value = value.reshape(-1)[0].item()
    elif isinstance(value, np.ndarray):
        if value.size != 1 or value.dtype.kind not in "iuf":
            fail(f"{what}: expected a single number, got an array of shape {value.shape} and "
                 f"dtype {value.dtype}")
        value = value.reshape(-1)[0].item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        fail(f"{what}: expected a number (an int), got {type_name(got)}: {short(got)}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    if not math.isfinite(value):
        fail(f"{what}: got {value!r}, expected a whole number")
    return int(value) if value.is_integer() else value


def _number_text(value: int | float) -> str:
    return f"{value:,}" if isinstance(value, int) else repr(value)


def expect_count(got: Any, expected: int, *, what: str, hint: str = "") -> None:
    """A number equal to ``expected``, whatever its numeric type (12013010.0 is the right
    value; its type costs the check about types only)."""
    value = as_number(got, what=what)
    if value != expected:
        diff = value - expected
        diff_text = f"{diff:+,}" if isinstance(diff, int) else f"{diff:+g}"
        fail(f"{what}: got {_number_text(value)}, expected {expected:,} ({diff_text}){hint}")


def expect_shape_pair(got: Any, expected: tuple[int, int], *, what: str) -> None:
    """A pair (a tuple or list, as :func:`probes.output_shape` sends it) of two numbers equal to
    ``expected``."""
    if not isinstance(got, (tuple, list)):
        fail(f"{what}: expected a tuple (out_h, out_w), got {type_name(got)}: {short(got)}")
    if len(got) != 2:
        fail(f"{what}: expected a tuple of 2 ints (out_h, out_w), got {len(got)} items: "
             f"{short(got)}")
    values = tuple(as_number(v, what=f"{what}[{i}]") for i, v in enumerate(got))
    if values != tuple(expected):
        fail(f"{what}: got {values}, expected {tuple(expected)} (as torch.nn.Conv2d)")


def shape_of(student: Any, height: Any, width: Any, kernel: Any, **kwargs: Any) -> Any:
    """The student's ``conv2d_output_shape(...)``, a tuple subclass (``torch.Size``) or a 1-D
    array or tensor sent back as a plain tuple (see ``probes.output_shape``)."""
    return student.probe("output_shape", height, width, kernel,
                         _what=call_text("conv2d_output_shape", height, width, kernel, **kwargs),
                         **kwargs)


def type_problem(value: Any, *, what: str) -> str | None:
    """Why ``value`` is not a Python ``int`` as the contract says, or ``None`` if it is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    kind = _qualified(value)
    if isinstance(value, np.integer):
        return (f"{what} returned {kind} {value}; the contract says a Python int: wrap it in "
                f"int(...)")
    if isinstance(value, (float, np.floating)):
        return (f"{what} returned {kind} {value}; the contract says a Python int: use "
                f"// (floor division) instead of /, or int(...)")
    if _is_tensor(value):
        return (f"{what} returned a torch.Tensor ({short(value)}); the contract says a Python "
                f"int: use .item() or int(...)")
    if isinstance(value, np.ndarray):
        return (f"{what} returned a numpy array of shape {value.shape} ({short(value)}); the "
                f"contract says a Python int")
    return f"{what} returned {type_name(value)}: {short(value)}; the contract says a Python int"


def pair_type_problem(value: Any, *, what: str) -> str | None:
    """Why ``value`` is not a tuple of Python ints, or ``None`` if it is (``torch.Size``, a
    tuple of Python ints, is one)."""
    if isinstance(value, Opaque) and value.type_name == "torch.Size":
        return None
    if not isinstance(value, tuple):
        hint = " (tuple(...) of it)" if isinstance(value, list) else ""
        return (f"{what} returned {type_name(value)} {short(value, 80)}; the contract says a "
                f"tuple (out_h, out_w) of Python ints{hint}")
    for i, item in enumerate(value):
        problem = type_problem(item, what=f"{what}[{i}]")
        if problem is not None:
            return problem.replace(f"{what}[{i}] returned", f"{what}[{i}] is", 1)
    return None


def describe(model: nn.Module, limit: int = 400) -> str:
    text = " ".join(str(model).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# A model's ``counts``: the right ones and the usual wrong ones (to tell the student which
# mistake a wrong count looks like): "all" and "trainable" (count_parameters with trainable_only
# False and True), "frozen", "state_dict" (buffers too), "duplicates" (tied parameters once per
# holder), "no_bias".
def expect_model_count(student: Any, name: str, *, counts: dict[str, int],
                       trainable_only: bool = False) -> None:
    """Run the student's ``count_parameters`` on model ``name`` in the worker; compare with the
    expected ``counts`` of the model (their keys: the comment above)."""
    expected = counts["trainable" if trainable_only else "all"]
    call = "count_parameters(model, trainable_only=True)" if trainable_only else \
        "count_parameters(model)"
    what = f"{call} for the model {name!r}"
    model_text = f" The model: {DESCRIPTIONS[name]}: {describe(build_model(name))}"
    got = student.probe("count_model", name, trainable_only, _what=call)
    value = as_number(got, what=what)
    if value == expected:
        return
    hints = []
    if counts["state_dict"] != counts["all"] and value == counts["state_dict"]:
        extra = []
        if counts["state_dict"] > counts["duplicates"]:
            extra.append("buffers (batch-norm running statistics)")
        if counts["duplicates"] > counts["all"]:
            extra.append("a shared (tied) weight once per layer that holds it")
        hints.append(f"this is the size of state_dict(), which also holds {' and '.join(extra)}; "
                     f"count model.parameters() (it yields each Parameter object once)")
    elif counts["duplicates"] != counts["all"] and value == counts["duplicates"]:
        hints.append("a shared (tied) parameter was counted once per layer that holds it; "
                     "count each Parameter object once (model.parameters() does)")
    elif trainable_only and value == counts["all"]:
        hints.append("frozen parameters (requires_grad=False) must be left out when "
                     "trainable_only=True")
    elif not trainable_only and counts["frozen"] and value == counts["trainable"]:
        hints.append("frozen parameters still count when trainable_only is False")
    elif value == counts["no_bias"]:
        hints.append("the biases are missing")
    hint = f"; {hints[0]}." if hints else "."
    diff = value - expected
    diff_text = f"{diff:+,}" if isinstance(diff, int) else f"{diff:+g}"
    fail(f"{what}: got {_number_text(value)}, expected {expected:,} ({diff_text}){hint}"
         f"{model_text}")
