"""Forges an answer nested 100 000 levels deep on the worker's answer pipe, then exits."""
import json
import os
import sys

DEPTH = 100_000


def kfold_indices(*args, **kwargs):
    body = b'{"ok": true, "value": ' + b"[" * DEPTH + b"]" * DEPTH + b"}"
    fd = json.loads(sys.argv[-1])["answer_fd"]  # the worker's spec is its last argument
    os.write(fd, len(body).to_bytes(8, "big") + body)
    os._exit(0)


iterated_kfold_indices = kfold_indices
