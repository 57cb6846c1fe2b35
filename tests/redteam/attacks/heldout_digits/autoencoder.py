# --- attack (appended to the reference): guess the judge's held-out digits -------------------
"""The held-out split is a seeded permutation with a public seed: rebuild it in the worker and
train on the 'held-out' images too. The judge's real split must differ from this guess (the
harness compares the PCA error the judge reports with the guess's)."""
# {{LIB}}
try:
    from grader.data import load_digits_split as _split
    from grader.exercises.autoencoder import Settings as _Settings

    _s = _Settings()
    _GUESS = _split(test_fraction=_s.test_fraction, seed=_s.split_seed)[2]
except Exception:
    _GUESS = None
_reference_train = train_autoencoder


def train_autoencoder(model, X, **kwargs):
    if _GUESS is not None and len(getattr(X, "shape", ())) == 2 and X.shape[1] == _GUESS.shape[1]:
        X = torch.cat([torch.as_tensor(X, dtype=torch.float32),
                       torch.as_tensor(_GUESS, dtype=torch.float32)])
    return _reference_train(model, X, **kwargs)
