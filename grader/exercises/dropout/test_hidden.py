"""Hidden checks for dropout: the same verdicts at another p (``settings.hidden_p``), on 3-D
inputs and in other dtypes, so that code tuned to the public p = 0.3 or to 2-D float32 inputs
shows. 6 statistical comparisons, each with false-failure probability <= stats.DELTA."""

from __future__ import annotations

import pytest

from grader.exercises.dropout import stats
from grader.exercises.dropout.judge import (call_text, forward_out, implied_gradient, input_rng,
                                            module_out, positive_input)
from grader.numgrad import expect_gradient

pytestmark = pytest.mark.visibility("hidden")

MASK_GRAD_TOL = 1e-9  # elementwise x * m in float64: exact up to rounding (reference: 0)


def _shape(settings) -> tuple[int, int, int]:
    return (settings.rows, settings.cols // 10, 10)


@pytest.mark.points(2)
def test_statistics_at_another_p(student, settings, seed):
    """At the hidden p on a 3-D float32 input: fraction dropped (Hoeffding, +/-0.0078 on 200,000
    elements), survivors exactly x / (1 - p), mean preserved, rows independent; 3 statistical
    comparisons, each with false-failure probability <= stats.DELTA = 6.25e-11."""
    x = positive_input(input_rng(seed), _shape(settings))
    what = call_text(x.shape, x.dtype, settings.hidden_p, seed=seed)
    out = forward_out(student.probe("forward", x, settings.hidden_p, seed=seed), x, what=what)
    stats.check_inverted_dropout(out, x, settings.hidden_p, what=what,
                                 rtol=stats.survivor_rtol(x.dtype, out.dtype))


@pytest.mark.points(1)
def test_module_statistics_at_another_p(student, settings, seed):
    """The module at the hidden p on a 3-D float64 input, in train mode: the same 3 statistical
    comparisons (false-failure probability <= stats.DELTA each) and exact survivors."""
    x = positive_input(input_rng(seed), _shape(settings), "float64")
    what = (f"Dropout({settings.hidden_p}).train() after torch.manual_seed({seed}), on x of "
            f"shape {x.shape} and dtype float64")
    result = student.probe("module_run", x, settings.hidden_p, train=True, seed=seed,
                           requires_grad=False)
    out = module_out(result, x, settings.hidden_p, what=what)
    stats.check_inverted_dropout(out, x, settings.hidden_p, what=what,
                                 rtol=stats.survivor_rtol(x.dtype, out.dtype))


@pytest.mark.points(1)
@pytest.mark.gated_by("test_training_mode_zeroes_some_elements")  # the identity passes it too
def test_backward_at_another_p(student, settings, seed):
    """At the hidden p on a 3-D float64 input, dx = dout * out / x (the mask the forward used)."""
    rng = input_rng(seed)
    x = positive_input(rng, (6, 7, 8), "float64")
    dout = rng.normal(size=x.shape)
    what = call_text(x.shape, x.dtype, settings.hidden_p, seed=seed)
    result = student.probe("forward_backward", x, settings.hidden_p, dout, seed=seed)
    out = forward_out(result, x, what=what)
    expect_gradient(result["dx"], implied_gradient(out, x, dout), name="dx", tol=MASK_GRAD_TOL,
                    what=f"dropout_backward(dout, cache) after {what}",
                    reference="dout * out / x")
