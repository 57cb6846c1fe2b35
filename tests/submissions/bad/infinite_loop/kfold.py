def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    while True:
        pass


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    while True:
        pass
