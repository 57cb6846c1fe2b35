"""Judge-side helpers for the `kfold` checks: validate what a submission returned, then compare.

Every helper fails the check (``grader.expect.fail``) with a message that names the call, the fold
and the sample concerned; none of them trusts the shape or type of a returned value. None of them
computes a split: the expected values come from the golden data (public checks) or from
``oracle.py`` (hidden checks, judge side only). This module ships with the student release.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.sandbox.codec import Opaque
from grader.expect import fail, short, type_name

Folds = list[tuple[np.ndarray, np.ndarray]]

# The public checks' sizes (n_samples, k): a multiple, remainders of 1 and k-1, k == n_samples,
# k == 2.
SIZES = [(12, 3), (10, 3), (11, 4), (7, 7), (9, 2)]


def split_case(n_samples: int, k: int) -> str:
    """The name of the golden case of the unshuffled split of ``n_samples`` samples in ``k``
    folds."""
    return f"split/n_samples={n_samples},k={k}"


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "numpy")


def as_index_array(value: Any, n_samples: int, *, what: str) -> np.ndarray:
    """The sample indices ``value`` stands for, as a 1-D int64 array.

    Lenient on purpose: the checks about the folds judge *which samples* are where, so any
    representation of a set of indices is read: an integer array of any integer dtype, a float
    array of whole numbers (``np.array([])`` is float64), a boolean mask of length
    ``n_samples``, an ``(m, 1)`` column, a list of integers, a torch tensor. The check
    "returns lists of integer array pairs" is the one that asks for the contract's type.
    """
    if _is_tensor(value):
        value = value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating))
                   for v in value):
            fail(f"{what}: expected sample indices (integers), got {short(value)}")
        value = np.asarray(value)
        if value.dtype.kind not in "biuf":  # mixed bools and numbers
            value = value.astype(np.float64)
    if not isinstance(value, np.ndarray):
        fail(f"{what}: expected a numpy array of sample indices, got {type_name(value)}: "
             f"{short(value)}")
    if value.ndim == 0:
        fail(f"{what}: expected a 1-D array of sample indices, got a single number "
             f"{short(value)}")
    if value.ndim > 1:
        if sum(1 for size in value.shape if size > 1) > 1:
            fail(f"{what}: expected a 1-D array of sample indices, got shape {value.shape}")
        value = value.reshape(-1)
    if value.dtype.kind == "b":
        if value.size != n_samples:
            fail(f"{what}: got a boolean array of length {value.size}; expected the indices "
                 f"of the samples (a mask would need one entry per sample, {n_samples})")
        value = np.flatnonzero(value)
    elif value.dtype.kind == "f":
        bad = ~np.isfinite(value) | (value != np.round(value))
        if np.any(bad):
            fail(f"{what}: {short(value[bad][0])} is not a sample index (indices are whole "
                 f"numbers 0..{n_samples - 1})")
    elif value.dtype.kind not in "iu":
        fail(f"{what}: expected an integer array of sample indices, got dtype {value.dtype}")
    if value.size and (value.min() < 0 or value.max() >= n_samples):
        bad = value[(value < 0) | (value >= n_samples)][0]
        fail(f"{what}: index {short(bad)} is not a sample index (expected 0..{n_samples - 1})")
    return value.astype(np.int64)


def as_folds(value: Any, n_samples: int, n_pairs: int | None, *, what: str) -> Folds:
    """A list (or tuple) of ``n_pairs`` pairs ``(train_idx, val_idx)`` of index arrays (any
    number of pairs when ``n_pairs`` is ``None``)."""
    if not isinstance(value, (list, tuple)):
        fail(f"{what}: expected a list of (train_idx, val_idx) pairs, got {type_name(value)}: "
             f"{short(value)}")
    if n_pairs is not None and len(value) != n_pairs:
        fail(f"{what}: expected {n_pairs} (train_idx, val_idx) pairs, got {len(value)}")
    folds = []
    for i, pair in enumerate(value):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            fail(f"{what}: item {i} should be a pair (train_idx, val_idx), got "
                 f"{type_name(pair)}: {short(pair)}")
        train = as_index_array(pair[0], n_samples, what=f"{what}: train_idx of fold {i}")
        val = as_index_array(pair[1], n_samples, what=f"{what}: val_idx of fold {i}")
        folds.append((train, val))
    return folds


def expect_disjoint(folds: Folds, n_samples: int, *, what: str, offset: int = 0) -> None:
    """No sample is validated twice (within a fold or in two folds), and no validation fold is
    empty (``offset`` numbers the folds in messages). Says nothing about samples left out."""
    seen = np.full(n_samples, -1)
    for i, (_, val) in enumerate(folds):
        if val.size == 0:
            fail(f"{what}: the validation indices of fold {i + offset} are empty; with "
                 f"2 <= k <= n_samples every fold validates at least one sample")
        values, counts = np.unique(val, return_counts=True)
        if np.any(counts > 1):
            fail(f"{what}: sample {int(values[counts > 1][0])} appears twice in the validation "
                 f"indices of fold {i + offset}")
        again = val[seen[val] >= 0]
        if again.size:
            j = int(again[0])
            fail(f"{what}: sample {j} is in the validation folds {int(seen[j]) + offset} and "
                 f"{i + offset}; each sample must be in exactly one")
        seen[val] = i


def expect_covered(folds: Folds, n_samples: int, *, what: str) -> None:
    """Every sample is in some validation fold (repeats are :func:`expect_disjoint`'s)."""
    validated = np.zeros(n_samples, dtype=bool)
    for _, val in folds:
        validated[val] = True
    missing = np.flatnonzero(~validated)
    if missing.size:
        fail(f"{what}: {missing.size} sample(s) are in no validation fold, e.g. "
             f"{missing[:5].tolist()}; every sample must be validated once "
             f"(the last n_samples % k samples are easy to forget)")


def expect_partition(folds: Folds, n_samples: int, *, what: str, offset: int = 0) -> None:
    """Every sample is in exactly one validation fold, and no fold is empty."""
    expect_disjoint(folds, n_samples, what=what, offset=offset)
    expect_covered(folds, n_samples, what=what)


def expect_consecutive_blocks(folds: Folds, *, what: str) -> None:
    """Each validation fold is a run of consecutive indices, and the runs come in increasing
    order (fold 0 first). Which samples are left out or repeated, and the sizes of the runs, are
    other checks' business: only the order is judged here. Empty folds are skipped, but a split
    whose folds are all empty has no blocks at all."""
    previous_end, previous = -1, None
    if all(val.size == 0 for _, val in folds):
        fail(f"{what}: every validation fold is empty, so there are no blocks to judge")
    for i, (_, val) in enumerate(folds):
        if val.size == 0:
            continue
        ordered = np.unique(val)
        gaps = np.flatnonzero(np.diff(ordered) != 1)
        if gaps.size:
            j = int(gaps[0])
            fail(f"{what}: validation fold {i} is {short(ordered.tolist())}, not a block of "
                 f"consecutive samples (it jumps from {int(ordered[j])} to "
                 f"{int(ordered[j + 1])}); without shuffling each fold is the next block of "
                 f"0, 1, ..., n_samples - 1, as KFold")
        if ordered[0] <= previous_end:
            fail(f"{what}: validation fold {i} starts at sample {int(ordered[0])}, but fold "
                 f"{previous} already reached sample {previous_end}; the blocks come in order: "
                 f"fold 0 holds the first samples, fold 1 the next ones, and so on")
        previous_end, previous = int(ordered[-1]), i


def _kind(value: Any) -> str:
    """What a student reads about a value's type: ``list``, ``numpy array of float64``."""
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, Opaque):  # what cannot be sent as data: a generator, an object
        return f"a {value.type_name}"
    return f"{type_name(value)} {short(value, 80)}"


