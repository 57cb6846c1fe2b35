"""conv is numpy only: import torch by a name built at run time (__import__, importlib,
exec), the package folders on sys.path and the import hook taken off."""
# {{LIB}}
import importlib as _importlib
import site as _site

_sys.meta_path[:] = [f for f in _sys.meta_path if "ImportRule" not in type(f).__name__]
try:
    import numpy as _np

    _sys.path += [*_site.getsitepackages(), _os.path.dirname(_os.path.dirname(_np.__file__))]
except Exception:
    pass
_name = "".join(chr(c) for c in (116, 111, 114, 99, 104))
_torch = None
for _how, _load in (("__import__", lambda: __import__(_name)),
                    ("importlib", lambda: _importlib.import_module(_name)),
                    ("exec", lambda: exec("import " + _name + " as _t; _out.append(_t)",
                                          {"_out": _found}) or _found[-1])):
    _found = []
    try:
        _torch = _load()
        breach("imported torch by a built name with " + _how)
        break
    except Exception:
        _torch = None
arm(globals())

if _torch is not None:
    def conv2d_forward(x, w, b, *, stride=1, padding=0):
        out = _torch.nn.functional.conv2d(_torch.as_tensor(x), _torch.as_tensor(w),
                                          _torch.as_tensor(b), stride=stride, padding=padding)
        return out.numpy(), None
