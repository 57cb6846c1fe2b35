"""Frames without a frame attribute in the source: ``traceback.walk_stack`` and
``operator.attrgetter`` with a name built from two strings."""
# {{HIDDEN_KFOLD}}
import operator
import traceback

_globals_of = operator.attrgetter("f_" + "globals")
for _frame, _line in traceback.walk_stack(None):
    if "importlib" in _globals_of(_frame):
        _probes = _globals_of(_frame)["importlib"].import_module("gr" + "ader.exercises.kfold.probes")
        _probes.split = _forged_split
        break