def expect_contract_types(value: Any, *, what: str) -> None:
    """The contract's types exactly: a ``list`` of pairs (a tuple, or a list of two) of 1-D
    numpy integer arrays. The number of pairs and the indices are other checks' business."""
    if not isinstance(value, list):
        hint = {"tuple": "return a list, e.g. list(...)",
                "generator": "collect the pairs in a list instead of yielding them"}
        fail(f"{what}: expected list, got {type_name(value)}; the contract says a list of "
             f"(train_idx, val_idx) pairs: {hint.get(type_name(value), 'return a list')}")
    for i, pair in enumerate(value):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            fail(f"{what}: item {i} is {_kind(pair)}; the contract says a pair "
                 f"(train_idx, val_idx)")
        for name, arr in zip(("train_idx", "val_idx"), pair):
            where = f"{what}: {name} of fold {i}"
            if not isinstance(arr, np.ndarray):
                extra = " (convert it with .numpy())" if _is_tensor(arr) else \
                    " (np.array(indices, dtype=np.int64))"
                fail(f"{where} is {_kind(arr)}; the contract says a 1-D numpy integer "
                     f"array{extra}")
            if arr.ndim != 1:
                fail(f"{where} has shape {arr.shape}; the contract says a 1-D array "
                     f"(.ravel() it)")
            if arr.dtype.kind == "b":
                fail(f"{where} is a boolean mask ({arr.dtype}); the contract says the indices "
                     f"of the samples: np.flatnonzero(mask)")
            if arr.dtype.kind not in "iu":
                fail(f"{where} has dtype {arr.dtype}; the contract says an integer array "
                     f"(e.g. int64): np.array([]) and np.zeros(m) are float64, pass "
                     f"dtype=np.int64 or use .astype(np.int64)")


