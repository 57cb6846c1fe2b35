import numpy as np


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    folds = np.array_split(np.arange(n_samples, dtype=np.float64), k)
    out = []
    for i, val in enumerate(folds):
        train = np.concatenate([f for j, f in enumerate(folds) if j != i])
        out.append((train, val))  # float64 indices
    return out


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    return kfold_indices(n_samples, k) * repeats
