"""Statistical verdicts for dropout, with bounds derived from a stated false-failure probability.

Every verdict here is a pure function of arrays the judge already validated (same shape, finite
floats, ``x`` without zeros): it returns ``None`` or raises ``CheckFailure``. The checks call
them on what the student's code returned; ``benchmarks/dropout_stats.py`` calls them on the
reference, in-process, over 1,000 seeds.

Budget. A correct dropout must never fail by chance: all statistical comparisons of one grading
run together fail a correct submission with probability at most ``FALSE_FAILURE = 1e-9``. By the
union bound each comparison gets ``DELTA = FALSE_FAILURE / COMPARISONS``; ``COMPARISONS = 16``
reserves more than the 12 comparisons the checks make (README.md lists them), so a total of
``12 * DELTA = 7.5e-10 <= 1e-9``.

Bounds (two-sided, each exceeded with probability at most ``delta``):

- Fraction dropped: ``n`` independent Bernoulli(p) indicators; Hoeffding:
  ``P(|mean - p| >= t) <= 2 exp(-2 n t^2)`` so ``t = sqrt(ln(2 / delta) / (2 n))``.
- Mean preserved: ``out_i = x_i * B_i / (1 - p)`` with ``B_i ~ Bernoulli(1 - p)`` lies in an
  interval of width ``w_i = |x_i| / (1 - p)`` and ``E[sum out] = sum x``; Hoeffding for
  independent bounded terms: ``P(|sum out - sum x| >= s) <= 2 exp(-2 s^2 / sum w_i^2)`` so
  ``s = sqrt(ln(2 / delta) * sum w_i^2 / 2)``, compared on the mean (``s / n``).
- Independence across rows: in disjoint row pairs ``(0, 1), (2, 3), ...`` the indicator "both
  rows dropped or both kept" at a column is Bernoulli(``p^2 + (1 - p)^2``) when elements are
  dropped independently; the same Hoeffding bound as the fraction. A mask shared by all rows
  (drawn with the shape of one row) gives agreement 1.
- Survivors scaled exactly: no randomness; every nonzero output equals ``x / (1 - p)`` within
  float rounding (``rtol``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from grader.expect import fail

FALSE_FAILURE = 1e-9
COMPARISONS = 16
DELTA = FALSE_FAILURE / COMPARISONS


@dataclass(frozen=True)
class Comparison:
    """One statistic against its expected value: it passes when ``|observed - expected| <= bound``.

    ``ratio`` is ``|observed - expected| / bound``: below 1 passes; the benchmark reports its
    largest value over seeds as the margin.
    """

    name: str
    observed: float
    expected: float
    bound: float

    @property
    def deviation(self) -> float:
        return abs(self.observed - self.expected)

    @property
    def ratio(self) -> float:
        return self.deviation / self.bound if self.bound > 0 else math.inf

    @property
    def passed(self) -> bool:
        return self.deviation <= self.bound


def hoeffding_mean_bound(n: int, delta: float) -> float:
    """``t`` with ``P(|mean of n iid [0, 1] variables - expectation| >= t) <= delta``."""
    if n <= 0 or not 0.0 < delta < 1.0:
        raise ValueError(f"need n > 0 and 0 < delta < 1, got n={n}, delta={delta}")
    return math.sqrt(math.log(2.0 / delta) / (2.0 * n))


def hoeffding_sum_bound(widths: np.ndarray, delta: float) -> float:
    """``s`` with ``P(|sum X_i - E sum X_i| >= s) <= delta`` for independent ``X_i`` each in an
    interval of width ``widths[i]``."""
    if not 0.0 < delta < 1.0:
        raise ValueError(f"need 0 < delta < 1, got delta={delta}")
    total = float(np.sum(np.square(np.asarray(widths, dtype=np.float64))))
    return math.sqrt(math.log(2.0 / delta) * total / 2.0)


def _require_open_p(p: float) -> None:
    if not 0.0 < p < 1.0:
        raise ValueError(f"statistical verdicts need 0 < p < 1, got {p}")


def measure_fraction_dropped(out: np.ndarray, p: float, delta: float = DELTA) -> Comparison:
    """Fraction of exact zeros in ``out`` against ``p`` (``x`` has no zeros)."""
    _require_open_p(p)
    n = out.size
    return Comparison("fraction dropped", float(np.count_nonzero(out == 0)) / n, p,
                      hoeffding_mean_bound(n, delta))


def measure_mean(out: np.ndarray, x: np.ndarray, p: float, delta: float = DELTA) -> Comparison:
    """Mean of ``out`` against the mean of ``x`` (what inverted dropout preserves)."""
    _require_open_p(p)
    x64 = np.asarray(x, dtype=np.float64)
    widths = np.abs(x64) / (1.0 - p)
    return Comparison("mean", float(np.mean(out, dtype=np.float64)), float(np.mean(x64)),
                      hoeffding_sum_bound(widths, delta) / x64.size)


def measure_row_agreement(out: np.ndarray, p: float, delta: float = DELTA) -> Comparison:
    """Agreement of the masks of rows ``2k`` and ``2k + 1`` against ``p^2 + (1 - p)^2``.

    Rows are along the first axis (``out.reshape(len(out), -1)``); needs at least 2 rows.
    """
    _require_open_p(p)
    rows = np.asarray(out).reshape(out.shape[0], -1)
    if rows.shape[0] < 2:
        raise ValueError("row agreement needs at least 2 rows")
    pairs = rows.shape[0] // 2
    dropped = rows[: 2 * pairs] == 0
    agree = dropped[0::2] == dropped[1::2]
    return Comparison("row agreement", float(np.mean(agree)), p * p + (1.0 - p) ** 2,
                      hoeffding_mean_bound(agree.size, delta))


def _plus_minus(c: Comparison, delta: float) -> str:
    return (f"expected {c.expected:.6g} +/- {c.bound:.3g} (a correct dropout falls outside this "
            f"range with probability below {delta:.2g})")


def check_fraction_dropped(out: np.ndarray, x: np.ndarray, p: float, *, what: str,
                           delta: float = DELTA) -> None:
    """About a fraction ``p`` of the outputs are exactly 0 (Hoeffding, false failure <= delta)."""
    del x  # the judge sends an x without zeros, so a zero in out is a dropped element
    c = measure_fraction_dropped(out, p, delta)
    if not c.passed:
        hint = ""
        if abs(c.observed - (1.0 - p)) <= c.bound:
            hint = (" It looks like you drop with probability 1 - p: p is the probability of "
                    "DROPPING an element (torch's convention), not of keeping it.")
        elif c.observed <= c.bound:
            hint = " Nothing was dropped: is the mask applied in training mode?"
        fail(f"{what}: {np.count_nonzero(out == 0)} of {out.size} outputs are 0, a fraction of "
             f"{c.observed:.6g}; with p = {p} {_plus_minus(c, delta)}.{hint}")


def check_mean_preserved(out: np.ndarray, x: np.ndarray, p: float, *, what: str,
                         delta: float = DELTA) -> None:
    """The mean of ``out`` is the mean of ``x`` (Hoeffding for bounded terms, false failure
    <= delta): inverted dropout keeps the expected activation."""
    c = measure_mean(out, x, p, delta)
    if not c.passed:
        ratio = c.observed / c.expected if c.expected else math.nan
        hint = ""
        if abs(ratio - (1.0 - p)) < 0.05:
            hint = (f" The mean shrank by about 1 - p = {1.0 - p:.3g}: divide the kept "
                    f"elements by 1 - p (inverted dropout).")
        fail(f"{what}: the mean of the output is {c.observed:.6g}, the mean of x is "
             f"{c.expected:.6g}; inverted dropout keeps the mean: {_plus_minus(c, delta)}.{hint}")


def check_independent_rows(out: np.ndarray, x: np.ndarray, p: float, *, what: str,
                           delta: float = DELTA) -> None:
    """Rows are dropped independently: pairs of rows agree (both dropped or both kept) at a
    fraction ``p^2 + (1 - p)^2`` of the positions (Hoeffding, false failure <= delta)."""
    del x
    c = measure_row_agreement(out, p, delta)
    if not c.passed:
        hint = ""
        if c.observed == 1.0 and 0 < np.count_nonzero(out == 0) < out.size:
            hint = (" Every row has the same mask: draw one random number per element "
                    "(a mask with the shape of x), not one per column.")
        fail(f"{what}: rows 2k and 2k+1 have the same element dropped/kept at a fraction "
             f"{c.observed:.6g} of the positions; for independent elements with p = {p} "
             f"{_plus_minus(c, delta)}.{hint}")


def check_survivors_scaled(out: np.ndarray, x: np.ndarray, p: float, *, what: str,
                           rtol: float) -> None:
    """Every output is exactly 0 or ``x / (1 - p)`` within float rounding ``rtol`` (no randomness
    involved: this never fails a correct dropout)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"survivors need 0 <= p < 1, got {p}")
    x64 = np.asarray(x, dtype=np.float64)
    out64 = np.asarray(out, dtype=np.float64)
    expected = x64 / (1.0 - p)
    kept = out64 != 0
    bad = kept & ~(np.abs(out64 - expected) <= rtol * np.abs(expected))
    if not np.any(bad):
        return
    idx = np.unravel_index(int(np.argmax(bad)), out.shape)
    i = tuple(int(k) for k in idx)
    got, xi, want = out64[idx], x64[idx], expected[idx]
    hint = ""
    if np.allclose(out64[bad], x64[bad], rtol=1e-6, atol=0.0):
        hint = " The kept elements equal x: multiply them by 1 / (1 - p) (inverted dropout)."
    elif p > 0 and np.allclose(out64[bad], x64[bad] / p, rtol=1e-6, atol=0.0):
        hint = (" The kept elements are x / p: p is the probability of DROPPING, so scale by "
                "1 / (1 - p).")
    fail(f"{what}: {int(bad.sum())} of {int(kept.sum())} nonzero outputs are not x / (1 - p); "
         f"first at index {i}: got {got:.9g}, x = {xi:.9g}, expected x / (1 - p) = {want:.9g} "
         f"(relative tolerance {rtol:g}).{hint}")


