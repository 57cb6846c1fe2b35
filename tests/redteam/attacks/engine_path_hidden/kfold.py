"""Read the hidden checks through the engine the worker imports (grader.__file__)."""
# {{LIB}}
import grader as _grader
from pathlib import Path as _Path

for _path in sorted((_Path(_grader.__file__).resolve().parent / "exercises").glob("*/test_hidden*.py")):
    try:
        _text = _path.read_text()
    except OSError:
        continue
    if _text.strip():
        leak("hidden checks " + _path.parent.name + "/" + _path.name, _text[:400])
arm(globals())
