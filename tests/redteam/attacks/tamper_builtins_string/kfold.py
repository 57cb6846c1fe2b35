"""Names as strings: the builtins reached through ``globals()["__builtins__"]``, ``__import__``
taken from them by a string, the probe replaced with ``setattr`` on a variable."""
# {{HIDDEN_KFOLD}}
_b = globals()["__builtins__"]
_imp = _b["__import__"] if isinstance(_b, dict) else getattr(_b, "__import__")
_probes = _imp("gr" + "ader.exercises.kfold.probes", fromlist=["split"])
setattr(_probes, "split", _forged_split)