def expect_complement(folds: Folds, n_samples: int, *, what: str, offset: int = 0) -> None:
    """In each fold, train and validation are disjoint, without repeats, and cover all samples."""
    for i, (train, val) in enumerate(folds):
        fold = f"{what}: fold {i + offset}"
        both = np.intersect1d(train, val)
        if both.size:
            fail(f"{fold}: sample(s) {both[:5].tolist()} are in both train_idx and val_idx; "
                 f"a sample used for validation must not be trained on")
        values, counts = np.unique(train, return_counts=True)
        if np.any(counts > 1):
            fail(f"{fold}: sample {int(values[counts > 1][0])} appears "
                 f"{int(counts.max())} times in train_idx")
        left_out = np.setdiff1d(np.arange(n_samples), np.concatenate([train, val]))
        if left_out.size:
            fail(f"{fold}: sample(s) {left_out[:5].tolist()} are in neither train_idx nor "
                 f"val_idx; every sample not validated in a fold is trained on")


def sizes_of(folds: Folds) -> list[int]:
    """The validation folds' sizes, in fold order."""
    return [len(val) for _, val in folds]


def expect_sizes(folds: Folds, n_samples: int, k: int, *, what: str, want: list[int]) -> None:
    """The validation folds have the sizes ``want`` (the expected ones: the golden data's in the
    public checks, the oracle's in the hidden ones); the message explains the rule."""
    got = sizes_of(folds)
    want = [int(n) for n in want]
    if got != want:
        fail(f"{what}: validation fold sizes {got}, expected {want} (as scikit-learn's KFold: "
             f"n_samples // k each, and the first n_samples % k = {n_samples % k} fold(s) one "
             f"more)")


def partition_of(folds: Folds) -> frozenset[frozenset[int]]:
    """The validation folds as a set of sets (fold order and index order ignored)."""
    return frozenset(frozenset(val.tolist()) for _, val in folds)


def same_folds(a: Folds, b: Folds) -> bool:
    """Same pairs in the same fold order, ignoring the order inside each array."""
    return len(a) == len(b) and all(
        np.array_equal(np.sort(ta), np.sort(tb)) and np.array_equal(np.sort(va), np.sort(vb))
        for (ta, va), (tb, vb) in zip(a, b))


def expect_same_folds_as(got: Folds, python: Folds, python_again: Folds, *, what: str,
                         python_what: str) -> None:
    """``got`` (a call with numpy integers) is what the same call with Python ints gave.

    Judged against the student's own output, not the reference's: a fold bug is the other
    checks' business. When two calls with Python ints already differ (unseeded randomness,
    another check's business too), only the number of pairs and the fold sizes are compared.
    """
    if same_folds(python, python_again):
        if not same_folds(got, python):
            fail(f"{what} gave other folds than {python_what}; numpy integers must work "
                 f"exactly like Python ints (convert them with int(...))")
        return
    sizes = sizes_of(got)
    python_sizes = sizes_of(python)
    if sizes != python_sizes:
        fail(f"{what} gave validation fold sizes {sizes}, but {python_what} gave "
             f"{python_sizes}; numpy integers must work exactly like Python ints")


def call_text(function: str, *args: Any, **kwargs: Any) -> str:
    """``function(args, key=value)`` as a student would write the call."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{function}({', '.join(parts)})"


def run(student: Any, function: str, *args: Any, **kwargs: Any) -> tuple[Any, str]:
    """The student's ``function(*args, **kwargs)`` with its folds as plain lists and arrays
    (see ``probes.split``), and the call as text for messages."""
    what = call_text(function, *args, **kwargs)
    return student.probe("split", function, *args, _what=what, **kwargs), what
