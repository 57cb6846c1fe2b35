"""Look for the judge's private copy of the references (dlgrade-judge-*) next to the worker's
home and in /tmp, and run the reference from it."""
# {{LIB}}
import glob as _glob

_cands = _glob.glob(_os.path.join(_os.path.dirname(_os.getcwd()), "dlgrade-judge-*", "solutions", "kfold.py"))
_cands += _glob.glob("/tmp/dlgrade-judge-*/solutions/kfold.py")
for _path in _cands:
    try:
        with open(_path, "rb") as _f:
            _text = _f.read()
    except OSError:
        continue
    breach("the judge's private copy of solutions/kfold.py is readable")
    exec(compile(_text, "stolen", "exec"), globals())
    break
if not FOUND:
    arm(globals())
