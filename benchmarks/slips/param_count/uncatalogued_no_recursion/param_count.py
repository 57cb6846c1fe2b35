# expect: none
# count_parameters counts only the top module's own parameters (not in the catalogue) (written from tests/submissions/param_count/ok_recursive_analytic, another style than the reference)
"""Correct, by hand: the formulas with plain loops, math.floor of a true division for the output
size, and a recursive walk over the submodules that counts each Parameter once by its id()."""

import math
import numbers


def _size(value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"expected an integer of at least {minimum}, got {value!r}")
    return int(value)


def _two(value, minimum=1):
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError("expected an int or a pair")
        return [_size(value[0], minimum), _size(value[1], minimum)]
    return [_size(value, minimum)] * 2


def dense_param_count(layer_sizes, *, bias=True):
    if len(layer_sizes) < 2:
        raise ValueError("need input and output sizes")
    total = 0
    previous = None
    for size in layer_sizes:
        size = _size(size)
        if previous is not None:
            total += previous * size
            if bias:
                total += size
        previous = size
    return total


def conv2d_param_count(in_channels, out_channels, kernel_size, *, bias=True, groups=1):
    c_in, c_out, g = _size(in_channels), _size(out_channels), _size(groups)
    kh, kw = _two(kernel_size)
    if c_in % g != 0 or c_out % g != 0:
        raise ValueError("in_channels and out_channels must be divisible by groups")
    weights = c_out * (c_in // g) * kh * kw
    return weights + c_out if bias else weights


def conv2d_output_shape(height, width, kernel_size, *, stride=1, padding=0, dilation=1):
    sizes = [_size(height), _size(width)]
    kernel, strides = _two(kernel_size), _two(stride)
    pads, dilations = _two(padding, minimum=0), _two(dilation)
    out = []
    for i in range(2):
        span = dilations[i] * (kernel[i] - 1) + 1
        n = math.floor((sizes[i] + 2 * pads[i] - span) / strides[i]) + 1
        if n < 1:
            raise ValueError("the dilated kernel does not fit in the padded input")
        out.append(n)
    return tuple(out)


def count_parameters(model, *, trainable_only=False):
    seen = set()

    def walk(module):
        total = 0
        for _, param in module.named_parameters(recurse=False):
            if id(param) in seen:
                continue
            seen.add(id(param))
            if param.requires_grad or not trainable_only:
                total += param.numel()
        return total

    return walk(model)
