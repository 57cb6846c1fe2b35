"""The trusted side of `autoencoder`: data, the judge's own architecture, weight validation,
evaluation and the once-per-run training cache. Runs in the judge only (never in the worker).

The student's model never runs in the judge: the worker sends each half's parameters (in
``named_parameters()`` order) and its outputs on inputs the judge chose; ``network.py`` assigns
the parameters to the contract's slots by shape, rebuilds the half with the judge's own torch
modules and finds which function it computes (the contract's, or one with other activations),
and every number the checks judge is computed from that copy: codes with its encoder,
reconstructions with its decoder of those codes, so nothing can bypass the bottleneck. How a
student spells the model (``nn.Sequential``, named submodules with ``F.relu``, parameters and
``F.linear``) does not matter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from grader.data import load_digits_split, load_mnist, mnist_path
from grader.errors import CheckFailure, StudentError
from grader.exercises.autoencoder import Profile, Settings, history, network
from grader.exercises.autoencoder.network import Half, Network
from grader.expect import fail, short

# variant -> (trained with noise, with the L1 penalty, at the wide sizes). The denoising and
# sparse models and their plain baseline ("wide") use a wider code (cpu: 64-64-32): an 8-unit
# ReLU code loses units during training, and an 8-unit bottleneck removes most noise by itself,
# which makes both comparisons with the 8-unit plain model erratic (see README.md).
VARIANTS = {"plain": (False, False, False), "wide": (False, False, True),
            "denoising": (True, False, True), "sparse": (False, True, True)}

# One grading run's setup and trained variants, in the run's pytest config (no global state).
_CACHE = pytest.StashKey[dict]()


# -- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """One grading run's data and budget. ``to_worker`` is all the worker ever receives."""

    profile: Profile
    device: str
    to_worker: np.ndarray  # training images: float32 in [0, 1] (digits) or uint8 (MNIST)
    X_train: np.ndarray  # the same images, float32 in [0, 1], for the judge's PCA
    X_test: np.ndarray  # held-out images, float32 in [0, 1]: never sent to the worker
    side: int  # images are side x side
    # Seeds the digits' held-out split, the judge's noise on held-out images and the rows the
    # trained halves are examined on. In grading it comes from the course's secret
    # (held_out_seed), so the worker can neither know nor reproduce the split.
    split_seed: int = 0

    @property
    def input_dim(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def sizes(self) -> tuple[int, int, int]:
        return self.input_dim, self.profile.hidden_dim, self.profile.code_dim

    def describe(self) -> str:
        p = self.profile
        return (f"{p.data} ({len(self.X_train)} training / {len(self.X_test)} held-out images of "
                f"{self.side}x{self.side}), network {self.input_dim}-{p.hidden_dim}-"
                f"{p.code_dim} (denoising and sparse: {self.input_dim}-{p.wide_hidden_dim}-"
                f"{p.wide_code_dim}), {p.epochs} epochs, batch {p.batch_size}, lr {p.lr:g}, "
                f"device {self.device}")


def held_out_seed(secret: int, settings: Settings) -> int:
    """The split seed a grading run uses: the course's secret (``grader.fixtures.
    course_secret``: a hash of the reference solution's bytes and the config's seed, which the
    worker never has) combined with ``settings.split_seed`` (so an instructor can still draw
    another split). Deterministic for a course, so grades are reproducible across runs and
    machines; unknowable to the submission."""
    digest = hashlib.sha256(f"autoencoder held-out split/{secret}/{settings.split_seed}".encode())
    return int.from_bytes(digest.digest()[:4], "big")


def setup(config: pytest.Config, settings: Settings, device: str, secret: int) -> Setup:
    """:func:`make_setup` once per grading run (cached in ``config.stash``), with the split
    seed derived from the course's ``secret`` (:func:`held_out_seed`)."""
    cache = config.stash.setdefault(_CACHE, {})
    if "setup" not in cache:
        cache["setup"] = make_setup(settings, device, split_seed=held_out_seed(secret, settings))
    return cache["setup"]


def make_setup(settings: Settings, device: str, *, split_seed: int | None = None) -> Setup:
    """Load the profile's data for ``device``: MNIST (cuda, when configured: its own test set is
    held out) or the digits, split with ``split_seed`` (default ``settings.split_seed``, as
    calibration draws one split per seed). Only the training part ever goes to the worker."""
    split = settings.split_seed if split_seed is None else int(split_seed)
    path = mnist_path(settings.mnist_path)
    profile = settings.profile(device, has_mnist=path is not None)
    if profile.data == "mnist":
        raw_train, _, raw_test, _ = load_mnist(path, scale=False)
        if profile.max_train:
            raw_train = raw_train[:profile.max_train]
        X_train = raw_train.astype(np.float32) / 255.0
        return Setup(profile, device, raw_train, X_train,
                     raw_test.astype(np.float32) / 255.0, _side(raw_train.shape[1]), split)
    X_train, _, X_test, _ = load_digits_split(test_fraction=settings.test_fraction, seed=split)
    return Setup(profile, device, X_train, X_train, X_test, 8, split)


def _side(n: int) -> int:
    side = int(round(n ** 0.5))
    return side if side * side == n else n


# -- the student's model, examined on inputs the judge chose ------------------------------------


def check_inputs(sizes: tuple[int, int, int], seed: int, n: int = 16) -> dict[str, np.ndarray]:
    """The judge's inputs for a freshly built model: ``x`` uniform in [0, 1] for the encoder,
    ``relu(N(0, 1))`` codes (zeros included) for the decoder."""
    rng = np.random.default_rng([seed, *sizes])
    return {"encoder": rng.random((n, sizes[0])).astype(np.float32),
            "decoder": np.maximum(rng.standard_normal((n, sizes[2])), 0.0).astype(np.float32)}


def built_what(sizes: tuple[int, int, int]) -> str:
    return f"build_autoencoder{tuple(sizes)}"


def examine_params(half: str, sizes: tuple[int, int, int], seed: int) -> list[np.ndarray]:
    """The values the judge puts into ``model.<half>`` before examining it (the contract's slot
    order): N(0, 1.5^2 / fan_in) weights and N(0, 0.1^2) biases, so that every activation the
    judge tries gives a visibly different output, and zero weights (whose output is a constant
    that many functions share) cannot stand in for a model."""
    rng = np.random.default_rng([seed, 29, *sizes, network.HALVES.index(half)])
    return list(network.random_params(half, sizes, rng, gain=1.5))


def examined(config: pytest.Config, student: Any, half: str, sizes: tuple[int, int, int],
             seed: int) -> Half:
    """``model.<half>`` of ``build_autoencoder(*sizes)`` identified (once per run, cached): the
    :class:`Half` it computes, or the failure (or the student's error) raised again.

    The worker loads the judge's values (:func:`examine_params`) into the half before running
    it, and the half must hold exactly those: its output is then judged as a function of values
    the judge chose, not of whatever parameters the answer claims."""
    cache = config.stash.setdefault(_CACHE, {})
    key = ("examined", half, tuple(sizes), seed)
    if key not in cache:
        inputs = check_inputs(sizes, seed)
        call = f"model.{half}({'x' if half == 'encoder' else 'code'})"
        what = (f"{built_what(sizes)}, with {call} for a batch of shape "
                f"{inputs[half].shape}")
        values = examine_params(half, sizes, seed)
        try:
            export = student.probe("examine", half, inputs[half], *sizes, seed=seed,
                                   params=values)
            found = network.identify(export, half, sizes, inputs[half], what=what, call=call)
            network.expect_holds(found, values, sizes, what=what)
            cache[key] = found
        except (StudentError, CheckFailure) as err:
            cache[key] = err
    result = cache[key]
    if isinstance(result, Exception):
        raise result
    return result


def encode(model: nn.Module, X: np.ndarray) -> np.ndarray:
    with torch.no_grad(), network.one_thread():
        return model.encoder(torch.as_tensor(X, dtype=torch.float32)).numpy()


def decode(model: nn.Module, codes: np.ndarray) -> np.ndarray:
    with torch.no_grad(), network.one_thread():
        return model.decoder(torch.as_tensor(codes, dtype=torch.float32)).numpy()


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


def live_units(codes: np.ndarray) -> int:
    """Code units that are non-zero for at least one input (a ReLU unit can die in training)."""
    return int(np.sum(np.any(codes != 0, axis=0)))


def pca_mse(X_train: np.ndarray, X_test: np.ndarray, k: int) -> float:
    """Held-out MSE of PCA with ``k`` components fitted on ``X_train`` (k = 0: the mean image).

    scikit-learn's ``PCA(n_components=k, svd_solver="full")`` reconstruction, computed in numpy
    (float64 SVD of the centred training images) so the judge does not import scikit-learn (2 s);
    tests/exercises/test_autoencoder.py holds the two within 1e-5 relative."""
    train = np.asarray(X_train, np.float64)
    mean = train.mean(axis=0)
    if k == 0:
        return mse(np.broadcast_to(mean, np.shape(X_test)), X_test)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    basis = vt[:k]
    centred = np.asarray(X_test, np.float64) - mean
    return mse(centred @ basis.T @ basis + mean, X_test)


def noisy(X: np.ndarray, noise_std: float, seed: int) -> np.ndarray:
    """The judge's noisy copy of held-out images: ``clip(X + noise_std * N(0, 1), 0, 1)``."""
    rng = np.random.default_rng(seed=seed)
    return np.clip(X + noise_std * rng.standard_normal(X.shape), 0.0, 1.0).astype(np.float32)


# -- training, once per grading run -----------------------------------------------------------


@dataclass(frozen=True)
class Trained:
    """What the worker sent back for one variant, rebuilt by the judge."""

    variant: str
    history: Any  # unvalidated: the history checks validate it
    device: Any  # device type of the model's first parameter after training
    network: Network | None  # the judge's copy after training; None when it cannot be rebuilt
    before: Network | None  # the same function with the parameters before training
    problem: str | None  # why the model cannot be rebuilt (a CheckFailure's message)

    @property
    def model(self) -> nn.Module | None:
        return None if self.network is None else self.network.module()


def sizes_of(setup: Setup, variant: str) -> tuple[int, int, int]:
    """(input, hidden, code) sizes the ``variant`` is built with."""
    p = setup.profile
    if VARIANTS[variant][2]:
        return setup.input_dim, p.wide_hidden_dim, p.wide_code_dim
    return setup.sizes


# Rows of the training images (the worker has them) on which the trained model's halves are
# examined, and the codes its decoder is examined on.
CHECK_ROWS = 64


def trained_check_inputs(setup: Setup, variant: str, seed: int) -> dict[str, np.ndarray]:
    sizes = sizes_of(setup, variant)
    rng = np.random.default_rng([seed, 7, *sizes])
    rows = rng.choice(len(setup.X_train), size=min(CHECK_ROWS, len(setup.X_train)),
                      replace=False)
    return {"encoder": setup.X_train[np.sort(rows)].astype(np.float32),
            "decoder": np.maximum(rng.standard_normal((CHECK_ROWS, sizes[2])),
                                  0.0).astype(np.float32)}


def train_call(setup: Setup, settings: Settings, variant: str) -> dict[str, Any]:
    """Keyword arguments of the ``train`` probe for ``variant`` (a key of ``VARIANTS``)."""
    denoise, sparse, _ = VARIANTS[variant]
    p = setup.profile
    _, hidden_dim, code_dim = sizes_of(setup, variant)
    inputs = trained_check_inputs(setup, variant, setup.split_seed)
    return dict(hidden_dim=hidden_dim, code_dim=code_dim, epochs=p.epochs,
                batch_size=p.batch_size, lr=p.lr,
                noise_std=settings.noise_std if denoise else 0.0,
                l1_weight=settings.l1_weight if sparse else 0.0,
                device=setup.device, seed=settings.train_seed,
                check_x=inputs["encoder"], check_codes=inputs["decoder"],
                threads=worker_threads(setup, settings))


def worker_threads(setup: Setup, settings: Settings) -> int | None:
    """Torch threads of a CPU training in the worker (``cpu_threads``); None on cuda."""
    return settings.cpu_threads if setup.device == "cpu" else None


def at_lr0(config: pytest.Config, student: Any, setup: Setup, settings: Settings,
           kind: str) -> history.Run:
    """The ``lr=0`` training of ``kind`` (``history.KINDS``, or ``history.SHORT``), once per
    grading run."""
    return history.run(config, student, kind, device=setup.device, seed=settings.train_seed,
                       threads=worker_threads(setup, settings), timeout=settings.train_timeout)


def what_trained(setup: Setup, settings: Settings, variant: str) -> str:
    kw = train_call(setup, settings, variant)
    extra = (f", noise_std={kw['noise_std']:g}" if kw["noise_std"] else "") + (
        f", l1_weight={kw['l1_weight']:g}" if kw["l1_weight"] else "")
    return (f"train_autoencoder(build_autoencoder{sizes_of(setup, variant)}, X_train of shape "
            f"{tuple(setup.X_train.shape)}, epochs={kw['epochs']}, batch_size="
            f"{kw['batch_size']}, lr={kw['lr']:g}{extra}, device={setup.device!r})")


def trained(config: pytest.Config, student: Any, setup: Setup, settings: Settings,
            variant: str) -> Trained:
    """Train ``variant`` in the worker once per grading run (cached in ``config.stash``, shared
    by the public and hidden modules, keyed by the call so that identical variants are trained
    once); a student error is cached and raised again."""
    cache = config.stash.setdefault(_CACHE, {})
    call = train_call(setup, settings, variant)
    key = ("trained", tuple(sorted((k, v) for k, v in call.items()
                                   if not isinstance(v, np.ndarray))))
    if key not in cache:
        try:
            answer = student.probe("train", setup.to_worker, _timeout=settings.train_timeout,
                                   **call)
            cache[key] = receive(answer, setup, settings, variant)
        except StudentError as err:
            cache[key] = err
    result = cache[key]
    if isinstance(result, StudentError):
        raise result
    return result


def receive(answer: Any, setup: Setup, settings: Settings, variant: str) -> Trained:
    """Check the probe's answer for ``variant`` and rebuild the trained model in the judge."""
    what = what_trained(setup, settings, variant)
    sizes = sizes_of(setup, variant)
    if not isinstance(answer, dict):
        return Trained(variant, None, None, None, None,
                       f"{what}: your model could not be read back: {short(answer)}")
    history, device = answer.get("history"), answer.get("device")
    inputs = trained_check_inputs(setup, variant, setup.split_seed)
    try:
        after = network.rebuild(answer.get("after"), sizes, inputs, what=f"{what}, then")
        before = network.before_training(after, answer.get("before"), what=what)
    except CheckFailure as err:
        return Trained(variant, history, device, None, None, str(err))
    return Trained(variant, history, device, after, before, None)


def model_of(result: Trained) -> nn.Module:
    """The judge's rebuilt copy, or a failure saying why it cannot be evaluated."""
    if result.network is None:
        fail(f"cannot evaluate the trained {result.variant} model: {result.problem}")
    return result.network.module()


# -- the measured quantities (shared by the checks and calibrate.py) ------------------------


@dataclass(frozen=True)
class PcaComparison:
    error: float  # held-out reconstruction MSE of the model
    pca: float  # held-out MSE of PCA with `live` components
    live: int  # live code units
    ratio: float  # error / pca
    recon: np.ndarray  # the model's reconstructions of the held-out images


def compare_with_pca(model: nn.Module, setup: Setup) -> PcaComparison:
    """The model against PCA with as many components as its code has live units, at least one.

    A ReLU code unit can die during training (zero for every input); the lectures' claim is
    about equal code sizes, so a model with k live units is compared with k components. A
    model with no live unit reconstructs every image the same way: the best it can be is the
    mean image, which is PCA with 0 components, so it is compared with 1 (the mean image does
    about 1.17 times worse on the digits); otherwise outputting the mean image would "beat
    PCA" without any code. The reference keeps 3 or more of 8 units alive.
    """
    codes = encode(model, setup.X_test)
    recon = decode(model, codes)
    error = mse(recon, setup.X_test)
    live = live_units(codes)
    pca = pca_mse(setup.X_train, setup.X_test, max(live, 1))
    return PcaComparison(error, pca, live, error / max(pca, 1e-12), recon)


@dataclass(frozen=True)
class DenoiseComparison:
    noisy: np.ndarray  # the judge's noisy held-out images
    cleaned: np.ndarray  # the denoising model's reconstructions of them
    by_plain: np.ndarray  # the plain model's
    error: float  # denoising model's MSE to the clean images
    plain_error: float
    ratio: float  # error / plain_error


def compare_denoising(denoiser: nn.Module, plain: nn.Module, setup: Setup,
                      settings: Settings) -> DenoiseComparison:
    """The denoiser against a plain model of the same sizes, both fed the judge's noisy copies
    of the held-out images, both scored against the clean images."""
    images = noisy(setup.X_test, settings.noise_std, setup.split_seed + 1)
    cleaned = decode(denoiser, encode(denoiser, images))
    by_plain = decode(plain, encode(plain, images))
    error, plain_error = mse(cleaned, setup.X_test), mse(by_plain, setup.X_test)
    return DenoiseComparison(images, cleaned, by_plain, error, plain_error,
                             error / max(plain_error, 1e-12))


@dataclass(frozen=True)
class SparsityComparison:
    l1: float  # sparse model's mean |code| on the held-out images
    plain_l1: float
    ratio: float  # l1 / plain_l1
    error: float  # sparse model's held-out reconstruction MSE
    plain_error: float
    error_ratio: float  # error / plain_error: the codes must stay useful


def compare_sparsity(sparse: nn.Module, plain: nn.Module, setup: Setup) -> SparsityComparison:
    codes, plain_codes = encode(sparse, setup.X_test), encode(plain, setup.X_test)
    l1, plain_l1 = float(np.abs(codes).mean()), float(np.abs(plain_codes).mean())
    error = mse(decode(sparse, codes), setup.X_test)
    plain_error = mse(decode(plain, plain_codes), setup.X_test)
    return SparsityComparison(l1, plain_l1, l1 / max(plain_l1, 1e-12), error, plain_error,
                              error / max(plain_error, 1e-12))


# The training loss is measured on at most this many training images (MNIST: 60,000 would
# take seconds in the judge for the same number).
LOSS_ROWS = 10_000


@dataclass(frozen=True)
class TrainingLoss:
    before: float  # the MSE training starts from (the smaller of the two below)
    claimed_before: float  # MSE of the parameters the worker says the model had before training
    untrained: float  # MSE of the judge's own freshly initialised model of the same sizes
    after: float  # MSE of the model after training
    ratio: float  # after / before
    mean_image: float  # MSE of the training images' mean image (the best constant output)
    mean_ratio: float  # after / mean_image

    def summary(self) -> str:
        return (f"reconstruction MSE on the training images, computed from your model's "
                f"parameters: {self.claimed_before:.4g} before training (a freshly initialised "
                f"model of these sizes: {self.untrained:.4g}), {self.after:.4g} after; the mean "
                f"training image as every reconstruction: {self.mean_image:.4g}")


def untrained_mse(setup: Setup, variant: str, seed: int, X: np.ndarray) -> float:
    """MSE on ``X`` of the judge's own freshly initialised model of ``variant``'s sizes: the
    contract's layers with torch's default initialisation (weights and biases uniform in
    +-1/sqrt(fan_in)), drawn by the judge. Training starts about here whatever the seed
    (0.178-0.185 over seeds 0-4 on the digits: every output near sigmoid(0) = 0.5)."""
    sizes = sizes_of(setup, variant)
    rng = np.random.default_rng([seed, 31, *sizes])
    halves = []
    for half in network.HALVES:
        values = []
        for _, shape in network.slots(half, sizes):
            fan_in = network.dims(half, sizes)[0 if len(values) < 2 else 1]
            bound = 1.0 / np.sqrt(fan_in)
            values.append(rng.uniform(-bound, bound, size=shape).astype(np.float32))
        halves.append(Half(half, tuple(values), network.CONTRACT[half]))
    model = Network(*halves).module()
    return mse(decode(model, encode(model, X)), X)


def training_loss(result: Trained, setup: Setup, seed: int = 0) -> TrainingLoss:
    """The reconstruction MSE on the training images before and after training, computed by
    the judge from the exported parameters (not from the returned history).

    The parameters "before training" are the worker's word: a submission could claim any (huge
    weights make any later model look like progress). So training starts from the smaller of
    their MSE and that of the judge's own freshly initialised model of the same sizes
    (:func:`untrained_mse`). The mean training image, the best an output that ignores its input
    can do, is measured too: the check asks the trained model to do clearly better than it."""
    if result.network is None or result.before is None:
        fail(f"cannot evaluate the trained {result.variant} model: {result.problem}")
    X = setup.X_train[:LOSS_ROWS]
    losses = []
    for net in (result.before, result.network):
        model = net.module()
        losses.append(mse(decode(model, encode(model, X)), X))
    claimed, after = losses
    untrained = untrained_mse(setup, result.variant, seed, X)
    before = min(claimed, untrained)
    mean_image = mse(np.broadcast_to(X.mean(axis=0), X.shape), X)
    return TrainingLoss(before, claimed, untrained, after, after / max(before, 1e-12),
                        mean_image, after / max(mean_image, 1e-12))