def check_inverted_dropout(out: np.ndarray, x: np.ndarray, p: float, *, what: str, rtol: float,
                           delta: float = DELTA) -> None:
    """All four verdicts, in the order a student should fix them (3 statistical comparisons)."""
    check_fraction_dropped(out, x, p, what=what, delta=delta)
    check_survivors_scaled(out, x, p, what=what, rtol=rtol)
    check_mean_preserved(out, x, p, what=what, delta=delta)
    check_independent_rows(out, x, p, what=what, delta=delta)


def coarsest_eps(*dtypes: np.dtype) -> float:
    """Machine epsilon of the least precise of ``dtypes`` (float dtypes)."""
    return max(float(np.finfo(np.dtype(d)).eps) for d in dtypes)


def survivor_rtol(*dtypes: np.dtype) -> float:
    """Relative tolerance for ``x / (1 - p)`` computed in the least precise of ``dtypes`` (the
    input's and the output's): two roundings (``1 / (1 - p)``, then the product) give at most
    about 2.5 ulp; we allow 8 ulp. An output in another dtype than the input is the dtype
    check's verdict, not this one's, so the values are judged at the coarser precision."""
    return 8.0 * coarsest_eps(*dtypes)


# "Training mode zeroes some elements": the kept elements are x times one common factor, within
# this relative spread. It is evidence that the code drops and keeps (any factor passes; the
# factor itself is the survivors check's verdict). Reference, float32: worst spread 6.1e-8
# (numpy) and 5.5e-8 (module) over 200 seeds (`dlgrade calibrate dropout`), a margin of 1.6e5x;
# 1e-2 also accepts a float16 output (spread up to about 2 x 4.9e-4), whose dtype is another
# check's verdict.
COMMON_FACTOR_RTOL = 1e-2


