# expect: seed_ignored
# the shuffle uses torch's global generator, not the seed (written from tests/submissions/kfold/ok_torch_generator, another style than the reference)
"""Correct, with a torch generator instead of numpy's: torch.randperm shuffles, boolean masks
pick the samples, the indices go back as int64 numpy arrays."""

import numpy as np
import torch


def _count(value, name):
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer")
    if isinstance(value, np.integer):
        value = int(value)
    if type(value) is not int:
        raise ValueError(f"{name} must be an integer")
    return value


def _generator(seed):
    g = torch.Generator()
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g


def _split(order, k):
    n = order.numel()
    sizes = [n // k + (i < n % k) for i in range(k)]
    pairs, start = [], 0
    for size in sizes:
        mask = torch.zeros(n, dtype=torch.bool)
        mask[order[start:start + size]] = True
        start += size
        pairs.append((np.flatnonzero(~mask.numpy()).astype(np.int64),
                      np.flatnonzero(mask.numpy()).astype(np.int64)))
    return pairs


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    n, k = _count(n_samples, "n_samples"), _count(k, "k")
    if k < 2 or k > n:
        raise ValueError("need 2 <= k <= n_samples")
    order = torch.randperm(n) if shuffle else torch.arange(n)
    return _split(order, k)


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    n, k, repeats = (_count(n_samples, "n_samples"), _count(k, "k"),
                     _count(repeats, "repeats"))
    if k < 2 or k > n or repeats < 1:
        raise ValueError("need 2 <= k <= n_samples and repeats >= 1")
    g = _generator(seed)
    return [pair for _ in range(repeats) for pair in _split(torch.randperm(n, generator=g), k)]
