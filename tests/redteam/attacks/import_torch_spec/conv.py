"""conv is numpy only: load torch's package from its files anyway, with
importlib.util.spec_from_file_location on torch/__init__.py, or from a copy of the folder made
in the worker's home (the import hook taken off first)."""
# {{LIB}}
import importlib.util as _util
import shutil as _shutil
import site as _site

_sys.meta_path[:] = [f for f in _sys.meta_path if "ImportRule" not in type(f).__name__]
_dirs = []
try:
    _dirs += _site.getsitepackages()
    import numpy as _np

    _dirs.append(_os.path.dirname(_os.path.dirname(_np.__file__)))
except Exception:
    pass
_torch = None
for _d in dict.fromkeys(_dirs):
    for _where in (_os.path.join(_d, "torch"),
                   _os.path.join(_os.environ.get("HOME", "/tmp"), "copied", "torch")):
        try:
            if _where.startswith(_os.environ.get("HOME", "/nonexistent")):
                _shutil.copytree(_os.path.join(_d, "torch"), _where, dirs_exist_ok=True)
            _spec = _util.spec_from_file_location(
                "torch", _os.path.join(_where, "__init__.py"),
                submodule_search_locations=[_where])
            _module = _util.module_from_spec(_spec)
            _sys.modules["torch"] = _module
            _spec.loader.exec_module(_module)
            _torch = _module
            breach("loaded torch from its files with spec_from_file_location: " + _where)
            break
        except Exception:
            _sys.modules.pop("torch", None)
    if _torch is not None:
        break
arm(globals())

if _torch is not None:
    def conv2d_forward(x, w, b, *, stride=1, padding=0):
        t = _torch.nn.functional.conv2d(_torch.as_tensor(x), _torch.as_tensor(w),
                                        _torch.as_tensor(b), stride=stride, padding=padding)
        return t.numpy(), None
