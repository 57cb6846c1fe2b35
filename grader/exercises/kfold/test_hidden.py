"""Hidden checks for `kfold`: other sizes and seeds than the public ones, shuffled splits too.

The oracle is scikit-learn's ``KFold`` rule as ``oracle.unshuffled_split`` writes it down (judge
side only, it never ships; the framework's tests hold it equal to ``KFold`` on these sizes and
many more; importing scikit-learn here cost every grading of kfold 1.5-2 s) and the contract: shuffled folds depend on the random
generator a submission uses, so they are checked by their properties, never compared with the
reference's.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.exercises.kfold.oracle import expected_sizes, unshuffled_split
from grader.exercises.kfold.validate import (as_folds, expect_complement, expect_partition,
                                             expect_same_folds_as, expect_sizes, run)
from grader.expect import expect_raises, fail

pytestmark = pytest.mark.visibility("hidden")

# Evidence of real work, as in test_public.py (public checks may pay hidden ones).
REAL_FOLDS = "test_validation_folds_do_not_overlap"
REAL_ITERATED = "test_iterated_folds_do_not_overlap"

# Larger sizes, remainders 0, 1 and k - 1, n == k, n == k + 1, and k == 2 with odd n.
HIDDEN_SIZES = [(103, 10), (50, 5), (29, 6), (16, 15), (5, 5), (3, 2), (1000, 7)]


@pytest.mark.points(2)
def test_unshuffled_folds_on_hidden_sizes(student):
    for n, k in HIDDEN_SIZES:
        value, what = run(student, "kfold_indices", n, k)
        folds = as_folds(value, n, k, what=what)
        expect_partition(folds, n, what=what)
        expect_complement(folds, n, what=what)
        expect_sizes(folds, n, k, what=what, want=expected_sizes(n, k))
        for i, ((_, val), sk_val) in enumerate(zip(folds, unshuffled_split(n, k))):
            if set(val.tolist()) != set(sk_val.tolist()):
                fail(f"{what}: validation fold {i} is not the block {sk_val[0]}..{sk_val[-1]} "
                     f"of KFold(n_splits={k})")


@pytest.mark.points(2)
def test_shuffled_folds_on_hidden_sizes(student, seed):
    for i, (n, k) in enumerate(HIDDEN_SIZES):
        value, what = run(student, "kfold_indices", n, k, shuffle=True, seed=seed + i)
        folds = as_folds(value, n, k, what=what)
        expect_partition(folds, n, what=what)
        expect_complement(folds, n, what=what)
        expect_sizes(folds, n, k, what=what, want=expected_sizes(n, k))


@pytest.mark.points(1)
def test_iterated_folds_on_hidden_sizes(student, seed):
    # repeats=1 is allowed ("at least 1"): one shuffled K-fold split.
    for n, k, repeats in ((53, 7, 4), (10, 10, 2), (6, 2, 5), (17, 4, 1)):
        value, what = run(student, "iterated_kfold_indices", n, k, repeats, seed=seed)
        folds = as_folds(value, n, k * repeats, what=what)
        for r in range(repeats):
            group = folds[r * k:(r + 1) * k]
            where = f"{what}, repeat {r}"
            expect_partition(group, n, what=where, offset=r * k)
            expect_complement(group, n, what=where, offset=r * k)
            expect_sizes(group, n, k, what=where, want=expected_sizes(n, k))


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_ITERATED)
def test_iterated_rejects_bad_arguments(student):
    for args in ((10, 1, 2), (4, 5, 2), (10, 2.0, 2), (10, 3, 0), (10, 3, -1), (10, 3, 1.5),
                 (10.0, 3, 2), (10, 3, "2")):
        with expect_raises("ValueError", what=f"iterated_kfold_indices{args}"):
            student.iterated_kfold_indices(*args)


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_FOLDS, REAL_ITERATED)
def test_numpy_integers_accepted_in_every_function(student, seed):
    # Judged against the same calls with Python ints, as the public check.
    for function, args, numpy_args, kw in (
            ("kfold_indices", (9, 4), (np.int32(9), np.int64(4)),
             {"shuffle": True, "seed": seed}),
            ("iterated_kfold_indices", (9, 4, 2), (np.int64(9), np.int64(4), np.int64(2)),
             {"seed": seed})):
        python, python_what = run(student, function, *args, **kw)
        again, _ = run(student, function, *args, **kw)
        numpy, what = run(student, function, *numpy_args, **kw)
        expect_same_folds_as(as_folds(numpy, 9, None, what=what),
                             as_folds(python, 9, None, what=python_what),
                             as_folds(again, 9, None, what=python_what),
                             what=what, python_what=python_what)
