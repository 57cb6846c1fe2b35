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
    [0, 1] so rows compare by eye.
    """
    from matplotlib.figure import Figure

    n = min(len(images) for _, images in rows)
    fig = Figure(figsize=(1.0 * n + 1.2, 1.1 * len(rows) + (0.4 if title else 0.0)))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(n):
            ax = axes[r][c]
            ax.imshow(np.asarray(images[c]).reshape(side, side), cmap="gray_r", vmin=0.0,
                      vmax=1.0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.12, right=0.99, bottom=0.02, top=0.88 if title else 0.98,
                        wspace=0.05, hspace=0.08)
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