def check_zeroes_some_elements(out: np.ndarray, x: np.ndarray, p: float, *, what: str,
                               mask_hint: str = "rng.random(x.shape) >= p",
                               rtol: float = COMMON_FACTOR_RTOL) -> None:
    """Some outputs are exactly 0 and the others are ``x`` times one positive factor.

    A correct dropout of ``n`` elements drops none or all of them with probability
    ``(1 - p)^n + p^n``: below 1e-150 for 1,000 elements at p = 0.3, negligible. The identity,
    zeros, a constant or ``x / (1 - p)`` everywhere all fail here.
    """
    _require_open_p(p)
    out64 = np.asarray(out, dtype=np.float64)
    x64 = np.asarray(x, dtype=np.float64)
    dropped = out64 == 0
    n, n_dropped = out64.size, int(np.count_nonzero(dropped))
    if n_dropped == 0:
        fail(f"{what}: none of the {n} outputs is 0; in training mode dropout sets each element "
             f"to 0 with probability p = {p} (draw a random mask, e.g. {mask_hint} for the "
             f"elements to keep)")
    if n_dropped == n:
        fail(f"{what}: all {n} outputs are 0; with p = {p} each element is kept with probability "
             f"1 - p = {1.0 - p:.3g}")
    ratio = out64[~dropped] / x64[~dropped]
    factor = float(np.median(ratio))
    bad = ~(np.abs(ratio - factor) <= rtol * abs(factor)) | ~(ratio > 0)
    if np.any(bad):
        fail(f"{what}: the {n - n_dropped} nonzero outputs are not x times one common positive "
             f"factor: out / x ranges from {float(np.min(ratio)):.6g} to "
             f"{float(np.max(ratio)):.6g}; dropout keeps an element as x / (1 - p) and sets the "
             f"others to 0")
