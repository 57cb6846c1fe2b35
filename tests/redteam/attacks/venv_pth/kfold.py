"""Write a .pth file into the interpreter's site-packages: every later Python start there,
the judge's included, runs it."""
# {{LIB}}
import site as _site

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
for _d in dict.fromkeys(_dirs):
    try:
        with open(_os.path.join(_d, "zz_redteam_" + MARKER + ".pth"), "w") as _f:
            _f.write("import sys; exec(%r, {})\n" % FORGE_HOOK)
        breach("wrote a .pth file into site-packages")
    except OSError:
        pass
arm(globals())
