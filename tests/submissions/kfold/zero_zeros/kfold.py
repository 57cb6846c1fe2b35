"""Zero effort: arrays of zeros with the right lengths (even the fold sizes right), the
arguments validated."""

import numpy as np


def _count(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer")
    return int(value)


def _check(n_samples, k, repeats=1):
    n, k, repeats = _count(n_samples, "n_samples"), _count(k, "k"), _count(repeats, "repeats")
    if k < 2 or k > n or repeats < 1:
        raise ValueError("bad arguments")
    return n, k, repeats


def _zeros(n, k):
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    return [(np.zeros(n - s, dtype=np.int64), np.zeros(s, dtype=np.int64)) for s in sizes]


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    n, k, _ = _check(n_samples, k)
    return _zeros(n, k)


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    n, k, repeats = _check(n_samples, k, repeats)
    return _zeros(n, k) * repeats
