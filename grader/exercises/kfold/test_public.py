"""Public checks for `kfold`: the expected values are scikit-learn's ``KFold`` rule as the reference
follows it, read from the golden data (``golden.npz``, written by ``dlgrade release``; the
framework's tests hold it equal to scikit-learn's), and the contract itself.

Run them on your work with ``dlgrade check kfold``.

Each check judges one property. The folds' values are read whatever container holds them (see
``validate.as_index_array``); only "returns lists of integer array pairs" asks for the
contract's types. Checks that a function doing nothing also passes (the right types, the same
output twice, bad arguments raise) pay only together with the evidence named in their
``gated_by`` marker.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader import golden
from grader.errors import StudentError
from grader.exercises.kfold.validate import (SIZES, as_folds, expect_complement,
                                             expect_consecutive_blocks, expect_contract_types,
                                             expect_covered, expect_disjoint, expect_partition,
                                             expect_same_folds_as, expect_sizes, partition_of,
                                             run, same_folds, sizes_of, split_case)
from grader.expect import expect_raises, fail

pytestmark = pytest.mark.visibility("visible")

GOLDEN = golden.load("kfold")


def _expected_sizes(n: int, k: int) -> list[int]:
    """The validation fold sizes of ``n`` samples in ``k`` folds (shuffled or not), from the
    golden data (the reference's unshuffled split)."""
    return sizes_of(GOLDEN[split_case(n, k)].expected["folds"])


# Evidence of real work: validation folds that hold samples and do not overlap. Every usual slip
# (remainder dropped or misplaced, training on the validation fold, strided folds, a seed
# ignored) still passes it; empty, zero, constant, repeated and echoed folds do not, nor do
# random index arrays of the right lengths. What such folds also have (the right sizes, every
# sample somewhere, a training part that is the complement, repeats that differ) pays with it.
REAL_FOLDS = "test_validation_folds_do_not_overlap"
REAL_ITERATED = "test_iterated_folds_do_not_overlap"


def _folds(student, n, k, **kw):
    value, what = run(student, "kfold_indices", n, k, **kw)
    return as_folds(value, n, k, what=what), what


def _iterated(student, n, k, repeats, **kw):
    value, what = run(student, "iterated_kfold_indices", n, k, repeats, **kw)
    return as_folds(value, n, k * repeats, what=what), what


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_FOLDS)
def test_returns_lists_of_integer_array_pairs(student, seed):
    # The one check about the contract's types: a list of pairs of 1-D integer numpy arrays.
    calls = (("kfold_indices(10, 3)", lambda: student.kfold_indices(10, 3)),
             (f"iterated_kfold_indices(12, 4, 3, seed={seed})",
              lambda: student.iterated_kfold_indices(12, 4, 3, seed=seed)))
    errors = []
    for what, call in calls:
        try:
            value = call()
        except StudentError as err:  # a function that raises is judged by its own checks
            errors.append(err)
            continue
        expect_contract_types(value, what=what)
    if len(errors) == len(calls):
        raise errors[0]


@pytest.mark.points(1)
def test_validation_folds_do_not_overlap(student):
    for n, k in SIZES:
        folds, what = _folds(student, n, k)
        expect_disjoint(folds, n, what=what)


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_FOLDS)
def test_every_sample_is_validated(student):
    for n, k in SIZES:
        folds, what = _folds(student, n, k)
        expect_covered(folds, n, what=what)


@pytest.mark.points(2)
@pytest.mark.gated_by(REAL_FOLDS)
def test_train_and_validation_are_disjoint_and_cover_all(student):
    for n, k in SIZES:
        folds, what = _folds(student, n, k)
        expect_complement(folds, n, what=what)


@pytest.mark.points(2)
@pytest.mark.gated_by(REAL_FOLDS)
def test_fold_sizes_put_the_remainder_first(student):
    for n, k in SIZES:
        folds, what = _folds(student, n, k)
        expect_sizes(folds, n, k, what=what, want=_expected_sizes(n, k))


@pytest.mark.points(2)
def test_unshuffled_folds_are_consecutive_blocks(student):
    # Only the order: each validation fold a run of consecutive samples, the runs in increasing
    # order. With the sizes, the coverage and the disjointness checked above, that is KFold's
    # split exactly (the hidden checks compare with KFold directly).
    for n, k in SIZES:
        folds, what = _folds(student, n, k)
        expect_consecutive_blocks(folds, what=what)


