"""An importer the old rule did not know: ``pydoc.locate`` imports a module by its name."""
# {{HIDDEN_KFOLD}}
import pydoc

_probes = pydoc.locate("gr" + "ader.exercises.kfold.probes")
_probes.split = _forged_split
