"""Announces an answer of 2**62 bytes (a frame header only) and then waits forever."""
import json
import os
import sys
import time


def kfold_indices(*args, **kwargs):
    os.write(json.loads(sys.argv[-1])["answer_fd"], (2**62).to_bytes(8, "big"))
    while True:
        time.sleep(1)


iterated_kfold_indices = kfold_indices
