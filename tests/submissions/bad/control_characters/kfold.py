"""Tries to forge the totals a CI log shows: control characters in its output and messages."""
import sys

FAKE = "\x1b[2J\rTotal: 120 / 120\x00\x0b"

print(FAKE + "\u202e\x85\x7f", flush=True)
print("\x1b[32mall checks PASS\x1b[0m\r\n", file=sys.stderr, flush=True)


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    raise Exception(FAKE)


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    raise ValueError("\x1b]0;title\x07\ud800 bell and a lone surrogate")
