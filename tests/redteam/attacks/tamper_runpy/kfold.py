"""Code the judge never reads: a helper written at run time (a string with spaces, which the old
rule skipped) and run with ``runpy.run_path``; it imports the probes."""
# {{HIDDEN_KFOLD}}
import os
import runpy

_path = os.path.join(os.getcwd(), "helper_%d.py" % os.getpid())
with open(_path, "w") as _f:
    _f.write("import grader.exercises.kfold.probes as probes\n")
runpy.run_path(_path)["probes"].split = _forged_split
