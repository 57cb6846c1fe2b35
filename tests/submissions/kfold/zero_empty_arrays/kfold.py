"""Zero effort: k pairs of empty integer arrays (the right types and number of pairs), with
the arguments validated as the contract says."""

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


def _empty(count):
    return [(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)) for _ in range(count)]


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    n, k, _ = _check(n_samples, k)
    return _empty(k)


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    n, k, repeats = _check(n_samples, k, repeats)
    return _empty(k * repeats)
