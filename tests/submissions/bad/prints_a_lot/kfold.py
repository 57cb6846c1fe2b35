print("x" * 10_000_000)  # 10 MB of output


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    print("debug: called with", n_samples, k)
    return []


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    return []
