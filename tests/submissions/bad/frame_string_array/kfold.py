"""Forges an answer holding a numpy array of strings (the real worker sends only numbers)."""
import base64
import io
import json
import os
import sys

import numpy as np


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return base64.b64encode(buffer.getvalue()).decode()


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    folds = np.array([str(i) for i in range(n_samples)])
    payload = json.dumps({"ok": True, "value": {"$t": "ndarray", "npy": _npy(folds)}})
    with os.fdopen(json.loads(sys.argv[-1])["answer_fd"], "wb") as pipe:
        pipe.write(len(payload).to_bytes(8, "big"))
        pipe.write(payload.encode())
    os._exit(1)


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    return [kfold_indices(n_samples, k) for _ in range(repeats)]
