"""Convolution and pooling layers by hand: forward and backward passes in numpy.

Conventions for every function here:
- arrays are float64 numpy arrays in NCHW layout: ``x`` has shape (N, C, H, W) (batch, channels,
  height, width);
- ``*_forward`` returns ``(out, cache)``: ``cache`` is whatever your ``*_backward`` needs, it is
  only ever passed back to your own backward function;
- ``*_backward(dout, cache)`` takes the upstream gradient ``dout`` (same shape as ``out``) and
  returns the gradient of the loss with respect to each input, each with its input's shape;
- integer arguments (``stride``, ``padding``, ``kernel_size``) are Python ints.

The layers compute what ``torch.nn.functional.conv2d``, ``max_pool2d`` and ``avg_pool2d`` compute
(float64, no dilation, no groups, pooling without padding and with ``ceil_mode=False``).
"""

from __future__ import annotations

import numpy as np
# BEGIN SOLUTION


def _windows(x: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """All (kh, kw) windows of ``x`` (N, C, H, W) at ``stride``: a read-only view
    (N, C, H', W', kh, kw) with ``H' = (H - kh) // stride + 1``."""
    view = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return view[:, :, ::stride, ::stride]


def _check_int(value: object, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _pool_setup(x: np.ndarray, kernel_size: int, stride: int | None) -> tuple[int, int]:
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got shape {x.shape}")
    k = _check_int(kernel_size, "kernel_size", 1)
    s = k if stride is None else _check_int(stride, "stride", 1)
    if k > x.shape[2] or k > x.shape[3]:
        raise ValueError(f"kernel_size {k} is larger than the input {x.shape[2]}x{x.shape[3]}")
    return k, s


def _scatter_windows(dwin: np.ndarray, shape: tuple[int, ...], stride: int) -> np.ndarray:
    """Adjoint of :func:`_windows`: add each window's gradient (N, C, H', W', kh, kw) back into
    an array of ``shape`` (N, C, H, W); overlapping windows accumulate."""
    _, _, ho, wo, kh, kw = dwin.shape
    dx = np.zeros(shape, dtype=np.float64)
    # A loop over the kernel's kh * kw offsets only: each step is one strided, vectorised add.
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride] += dwin[..., i, j]
    return dx


# END SOLUTION


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, *, stride: int = 1,
                   padding: int = 0) -> tuple[np.ndarray, object]:
    """2-D cross-correlation of a batch of images with a bank of filters, plus a bias.

    ``x``: (N, C, H, W) images; ``w``: (F, C, HH, WW) filters; ``b``: (F,) biases.
    ``x`` is zero-padded by ``padding`` pixels on all four sides, then each filter slides over it
    with step ``stride``:

        out[n, f, i, j] = b[f] + sum_{c,p,q} xpad[n, c, i*stride+p, j*stride+q] * w[f, c, p, q]

    (no kernel flip: this is what ``torch.nn.functional.conv2d`` computes). ``out`` has shape
    (N, F, H', W') with ``H' = (H + 2*padding - HH) // stride + 1`` and
    ``W' = (W + 2*padding - WW) // stride + 1``, dtype float64.

    Raises ``ValueError`` when ``x`` or ``w`` is not 4-D, when ``b`` is not of shape (F,), when
    ``x`` and ``w`` disagree on the number of channels C, when the kernel is larger than the padded
    input, or when ``stride < 1`` or ``padding < 0``.

    Returns ``(out, cache)``; ``cache`` is for :func:`conv2d_backward`.
    """
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    stride = _check_int(stride, "stride", 1)
    padding = _check_int(padding, "padding", 0)
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"x and w must be 4-D, got shapes {x.shape} and {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} channels but w expects {w.shape[1]}")
    if b.shape != (w.shape[0],):
        raise ValueError(f"b must have shape ({w.shape[0]},), got {b.shape}")
    kh, kw = w.shape[2:]
    if kh > x.shape[2] + 2 * padding or kw > x.shape[3] + 2 * padding:
        raise ValueError(f"kernel {kh}x{kw} is larger than the padded input "
                         f"{x.shape[2] + 2 * padding}x{x.shape[3] + 2 * padding}")
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = _windows(xpad, kh, kw, stride)
    ho, wo = (xpad.shape[2] - kh + 1) // stride, (xpad.shape[3] - kw + 1) // stride
    cols = cols[:, :, :ho, :wo]
    out = np.einsum("nchwpq,fcpq->nfhw", cols, w, optimize=True) + b[None, :, None, None]
    return out, (x, w, stride, padding)
    # END SOLUTION


