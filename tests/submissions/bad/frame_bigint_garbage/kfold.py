"""Forges a big-integer value whose digits are not digits."""
import json
import os
import sys

ANSWER = b'{"ok": true, "value": [{"$t": "bigint", "v": "12_345 not a number"}]}'


def kfold_indices(*args, **kwargs):
    answer_fd = json.loads(sys.argv[-1])["answer_fd"]
    os.write(answer_fd, len(ANSWER).to_bytes(8, "big"))
    os.write(answer_fd, ANSWER)
    os._exit(0)


iterated_kfold_indices = kfold_indices
