"""Forges an answer frame of bytes that are not JSON at all."""
import json
import os
import sys


def kfold_indices(*args, **kwargs):
    garbage = bytes(range(256)) * 4
    os.write(json.loads(sys.argv[-1])["answer_fd"], len(garbage).to_bytes(8, "big") + garbage)
    os._exit(3)


def iterated_kfold_indices(*args, **kwargs):
    raise SystemExit(kfold_indices())