def conv2d_backward(dout: np.ndarray, cache: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`conv2d_forward`.

    ``dout``: (N, F, H', W') upstream gradient; ``cache``: from the forward call.
    Returns ``(dx, dw, db)`` with the shapes of ``x`` (N, C, H, W), ``w`` (F, C, HH, WW) and
    ``b`` (F,), dtype float64. Gradients flowing into the zero padding are dropped.
    """
    # BEGIN SOLUTION
    x, w, stride, padding = cache
    dout = np.asarray(dout, dtype=np.float64)
    kh, kw = w.shape[2:]
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = _windows(xpad, kh, kw, stride)
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nfhw,nchwpq->fcpq", dout, cols, optimize=True)
    dcols = np.einsum("nfhw,fcpq->nchwpq", dout, w, optimize=True)
    dxpad = _scatter_windows(dcols, xpad.shape, stride)
    dx = dxpad[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]]
    return np.ascontiguousarray(dx), dw, db
    # END SOLUTION


def max_pool2d_forward(x: np.ndarray, *, kernel_size: int,
                       stride: int | None = None) -> tuple[np.ndarray, object]:
    """Max pooling over square ``kernel_size`` x ``kernel_size`` windows, no padding.

    ``x``: (N, C, H, W); ``stride`` defaults to ``kernel_size``. ``out`` has shape (N, C, H', W')
    with ``H' = (H - kernel_size) // stride + 1`` (same for W'), dtype float64: the maximum of
    each window, as ``torch.nn.functional.max_pool2d``.

    Raises ``ValueError`` when ``x`` is not 4-D, when ``kernel_size < 1`` or ``stride < 1``, or
    when the window is larger than the input.

    Returns ``(out, cache)``; ``cache`` is for :func:`max_pool2d_backward`.
    """
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    k, s = _pool_setup(x, kernel_size, stride)
    win = _windows(x, k, k, s)
    flat = win.reshape(*win.shape[:4], k * k)
    # argmax returns the first maximum in row-major order: torch's choice on ties.
    arg = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    return out, (x.shape, arg, k, s)
    # END SOLUTION


def max_pool2d_backward(dout: np.ndarray, cache: object) -> np.ndarray:
    """Backward pass of :func:`max_pool2d_forward`.

    Each window's upstream gradient goes entirely to the position of its maximum; when several
    positions share the maximum, to the first one in row-major order (as torch does). Where
    windows overlap, the contributions add up. Returns ``dx`` with the shape of ``x``, float64.
    """
    # BEGIN SOLUTION
    shape, arg, k, s = cache
    dout = np.asarray(dout, dtype=np.float64)
    onehot = (np.arange(k * k) == arg[..., None]) * dout[..., None]
    return _scatter_windows(onehot.reshape(*arg.shape, k, k), shape, s)
    # END SOLUTION


def avg_pool2d_forward(x: np.ndarray, *, kernel_size: int,
                       stride: int | None = None) -> tuple[np.ndarray, object]:
    """Average pooling over square ``kernel_size`` x ``kernel_size`` windows, no padding.

    ``x``: (N, C, H, W); ``stride`` defaults to ``kernel_size``. ``out`` has shape (N, C, H', W')
    with ``H' = (H - kernel_size) // stride + 1`` (same for W'), dtype float64: the mean of each
    window, as ``torch.nn.functional.avg_pool2d``.

    Raises ``ValueError`` when ``x`` is not 4-D, when ``kernel_size < 1`` or ``stride < 1``, or
    when the window is larger than the input.

    Returns ``(out, cache)``; ``cache`` is for :func:`avg_pool2d_backward`.
    """
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    k, s = _pool_setup(x, kernel_size, stride)
    out = _windows(x, k, k, s).mean(axis=(-2, -1))
    return out, (x.shape, k, s)
    # END SOLUTION


def avg_pool2d_backward(dout: np.ndarray, cache: object) -> np.ndarray:
    """Backward pass of :func:`avg_pool2d_forward`.

    Each window's upstream gradient is shared equally by its ``kernel_size**2`` positions; where
    windows overlap, the contributions add up. Returns ``dx`` with the shape of ``x``, float64.
    """
    # BEGIN SOLUTION
    shape, k, s = cache
    dout = np.asarray(dout, dtype=np.float64)
    share = np.broadcast_to((dout / (k * k))[..., None, None], (*dout.shape, k, k))
    return _scatter_windows(share, shape, s)
    # END SOLUTION
