# expect: none
# max-pool forward averages (not in the catalogue) (written from tests/submissions/conv/naive_loops, another style than the reference)
"""A correct but slow submission: plain Python loops, as many students write it first.

The framework's tests expect full marks and a speed report that says it is much slower than the
vectorised reference.
"""

import numpy as np


def conv2d_forward(x, w, b, *, stride=1, padding=0):
    if x.ndim != 4 or w.ndim != 4 or b.shape != (w.shape[0],):
        raise ValueError("x and w must be 4-D and b of shape (F,)")
    if stride < 1 or padding < 0:
        raise ValueError("stride must be >= 1 and padding >= 0")
    N, C, H, W = x.shape
    F, C2, HH, WW = w.shape
    if C != C2:
        raise ValueError("channels differ")
    if HH > H + 2 * padding or WW > W + 2 * padding:
        raise ValueError("kernel larger than the padded input")
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Ho = (H + 2 * padding - HH) // stride + 1
    Wo = (W + 2 * padding - WW) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, stride, padding)


def conv2d_backward(dout, cache):
    x, w, b, stride, padding = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    _, _, Ho, Wo = dout.shape
    for n in range(N):
        for f in range(F):
            db[f] += dout[n, f].sum()
            for i in range(Ho):
                for j in range(Wo):
                    hs, ws = i * stride, j * stride
                    dw[f] += xp[n, :, hs:hs + HH, ws:ws + WW] * dout[n, f, i, j]
                    dxp[n, :, hs:hs + HH, ws:ws + WW] += w[f] * dout[n, f, i, j]
    dx = dxp[:, :, padding:padding + H, padding:padding + W]
    return dx, dw, db


def _pool_shape(x, kernel_size, stride):
    if x.ndim != 4 or kernel_size < 1 or (stride is not None and stride < 1):
        raise ValueError("kernel_size and stride must be >= 1")
    s = kernel_size if stride is None else stride
    N, C, H, W = x.shape
    if kernel_size > H or kernel_size > W:
        raise ValueError("window larger than the input")
    return s, (H - kernel_size) // s + 1, (W - kernel_size) // s + 1


def max_pool2d_forward(x, *, kernel_size, stride=None):
    s, Ho, Wo = _pool_shape(x, kernel_size, stride)
    k = kernel_size
    N, C = x.shape[:2]
    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, c, i, j] = x[n, c, i * s:i * s + k, j * s:j * s + k].mean()
    return out, (x, k, s)


def max_pool2d_backward(dout, cache):
    x, k, s = cache
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * s:i * s + k, j * s:j * s + k]
                    p, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * s + p, j * s + q] += dout[n, c, i, j]
    return dx


def avg_pool2d_forward(x, *, kernel_size, stride=None):
    s, Ho, Wo = _pool_shape(x, kernel_size, stride)
    k = kernel_size
    N, C = x.shape[:2]
    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, c, i, j] = x[n, c, i * s:i * s + k, j * s:j * s + k].mean()
    return out, (x.shape, k, s)


def avg_pool2d_backward(dout, cache):
    shape, k, s = cache
    dx = np.zeros(shape)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    dx[n, c, i * s:i * s + k, j * s:j * s + k] += dout[n, c, i, j] / (k * k)
    return dx
