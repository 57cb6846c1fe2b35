def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    return (i for i in range(k))  # a generator, not a list


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    return {"folds": k}
