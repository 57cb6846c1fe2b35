"""Data sets the checks share, all local: no download ever happens here.

- :func:`make_spirals`: the course's interleaved spirals (classification toy set).
- :func:`load_digits_split`: scikit-learn's bundled 8x8 digits, scaled to [0, 1], split in two.
"""

from __future__ import annotations

import numpy as np


def make_spirals(n_per_class: int, *, n_classes: int = 3, noise: float = 0.2,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spirals in the plane, as in the course's toy example (CS231n's version).

    Returns ``X`` float64 (n_per_class * n_classes, 2) in about [-1, 1], and ``y`` int64 labels
    in ``0..n_classes-1``; ``noise`` is the standard deviation of the angle jitter (radians).
    """
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(n_classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        t = (np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class)
             + rng.normal(0.0, noise, n_per_class))
        xs.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        ys.append(np.full(n_per_class, c, dtype=np.int64))
    X = np.concatenate(xs).astype(np.float64)
    y = np.concatenate(ys)
    order = rng.permutation(len(y))
    return X[order], y[order]


def load_digits_split(*, test_fraction: float = 0.25,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits (1,797 images of 8x8), flattened to 64 and scaled to [0, 1].

    Returns ``X_train, y_train, X_test, y_test``: float32 images (N, 64), int64 labels (N,);
    the split is a seeded permutation, the test part ``round(test_fraction * 1797)`` images.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]
