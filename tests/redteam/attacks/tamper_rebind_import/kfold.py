"""Rebinding exempts nothing: ``__import__ = __import__`` made the old rule skip the name (the
file binds it), and the grader's name is split in two so no literal names it. The probe is
replaced with one that answers from a hidden implementation."""
# {{HIDDEN_KFOLD}}
__import__ = __import__
_probes = __import__("gr" + "ader.exercises.kfold.probes", fromlist=["split"])
_probes.split = _forged_split
