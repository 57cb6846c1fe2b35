import numpy as np


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    sizes = [n_samples // (k - k)]  # divides by zero on purpose
    return sizes


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    return {}["no such key"]
