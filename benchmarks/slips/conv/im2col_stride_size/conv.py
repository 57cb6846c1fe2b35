# expect: stride_output_size
# the output size divides the whole span by the stride (written from tests/submissions/conv/ok_im2col, another style than the reference)
"""Correct, vectorised the classic way: im2col with fancy indexing, one matrix product, and
col2im with np.add.at (CS231n style). Pooling reuses the same columns.

Expected: full marks.
"""

import numpy as np


def _indices(C, H, W, kh, kw, stride, ho, wo):
    """Row indices (C*kh*kw, ho*wo) and column indices into a (C, H, W) image for every window."""
    i0 = np.tile(np.repeat(np.arange(kh), kw), C)
    j0 = np.tile(np.arange(kw), kh * C)
    i1 = stride * np.repeat(np.arange(ho), wo)
    j1 = stride * np.tile(np.arange(wo), ho)
    i = i0.reshape(-1, 1) + i1.reshape(1, -1)
    j = j0.reshape(-1, 1) + j1.reshape(1, -1)
    k = np.repeat(np.arange(C), kh * kw).reshape(-1, 1)
    return k, i, j


def _im2col(x, kh, kw, stride, ho, wo):
    N, C, H, W = x.shape
    k, i, j = _indices(C, H, W, kh, kw, stride, ho, wo)
    cols = x[:, k, i, j]  # (N, C*kh*kw, ho*wo)
    return cols


def _col2im(cols, shape, kh, kw, stride, ho, wo):
    N, C, H, W = shape
    k, i, j = _indices(C, H, W, kh, kw, stride, ho, wo)
    out = np.zeros(shape)
    np.add.at(out, (slice(None), k, i, j), cols)
    return out


def conv2d_forward(x, w, b, *, stride=1, padding=0):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError("x and w must be 4-D")
    N, C, H, W = x.shape
    F, C2, kh, kw = w.shape
    if C != C2 or b.shape != (F,):
        raise ValueError("shapes of x, w, b disagree")
    if stride < 1 or padding < 0:
        raise ValueError("stride must be >= 1 and padding >= 0")
    if kh > H + 2 * padding or kw > W + 2 * padding:
        raise ValueError("kernel larger than the padded input")
    ho = (H + 2 * padding - kh + 1) // stride
    wo = (W + 2 * padding - kw + 1) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="constant")
    cols = _im2col(xp, kh, kw, stride, ho, wo)
    out = np.matmul(w.reshape(F, -1), cols) + b.reshape(1, F, 1)
    return out.reshape(N, F, ho, wo), (xp.shape, cols, w, stride, padding, ho, wo)


def conv2d_backward(dout, cache):
    xp_shape, cols, w, stride, padding, ho, wo = cache
    F, C, kh, kw = w.shape
    N = dout.shape[0]
    d = dout.reshape(N, F, ho * wo)
    db = d.sum(axis=(0, 2))
    dw = np.einsum("nfk,nck->fc", d, cols).reshape(w.shape)
    dcols = np.matmul(w.reshape(F, -1).T, d)
    dxp = _col2im(dcols, xp_shape, kh, kw, stride, ho, wo)
    H, W = xp_shape[2] - 2 * padding, xp_shape[3] - 2 * padding
    return dxp[:, :, padding:padding + H, padding:padding + W], dw, db


def _pool_setup(x, kernel_size, stride):
    stride = kernel_size if stride is None else stride
    if x.ndim != 4 or kernel_size < 1 or stride < 1:
        raise ValueError("bad pooling arguments")
    if kernel_size > x.shape[2] or kernel_size > x.shape[3]:
        raise ValueError("window larger than the input")
    N, C, H, W = x.shape
    ho = (H - kernel_size) // stride + 1
    wo = (W - kernel_size) // stride + 1
    # One channel per image row of the columns: (N*C, 1, H, W) -> (N*C, k*k, ho*wo).
    cols = _im2col(x.reshape(N * C, 1, H, W), kernel_size, kernel_size, stride, ho, wo)
    return stride, ho, wo, cols


def max_pool2d_forward(x, *, kernel_size, stride=None):
    stride, ho, wo, cols = _pool_setup(x, kernel_size, stride)
    arg = cols.argmax(axis=1)  # first maximum in row-major window order
    out = np.take_along_axis(cols, arg[:, None, :], axis=1)[:, 0, :]
    return out.reshape(*x.shape[:2], ho, wo), (x.shape, arg, kernel_size, stride, ho, wo)


def max_pool2d_backward(dout, cache):
    shape, arg, k, stride, ho, wo = cache
    N, C, H, W = shape
    dcols = np.zeros((N * C, k * k, ho * wo))
    np.put_along_axis(dcols, arg[:, None, :], dout.reshape(N * C, 1, ho * wo), axis=1)
    dx = _col2im(dcols, (N * C, 1, H, W), k, k, stride, ho, wo)
    return dx.reshape(shape)


def avg_pool2d_forward(x, *, kernel_size, stride=None):
    stride, ho, wo, cols = _pool_setup(x, kernel_size, stride)
    out = cols.mean(axis=1)
    return out.reshape(*x.shape[:2], ho, wo), (x.shape, kernel_size, stride, ho, wo)


def avg_pool2d_backward(dout, cache):
    shape, k, stride, ho, wo = cache
    N, C, H, W = shape
    d = dout.reshape(N * C, 1, ho * wo) / (k * k)
    dcols = np.broadcast_to(d, (N * C, k * k, ho * wo))
    dx = _col2im(dcols, (N * C, 1, H, W), k, k, stride, ho, wo)
    return dx.reshape(shape)
