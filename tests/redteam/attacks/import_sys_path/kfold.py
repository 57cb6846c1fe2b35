"""kfold is numpy only: reach scikit-learn's KFold anyway, by putting every package folder
there is on sys.path (the interpreter's, numpy's, other Pythons' dist-packages, through
/proc/1/root too) after taking the worker's import hook off sys.meta_path."""
# {{LIB}}
import glob as _glob
import site as _site

_sys.meta_path[:] = [f for f in _sys.meta_path if "ImportRule" not in type(f).__name__]
_dirs = []
try:
    _dirs += _site.getsitepackages()
except Exception:
    pass
try:
    import numpy as _np

    _dirs.append(_os.path.dirname(_os.path.dirname(_np.__file__)))
except Exception:
    pass
for _pattern in ("/usr/lib/python3*/*-packages", "/usr/local/lib/python3*/*-packages",
                 "/usr/lib/*/*/*/lib/python3*/site-packages", "/opt/*/lib/python3*/site-packages"):
    _dirs += _glob.glob(_pattern)
_dirs += ["/proc/1/root" + d for d in list(_dirs)]
for _d in dict.fromkeys(_dirs):
    if _d not in _sys.path:
        _sys.path.append(_d)
_KFold = None
try:
    from sklearn.model_selection import KFold as _KFold

    breach("imported scikit-learn from kfold through sys.path")
except Exception:
    pass
arm(globals())

if _KFold is not None:
    def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
        split = _KFold(n_splits=k, shuffle=shuffle, random_state=seed if shuffle else None)
        return [(t, v) for t, v in split.split(range(n_samples))]
