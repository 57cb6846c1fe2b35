"""Forgery: the functions are stubs, and at import the submission replaces the probe that the
checks about the folds' values read (``probes.split``) with one that makes up plausible folds:
k pairs of integer arrays of scikit-learn's sizes, random indices in range. Every value the
probe sends is judged by the judge, so this earns nothing."""

import numpy as np

import grader.exercises.kfold.probes as _probes


def _forged_split(module, function, *args, **kwargs):
    n, k = int(args[0]), int(args[1])
    pairs = k * (int(args[2]) if function == "iterated_kfold_indices" else 1)
    rng = np.random.default_rng(n * 1000 + k)
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    out = []
    for i in range(pairs):
        size = sizes[i % k]
        out.append((rng.integers(0, n, size=n - size), rng.integers(0, n, size=size)))
    return out


_probes.split = _forged_split


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    raise NotImplementedError("kfold: implement kfold_indices")


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    raise NotImplementedError("kfold: implement iterated_kfold_indices")
