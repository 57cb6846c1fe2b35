"""Answer on the worker's answer pipe with JSON nested 100 000 deep (the judge's json.loads
raises RecursionError, not ValueError)."""
# {{LIB}}


def kfold_indices(*args, **kwargs):
    send_frame(b'{"ok":true,"value":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    _os._exit(0)


iterated_kfold_indices = kfold_indices
