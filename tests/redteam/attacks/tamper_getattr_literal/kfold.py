"""``getattr`` with a literal name was allowed: ``sys._getframe``, then up the frames to the
worker's globals, and its importlib."""
# {{HIDDEN_KFOLD}}
import sys

_frame = getattr(sys, "_getframe")(0)
while _frame is not None and "importlib" not in getattr(_frame, "f_globals"):
    _frame = getattr(_frame, "f_back")
_probes = getattr(getattr(_frame, "f_globals")["importlib"], "import_module")(
    "gr" + "ader.exercises.kfold.probes")
_probes.split = _forged_split
