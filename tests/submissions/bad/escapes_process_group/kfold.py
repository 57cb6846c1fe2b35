"""Leaves a process behind in a new session (escaping killpg), then loops."""
import subprocess
import sys

subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "dlgrade-escapee-marker"],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    while True:
        pass


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    return []
