"""Loss histories judged exactly: ``train_autoencoder`` run with ``lr=0``. Runs in the judge.

With ``lr=0`` an optimiser step leaves every parameter as it is (Adam and SGD alike: the update
is ``lr`` times something finite), so the model is the same in every minibatch and each epoch's
mean loss over the samples is a number the judge computes itself, from the parameters the model
holds and the function its halves compute (``network.py``):

- plain: the MSE of the model on ``X`` (every epoch the same value, whatever the shuffling);
- sparse (``l1_weight > 0``): that MSE plus ``l1_weight * mean(|code|)``;
- denoising (``noise_std > 0``): the expected MSE between the model's output for
  ``clip(X + noise_std * N(0, 1), 0, 1)`` and the clean ``X``, estimated by the judge by Monte
  Carlo; an epoch's value is a mean over ``ROWS`` independent samples, so it lies within
  ``z * sd`` of the expectation, where ``sd`` comes from the judge's own per-sample variances
  and ``z`` from the false-failure probability (below).

The model holds parameters the judge chose (the worker copies them in, matched by shape, and the
judge checks that the model it gets back holds exactly those: a history computed for other
parameters, say zeros whose output is a constant, proves nothing), the data is the judge's, and
in these three runs all batches have the same size (``ROWS`` is a multiple of ``BATCH``), so a
mean of the batch means and a mean over the samples agree there. The short run (at the end of
this module) has a last batch of 8 rows: there the contract's "each batch weighs by its rows"
is its own check, and so is the order of the rows in every epoch.

The sparse and denoising histories are judged relative to the plain one: a history that is the
right loss times a constant (say, summed per-sample losses divided by the number of batches)
fails the plain check only, and the other two compare after dividing that constant out.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
import torch

from grader.errors import CheckFailure, StudentError
from grader.exercises.autoencoder import network
from grader.exercises.autoencoder.network import Network
from grader.expect import expect_type, fail, short, type_name

SIZES = (8, 32, 24)  # input, hidden, code: all parameter shapes of a half differ
# 120 equal batches per epoch. With the denoising parameters below, each of these slips moves
# the expected loss by 5 to 20 times (tolerance + 3 of its own sd), measured on seeds 0-2: no
# noise, a noisy target, no clipping, clipping to [-1, 1] or [0, 2], noise_std squared or
# doubled (README.md); so none of them can pass by chance.
ROWS, BATCH, EPOCHS = 3840, 32, 3
L1_WEIGHT = 0.1  # the penalty is about a tenth of the sparse loss with these parameters
NOISE_STD = 0.5
DRAWS = 200  # the judge's noise draws per sample for the expectation
# Denoising: false-failure probability of the whole check, split over the epochs (two-sided).
FALSE_FAILURE = 1e-9
# The sd is inflated for the Monte Carlo error of the judge's variances (200 draws per sample,
# summed over 3,840 samples: well under 1 %) and for the normal approximation in the tail; the
# reference's errors over many seeds are in README.md.
INFLATION = 1.25
# Plain and sparse: the reference's float32 sums over 120 batches are off by about 2e-7
# relative (README.md); leaving out one sample of 3,840 moves the mean by about 2.6e-4.
RTOL = 2e-5

KINDS = {"plain": (0.0, 0.0), "sparse": (0.0, L1_WEIGHT), "denoising": (NOISE_STD, 0.0)}
_CACHE = pytest.StashKey[dict]()


def data(seed: int) -> np.ndarray:
    """The judge's images: ``ROWS`` x 8 grey levels, 40 % exact zeros and 15 % exact ones (so
    that the noise is clipped at both ends, as on real digits)."""
    return _images(np.random.default_rng([seed, 11]), ROWS).astype(np.float32)


def _images(rng: np.random.Generator, rows: int) -> np.ndarray:
    """``rows`` x 8 grey levels (float64) drawn from ``rng``, 40 % exact zeros and 15 % exact
    ones."""
    X = rng.random((rows, SIZES[0]))
    X[rng.random(X.shape) < 0.4] = 0.0
    X[rng.random(X.shape) < 0.15] = 1.0
    return X


def judge_params(kind: str, seed: int) -> dict[str, list[np.ndarray]]:
    """Parameters for the model, in the contract's slot order.

    Plain and sparse: random (weights N(0, 1.5^2 / fan_in)). Denoising: a network built to
    react to the noise and to its clipping, plus a little jitter: for a pixel ``x`` its output
    is ``sigmoid(3 (x - 0.5) - K relu(x - 1) + K relu(-x))``, so an input outside [0, 1]
    (noise that was not clipped) flips the output to the wrong end, while in [0, 1] it is a
    steep function of the pixel (so leaving the noise out, or scoring against the noisy input,
    moves the loss far outside the tolerance). Hidden units: ``x + 1``, ``1 - x``,
    ``relu(x - 1)``, ``relu(-x)``; code units: ``x + 1`` and ``K`` times the last two.
    """
    rng = np.random.default_rng([seed, 13, list(KINDS).index(kind)])
    if kind != "denoising":
        return {half: list(network.random_params(half, SIZES, rng, gain=1.5))
                for half in network.HALVES}
    d = SIZES[0]
    eye, zero = np.eye(d), np.zeros((d, d))
    k = 20.0
    w1 = np.vstack([eye, -eye, eye, -eye])  # 4d hidden units
    b1 = np.r_[np.ones(d), np.ones(d), -np.ones(d), np.zeros(d)]
    w2 = np.block([[0.5 * eye, -0.5 * eye, zero, zero],  # (x + 1 - (1 - x)) / 2 + 1 = x + 1
                   [zero, zero, k * eye, zero],  # K relu(x - 1)
                   [zero, zero, zero, k * eye]])  # K relu(-x)
    b2 = np.r_[np.ones(d), np.zeros(2 * d)]
    w3 = np.block([[eye, zero, zero], [-eye, zero, zero],  # x + 1 and 2 - x
                   [zero, eye, zero], [zero, zero, eye]])
    b3 = np.r_[np.zeros(d), 3 * np.ones(d), np.zeros(2 * d)]
    w4 = np.hstack([1.5 * eye, -1.5 * eye, -eye, eye])  # 3 (x - 0.5) - K relu(x-1) + K relu(-x)
    b4 = np.zeros(d)
    values = [(a + 0.05 * rng.standard_normal(a.shape)).astype(np.float32)
              for a in (w1, b1, w2, b2, w3, b3, w4, b4)]
    return {"encoder": values[:4], "decoder": values[4:]}


def check_inputs(X: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 17])
    return {"encoder": X[:64],
            "decoder": np.maximum(rng.standard_normal((64, SIZES[2])), 0.0).astype(np.float32)}


def what(kind: str, device: str, rows: int = ROWS) -> str:
    noise_std, l1_weight = KINDS[kind]
    extra = (f", noise_std={noise_std:g}" if noise_std else "") + (
        f", l1_weight={l1_weight:g}" if l1_weight else "")
    return (f"train_autoencoder(model, X, epochs={EPOCHS}, batch_size={BATCH}, lr=0{extra}, "
            f"device={device!r}) with model = build_autoencoder{SIZES} holding fixed "
            f"parameters and X of shape ({rows}, {SIZES[0]}) with values in [0, 1]")


@dataclass(frozen=True)
class Run:
    """One ``lr=0`` training as the judge sees it."""

    kind: str
    what: str
    history: Any  # unvalidated
    network: Network  # the model's function, rebuilt from its parameters
    X: np.ndarray
    rows: Any = None  # short run: each encoder call's row indices in X (the worker's claim)


def run(config: pytest.Config, student: Any, kind: str, *, device: str, seed: int,
        threads: int | None = None, timeout: float | None = None) -> Run:
    """The ``lr=0`` training of ``kind`` (``KINDS``, or ``SHORT``: the plain model on
    :func:`short_data`, its minibatches recorded) in the worker, once per grading run (cached);
    raises the student's error or a failure saying why the history cannot be judged."""
    cache = config.stash.setdefault(_CACHE, {})
    if kind not in cache:
        try:
            cache[kind] = _run(student, kind, device=device, seed=seed, threads=threads,
                               timeout=timeout)
        except (StudentError, CheckFailure) as err:
            cache[kind] = err
    result = cache[kind]
    if isinstance(result, Exception):
        raise result
    return result


