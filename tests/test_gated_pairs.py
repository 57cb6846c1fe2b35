"""``gated_by(..., paired=True)``: a parametrised check's case is paid by the same case of its
evidence, so one function with cases replaces one function per case."""

from __future__ import annotations

from grader.plugin import GATED, CheckMeta, pay_gated
from grader.results import CheckResult


def _result(name: str, passed: bool) -> CheckResult:
    return CheckResult("ex", name, 1.0 if passed else 0.0, 1.0, "visible",
                       "passed" if passed else "failed", "")


def _metas(paired: bool) -> list[CheckMeta]:
    cases = ("relu", "tanh")
    return ([CheckMeta("ex", f"ex: values [{c}]", 1.0, "visible", function="test_values", case=c)
             for c in cases]
            + [CheckMeta("ex", f"ex: shape [{c}]", 1.0, "visible", gated_by=("test_values",),
                         function="test_shape", case=c, paired=paired) for c in cases])


def test_a_paired_case_waits_for_its_own_case_only():
    results = [_result("ex: values [relu]", True), _result("ex: values [tanh]", False),
               _result("ex: shape [relu]", True), _result("ex: shape [tanh]", True)]
    paid = {r.name: r for r in pay_gated(results, _metas(paired=True))}
    assert paid["ex: shape [relu]"].passed and paid["ex: shape [relu]"].score == 1
    tanh = paid["ex: shape [tanh]"]
    assert not tanh.passed and tanh.score == 0
    assert tanh.output.startswith(GATED) and "ex: values [tanh]" in tanh.output
    assert "[relu]" not in tanh.output


def test_unpaired_every_case_of_the_evidence_must_pass():
    results = [_result("ex: values [relu]", True), _result("ex: values [tanh]", False),
               _result("ex: shape [relu]", True), _result("ex: shape [tanh]", True)]
    paid = {r.name: r for r in pay_gated(results, _metas(paired=False))}
    assert not paid["ex: shape [relu]"].passed and not paid["ex: shape [tanh]"].passed


def test_a_paired_case_whose_evidence_did_not_run_is_not_paid():
    results = [_result("ex: shape [relu]", True)]  # values [relu] not run (dlgrade check)
    (only,) = pay_gated(results, _metas(paired=True)[2:3])
    assert not only.passed and "ex: values [relu]" in only.output
