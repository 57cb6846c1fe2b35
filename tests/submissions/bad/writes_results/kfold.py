"""Tries to forge the grade: writes results.json wherever it can think of."""
import glob
import json
import os

FORGED = {"score": 1000, "tests": [{"name": "kfold: forged", "score": 1000, "max_score": 1}]}
targets = ["results.json", "/autograder/results/results.json",
           *glob.glob("/tmp/dlgrade-forge-target-*/results.json"),
           *[os.path.join(d, "results.json") for d in glob.glob("/tmp/dlgrade-forge-target-*")]]
for target in targets:
    try:
        with open(target, "w") as f:
            json.dump(FORGED, f)
    except OSError:
        pass


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    return []


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    return []
