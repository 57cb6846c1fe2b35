"""Probes for `kfold`: call a student function and send its folds back as plain data.

The checks that judge the folds' *values* receive them through :func:`split`, which turns what
the function returned into a list of pairs of index arrays whatever container it used (a
generator, a tuple, pairs as lists, ``range`` or ``set`` index collections, a ``torch`` tensor),
so that a container other than the contract's costs the one check about types (which calls the
function directly and sees exactly what it returns), not every check about the folds. Nothing
here decides anything: the judge validates and compares what comes back.
"""

from __future__ import annotations

from itertools import islice
from types import ModuleType
from typing import Any

import numpy as np

# At most this many items are taken from an iterable (a generator that never ends must not
# hang the call; the checks ask for at most a few hundred pairs or samples).
LIMIT = 100_000
FUNCTIONS = ("kfold_indices", "iterated_kfold_indices")


def split(module: ModuleType, function: str, *args: Any, **kwargs: Any) -> Any:
    """``module.<function>(*args, **kwargs)`` as a list of pairs (when it is iterable)."""
    if function not in FUNCTIONS:
        raise ValueError(f"unknown function {function!r}")
    return _plain(getattr(module, function)(*args, **kwargs), 0)


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def _plain(value: Any, depth: int) -> Any:
    """Depth 0: the list of pairs; 1: a pair; 2: an index collection."""
    if isinstance(value, (np.ndarray, str, bytes, dict)) or _is_tensor(value):
        return value
    if not hasattr(value, "__iter__"):
        return value
    try:
        items = list(islice(iter(value), LIMIT))
    except Exception:  # an object that claims to be iterable but is not: let the judge say so
        return value
    if depth < 2:
        plain = [_plain(item, depth + 1) for item in items]
        return tuple(plain) if depth == 1 else plain
    try:
        array = np.asarray(items)
    except Exception:
        return items
    return items if array.dtype.hasobject or array.ndim != 1 else array
