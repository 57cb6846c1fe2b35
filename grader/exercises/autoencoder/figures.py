"""Feedback pictures for `autoencoder`, drawn in the judge with matplotlib's Agg canvas.

The figures are built with ``matplotlib.figure.Figure`` and ``FigureCanvasAgg`` directly, so no
global backend or pyplot state is touched (safe in any process, with or without a display).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()


def image_grid(rows: Sequence[tuple[str, np.ndarray]], side: int, *, title: str = "") -> bytes:
    """A PNG with one row per ``(label, images)``; ``images`` is ``(n, side*side)`` in [0, 1].

    Every row shows the same number of images (the smallest ``n``), grey levels fixed to
    [0, 1] so rows compare by eye. The images are tiled into one picture with white gaps and
    drawn on one axes: a grid of subplots cost 0.6 s per figure (an axes per image).
    """
    from matplotlib.figure import Figure

    n = min(len(images) for _, images in rows)
    gap = max(1, side // 8)
    cell = side + gap
    mosaic = np.zeros((len(rows) * cell - gap, n * cell - gap))  # 0 is white in gray_r
    for r, (_, images) in enumerate(rows):
        for c in range(n):
            tile = np.clip(np.asarray(images[c], np.float64).reshape(side, side), 0.0, 1.0)
            mosaic[r * cell:r * cell + side, c * cell:c * cell + side] = tile
    fig = Figure(figsize=(1.0 * n + 1.2, 1.1 * len(rows) + (0.4 if title else 0.0)))
    ax = fig.add_axes((0.12, 0.02, 0.87, (0.88 if title else 0.98) - 0.02))
    ax.imshow(mosaic, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest", aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([r * cell + side / 2 - 0.5 for r in range(len(rows))],
                  [label for label, _ in rows], fontsize=9)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    return _png(fig)


def loss_curve(history: np.ndarray, *, title: str = "training loss") -> bytes:
    """A PNG of the loss per epoch (log scale when all values are positive)."""
    from matplotlib.figure import Figure

    history = np.asarray(history, dtype=np.float64)
    fig = Figure(figsize=(4.5, 3.0))
    ax = fig.subplots()
    ax.plot(np.arange(1, len(history) + 1), history, marker="." if len(history) <= 60 else None)
    if len(history) and np.all(history > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return _png(fig)
