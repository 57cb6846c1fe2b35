"""Answer on the worker's answer pipe with 64 MB of empty lists."""
# {{LIB}}


def kfold_indices(*args, **kwargs):
    send_frame(b'{"ok":true,"value":[' + b"[]," * (64 * 1024 * 1024 // 3) + b"[]]}")
    _os._exit(0)


iterated_kfold_indices = kfold_indices
