"""Judge-side helpers for the `kfold` checks: validate what a submission returned, then compare.

Every helper fails the check (``grader.expect.fail``) with a message that names the call, the fold
and the sample concerned; none of them trusts the shape or type of a returned value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.expect import fail, short, type_name

Folds = list[tuple[np.ndarray, np.ndarray]]


def as_index_array(value: Any, n_samples: int, *, what: str) -> np.ndarray:
    """A 1-D array of integer indices in ``0..n_samples-1`` (a list of ints is accepted here; the
    check "returns integer arrays" is the strict one); returned as int64."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            fail(f"{what}: expected integer sample indices, got {short(value)}")
        value = np.asarray(value, dtype=np.int64).reshape(-1)
    if not isinstance(value, np.ndarray):
        fail(f"{what}: expected a numpy array of sample indices, got {type_name(value)}: "
             f"{short(value)}")
    if value.ndim != 1:
        fail(f"{what}: expected a 1-D array of sample indices, got shape {value.shape}")
    if value.dtype.kind == "b":
        fail(f"{what}: got a boolean array (a mask); expected the indices of the samples "
             f"(e.g. np.flatnonzero(mask))")
    if value.dtype.kind not in "iu":
        fail(f"{what}: expected an integer array of sample indices, got dtype {value.dtype}")
    if value.size and (value.min() < 0 or value.max() >= n_samples):
        bad = value[(value < 0) | (value >= n_samples)][0]
        fail(f"{what}: index {int(bad)} is not a sample index (expected 0..{n_samples - 1})")
    return value.astype(np.int64)


def as_folds(value: Any, n_samples: int, n_pairs: int, *, what: str) -> Folds:
    """A list (or tuple) of ``n_pairs`` pairs ``(train_idx, val_idx)`` of index arrays."""
    if not isinstance(value, (list, tuple)):
        fail(f"{what}: expected a list of (train_idx, val_idx) pairs, got {type_name(value)}: "
             f"{short(value)}")
    if len(value) != n_pairs:
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


def expect_partition(folds: Folds, n_samples: int, *, what: str, offset: int = 0) -> None:
    """Every sample is in exactly one validation fold (``offset`` numbers folds in messages)."""
    seen = np.full(n_samples, -1)
    for i, (_, val) in enumerate(folds):
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
    missing = np.flatnonzero(seen < 0)
    if missing.size:
        fail(f"{what}: {missing.size} sample(s) are in no validation fold, e.g. "
             f"{missing[:5].tolist()}; every sample must be validated once "
             f"(the last n_samples % k samples are easy to forget)")


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


def expected_sizes(n_samples: int, k: int) -> list[int]:
    """Validation fold sizes as scikit-learn's ``KFold``: the first ``n % k`` get one more."""
    return [n_samples // k + (1 if i < n_samples % k else 0) for i in range(k)]


def expect_sizes(folds: Folds, n_samples: int, k: int, *, what: str) -> None:
    got = [len(val) for _, val in folds]
    want = expected_sizes(n_samples, k)
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
