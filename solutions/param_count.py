"""Counting parameters and output shapes of networks.

Before training a network it pays to know how big it is: how many numbers the optimiser updates
(its *parameters*) and what shape each layer's output has. Here you compute both by hand, the way
the course does it, and then count the parameters of any ``torch.nn.Module``.

Conventions (the same as PyTorch's):

- a fully connected (``nn.Linear``) layer from ``n_in`` to ``n_out`` units has a weight matrix of
  ``n_in * n_out`` numbers and, with a bias, ``n_out`` more;
- a 2-D convolution (``nn.Conv2d``) from ``C_in`` to ``C_out`` channels with a ``kh x kw`` kernel
  and ``groups`` groups has ``C_out * (C_in / groups) * kh * kw`` weights and, with a bias,
  ``C_out`` biases;
- the output height of a convolution is
  ``floor((H + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1`` (the same for the width
  with the second entry of each pair).

Sizes are integers (a Python ``int`` or a numpy integer; a bool is not a size). Where a size may
be "an int or a pair", an int ``n`` means ``(n, n)`` and a pair is ``(height, width)`` (a tuple or
a list of two integers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
# BEGIN SOLUTION


def _as_int(value: object, name: str, *, minimum: int) -> int:
    """``value`` as an ``int`` (a Python or numpy integer, not a bool) that is ``>= minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}: {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _as_pair(value: object, name: str, *, minimum: int) -> tuple[int, int]:
    """An int ``n`` as ``(n, n)``, or a pair ``(h, w)`` checked entry by entry."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
        return (_as_int(value[0], f"{name}[0]", minimum=minimum),
                _as_int(value[1], f"{name}[1]", minimum=minimum))
    n = _as_int(value, name, minimum=minimum)
    return n, n
# END SOLUTION


def dense_param_count(layer_sizes: Sequence[int], *, bias: bool = True) -> int:
    """Number of parameters of a fully connected network.

    Args:
        layer_sizes: the number of units of each layer, input first: ``[n_0, n_1, ..., n_L]``
            describes ``L = len(layer_sizes) - 1`` linear layers, layer ``i`` from ``n_{i-1}`` to
            ``n_i`` units (activations have no parameters). Each size is a positive integer.
        bias: whether every layer has a bias vector.

    Returns:
        The total number of weights (and biases) as a Python ``int``. For the course's network on
        100x100 grey images, ``dense_param_count([10000, 1000, 1000, 1000, 10])`` is 12,013,010.

    Raises:
        ValueError: fewer than two sizes (no layer), or a size that is not a positive integer.
    """
    # BEGIN SOLUTION
    if len(layer_sizes) < 2:
        raise ValueError(f"need at least two layer sizes (input and output), got {layer_sizes!r}")
    sizes = [_as_int(s, f"layer_sizes[{i}]", minimum=1) for i, s in enumerate(layer_sizes)]
    return sum(n_in * n_out + (n_out if bias else 0) for n_in, n_out in zip(sizes, sizes[1:]))
    # END SOLUTION


def conv2d_param_count(in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                       *, bias: bool = True, groups: int = 1) -> int:
    """Number of parameters of ``torch.nn.Conv2d(in_channels, out_channels, kernel_size,
    bias=bias, groups=groups)``.

    Args:
        in_channels, out_channels: positive integers, both divisible by ``groups``.
        kernel_size: an int ``k`` (a ``k x k`` kernel) or a pair ``(kh, kw)``; positive.
        bias: whether the layer has one bias per output channel.
        groups: positive integer; each output channel sees ``in_channels // groups`` input
            channels (``groups == in_channels`` is a depthwise convolution).

    Returns:
        ``out_channels * (in_channels // groups) * kh * kw`` (+ ``out_channels`` with a bias), as
        a Python ``int``.

    Raises:
        ValueError: a size that is not a positive integer, or ``in_channels`` or ``out_channels``
            not divisible by ``groups`` (as ``nn.Conv2d``).
    """
    # BEGIN SOLUTION
    c_in = _as_int(in_channels, "in_channels", minimum=1)
    c_out = _as_int(out_channels, "out_channels", minimum=1)
    g = _as_int(groups, "groups", minimum=1)
    kh, kw = _as_pair(kernel_size, "kernel_size", minimum=1)
    if c_in % g or c_out % g:
        raise ValueError(f"in_channels={c_in} and out_channels={c_out} must both be divisible "
                         f"by groups={g}")
    return c_out * (c_in // g) * kh * kw + (c_out if bias else 0)
    # END SOLUTION


def conv2d_output_shape(height: int, width: int, kernel_size: int | tuple[int, int], *,
                        stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                        dilation: int | tuple[int, int] = 1) -> tuple[int, int]:
    """Output ``(height, width)`` of ``torch.nn.Conv2d`` on a ``height x width`` input.

    Args:
        height, width: the input's spatial size, positive integers.
        kernel_size, stride, dilation: an int or a pair ``(h, w)``; positive.
        padding: an int or a pair ``(h, w)``; zero or positive (zeros added on *each* side).

    Returns:
        a tuple ``(out_h, out_w)`` of Python ints, each
        ``floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1``, i.e. the
        number of positions of the (dilated) kernel that fit in the padded input.

    Raises:
        ValueError: an argument of the wrong kind or range (as above), or an output size that is
            not positive (the dilated kernel is larger than the padded input).
    """
    # BEGIN SOLUTION
    sizes = (_as_int(height, "height", minimum=1), _as_int(width, "width", minimum=1))
    kernel = _as_pair(kernel_size, "kernel_size", minimum=1)
    strides = _as_pair(stride, "stride", minimum=1)
    pads = _as_pair(padding, "padding", minimum=0)
    dilations = _as_pair(dilation, "dilation", minimum=1)
    out = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1  # // floors, also below zero
                for n, k, s, p, d in zip(sizes, kernel, strides, pads, dilations))
    if min(out) < 1:
        raise ValueError(f"output size {out} is not positive: the kernel {kernel} with dilation "
                         f"{dilations} does not fit in the padded input {sizes} + 2 * {pads}")
    return out[0], out[1]
    # END SOLUTION


def count_parameters(model: torch.nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (the numbers an optimiser would update).

    Args:
        model: any ``torch.nn.Module``.
        trainable_only: count only parameters with ``requires_grad=True`` (leave out a frozen
            part, such as a pretrained encoder).

    Returns:
        The total number of elements of the model's parameters, as a Python ``int`` (not a
        ``numpy.int64``, not a float), whatever the model:

        - buffers are not parameters (batch-norm's ``running_mean``, ``running_var`` and
          ``num_batches_tracked`` are not counted);
        - a parameter shared by several layers (tied weights) is counted once;
        - a 0-d parameter (a learnable temperature, shape ``()``) is one number
          (``p.numel()`` is ``1``; ``np.prod(p.shape)`` of the empty shape is the float ``1.0``).

    Does not modify ``model``.
    """
    # BEGIN SOLUTION
    # model.parameters() yields each Parameter object once, however many modules hold it.
    return int(sum(p.numel() for p in model.parameters()
                   if p.requires_grad or not trainable_only))
    # END SOLUTION
