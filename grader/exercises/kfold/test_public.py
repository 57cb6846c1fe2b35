"""Public checks for `kfold`: the oracle is scikit-learn's ``KFold`` and the contract itself.

Run them on your work with ``dlgrade check kfold``.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import KFold

from grader.exercises.kfold.validate import (as_folds, expect_complement, expect_partition,
                                             expect_sizes, partition_of, same_folds)
from grader.expect import expect_raises, expect_type, fail, short, type_name

pytestmark = pytest.mark.visibility("visible")

# (n_samples, k): a multiple, remainders of 1 and k-1, k == n_samples, k == 2
SIZES = [(12, 3), (10, 3), (11, 4), (7, 7), (9, 2)]


def _folds(student, n, k, **kw):
    args = ", ".join([str(n), str(k)] + [f"{key}={val!r}" for key, val in kw.items()])
    what = f"kfold_indices({args})"
    return as_folds(student.kfold_indices(n, k, **kw), n, k, what=what), what


@pytest.mark.points(1)
def test_returns_a_list_of_k_integer_array_pairs(student):
    what = "kfold_indices(10, 3)"
    value = student.kfold_indices(10, 3)
    expect_type(value, list, what=what)
    if len(value) != 3:
        fail(f"{what}: expected a list of 3 pairs (one per fold), got {len(value)} items")
    for i, pair in enumerate(value):
        expect_type(pair, (tuple, list), what=f"{what}[{i}]")
        if len(pair) != 2:
            fail(f"{what}[{i}]: expected a pair (train_idx, val_idx), got {len(pair)} items")
        for name, arr in zip(("train_idx", "val_idx"), pair):
            where = f"{what}[{i}]: {name}"
            if not isinstance(arr, np.ndarray):
                fail(f"{where}: expected a numpy array, got {type_name(arr)}: {short(arr)}")
            if arr.ndim != 1 or arr.dtype.kind not in "iu":
                fail(f"{where}: expected a 1-D integer array (e.g. int64), got shape "
                     f"{arr.shape} and dtype {arr.dtype}")


@pytest.mark.points(2)
def test_folds_partition_the_samples(student):
    for n, k in SIZES:
        folds, what = _folds(student, n, k)
        expect_partition(folds, n, what=what)


@pytest.mark.points(2)
def test_train_and_validation_are_disjoint_and_cover_all(student):
    for n, k in SIZES:
        folds, what = _folds(student, n, k)
        expect_complement(folds, n, what=what)


@pytest.mark.points(2)
def test_fold_sizes_put_the_remainder_first(student):
    for n, k in SIZES:
        folds, what = _folds(student, n, k)
        expect_sizes(folds, n, k, what=what)


@pytest.mark.points(2)
def test_unshuffled_folds_are_consecutive_blocks(student):
    for n, k in SIZES:
        folds, what = _folds(student, n, k)
        for i, ((train, val), (sk_train, sk_val)) in enumerate(
                zip(folds, KFold(n_splits=k).split(np.zeros(n)))):
            if set(val.tolist()) != set(sk_val.tolist()):
                fail(f"{what}: validation fold {i} is {sorted(val.tolist())}, expected "
                     f"{sk_val.tolist()} (consecutive blocks in order, as KFold(n_splits={k}))")
            if set(train.tolist()) != set(sk_train.tolist()):
                fail(f"{what}: training part of fold {i} is {sorted(train.tolist())}, expected "
                     f"{sk_train.tolist()} (as KFold(n_splits={k}))")


@pytest.mark.points(1)
def test_shuffle_with_a_seed_is_reproducible(student, seed):
    first, what = _folds(student, 20, 4, shuffle=True, seed=seed)
    second, _ = _folds(student, 20, 4, shuffle=True, seed=seed)
    if not same_folds(first, second):
        fail(f"{what} called twice gave different folds: the permutation must come from "
             f"the seed (e.g. np.random.default_rng(seed)), not from unseeded randomness")


@pytest.mark.points(1)
def test_shuffle_changes_the_folds(student, seed):
    # 30 samples in 3 folds have about 5.5e12 ordered partitions: a real shuffle equals the
    # unshuffled split, or two seeds give the same split, with probability about 1e-12.
    plain, _ = _folds(student, 30, 3)
    shuffled, what = _folds(student, 30, 3, shuffle=True, seed=seed)
    expect_partition(shuffled, 30, what=what)
    if same_folds(plain, shuffled):
        fail(f"{what}: the folds are the unshuffled consecutive blocks; with shuffle=True the "
             f"indices must be permuted before splitting")
    other, what_other = _folds(student, 30, 3, shuffle=True, seed=seed + 1)
    if same_folds(shuffled, other):
        fail(f"{what} and {what_other} gave the same folds: the seed must change the "
             f"permutation")


@pytest.mark.points(1)
def test_k_below_two_raises(student):
    for k in (1, 0, -3):
        with expect_raises("ValueError", what=f"kfold_indices(10, {k})"):
            student.kfold_indices(10, k)


@pytest.mark.points(1)
def test_k_above_n_samples_raises(student):
    for n, k in ((5, 6), (2, 3), (0, 2)):
        with expect_raises("ValueError", what=f"kfold_indices({n}, {k})"):
            student.kfold_indices(n, k)


@pytest.mark.points(1)
def test_non_integer_arguments_raise(student):
    for n, k in ((10, 2.5), (10, 3.0), (10.0, 3), (10, "3")):
        with expect_raises("ValueError", what=f"kfold_indices({n!r}, {k!r})"):
            student.kfold_indices(n, k)


@pytest.mark.points(1)
def test_numpy_integers_are_accepted(student):
    # what len(X) or X.shape[0] give: np.int64 is an integer and must work like 10.
    n, k = np.int64(10), np.int64(3)
    folds = as_folds(student.kfold_indices(n, k), 10, 3, what="kfold_indices(np.int64(10), "
                                                              "np.int64(3))")
    expect_sizes(folds, 10, 3, what="kfold_indices(np.int64(10), np.int64(3))")


@pytest.mark.points(1)
def test_iterated_returns_repeats_times_k_pairs(student, seed):
    what = f"iterated_kfold_indices(12, 4, 3, seed={seed})"
    value = student.iterated_kfold_indices(12, 4, 3, seed=seed)
    expect_type(value, list, what=what)
    as_folds(value, 12, 12, what=what)


@pytest.mark.points(2)
def test_iterated_groups_are_full_kfold_splits(student, seed):
    n, k, repeats = 23, 4, 3
    what = f"iterated_kfold_indices({n}, {k}, {repeats}, seed={seed})"
    folds = as_folds(student.iterated_kfold_indices(n, k, repeats, seed=seed), n, k * repeats,
                     what=what)
    for r in range(repeats):
        group = folds[r * k:(r + 1) * k]
        where = f"{what}, repeat {r} (pairs {r * k} to {r * k + k - 1})"
        expect_partition(group, n, what=where, offset=r * k)
        expect_complement(group, n, what=where, offset=r * k)
        expect_sizes(group, n, k, what=where)


@pytest.mark.points(1)
def test_iterated_repeats_differ(student, seed):
    # Unordered partitions of 30 samples in 3 folds: about 9e11; equal repeats by chance ~1e-12.
    n, k, repeats = 30, 3, 3
    what = f"iterated_kfold_indices({n}, {k}, {repeats}, seed={seed})"
    folds = as_folds(student.iterated_kfold_indices(n, k, repeats, seed=seed), n, k * repeats,
                     what=what)
    groups = [partition_of(folds[r * k:(r + 1) * k]) for r in range(repeats)]
    for r in range(1, repeats):
        for q in range(r):
            if groups[r] == groups[q]:
                fail(f"{what}: repeats {q} and {r} have the same folds; each repeat must "
                     f"shuffle again (draw a new permutation from one seeded generator)")
    plain = partition_of(as_folds(student.kfold_indices(n, k), n, k,
                                  what=f"kfold_indices({n}, {k})"))
    if plain in groups:
        fail(f"{what}: repeat {groups.index(plain)} is the unshuffled split; every repeat "
             f"must be shuffled")


@pytest.mark.points(1)
def test_iterated_same_seed_same_result(student, seed):
    what = f"iterated_kfold_indices(20, 5, 2, seed={seed})"
    first = as_folds(student.iterated_kfold_indices(20, 5, 2, seed=seed), 20, 10, what=what)
    second = as_folds(student.iterated_kfold_indices(20, 5, 2, seed=seed), 20, 10, what=what)
    if not same_folds(first, second):
        fail(f"{what} called twice gave different folds: all the shuffles must come from "
             f"the seed")
    other_what = f"iterated_kfold_indices(20, 5, 2, seed={seed + 1})"
    other = as_folds(student.iterated_kfold_indices(20, 5, 2, seed=seed + 1), 20, 10,
                     what=other_what)
    if same_folds(first, other):
        fail(f"{what} and {other_what} gave the same folds: the seed must change the shuffles")
