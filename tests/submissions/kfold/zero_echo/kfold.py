"""Zero effort: echoes its input: every fold trains and validates on all n_samples samples
(0..n_samples-1, k times), the arguments validated."""

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


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    n, k, _ = _check(n_samples, k)
    return [(np.arange(n), np.arange(n)) for _ in range(k)]


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    n, k, repeats = _check(n_samples, k, repeats)
    return [(np.arange(n), np.arange(n)) for _ in range(k * repeats)]
