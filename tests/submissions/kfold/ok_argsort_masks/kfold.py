"""Correct, another way to shuffle: the order is the argsort of uniform draws from a
PCG64 bit generator (no permutation call), boolean masks pick the samples, the indices go back
as int64 numpy arrays. (It used torch.randperm before kfold was numpy only.)"""

import numpy as np


def _count(value, name):
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer")
    if isinstance(value, np.integer):
        value = int(value)
    if type(value) is not int:
        raise ValueError(f"{name} must be an integer")
    return value


def _generator(seed):
    return np.random.Generator(np.random.PCG64(seed))


def _split(order, k):
    n = order.size
    sizes = [n // k + (i < n % k) for i in range(k)]
    pairs, start = [], 0
    for size in sizes:
        mask = np.zeros(n, dtype=bool)
        mask[order[start:start + size]] = True
        start += size
        pairs.append((np.flatnonzero(~mask).astype(np.int64),
                      np.flatnonzero(mask).astype(np.int64)))
    return pairs


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    n, k = _count(n_samples, "n_samples"), _count(k, "k")
    if k < 2 or k > n:
        raise ValueError("need 2 <= k <= n_samples")
    order = np.argsort(_generator(seed).random(n), kind="stable") if shuffle else np.arange(n)
    return _split(order, k)


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    n, k, repeats = (_count(n_samples, "n_samples"), _count(k, "k"),
                     _count(repeats, "repeats"))
    if k < 2 or k > n or repeats < 1:
        raise ValueError("need 2 <= k <= n_samples and repeats >= 1")
    g = _generator(seed)
    return [pair for _ in range(repeats)
            for pair in _split(np.argsort(g.random(n), kind="stable"), k)]