def _run(student: Any, kind: str, *, device: str, seed: int, threads: int | None = None,
         timeout: float | None = None) -> Run:
    is_short = kind == SHORT
    params_kind = "plain" if is_short else kind
    noise_std, l1_weight = KINDS[params_kind]
    X = short_data(seed) if is_short else data(seed)
    inputs = check_inputs(X, seed)
    text = what(params_kind, device, rows=len(X))
    extra = {"record_rows": True} if is_short else {}
    answer = student.probe("train_at_lr0", X, judge_params(params_kind, seed), _timeout=timeout,
                           input_dim=SIZES[0],
                           hidden_dim=SIZES[1], code_dim=SIZES[2], epochs=EPOCHS,
                           batch_size=BATCH, noise_std=noise_std, l1_weight=l1_weight,
                           device=device, seed=seed, check_x=inputs["encoder"],
                           check_codes=inputs["decoder"], threads=threads, **extra)
    if not isinstance(answer, dict):
        fail(f"{text}: could not be run: {short(answer)}")
    try:
        net = network.rebuild(answer.get("after"), SIZES, inputs, what=text)
        before = network.before_training(net, answer.get("before"), what=text)
    except CheckFailure as err:
        fail(f"{text}: the loss of your model cannot be recomputed, because its encoder or "
             f"decoder does not compute Linear layers with activations from its parameters "
             f"(see the encoder and decoder checks): {str(err).removeprefix(text + ': ')}")
    given = judge_params(params_kind, seed)
    for half in network.HALVES:
        for k, (value, held) in enumerate(zip(given[half], before.params[half])):
            if not np.array_equal(np.asarray(held, np.float32), value):
                fail(f"{text}: the model does not hold the parameters it was given: "
                     f"{network.slots(half, SIZES)[k][0]} of model.{half} differs from the "
                     "values the grader put into it before training (matched by shape); each "
                     "Linear layer's weight and bias must be parameters of the model")
        for k, (old, new) in enumerate(zip(before.params[half], net.params[half])):
            moved = float(np.max(np.abs(np.asarray(old, np.float64) - new)))
            if not moved <= 1e-7 * max(1.0, float(np.max(np.abs(old)))):
                fail(f"{text}: with lr=0 the parameters must not change, but "
                     f"{network.slots(half, SIZES)[k][0]} in model.{half} moved by up to "
                     f"{moved:.3g}. Does train_autoencoder build its optimiser with the lr it "
                     "is given (and nothing else that changes the parameters)?")
    return Run(kind, text, answer.get("history"), net, X,
               answer.get("rows") if is_short else None)


