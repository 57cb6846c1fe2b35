"""The hidden checks' oracle for `param_count`: PyTorch's own counts and output shapes (judge
side only: it never ships; the public checks read the same values from the golden data).

Layers are built on the ``meta`` device (shapes without memory, so a 10,000 x 1,000 layer costs
nothing) and counted with ``numel``; output shapes come from running
``torch.nn.functional.conv2d`` on a meta tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from grader.exercises.param_count.probes import build_model

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
