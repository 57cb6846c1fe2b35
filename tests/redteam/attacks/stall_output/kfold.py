"""A megabyte of /a/a/a... printed at import and by every call: the path scrubber's regular
expression was quadratic on it (64 KiB cost the judge 65 s after grading)."""
import sys as _sys

_TEXT = "/a" * (1 << 19) + "/dlgrade-" + "a-" * 1000
print(_TEXT, flush=True)


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    print(_TEXT, flush=True)
    print(_TEXT, file=_sys.stderr, flush=True)
    raise NotImplementedError("kfold: implement kfold_indices")


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    print(_TEXT, flush=True)
    raise NotImplementedError("kfold: implement iterated_kfold_indices")
