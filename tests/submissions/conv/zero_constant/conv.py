"""Zero effort: ones of the right shapes (no validation), gradients of ones."""

import numpy as np


def conv2d_forward(x, w, b, *, stride=1, padding=0):
    ho = (x.shape[2] + 2 * padding - w.shape[2]) // stride + 1
    wo = (x.shape[3] + 2 * padding - w.shape[3]) // stride + 1
    return np.ones((x.shape[0], w.shape[0], ho, wo)), (x, w, b)


def conv2d_backward(dout, cache):
    x, w, b = cache
    return np.ones_like(x), np.ones_like(w), np.ones_like(b)


def _pool(x, kernel_size, stride):
    stride = kernel_size if stride is None else stride
    return np.ones((*x.shape[:2], (x.shape[2] - kernel_size) // stride + 1,
                    (x.shape[3] - kernel_size) // stride + 1))


def max_pool2d_forward(x, *, kernel_size, stride=None):
    return _pool(x, kernel_size, stride), x


def max_pool2d_backward(dout, cache):
    return np.ones_like(cache)


def avg_pool2d_forward(x, *, kernel_size, stride=None):
    return _pool(x, kernel_size, stride), x


def avg_pool2d_backward(dout, cache):
    return np.ones_like(cache)
