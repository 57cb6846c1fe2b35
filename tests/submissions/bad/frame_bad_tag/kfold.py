"""Forges a well-formed answer whose value carries a tag the codec does not know."""
import json
import os
import sys


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    answer = {"ok": True, "value": [{"$t": ["tuple"], "v": list(range(n_samples))}]}
    frame = json.dumps(answer).encode()
    spec = json.loads(sys.argv[-1])
    os.write(spec["answer_fd"], len(frame).to_bytes(8, "big") + frame)
    os._exit(0)


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    return kfold_indices(n_samples, k)
