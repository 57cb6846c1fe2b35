"""conv is numpy only: load torch's C++ library itself with ctypes.CDLL (libtorch_cpu.so,
libc10.so) from wherever torch is installed, or read its bytes."""
# {{LIB}}
import ctypes as _ctypes
import glob as _glob
import site as _site

_dirs = []
try:
    _dirs += _site.getsitepackages()
    import numpy as _np

    _dirs.append(_os.path.dirname(_os.path.dirname(_np.__file__)))
except Exception:
    pass
_dirs += _glob.glob("/usr/lib/python3*/*-packages") + _glob.glob("/usr/local/lib/python3*/*-packages")
for _d in dict.fromkeys(_dirs):
    for _name in ("libtorch_cpu.so", "libc10.so", "libtorch.so"):
        _path = _os.path.join(_d, "torch", "lib", _name)
        try:
            _ctypes.CDLL(_path)
            breach("loaded " + _path + " with ctypes.CDLL")
        except OSError:
            pass
        try:
            with open(_path, "rb") as _f:
                if _f.read(4) == b"\x7fELF":
                    breach("read the bytes of " + _path)
        except OSError:
            pass
arm(globals())
