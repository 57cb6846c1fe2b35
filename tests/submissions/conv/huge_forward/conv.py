"""Wrong: forwards of the right shapes whose values are near +-1e308, backwards arbitrary.

Central differences of such a forward overflow (inf - inf is NaN); a comparison written
``error > tol`` is false for NaN, so the numerical-gradient checks must fail this explicitly.
"""

import numpy as np

HUGE = 1.7e308


def conv2d_forward(x, w, b, *, stride=1, padding=0):
    ho = (x.shape[2] + 2 * padding - w.shape[2]) // stride + 1
    wo = (x.shape[3] + 2 * padding - w.shape[3]) // stride + 1
    level = np.tanh(x.sum() + w.sum() + b.sum())
    return np.full((x.shape[0], w.shape[0], ho, wo), HUGE * level), (x, w, b)


def conv2d_backward(dout, cache):
    x, w, b = cache
    return np.full_like(x, 0.5), np.full_like(w, 0.5), np.full_like(b, 0.5)


def _pool(x, kernel_size, stride):
    stride = kernel_size if stride is None else stride
    shape = (*x.shape[:2], (x.shape[2] - kernel_size) // stride + 1,
             (x.shape[3] - kernel_size) // stride + 1)
    return np.full(shape, HUGE * np.tanh(x.sum()))


def max_pool2d_forward(x, *, kernel_size, stride=None):
    return _pool(x, kernel_size, stride), x


def max_pool2d_backward(dout, cache):
    return np.full_like(cache, 0.5)


def avg_pool2d_forward(x, *, kernel_size, stride=None):
    return _pool(x, kernel_size, stride), x


def avg_pool2d_backward(dout, cache):
    return np.full_like(cache, 0.5)
