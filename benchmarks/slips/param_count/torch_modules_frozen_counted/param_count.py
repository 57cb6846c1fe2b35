# expect: trainable_flag_ignored
# trainable_only is ignored (written from tests/submissions/param_count/ok_torch_modules, another style than the reference)
"""Correct, by building the layers with torch (on the meta device: shapes, no memory) and asking
them: numel of their parameters, the shape of F.conv2d's output (returned as the torch.Size it
is, a tuple of Python ints); count_parameters iterates over modules and deduplicates tied
weights by their data pointer."""

import torch
from torch import nn
from torch.nn import functional as F


def _positive(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np
        except ImportError:  # pragma: no cover
            np = None
        if np is None or not isinstance(value, np.integer):
            raise ValueError(f"{name} must be an integer")
        value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}")
    return value


def _pair(value, name, minimum=1):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair")
        return _positive(value[0], name, minimum), _positive(value[1], name, minimum)
    value = _positive(value, name, minimum)
    return value, value


def dense_param_count(layer_sizes, *, bias=True):
    sizes = [_positive(s, "layer size") for s in layer_sizes]
    if len(sizes) < 2:
        raise ValueError("need at least two layer sizes")
    net = nn.Sequential(*[nn.Linear(a, b, bias=bias, device="meta")
                          for a, b in zip(sizes, sizes[1:])])
    return sum(p.numel() for p in net.parameters())


def conv2d_param_count(in_channels, out_channels, kernel_size, *, bias=True, groups=1):
    c_in, c_out = _positive(in_channels, "in_channels"), _positive(out_channels, "out_channels")
    g = _positive(groups, "groups")
    kernel = _pair(kernel_size, "kernel_size")
    if c_in % g or c_out % g:
        raise ValueError("channels must be divisible by groups")
    layer = nn.Conv2d(c_in, c_out, kernel, bias=bias, groups=g, device="meta")
    return sum(p.numel() for p in layer.parameters())


def conv2d_output_shape(height, width, kernel_size, *, stride=1, padding=0, dilation=1):
    h, w = _positive(height, "height"), _positive(width, "width")
    kernel = _pair(kernel_size, "kernel_size")
    x = torch.zeros(1, 1, h, w, device="meta")
    weight = torch.zeros(1, 1, *kernel, device="meta")
    try:
        out = F.conv2d(x, weight, stride=_pair(stride, "stride"),
                       padding=_pair(padding, "padding", minimum=0),
                       dilation=_pair(dilation, "dilation"))
    except RuntimeError as err:
        raise ValueError(f"the kernel does not fit: {err}") from None
    if min(out.shape[-2:]) < 1:
        raise ValueError("no output")
    return out.shape[-2:]


def count_parameters(model, *, trainable_only=False):
    by_storage = {}
    for module in model.modules():
        for param in module.parameters(recurse=False):
            by_storage[param.data_ptr()] = param.numel()
    return sum(by_storage.values())
