"""Zero effort: every function only raises ValueError (so every "bad arguments raise" check
would pass on its own)."""


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    raise ValueError("not a valid split")


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    raise ValueError("not a valid split")
