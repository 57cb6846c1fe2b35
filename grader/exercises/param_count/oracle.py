"""Judge-side oracles and validators for the `param_count` checks.

The oracles are PyTorch itself, as a student would check their answer: layers are built on the
``meta`` device (shapes without memory, so a 10,000 x 1,000 layer costs nothing) and counted with
``numel``; output shapes come from running ``torch.nn.functional.conv2d`` on a meta tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from grader.exercises.param_count.probes import DESCRIPTIONS, build_model
from grader.expect import expect_int, fail, short, type_name

Pair = int | tuple[int, int]


def torch_dense_count(sizes: Sequence[int], *, bias: bool = True) -> int:
    layers = [nn.Linear(a, b, bias=bias, device="meta") for a, b in zip(sizes, sizes[1:])]
    return sum(p.numel() for layer in layers for p in layer.parameters())


def torch_conv_count(c_in: int, c_out: int, kernel: Pair, *, bias: bool = True,
                     groups: int = 1) -> int:
    layer = nn.Conv2d(c_in, c_out, kernel, bias=bias, groups=groups, device="meta")
    return sum(p.numel() for p in layer.parameters())


def _pair(value: Pair) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def torch_output_shape(height: int, width: int, kernel: Pair, *, stride: Pair = 1,
                       padding: Pair = 0, dilation: Pair = 1) -> tuple[int, int] | None:
    """``nn.Conv2d``'s output (height, width), or ``None`` where torch refuses (no output)."""
    x = torch.zeros(1, 1, height, width, device="meta")
    w = torch.zeros(1, 1, *_pair(kernel), device="meta")
    try:
        out = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    except RuntimeError:
        return None
    h, w_out = int(out.shape[-2]), int(out.shape[-1])
    return (h, w_out) if h > 0 and w_out > 0 else None


def call_text(name: str, *args: Any, **kwargs: Any) -> str:
    """``name(args, key=value)`` as a student would write the call."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def expect_count(got: Any, expected: int, *, what: str, hint: str = "") -> None:
    """A Python or numpy integer equal to ``expected`` (a float such as 12013010.0 is refused:
    a count is an int)."""
    value = expect_int(got, what=what)
    if value != expected:
        diff = value - expected
        fail(f"{what}: got {value:,}, expected {expected:,} ({diff:+,}){hint}")


def expect_shape_pair(got: Any, expected: tuple[int, int], *, what: str) -> None:
    """A pair (tuple, or list) of two integers equal to ``expected``."""
    if not isinstance(got, (tuple, list)):
        fail(f"{what}: expected a tuple (out_h, out_w), got {type_name(got)}: {short(got)}")
    if len(got) != 2:
        fail(f"{what}: expected a tuple of 2 ints (out_h, out_w), got {len(got)} items: "
             f"{short(got)}")
    values = tuple(expect_int(v, what=f"{what}[{i}]") for i, v in enumerate(got))
    if values != tuple(expected):
        fail(f"{what}: got {values}, expected {tuple(expected)} (as torch.nn.Conv2d)")


def describe(model: nn.Module, limit: int = 400) -> str:
    text = " ".join(str(model).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def model_counts(name: str) -> dict[str, int]:
    """The judge's own counts for the model ``name``: the right ones and the usual wrong ones
    (to tell the student which mistake a wrong count looks like)."""
    model = build_model(name)
    return {
        "all": sum(p.numel() for p in model.parameters()),
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "frozen": sum(p.numel() for p in model.parameters() if not p.requires_grad),
        "state_dict": sum(t.numel() for t in model.state_dict().values()),
        "duplicates": sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False)),
        "no_bias": sum(p.numel() for n, p in model.named_parameters() if not n.endswith("bias")),
    }


def expect_model_count(student: Any, name: str, *, trainable_only: bool = False) -> None:
    """Run the student's ``count_parameters`` on model ``name`` in the worker; compare with the
    judge's count of its own copy of the model."""
    counts = model_counts(name)
    expected = counts["trainable" if trainable_only else "all"]
    call = "count_parameters(model, trainable_only=True)" if trainable_only else \
        "count_parameters(model)"
    what = f"{call} for the model {name!r}"
    model_text = f" The model: {DESCRIPTIONS[name]}: {describe(build_model(name))}"
    got = student.probe("count_model", name, trainable_only)
    value = expect_int(got, what=what)
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
    fail(f"{what}: got {value:,}, expected {expected:,} ({value - expected:+,}){hint}{model_text}")
