"""Every call raises with a megabyte of /a/a/a... as its message, and the worker's own cut of
messages is undone first (it runs in the submission's process: a claim, not a limit)."""
import sys as _sys

_TEXT = "/a" * (1 << 19) + "/dlgrade-" + "a-" * 1000
_worker = _sys.modules.get("grader.sandbox.worker") or _sys.modules.get("__main__")
if _worker is not None and hasattr(_worker, "_safe_str"):
    _worker._safe_str = lambda err: str(err)
    _worker._student_trace = lambda err, path: _TEXT


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    raise ValueError(_TEXT)


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    raise ValueError(_TEXT)
