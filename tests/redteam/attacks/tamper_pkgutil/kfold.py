"""Another importer: ``pkgutil.resolve_name``."""
# {{HIDDEN_KFOLD}}
import pkgutil

_probes = pkgutil.resolve_name("gr" + "ader.exercises.kfold.probes")
_probes.split = _forged_split