# -- what the history must be ------------------------------------------------------------------


def _forward(net: Network, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes and reconstructions in float64."""
    code = network.run(net.encoder, X)
    return code, network.run(net.decoder, code)


def exact_loss(net: Network, X: np.ndarray, l1_weight: float) -> dict[str, float]:
    """The mean loss over ``X`` of the fixed model (the contract's), and what some common
    departures from it give, keyed by a description of the departure."""
    code, recon = _forward(net, X)
    mse = float(np.mean((recon - np.asarray(X, np.float64)) ** 2))
    l1 = float(np.mean(np.abs(code)))
    out = {"contract": mse + l1_weight * l1}
    if l1_weight:
        c = code.shape[1]
        out.update({
            "without the penalty (l1_weight * mean(|code|) is not added)": mse,
            "with mean(|code|) added without l1_weight": mse + l1,
            "with the penalty summed over the batch and the code units instead of averaged":
                mse + l1_weight * BATCH * c * l1,
            "with the penalty summed over the code units instead of averaged":
                mse + l1_weight * c * l1,
            "with the penalty on the reconstruction instead of the code":
                mse + l1_weight * float(np.mean(np.abs(recon))),
        })
    return out


@dataclass(frozen=True)
class Expectation:
    mean: float  # expected epoch loss
    sd: float  # sd of one epoch's value (the judge's estimate, inflated)
    tolerance: float  # |epoch value - mean| allowed


def noisy_loss(net: Network, X: np.ndarray, noise_std: float, seed: int, *,
               target: str = "clean", clip: bool = True) -> Expectation:
    """Expected epoch loss of the denoising run and its tolerance (see the module docstring).
    ``target="noisy"`` or ``clip=False`` give the expectations of two common departures."""
    rng = np.random.default_rng([seed, 19])
    clean = np.asarray(X, np.float64)
    losses = np.empty((len(X), DRAWS))
    chunk = 20  # draws per forward pass: 76,800 rows
    for start in range(0, DRAWS, chunk):
        noisy = clean[None] + noise_std * rng.standard_normal((chunk, *clean.shape))
        if clip:
            noisy = np.clip(noisy, 0.0, 1.0)
        _, recon = _forward(net, noisy.reshape(-1, clean.shape[1]))
        goal = noisy if target == "noisy" else clean[None]
        losses[:, start:start + chunk] = np.mean(
            (recon.reshape(noisy.shape) - goal) ** 2, axis=2).T
    per_sample_var = losses.var(axis=1, ddof=1)
    sd = INFLATION * float(np.sqrt(per_sample_var.sum())) / len(X)
    sd *= np.sqrt(1.0 + 1.0 / DRAWS)  # the judge's mean is an estimate too
    z = NormalDist().inv_cdf(1.0 - FALSE_FAILURE / EPOCHS / 2.0)
    return Expectation(float(losses.mean()), sd, z * sd)


def values(history: Any, *, what: str, strict: bool) -> np.ndarray:
    return expect_history(history, EPOCHS, what=f"{what} returned history", strict=strict)


def plain_scale(plain: Run | None) -> float:
    """How many times the expected loss the plain history is (1 when it is not a constant
    multiple, or cannot be read): the sparse and denoising checks divide it out."""
    if plain is None:
        return 1.0
    try:
        got = values(plain.history, what=plain.what, strict=False)
    except CheckFailure:
        return 1.0
    expected = exact_loss(plain.network, plain.X, 0.0)["contract"]
    ratios = got / max(expected, 1e-12)
    if (np.all(ratios > 0) and float(ratios.max() / ratios.min()) <= 1.0 + 10 * RTOL
            and not abs(float(np.mean(ratios)) - 1.0) <= 10 * RTOL):
        return float(np.mean(ratios))
    return 1.0


assert DRAWS % 20 == 0 and ROWS % BATCH == 0

SCALE_HINTS = {
    BATCH: "each batch's mean loss times its size, summed, then divided by the number of "
           "batches: divide by the number of samples instead",
    1.0 / BATCH: "the batches' mean losses summed, then divided by the number of samples: "
                 "weight each batch's mean loss by its size, or divide by the number of batches",
    ROWS / BATCH: "the batches' mean losses summed over the epoch, not averaged",
    float(SIZES[0]): "the squared errors summed over the pixels instead of averaged",
    float(BATCH * SIZES[0]): "the squared errors summed over the batch and the pixels "
                             "(reduction='sum') instead of averaged",
}


def scale_hint(ratio: float) -> str:
    for factor, hint in SCALE_HINTS.items():
        if abs(ratio / factor - 1.0) <= 1e-3:
            return f" It looks like {hint}."
    return ""


def expect_history(history: Any, epochs: int, *, what: str, strict: bool = True) -> np.ndarray:
    """A list of ``epochs`` finite floats; returned as float64. ``strict``: the items must be
    Python or numpy floats (the contract's type); otherwise 0-d tensors and arrays pass too
    (checks of the values must not fail on the type)."""
    expect_type(history, (list, tuple), what=what)
    if len(history) != epochs:
        fail(f"{what}: expected one loss per epoch ({epochs} values), got {len(history)}")
    values = []
    for i, value in enumerate(history):
        if not strict and (torch.is_tensor(value) or isinstance(value, np.ndarray)) and (
                value.numel() if torch.is_tensor(value) else value.size) == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            hint = " (use loss.item() to get a float)" if torch.is_tensor(value) else ""
            fail(f"{what}: item {i} is {type_name(value)}: {short(value, 80)}; expected a "
                 f"float{hint}")
        values.append(float(value))
    out = np.array(values, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        fail(f"{what}: non-finite loss at epoch {int(np.argmax(~np.isfinite(out)))}: "
             f"{short(out)} (training diverged)")
    return out


# -- a short last batch, and the order of the rows (issue 18) -----------------------------------
#
# The plain run above has batches of one size only, so a history that is the plain mean of the
# batches' mean losses passes it. The short run trains the same plain model (the judge's
# parameters, lr=0) on SHORT_ROWS rows: one batch of BATCH = 32 and a last one of 8. Its exact
# epoch loss is the mean over the 40 samples; the plain mean of the two batch means is off by
# 0.3 times their difference, which depends on the epoch's shuffle. Measured over seeds 0-999
# with the reference's own shuffles (calibrate_short_run): the reference's relative error is
# at most 1.8e-7 (RTOL 2e-5: a margin of 110x); the unweighted mean's, per epoch, is below
# 1e-3 in 1.9 % of epochs and was never below 6.1e-5, so one epoch lands within RTOL with
# probability about 4e-4 and all three about 6e-11; the largest of a run's three was never
# below 4.8e-3 (240x RTOL). The same run records, through a hook on model.encoder, the rows of
# every minibatch: each epoch must visit each row once, in an order of its own.
SHORT = "short"
SHORT_ROWS = 40
assert 0 < SHORT_ROWS % BATCH
SHORT_BATCHES = -(-SHORT_ROWS // BATCH)
SHORT_LAST_ROWS = SHORT_ROWS - (SHORT_BATCHES - 1) * BATCH  # the short last batch's rows


def short_data(seed: int) -> np.ndarray:
    """``SHORT_ROWS`` rows like :func:`data`'s, all distinct (the first pixel of row ``i`` lies in
    ``[i, i + 1) / SHORT_ROWS``), so a minibatch's rows can be told apart."""
    rng = np.random.default_rng([seed, 23])
    X = _images(rng, SHORT_ROWS)
    X[:, 0] = (np.arange(SHORT_ROWS) + rng.random(SHORT_ROWS)) / SHORT_ROWS
    return X.astype(np.float32)


def short_scales(plain: float) -> tuple[float, ...]:
    """The multiples of the short run's exact loss a history may be: 1 when the plain history is
    right; when the plain check already failed on a constant factor, that factor, or the same
    form on batches of other sizes (each batch's loss times its rows, summed, divided by the
    number of batches: N / batches instead of BATCH), so one slip costs one check."""
    if plain == 1.0:
        return (1.0,)
    return (plain, plain * (SHORT_ROWS / SHORT_BATCHES) / BATCH)


def epoch_batches(rows: Any, *, what: str) -> list[list[np.ndarray]]:
    """The short run's minibatches, epoch by epoch, from the recorded encoder calls (the
    worker's claim: it can only fail a check): calls of more than ``BATCH`` rows are not
    minibatches and are left out, a call repeated at once (the code computed twice) counts
    once; every epoch must take ``SHORT_ROWS`` rows."""
    if not isinstance(rows, list) or not all(
            isinstance(r, np.ndarray) and r.ndim == 1 and r.dtype.kind in "iu" for r in rows):
        fail(f"{what}: the rows its minibatches held could not be recorded (model.encoder was "
             "replaced or hidden)")
    calls: list[np.ndarray] = []
    for r in rows:
        if 0 < len(r) <= BATCH and not (calls and np.array_equal(calls[-1], r)):
            calls.append(r)
    if not calls:
        fail(f"{what}: model.encoder never received a minibatch (at most {BATCH} rows): each "
             "training step must compute code = model.encoder(inputs) on one minibatch")
    epochs: list[list[np.ndarray]] = []
    current: list[np.ndarray] = []
    seen = 0
    for call in calls:
        current.append(call)
        seen += len(call)
        if seen >= SHORT_ROWS:
            epochs.append(current)
            current, seen = [], 0
    total = sum(len(c) for c in calls)
    if len(epochs) != EPOCHS or current or any(sum(map(len, e)) != SHORT_ROWS for e in epochs):
        fail(f"{what}: model.encoder received {total} rows in {len(calls)} minibatches of at most "
             f"{BATCH}, where {EPOCHS} epochs of {SHORT_ROWS} rows make {EPOCHS * SHORT_ROWS}: "
             "every epoch visits each row of X exactly once, in minibatches of batch_size rows "
             "(the last one smaller)")
    return epochs


def unweighted_losses(net: Network, X: np.ndarray, rows: Any) -> list[float] | None:
    """Each epoch's plain mean of its batches' mean losses, from the recorded minibatches, or
    None when they cannot be read (a message's hint only: the rows are a claim)."""
    try:
        epochs = epoch_batches(rows, what="")
    except CheckFailure:
        return None
    if any(b.min() < 0 or b.max() >= len(X) for batches in epochs for b in batches):
        return None
    _, recon = _forward(net, X)
    per_row = np.mean((recon - np.asarray(X, np.float64)) ** 2, axis=1)
    return [float(np.mean([per_row[b].mean() for b in batches])) for batches in epochs]


def calibrate_short_run(module: Any, seeds: range) -> dict[str, float]:
    """The figures above, measured with ``module`` (the reference) run in this process: the
    worst relative error of its short-run history, and the smallest relative errors of the
    plain mean of batch means (per epoch, and the largest of each run's epochs)."""
    from grader.exercises.autoencoder import probes

    worst, per_epoch, per_run = 0.0, [], []
    for seed in seeds:
        X = short_data(seed)
        inputs = check_inputs(X, seed)
        answer = probes.train_at_lr0(module, X, judge_params("plain", seed), input_dim=SIZES[0],
                                     hidden_dim=SIZES[1], code_dim=SIZES[2], epochs=EPOCHS,
                                     batch_size=BATCH, noise_std=0.0, l1_weight=0.0,
                                     device="cpu", seed=seed, check_x=inputs["encoder"],
                                     check_codes=inputs["decoder"], threads=1, record_rows=True)
        net = network.rebuild(answer["after"], SIZES, inputs, what=f"seed {seed}")
        exact = exact_loss(net, X, 0.0)["contract"]
        got = np.asarray(answer["history"], dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(got - exact)) / exact))
        slip = np.abs(np.asarray(unweighted_losses(net, X, answer["rows"])) - exact) / exact
        per_epoch += slip.tolist()
        per_run.append(float(slip.max()))
    return {"reference_worst": worst, "unweighted_epoch_min": min(per_epoch),
            "unweighted_run_min": min(per_run)}
