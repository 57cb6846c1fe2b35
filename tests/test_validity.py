"""The mechanisms that keep grades valid: NaN never passes a tolerance, trivial code is not paid."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from grader.errors import CheckFailure
from grader.expect import expect_array, expect_close
from grader.numgrad import expect_gradient
from grader.plugin import CheckMeta, pay_gated
from grader.results import CheckResult


def test_a_nan_relative_error_fails_the_gradient_check():
    got = np.array([1.0, 2.0])
    with pytest.raises(CheckFailure, match="not finite"):
        expect_gradient(got, np.array([np.nan, 2.0]), name="dx", tol=1e-7)
    with pytest.raises(CheckFailure, match="not finite"):
        expect_gradient(got, np.array([np.inf, 2.0]), name="dx", tol=1e-7)


def test_a_huge_but_finite_difference_is_not_hidden_by_nan():
    with pytest.raises(CheckFailure, match="gradient wrong at 1 of 2"):
        expect_gradient(np.array([1.0, 2.0]), np.array([1e308, 2.0]), name="dx", tol=1e-7)


def test_a_non_finite_expected_value_has_its_own_message():
    with pytest.raises(CheckFailure, match="expected value is not finite"):
        expect_array(np.array([1.0, 2.0]), np.array([1.0, np.nan]), what="f(x)")
    with pytest.raises(CheckFailure, match="expected value is not finite"):
        expect_close(1.0, float("nan"), what="loss")


def _result(name, passed, max_score=1.0):
    return CheckResult(exercise="ex", name=name, score=max_score if passed else 0.0,
                       max_score=max_score, visibility="visible",
                       status="passed" if passed else "failed", output="detail")


def test_a_gated_check_pays_only_with_its_evidence():
    metas = [CheckMeta("ex", "ex: work [a]", 1.0, "visible", function="test_work"),
             CheckMeta("ex", "ex: work [b]", 1.0, "visible", function="test_work"),
             CheckMeta("ex", "ex: trivial", 1.0, "visible", gated_by=("test_work",),
                       function="test_trivial")]
    paid = pay_gated([_result("ex: work [a]", True), _result("ex: work [b]", True),
                      _result("ex: trivial", True)], metas)
    assert [r.score for r in paid] == [1.0, 1.0, 1.0]
    unpaid = pay_gated([_result("ex: work [a]", True), _result("ex: work [b]", False),
                        _result("ex: trivial", True)], metas)
    assert unpaid[2].score == 0.0 and unpaid[2].status == "failed"
    assert "ex: work [b]" in unpaid[2].output and "ex: work [a]" not in unpaid[2].output
    assert unpaid[2].max_score == 1.0 and unpaid[2].output.endswith("detail")


def test_a_gate_whose_evidence_did_not_run_does_not_pay():
    metas = [CheckMeta("ex", "ex: trivial", 1.0, "visible", gated_by=("test_work",),
                       function="test_trivial")]
    (unpaid,) = pay_gated([_result("ex: trivial", True)], metas)
    assert unpaid.score == 0.0 and "ex: work" in unpaid.output


class _Item:
    """Just what the gate validation reads of a pytest item."""

    def __init__(self, name, gates=()):
        self.originalname = self.name = name
        self.nodeid = f"ex/test_public.py::{name}"
        self._gates = gates

    def iter_markers(self, name):
        return [SimpleNamespace(args=self._gates)] if self._gates and name == "gated_by" else []


@pytest.mark.parametrize("gates, visibility, problem", [
    (("test_nothing",), "visible", "names no check of ex"),
    (("test_gated",), "visible", "names a check that is gated itself"),
    (("test_hidden_work",), "visible", "a visible check cannot be paid by a hidden one"),
])
def test_a_bad_gate_stops_collection_with_a_message(gates, visibility, problem):
    from grader.plugin import DlgradePlugin, GradingState

    state = GradingState(config=None, submission=None, runtime=None)
    raw = [(_Item("test_work"), "ex", 1.0, "visible"),
           (_Item("test_hidden_work"), "ex", 1.0, "hidden"),
           (_Item("test_gated", ("test_work",)), "ex", 1.0, "visible"),
           (_Item("test_new", gates), "ex", 1.0, visibility)]
    DlgradePlugin(state)._validate_gates(raw)
    assert len(state.errors) == 1 and problem in state.errors[0]
    assert "test_new" in state.errors[0]


def test_a_hidden_check_may_be_gated_by_a_visible_one():
    from grader.plugin import DlgradePlugin, GradingState

    state = GradingState(config=None, submission=None, runtime=None)
    DlgradePlugin(state)._validate_gates([(_Item("test_work"), "ex", 1.0, "visible"),
                                          (_Item("test_new", ("test_work",)), "ex", 1.0, "hidden")])
    assert state.errors == []
