# --- attack (appended to the reference): guess the judge's held-out digits -------------------
"""The held-out digits were a seeded permutation with a public seed (autograder.yml's defaults):
rebuild that split in the worker with scikit-learn alone and train on the 'held-out' images too.
The judge's real split must differ from this guess (the harness compares the PCA error the judge
reports for its held-out images with the guess's). No helpers pasted in and nothing of the
grader imported: the source passes the judge's tampering rule, so the checks' messages stay."""


def _guess_held_out(test_fraction=0.25, seed=0):
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(X))
    return X[order[:int(round(test_fraction * len(X)))]]


try:
    _GUESS = _guess_held_out()
except Exception:
    _GUESS = None
_reference_train = train_autoencoder


def train_autoencoder(model, X, **kwargs):
    if _GUESS is not None and len(getattr(X, "shape", ())) == 2 and X.shape[1] == _GUESS.shape[1]:
        X = torch.cat([torch.as_tensor(X, dtype=torch.float32),
                       torch.as_tensor(_GUESS, dtype=torch.float32)])
    return _reference_train(model, X, **kwargs)
