"""Every call raises, from a line of a megabyte of /a/a/a...: the worker cuts an exception's
message, but the traceback quotes the student's line whole (and the worker is the submission's
process: what it cuts is a claim, not a limit). The judge scrubbed it in quadratic time."""


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    raise ValueError("see this line") if n_samples or True else "{{REPEAT:/a:500000}}/dlgrade-"


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    raise ValueError("see this line") if n_samples or True else "{{REPEAT:/a:500000}}/dlgrade-"
