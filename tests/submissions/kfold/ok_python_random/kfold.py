"""Correct, with Python's own random module instead of numpy's generator: random.Random
shuffles a list, boolean masks pick the samples, the indices go back as int64 numpy arrays."""

import random

import numpy as np


def _count(value, name):
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer")
    if isinstance(value, np.integer):
        value = int(value)
    if type(value) is not int:
        raise ValueError(f"{name} must be an integer")
    return value


def _split(order, k):
    n = len(order)
    sizes = [n // k + (i < n % k) for i in range(k)]
    pairs, start = [], 0
    for size in sizes:
        mask = np.zeros(n, dtype=bool)
        mask[order[start:start + size]] = True
        start += size
        pairs.append((np.flatnonzero(~mask).astype(np.int64),
                      np.flatnonzero(mask).astype(np.int64)))
    return pairs


def _shuffled(n, rng):
    order = list(range(n))
    rng.shuffle(order)
    return order


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    n, k = _count(n_samples, "n_samples"), _count(k, "k")
    if k < 2 or k > n:
        raise ValueError("need 2 <= k <= n_samples")
    order = _shuffled(n, random.Random(seed)) if shuffle else list(range(n))
    return _split(order, k)


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    n, k, repeats = (_count(n_samples, "n_samples"), _count(k, "k"),
                     _count(repeats, "repeats"))
    if k < 2 or k > n or repeats < 1:
        raise ValueError("need 2 <= k <= n_samples and repeats >= 1")
    rng = random.Random(seed)
    return [pair for _ in range(repeats) for pair in _split(_shuffled(n, rng), k)]
