"""Zero effort, at its most careful: zeros of exactly the right shapes everywhere, and the
contract's ValueErrors on bad arguments, but nothing computed.

The framework's tests assert that this earns at most 10 % of the exercise.
"""

import numpy as np


def _conv_size(x, w, b, stride, padding):
    if (x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1] or b.shape != (w.shape[0],)
            or stride < 1 or padding < 0):
        raise ValueError("bad arguments")
    if w.shape[2] > x.shape[2] + 2 * padding or w.shape[3] > x.shape[3] + 2 * padding:
        raise ValueError("kernel larger than the padded input")
    return ((x.shape[2] + 2 * padding - w.shape[2]) // stride + 1,
            (x.shape[3] + 2 * padding - w.shape[3]) // stride + 1)


def conv2d_forward(x, w, b, *, stride=1, padding=0):
    ho, wo = _conv_size(x, w, b, stride, padding)
    return np.zeros((x.shape[0], w.shape[0], ho, wo)), (x, w, b)


def conv2d_backward(dout, cache):
    x, w, b = cache
    return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)


def _pool_size(x, kernel_size, stride):
    stride = kernel_size if stride is None else stride
    if x.ndim != 4 or kernel_size < 1 or stride < 1 or kernel_size > min(x.shape[2:]):
        raise ValueError("bad arguments")
    return (x.shape[2] - kernel_size) // stride + 1, (x.shape[3] - kernel_size) // stride + 1


def max_pool2d_forward(x, *, kernel_size, stride=None):
    ho, wo = _pool_size(x, kernel_size, stride)
    return np.zeros((*x.shape[:2], ho, wo)), x


def max_pool2d_backward(dout, cache):
    return np.zeros_like(cache)


def avg_pool2d_forward(x, *, kernel_size, stride=None):
    ho, wo = _pool_size(x, kernel_size, stride)
    return np.zeros((*x.shape[:2], ho, wo)), x


def avg_pool2d_backward(dout, cache):
    return np.zeros_like(cache)
