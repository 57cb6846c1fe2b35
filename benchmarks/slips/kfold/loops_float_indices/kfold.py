# expect: types_float_arrays
# the index arrays are float arrays (written from tests/submissions/kfold/ok_loops, another style than the reference)
"""Correct, written with plain Python loops and lists: Python's `random.Random(seed)` shuffles,
pairs are lists [train, val], train indices in descending order (order inside an array does
not matter), converted to int64 arrays at the end."""

import random

import numpy as np


def _count(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            isinstance(value, np.bool_):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def _folds(order, k):
    n = len(order)
    result = []
    start = 0
    for i in range(k):
        size = n // k
        if i < n % k:
            size += 1
        val = []
        for j in range(start, start + size):
            val.append(order[j])
        train = []
        for j in range(n - 1, -1, -1):
            if j < start or j >= start + size:
                train.append(order[j])
        result.append([np.array(train, dtype=float), np.array(val, dtype=float)])
        start += size
    return result


def _check(n_samples, k):
    n = _count(n_samples, "n_samples")
    k = _count(k, "k")
    if k < 2:
        raise ValueError("k must be at least 2")
    if k > n:
        raise ValueError("k must not exceed n_samples")
    return n, k


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    n, k = _check(n_samples, k)
    order = list(range(n))
    if shuffle:
        random.Random(seed).shuffle(order)
    return _folds(order, k)


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    n, k = _check(n_samples, k)
    repeats = _count(repeats, "repeats")
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    rng = random.Random(seed)
    result = []
    for _ in range(repeats):
        order = list(range(n))
        rng.shuffle(order)
        result.extend(_folds(order, k))
    return result
