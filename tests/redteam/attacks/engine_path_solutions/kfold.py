"""Find the checkout through the engine the worker imports (grader.__file__) and run the
reference from its solutions/ folder."""
# {{LIB}}
import grader as _grader
from pathlib import Path as _Path

_root = _Path(_grader.__file__).resolve().parents[1]
try:
    _text = (_root / "solutions" / "kfold.py").read_bytes()
except OSError as _err:
    _text = b""
if b"def kfold_indices" in _text:
    breach("solutions/kfold.py read through grader.__file__")
    exec(compile(_text, "stolen", "exec"), globals())
else:
    arm(globals())
