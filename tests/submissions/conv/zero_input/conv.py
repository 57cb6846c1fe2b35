"""Zero effort: every forward returns its input, every backward passes dout (or the inputs)
back. An identity forward with a pass-through backward is self-consistent: the numerical-gradient
checks must not pay for it."""

import numpy as np


def conv2d_forward(x, w, b, *, stride=1, padding=0):
    return x, (x, w, b)


def conv2d_backward(dout, cache):
    x, w, b = cache
    return dout, w, b


def max_pool2d_forward(x, *, kernel_size, stride=None):
    return x, x


def max_pool2d_backward(dout, cache):
    return dout


def avg_pool2d_forward(x, *, kernel_size, stride=None):
    return x, x


def avg_pool2d_backward(dout, cache):
    return dout
