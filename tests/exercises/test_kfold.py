"""Framework tests for the `kfold` exercise: the reference scores full marks, the stub zero, and
each deliberately wrong submission loses points in the check that targets its mistake.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import numpy as np
import pytest
from sklearn.model_selection import KFold

from tests.helpers import ASSIGNMENTS, SOLUTIONS, SUBMISSIONS, full_marks, lost_points

EX = "kfold"


def name(check: str) -> str:
    return f"{EX}: {check}"


TYPES = name("returns a list of k integer array pairs")
PARTITION = name("folds partition the samples")
COMPLEMENT = name("train and validation are disjoint and cover all")
SIZES = name("fold sizes put the remainder first")
BLOCKS = name("unshuffled folds are consecutive blocks")
REPRODUCIBLE = name("shuffle with a seed is reproducible")
SHUFFLES = name("shuffle changes the folds")
K_LOW = name("k below two raises")
K_HIGH = name("k above n samples raises")
NON_INTEGER = name("non integer arguments raise")
NUMPY_INTS = name("numpy integers are accepted")
IT_COUNT = name("iterated returns repeats times k pairs")
IT_GROUPS = name("iterated groups are full kfold splits")
IT_DIFFER = name("iterated repeats differ")
IT_SEED = name("iterated same seed same result")
PUBLIC = {TYPES, PARTITION, COMPLEMENT, SIZES, BLOCKS, REPRODUCIBLE, SHUFFLES, K_LOW, K_HIGH,
          NON_INTEGER, NUMPY_INTS, IT_COUNT, IT_GROUPS, IT_DIFFER, IT_SEED}
H_UNSHUFFLED = name("unshuffled folds on hidden sizes")
H_SHUFFLED = name("shuffled folds on hidden sizes")
H_ITERATED = name("iterated folds on hidden sizes")
H_IT_ERRORS = name("iterated rejects bad arguments")
H_NUMPY = name("numpy integers accepted in every function")
HIDDEN = {H_UNSHUFFLED, H_SHUFFLED, H_ITERATED, H_IT_ERRORS, H_NUMPY}


@pytest.fixture(scope="module")
def reports(graded):
    """Each folder graded once per session (tests/conftest.py)."""
    return lambda folder: graded(folder, EX)


def test_reference_scores_full_marks(reports):
    report = reports(SOLUTIONS)
    assert {c.name for c in report.checks} == PUBLIC | HIDDEN
    assert lost_points(report) == set(), [(c.name, c.output) for c in report.checks
                                          if c.score < c.max_score]
    assert full_marks(report)
    assert report.max_score == pytest.approx(10, abs=0.01)
    assert {c.name for c in report.checks if c.visibility == "hidden"} == HIDDEN


def test_stub_scores_zero_with_every_check_listed(reports):
    stub, ref = reports(ASSIGNMENTS), reports(SOLUTIONS)
    assert stub.score == 0
    assert [c.name for c in stub.checks] == [c.name for c in ref.checks]
    assert "kfold: implement kfold_indices" in stub.check(PARTITION).output


# (submission folder, the checks it must lose, checks it must keep: its slip is elsewhere)
WRONG = {
    "remainder_dropped": ({PARTITION, SIZES, BLOCKS, IT_GROUPS, H_UNSHUFFLED, H_SHUFFLED},
                          {COMPLEMENT, K_LOW}),
    "train_val_overlap": ({COMPLEMENT, BLOCKS, IT_GROUPS, H_UNSHUFFLED}, {PARTITION, SIZES}),
    "remainder_in_last_fold": ({SIZES, BLOCKS, IT_GROUPS, H_SHUFFLED}, {PARTITION, COMPLEMENT}),
    "seed_ignored": ({REPRODUCIBLE}, {SHUFFLES, IT_SEED, BLOCKS}),
    "iterated_same_shuffle": ({IT_DIFFER}, {IT_GROUPS, IT_SEED, REPRODUCIBLE}),
    "floats_accepted": ({NON_INTEGER, H_IT_ERRORS}, {NUMPY_INTS, K_LOW}),
    "numpy_ints_rejected": ({NUMPY_INTS, H_NUMPY}, {NON_INTEGER, PARTITION}),
}


@pytest.mark.parametrize("wrong", sorted(WRONG))
def test_wrong_implementation_loses_its_checks(reports, wrong):
    must_lose, must_keep = WRONG[wrong]
    lost = lost_points(reports(SUBMISSIONS / EX / wrong))
    assert must_lose <= lost, f"{wrong} should lose {sorted(must_lose - lost)}; lost {sorted(lost)}"
    assert not (must_keep & lost), f"{wrong} should keep {sorted(must_keep & lost)}"


def test_failure_messages_point_at_the_mistake(reports):
    dropped = reports(SUBMISSIONS / EX / "remainder_dropped")
    assert "in no validation fold" in dropped.check(PARTITION).output
    assert "[3, 3, 3], expected [4, 3, 3]" in dropped.check(SIZES).output
    overlap = reports(SUBMISSIONS / EX / "train_val_overlap")
    assert "in both train_idx and val_idx" in overlap.check(COMPLEMENT).output


# Unit tests of the reference itself (imported by path: solutions/ is not a package).

def _reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kfold_reference", SOLUTIONS / "kfold.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_matches_scikit_learn_exactly():
    ref = _reference()
    for n in range(2, 40):
        for k in range(2, n + 1):
            for (train, val), (sk_train, sk_val) in zip(ref.kfold_indices(n, k),
                                                        KFold(n_splits=k).split(np.zeros(n))):
                assert np.array_equal(train, sk_train) and np.array_equal(val, sk_val)
                assert train.dtype == np.int64 and val.dtype == np.int64


def test_reference_shuffled_and_iterated_are_seeded_partitions():
    ref = _reference()
    for seed in range(20):
        folds = ref.kfold_indices(23, 5, shuffle=True, seed=seed)
        assert sorted(np.concatenate([v for _, v in folds]).tolist()) == list(range(23))
        assert [len(v) for _, v in folds] == [5, 5, 5, 4, 4]
        again = ref.kfold_indices(23, 5, shuffle=True, seed=seed)
        assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
        it = ref.iterated_kfold_indices(23, 5, 3, seed=seed)
        assert len(it) == 15
        groups = [frozenset(frozenset(v.tolist()) for _, v in it[r * 5:(r + 1) * 5])
                  for r in range(3)]
        assert len(set(groups)) == 3


@pytest.mark.parametrize("args", [(10, 1), (5, 6), (10, 3.0), (10.0, 3), (10, True), (10, "3"),
                                  (np.float64(10), 3)])
def test_reference_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        _reference().kfold_indices(*args)


def test_reference_accepts_numpy_integers():
    folds = _reference().kfold_indices(np.int64(10), np.int32(3))
    assert [len(v) for _, v in folds] == [4, 3, 3]
