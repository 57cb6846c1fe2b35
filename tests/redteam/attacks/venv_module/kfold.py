"""Write modules into the interpreter's site-packages that the judge imports without asking:
usercustomize.py (imported at every start) and a pytest plugin registered by an entry point
(pytest loads it into the judge's run)."""
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
_plugin = "redteam_plugin_" + MARKER
for _d in dict.fromkeys(_dirs):
    try:
        with open(_os.path.join(_d, "usercustomize.py"), "w") as _f:
            _f.write(FORGE_HOOK)
        breach("wrote usercustomize.py into site-packages")
    except OSError:
        pass
    try:
        _info = _os.path.join(_d, _plugin + "-0.1.dist-info")
        _os.makedirs(_info, exist_ok=True)
        with open(_os.path.join(_info, "METADATA"), "w") as _f:
            _f.write("Metadata-Version: 2.1\nName: %s\nVersion: 0.1\n" % _plugin)
        with open(_os.path.join(_info, "entry_points.txt"), "w") as _f:
            _f.write("[pytest11]\nredteam = %s\n" % _plugin)
        with open(_os.path.join(_d, _plugin + ".py"), "w") as _f:
            _f.write(FORGE_HOOK)
        breach("registered a pytest plugin in site-packages")
    except OSError:
        pass
arm(globals())