@pytest.mark.points(1)
@pytest.mark.gated_by("test_shuffle_changes_the_folds")  # unshuffled folds are reproducible too
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
@pytest.mark.gated_by(REAL_FOLDS)
def test_k_below_two_raises(student):
    for k in (1, 0, -3):
        with expect_raises("ValueError", what=f"kfold_indices(10, {k})"):
            student.kfold_indices(10, k)


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_FOLDS)
def test_k_above_n_samples_raises(student):
    for n, k in ((5, 6), (2, 3), (0, 2)):
        with expect_raises("ValueError", what=f"kfold_indices({n}, {k})"):
            student.kfold_indices(n, k)


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_FOLDS)
def test_non_integer_arguments_raise(student):
    for n, k in ((10, 2.5), (10, 3.0), (10.0, 3), (10, "3")):
        with expect_raises("ValueError", what=f"kfold_indices({n!r}, {k!r})"):
            student.kfold_indices(n, k)


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_FOLDS)
def test_numpy_integers_are_accepted(student, seed):
    # What len(X) or X.shape[0] give: np.int64 is an integer and must work like a Python int.
    # Judged against the same call with Python ints (the folds' values are other checks').
    for n, k, kw in ((10, 3, {}), (11, 4, {"shuffle": True, "seed": seed})):
        python, python_what = run(student, "kfold_indices", n, k, **kw)
        again, _ = run(student, "kfold_indices", n, k, **kw)
        numpy, what = run(student, "kfold_indices", np.int64(n), np.int32(k), **kw)
        expect_same_folds_as(as_folds(numpy, n, None, what=what),
                             as_folds(python, n, None, what=python_what),
                             as_folds(again, n, None, what=python_what),
                             what=what, python_what=python_what)


@pytest.mark.points(1)
def test_iterated_folds_do_not_overlap(student, seed):
    n, k, repeats = 23, 4, 3
    folds, what = _iterated(student, n, k, repeats, seed=seed)
    for r in range(repeats):
        where = f"{what}, repeat {r} (pairs {r * k} to {r * k + k - 1})"
        expect_disjoint(folds[r * k:(r + 1) * k], n, what=where, offset=r * k)


@pytest.mark.points(2)
def test_iterated_groups_are_full_kfold_splits(student, seed):
    n, k, repeats = 23, 4, 3
    folds, what = _iterated(student, n, k, repeats, seed=seed)
    for r in range(repeats):
        group = folds[r * k:(r + 1) * k]
        where = f"{what}, repeat {r} (pairs {r * k} to {r * k + k - 1})"
        expect_partition(group, n, what=where, offset=r * k)
        expect_complement(group, n, what=where, offset=r * k)
        expect_sizes(group, n, k, what=where, want=_expected_sizes(n, k))


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_ITERATED)  # random index arrays differ too
def test_iterated_repeats_differ(student, seed):
    # Unordered partitions of 30 samples in 3 folds: about 9e11; equal repeats by chance ~1e-12.
    n, k, repeats = 30, 3, 3
    folds, what = _iterated(student, n, k, repeats, seed=seed)
    groups = [partition_of(folds[r * k:(r + 1) * k]) for r in range(repeats)]
    for r in range(1, repeats):
        for q in range(r):
            if groups[r] == groups[q]:
                fail(f"{what}: repeats {q} and {r} have the same folds; each repeat must "
                     f"shuffle again (draw a new permutation from one seeded generator)")
    # The unshuffled split is KFold's (not this submission's kfold_indices: its slips are
    # judged by its own checks).
    plain = partition_of(GOLDEN[split_case(n, k)].expected["folds"])
    if plain in groups:
        fail(f"{what}: repeat {groups.index(plain)} is the unshuffled split; every repeat "
             f"must be shuffled")


@pytest.mark.points(1)
def test_iterated_same_seed_same_result(student, seed):
    first, what = _iterated(student, 20, 5, 2, seed=seed)
    second, _ = _iterated(student, 20, 5, 2, seed=seed)
    if not same_folds(first, second):
        fail(f"{what} called twice gave different folds: all the shuffles must come from "
             f"the seed")
    other, other_what = _iterated(student, 20, 5, 2, seed=seed + 1)
    if same_folds(first, other):
        fail(f"{what} and {other_what} gave the same folds: the seed must change the shuffles")


@pytest.mark.points(1)
@pytest.mark.gated_by(REAL_ITERATED)  # random index arrays differ too
def test_iterated_without_a_seed_is_random(student):
    """``seed=None`` is the default and allowed: two calls without a seed (one passing
    ``seed=None``, one leaving it out) shuffle afresh, so they differ. 30 samples in 3 folds, 2
    repeats: the same result twice by chance has probability about 1e-24."""
    n, k, repeats = 30, 3, 2
    first, what = _iterated(student, n, k, repeats, seed=None)
    second, second_what = _iterated(student, n, k, repeats)
    if same_folds(first, second):
        fail(f"{what} and {second_what} gave the same folds: without a seed every call must "
             f"shuffle afresh (np.random.default_rng(None) draws a new seed from the system)")
