import numpy as np


def kfold_indices(n_samples, k, *, shuffle=False, seed=None:
    return []
