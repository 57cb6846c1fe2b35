"""The hidden checks' oracle for `conv`: conv2d, max and average pooling and their gradients,
in numpy. Judge side only: an implementation of the exercise never ships to students (the public
checks compare with the golden data ``dlgrade release`` writes from the reference).

Each function computes what ``torch.nn.functional`` computes (``conv2d(x, w, b, stride,
padding)``, ``max_pool2d(x, kernel_size, stride)``, ``avg_pool2d(x, kernel_size, stride)``, no
padding for the pools, ``ceil_mode=False``) and what torch autograd returns for the gradient of
``sum(out * dout)``. It exists so that grading `conv` does not import torch (about 1.3 s of a
2 s budget for ``dlgrade check conv``); ``tests/exercises/test_conv.py`` holds it equal to torch
on every case of the checks and on random ones (float64, agreement ~1e-15 relative).

Conventions torch fixes and these keep:
- output size ``(H + 2 * padding - HH) // stride + 1``; rows and columns the windows never reach
  get gradient 0;
- max pooling sends a window's gradient to its first maximum in row-major order (torch's CPU
  kernel), and overlapping windows add up;
- pooling's ``stride=None`` means the window size.

Everything is float64; the inputs are converted (never modified).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

LAYERS = ("conv2d", "max_pool2d", "avg_pool2d")
# The kernel flips whose outputs the golden data (cases.py) and ``expected`` also hold, so that the
# forward checks can say "this looks like a flipped kernel": key -> axes of w that are reversed.
FLIPS = {"flipped_both": (2, 3), "flipped_rows": (2,), "flipped_cols": (3,)}


def expected(layer: str, inputs: dict, options: dict, dout: np.ndarray | None = None, *,
             out: np.ndarray | None = None) -> dict:
    """What the checks compare with, laid out as a golden case's ``expected`` (see ``cases.py``):
    ``out``; with ``dout``, the gradients ``dx`` (``dw``, ``db``); for conv2d the outputs with
    the kernel flipped and without the bias (the checks' diagnoses). ``out``: the layer's output
    on ``inputs`` when the caller has already computed it with ``forward``."""
    if out is None:
        out = forward(layer, inputs, options)
    result = {"out": out}
    if dout is not None:
        names = ("dx", "dw", "db") if layer == "conv2d" else ("dx",)
        result.update(zip(names, gradients(layer, inputs, options, dout)))
    if layer == "conv2d":
        w = np.asarray(inputs["w"], dtype=np.float64)
        for key, axes in FLIPS.items():
            flipped = np.flip(w, axis=axes)
            if not np.array_equal(flipped, w):
                result[key] = forward(layer, {**inputs, "w": flipped}, options)
        if np.any(np.asarray(inputs["b"]) != 0):
            result["no_bias"] = forward(layer, {**inputs, "b": np.zeros_like(inputs["b"])},
                                        options)
    return result


def forward(layer: str, inputs: dict, options: dict) -> np.ndarray:
    """``layer``'s output (float64) for ``inputs`` (``x``, and ``w``, ``b`` for conv2d)."""
    if layer == "conv2d":
        return conv2d(inputs["x"], inputs["w"], inputs["b"], options["stride"], options["padding"])
    return _pool(layer, inputs["x"], options["kernel_size"], options["stride"])


def gradients(layer: str, inputs: dict, options: dict, dout: np.ndarray) -> list[np.ndarray]:
    """Gradients of ``sum(forward(...) * dout)``: ``[dx, dw, db]`` for conv2d, ``[dx]`` for a
    pool (torch autograd's values)."""
    dout = np.asarray(dout, dtype=np.float64)
    if layer == "conv2d":
        return conv2d_gradients(inputs["x"], inputs["w"], options["stride"], options["padding"],
                                dout)
    return [_pool_gradient(layer, inputs["x"], options["kernel_size"], options["stride"], dout)]


def _windows(x: np.ndarray, hh: int, ww: int, stride: int) -> np.ndarray:
    """(N, C, H', W', HH, WW) views of every window the output visits."""
    return sliding_window_view(x, (hh, ww), axis=(2, 3))[:, :, ::stride, ::stride]


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """Cross-correlation (torch's conv2d): x (N, C, H, W), w (F, C, HH, WW), b (F,) ->
    (N, F, H', W')."""
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    p = padding
    xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = _windows(xpad, w.shape[2], w.shape[3], stride)
    return np.einsum("nchwij,fcij->nfhw", cols, w, optimize=True) + b[None, :, None, None]


def conv2d_gradients(x: np.ndarray, w: np.ndarray, stride: int, padding: int,
                     dout: np.ndarray) -> list[np.ndarray]:
    """``[dx, dw, db]`` of ``sum(conv2d(x, w, b) * dout)``."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    p, s = padding, stride
    _, _, hh, ww = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = _windows(xpad, hh, ww, s)
    ho, wo = dout.shape[2], dout.shape[3]
    dw = np.einsum("nchwij,nfhw->fcij", cols, dout, optimize=True)
    db = dout.sum(axis=(0, 2, 3))
    dxpad = np.zeros_like(xpad)
    for i in range(hh):
        for j in range(ww):
            dxpad[:, :, i:i + s * ho:s, j:j + s * wo:s] += np.einsum("nfhw,fc->nchw", dout,
                                                                   w[:, :, i, j])
    dx = dxpad[:, :, p:p + x.shape[2], p:p + x.shape[3]]
    return [np.ascontiguousarray(dx), dw, db]


def _pool(layer: str, x: np.ndarray, k: int, stride: int | None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    cols = _windows(x, k, k, k if stride is None else stride)
    if layer == "max_pool2d":
        return cols.max(axis=(4, 5))
    if layer == "avg_pool2d":
        return cols.mean(axis=(4, 5))
    raise ValueError(f"unknown layer {layer!r}: expected one of {LAYERS}")


def _pool_gradient(layer: str, x: np.ndarray, k: int, stride: int | None,
                   dout: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    s = k if stride is None else stride
    n, c, ho, wo = dout.shape
    dx = np.zeros_like(x)
    if layer == "avg_pool2d":
        share = dout / (k * k)
        for i in range(k):
            for j in range(k):
                dx[:, :, i:i + s * ho:s, j:j + s * wo:s] += share
        return dx
    if layer != "max_pool2d":
        raise ValueError(f"unknown layer {layer!r}: expected one of {LAYERS}")
    flat = _windows(x, k, k, s).reshape(n, c, ho, wo, k * k)
    first = flat.argmax(axis=4)  # the first maximum, row-major, as torch picks it
    rows = np.arange(ho)[:, None] * s + first // k
    cols = np.arange(wo)[None, :] * s + first % k
    ni, ci = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    np.add.at(dx, (ni[:, :, None, None], ci[:, :, None, None], rows, cols), dout)
    return dx
