# expect: iterated_same_shuffle
# each repeat seeds a new RandomState with the same seed (written from tests/submissions/kfold/ok_array_split, another style than the reference)
"""Correct, vectorised: np.array_split (it puts the remainder first, as KFold), the legacy
np.random.RandomState(seed) for the shuffle, int32 index arrays, and one seed per repeat from
np.random.SeedSequence(seed).spawn(repeats) for the iterated split."""

import numbers

import numpy as np


def _count(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}")
    return int(value)


def _split(order, k):
    blocks = np.array_split(order, k)
    return [(np.setdiff1d(order, val).astype(np.int32), val.astype(np.int32)) for val in blocks]


def _check(n_samples, k):
    n, k = _count(n_samples, "n_samples"), _count(k, "k")
    if not 2 <= k <= n:
        raise ValueError(f"need 2 <= k <= n_samples, got k={k}, n_samples={n}")
    return n, k


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    n, k = _check(n_samples, k)
    order = np.random.RandomState(seed).permutation(n) if shuffle else np.arange(n)
    return _split(order, k)


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    n, k = _check(n_samples, k)
    repeats = _count(repeats, "repeats")
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    pairs = []
    for _ in range(repeats):
        pairs += _split(np.random.RandomState(seed).permutation(n), k)
    return pairs
