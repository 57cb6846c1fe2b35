"""Hidden checks for `kfold`: other sizes and seeds than the public ones, shuffled splits too.

The oracle is still scikit-learn's ``KFold`` (and the contract): shuffled folds depend on the
random generator a submission uses, so they are checked by their properties, never compared with
the reference's.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import KFold

from grader.exercises.kfold.validate import (as_folds, expect_complement, expect_partition,
                                             expect_sizes)
from grader.expect import expect_raises, fail

pytestmark = pytest.mark.visibility("hidden")

# Larger sizes, remainders 0, 1 and k - 1, n == k, n == k + 1, and k == 2 with odd n.
HIDDEN_SIZES = [(103, 10), (50, 5), (29, 6), (16, 15), (5, 5), (3, 2), (1000, 7)]


@pytest.mark.points(2)
def test_unshuffled_folds_on_hidden_sizes(student):
    for n, k in HIDDEN_SIZES:
        what = f"kfold_indices({n}, {k})"
        folds = as_folds(student.kfold_indices(n, k), n, k, what=what)
        expect_partition(folds, n, what=what)
        expect_complement(folds, n, what=what)
        expect_sizes(folds, n, k, what=what)
        sk = list(KFold(n_splits=k).split(np.zeros(n)))
        for i, ((_, val), (_, sk_val)) in enumerate(zip(folds, sk)):
            if set(val.tolist()) != set(sk_val.tolist()):
                fail(f"{what}: validation fold {i} is not the block {sk_val[0]}..{sk_val[-1]} "
                     f"of KFold(n_splits={k})")


@pytest.mark.points(2)
def test_shuffled_folds_on_hidden_sizes(student, seed):
    for i, (n, k) in enumerate(HIDDEN_SIZES):
        what = f"kfold_indices({n}, {k}, shuffle=True, seed={seed + i})"
        folds = as_folds(student.kfold_indices(n, k, shuffle=True, seed=seed + i), n, k,
                         what=what)
        expect_partition(folds, n, what=what)
        expect_complement(folds, n, what=what)
        expect_sizes(folds, n, k, what=what)


@pytest.mark.points(1)
def test_iterated_folds_on_hidden_sizes(student, seed):
    for n, k, repeats in ((53, 7, 4), (10, 10, 2), (6, 2, 5)):
        what = f"iterated_kfold_indices({n}, {k}, {repeats}, seed={seed})"
        folds = as_folds(student.iterated_kfold_indices(n, k, repeats, seed=seed), n,
                         k * repeats, what=what)
        for r in range(repeats):
            group = folds[r * k:(r + 1) * k]
            where = f"{what}, repeat {r}"
            expect_partition(group, n, what=where, offset=r * k)
            expect_complement(group, n, what=where, offset=r * k)
            expect_sizes(group, n, k, what=where)


@pytest.mark.points(1)
def test_iterated_rejects_bad_arguments(student):
    for args in ((10, 1, 2), (4, 5, 2), (10, 2.0, 2), (10, 3, 0), (10, 3, 1.5)):
        with expect_raises("ValueError", what=f"iterated_kfold_indices{args}"):
            student.iterated_kfold_indices(*args)


@pytest.mark.points(1)
def test_numpy_integers_accepted_in_every_function(student, seed):
    what = f"kfold_indices(np.int32(9), np.int64(4), shuffle=True, seed={seed})"
    folds = as_folds(student.kfold_indices(np.int32(9), np.int64(4), shuffle=True, seed=seed),
                     9, 4, what=what)
    expect_sizes(folds, 9, 4, what=what)
    what = f"iterated_kfold_indices(np.int64(9), np.int64(4), np.int64(2), seed={seed})"
    folds = as_folds(student.iterated_kfold_indices(np.int64(9), np.int64(4), np.int64(2),
                                                    seed=seed), 9, 8, what=what)
    expect_sizes(folds[:4], 9, 4, what=what)
