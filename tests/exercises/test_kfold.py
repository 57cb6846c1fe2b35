"""Framework tests for the `kfold` exercise: the reference scores full marks, the stub zero, and
each deliberately wrong submission loses points in the check that targets its mistake.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import numpy as np
import pytest
from sklearn.model_selection import KFold

from tests.exercises.forgery import expect_forgery_earns_nothing
from tests.helpers import ASSIGNMENTS, SOLUTIONS, SUBMISSIONS, full_marks, lost_points

EX = "kfold"


def name(check: str) -> str:
    return f"{EX}: {check}"


TYPES = name("returns lists of integer array pairs")
DISJOINT = name("validation folds do not overlap")
COVERED = name("every sample is validated")
COMPLEMENT = name("train and validation are disjoint and cover all")
SIZES = name("fold sizes put the remainder first")
BLOCKS = name("unshuffled folds are consecutive blocks")
REPRODUCIBLE = name("shuffle with a seed is reproducible")
SHUFFLES = name("shuffle changes the folds")
K_LOW = name("k below two raises")
K_HIGH = name("k above n samples raises")
NON_INTEGER = name("non integer arguments raise")
NUMPY_INTS = name("numpy integers are accepted")
IT_DISJOINT = name("iterated folds do not overlap")
IT_GROUPS = name("iterated groups are full kfold splits")
IT_DIFFER = name("iterated repeats differ")
IT_SEED = name("iterated same seed same result")
IT_NONE = name("iterated without a seed is random")
PUBLIC = {TYPES, DISJOINT, COVERED, COMPLEMENT, SIZES, BLOCKS, REPRODUCIBLE, SHUFFLES, K_LOW,
          K_HIGH, NON_INTEGER, NUMPY_INTS, IT_DISJOINT, IT_GROUPS, IT_DIFFER, IT_SEED, IT_NONE}
H_UNSHUFFLED = name("unshuffled folds on hidden sizes")
H_SHUFFLED = name("shuffled folds on hidden sizes")
H_ITERATED = name("iterated folds on hidden sizes")
H_IT_ERRORS = name("iterated rejects bad arguments")
H_NUMPY = name("numpy integers accepted in every function")
HIDDEN = {H_UNSHUFFLED, H_SHUFFLED, H_ITERATED, H_IT_ERRORS, H_NUMPY}
# Paid only alongside evidence of real work (gated_by in the checks): the properties a
# function doing nothing has, and those that random index arrays of the right lengths have.
GATED = {TYPES, REPRODUCIBLE, K_LOW, K_HIGH, NON_INTEGER, NUMPY_INTS, H_IT_ERRORS, H_NUMPY,
         COVERED, COMPLEMENT, SIZES, IT_DIFFER, IT_NONE}


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
    assert "kfold: implement kfold_indices" in stub.check(DISJOINT).output


# (submission, the checks it must lose, checks it must keep: its slip is elsewhere). The slips
# that break one property lose the checks of that property only: the gated checks, "numpy
# integers are accepted" (judged against the submission's own output) and the checks about
# other properties stay paid.
ALL = PUBLIC | HIDDEN
WRONG = {
    "remainder_dropped": ({COVERED, SIZES, IT_GROUPS, H_UNSHUFFLED, H_SHUFFLED, H_ITERATED},
                          ALL - {COVERED, SIZES, IT_GROUPS, H_UNSHUFFLED, H_SHUFFLED,
                                 H_ITERATED}),
    "train_val_overlap": ({COMPLEMENT, IT_GROUPS, H_UNSHUFFLED, H_SHUFFLED, H_ITERATED},
                          ALL - {COMPLEMENT, IT_GROUPS, H_UNSHUFFLED, H_SHUFFLED, H_ITERATED}),
    "remainder_in_last_fold": ({SIZES, IT_GROUPS, H_UNSHUFFLED, H_SHUFFLED, H_ITERATED},
                               ALL - {SIZES, IT_GROUPS, H_UNSHUFFLED, H_SHUFFLED, H_ITERATED}),
    "strided_folds": ({BLOCKS, H_UNSHUFFLED}, ALL - {BLOCKS, H_UNSHUFFLED}),
    "seed_ignored": ({REPRODUCIBLE}, ALL - {REPRODUCIBLE}),
    "iterated_same_shuffle": ({IT_DIFFER}, ALL - {IT_DIFFER}),
    "floats_accepted": ({NON_INTEGER, H_IT_ERRORS}, ALL - {NON_INTEGER, H_IT_ERRORS}),
    "numpy_ints_rejected": ({NUMPY_INTS, H_NUMPY}, ALL - {NUMPY_INTS, H_NUMPY}),
    # the contract's types, each wrong in one way, cost the one check about types
    "types_float_arrays": ({TYPES}, ALL - {TYPES}),
    "types_boolean_masks": ({TYPES}, ALL - {TYPES}),
    "types_generator": ({TYPES}, ALL - {TYPES}),
    # default_rng(seed + r) per repeat: seed=None raises TypeError (issue 18)
    "iterated_seed_none_raises": ({IT_NONE}, ALL - {IT_NONE}),
}


@pytest.mark.parametrize("wrong", sorted(WRONG))
def test_wrong_implementation_loses_its_checks(reports, wrong):
    must_lose, must_keep = WRONG[wrong]
    lost = lost_points(reports(SUBMISSIONS / EX / wrong))
    assert must_lose <= lost, f"{wrong} should lose {sorted(must_lose - lost)}; lost {sorted(lost)}"
    assert not (must_keep & lost), f"{wrong} should keep {sorted(must_keep & lost)}"


# Doing nothing earns at most 10 % of the exercise, however the nothing is dressed: only
# raising, the stub, empty arrays, zeros (of the right lengths), a constant, one fold repeated,
# the input echoed (all samples everywhere). All but the first validate their arguments.
ZERO = ["zero_raises_value_error", "zero_empty_arrays", "zero_zeros", "zero_constant",
        "zero_same_fold", "zero_echo"]


@pytest.mark.parametrize("zero", ZERO)
def test_zero_effort_earns_at_most_a_tenth(reports, zero):
    report = reports(SUBMISSIONS / EX / zero)
    assert report.score <= 0.1 * report.max_score + 1e-9, (
        zero, report.score, sorted(c.name for c in report.checks if c.score > 0))
    assert not any(c.score > 0 for c in report.checks if c.name in GATED)


# Forgeries: every function a stub, and the probe that sends the folds back replaced at import
# by one that makes up folds (random indices in range, scikit-learn's sizes). Measured on the
# checks as they were: 1.11 / 10 (the sizes and "repeats differ"); now nothing.
FORGED = ["forge_split"]


@pytest.mark.parametrize("forge", FORGED)
def test_forged_probe_answers_earn_no_more_than_the_stub(reports, forge, monkeypatch):
    expect_forgery_earns_nothing(reports(SUBMISSIONS / EX / forge), reports(ASSIGNMENTS),
                                 SUBMISSIONS / EX / forge, EX, monkeypatch)


def test_gated_checks_say_what_they_wait_for(reports):
    output = reports(SUBMISSIONS / EX / "zero_empty_arrays").check(K_LOW).output
    assert "paid together with" in output and DISJOINT in output
    output = reports(SUBMISSIONS / EX / "zero_empty_arrays").check(TYPES).output
    assert "paid together with" in output


OK = ["ok_loops", "ok_array_split", "ok_argsort_masks", "ok_python_random"]


@pytest.mark.parametrize("ok", OK)
def test_correct_variants_score_full_marks(reports, ok):
    report = reports(SUBMISSIONS / EX / ok)
    assert full_marks(report), [(c.name, c.output) for c in report.checks
                                if c.score < c.max_score]


def test_failure_messages_point_at_the_mistake(reports):
    dropped = reports(SUBMISSIONS / EX / "remainder_dropped")
    assert "in no validation fold" in dropped.check(COVERED).output
    assert "[3, 3, 3], expected [4, 3, 3]" in dropped.check(SIZES).output
    overlap = reports(SUBMISSIONS / EX / "train_val_overlap")
    assert "in both train_idx and val_idx" in overlap.check(COMPLEMENT).output
    strided = reports(SUBMISSIONS / EX / "strided_folds").check(BLOCKS).output
    assert "not a block of consecutive samples" in strided
    assert "float64" in reports(SUBMISSIONS / EX / "types_float_arrays").check(TYPES).output
    generator = reports(SUBMISSIONS / EX / "types_generator").check(TYPES).output
    assert "expected list, got generator" in generator and "yielding" in generator
    masks = reports(SUBMISSIONS / EX / "types_boolean_masks").check(TYPES).output
    assert "np.flatnonzero" in masks


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


def test_the_checks_unshuffled_split_is_scikit_learns():
    """The hidden checks' oracle (so that grading kfold need not import scikit-learn)."""
    from grader.exercises.kfold.test_hidden import HIDDEN_SIZES
    from grader.exercises.kfold.oracle import unshuffled_split

    sizes = [(n, k) for n in range(2, 40) for k in range(2, n + 1)] + HIDDEN_SIZES
    for n, k in sizes:
        ours = [v.tolist() for v in unshuffled_split(n, k)]
        theirs = [v.tolist() for _, v in KFold(n_splits=k).split(np.zeros(n))]
        assert ours == theirs, (n, k)


def test_the_golden_data_is_scikit_learns():
    """The public checks' expected folds (golden.npz, written from the reference by `dlgrade
    release`) are scikit-learn's KFold splits, train and validation, in fold order."""
    from grader import golden

    data = golden.load("kfold")
    assert len(data.names("split/")) >= 7
    for name in data.names():
        case = data[name]
        n, k = case.inputs["n_samples"], case.inputs["k"]
        theirs = list(KFold(n_splits=k).split(np.zeros(n)))
        ours = case.expected["folds"]
        assert len(ours) == k
        for (train, val), (sk_train, sk_val) in zip(ours, theirs):
            assert train.tolist() == sk_train.tolist() and val.tolist() == sk_val.tolist(), name
