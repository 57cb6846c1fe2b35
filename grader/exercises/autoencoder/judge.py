"""The trusted side of `autoencoder`: data, the judge's own architecture, weight validation,
evaluation and the once-per-run training cache. Runs in the judge only (never in the worker).

The student's model never runs in the judge: the worker sends its ``state_dict()`` as arrays,
:func:`load_weights` validates names, shapes and finiteness and loads them into
:func:`trusted_autoencoder` (defined here, not by the student), and every number the checks
judge is computed from that copy: codes with ``.encoder``, reconstructions with ``.decoder`` of
those codes, so nothing can bypass the bottleneck.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from grader.data import load_digits_split, load_mnist, mnist_path
from grader.errors import StudentError
from grader.exercises.autoencoder import Profile, Settings
from grader.expect import expect_type, fail, short, type_name

Layer = tuple[str, int | None, int | None]

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


def setup(config: pytest.Config, settings: Settings, device: str) -> Setup:
    """:func:`make_setup` once per grading run (cached in ``config.stash``)."""
    cache = config.stash.setdefault(_CACHE, {})
    if "setup" not in cache:
        cache["setup"] = make_setup(settings, device)
    return cache["setup"]


def make_setup(settings: Settings, device: str) -> Setup:
    """Load the profile's data for ``device``: MNIST (cuda, when configured) or the digits."""
    path = mnist_path(settings.mnist_path)
    profile = settings.profile(device, has_mnist=path is not None)
    if profile.data == "mnist":
        raw_train, _, raw_test, _ = load_mnist(path, scale=False)
        if profile.max_train:
            raw_train = raw_train[:profile.max_train]
        X_train = raw_train.astype(np.float32) / 255.0
        return Setup(profile, device, raw_train, X_train,
                     raw_test.astype(np.float32) / 255.0, _side(raw_train.shape[1]))
    X_train, _, X_test, _ = load_digits_split(test_fraction=settings.test_fraction,
                                              seed=settings.split_seed)
    return Setup(profile, device, X_train, X_train, X_test, 8)


def _side(n: int) -> int:
    side = int(round(n ** 0.5))
    return side if side * side == n else n


# -- the judge's architecture ----------------------------------------------------------------


def trusted_autoencoder(input_dim: int, hidden_dim: int, code_dim: int) -> nn.Module:
    """The contract's architecture, defined by the grader; ``state_dict`` keys are
    ``encoder.{0,2}.{weight,bias}`` and ``decoder.{0,2}.{weight,bias}``."""
    encoder = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.ReLU(),
                            nn.Linear(hidden_dim, code_dim), nn.ReLU())
    decoder = nn.Sequential(nn.Linear(code_dim, hidden_dim), nn.ReLU(),
                            nn.Linear(hidden_dim, input_dim), nn.Sigmoid())
    return nn.Sequential(OrderedDict(encoder=encoder, decoder=decoder))


def expected_layers(input_dim: int, hidden_dim: int, code_dim: int) -> dict[str, list[Layer]]:
    return {"encoder": [("Linear", input_dim, hidden_dim), ("ReLU", None, None),
                        ("Linear", hidden_dim, code_dim), ("ReLU", None, None)],
            "decoder": [("Linear", code_dim, hidden_dim), ("ReLU", None, None),
                        ("Linear", hidden_dim, input_dim), ("Sigmoid", None, None)]}


def _layer_text(layer: Any) -> str:
    if isinstance(layer, (list, tuple)) and len(layer) == 3:
        name, n_in, n_out = layer
        return f"{name}({n_in}, {n_out})" if n_in is not None or n_out is not None else f"{name}()"
    return short(layer, 60)


def expect_layers(description: Any, sizes: tuple[int, int, int], *, what: str) -> None:
    """The probe's description must list exactly the contract's layers; the message names the
    first layer that differs and shows both lists."""
    expected = expected_layers(*sizes)
    expect_type(description, dict, what=what)
    for half in ("encoder", "decoder"):
        got = description.get(half)
        if isinstance(got, str):
            fail(f"{what}: .{half} is {got}")
        expect_type(got, (list, tuple), what=f"{what}: the layers of .{half}")
        want = expected[half]
        got = [tuple(layer) if isinstance(layer, (list, tuple)) else layer for layer in got]
        listing = (f"\n  expected .{half}: {', '.join(map(_layer_text, want))}"
                   f"\n  got      .{half}: {', '.join(map(_layer_text, got)) or '(no layers)'}")
        for i in range(max(len(want), len(got))):
            if i >= len(got):
                fail(f"{what}: .{half} layer {i} is missing: expected {_layer_text(want[i])}"
                     + listing)
            if i >= len(want):
                fail(f"{what}: .{half} has an extra layer {i}: {_layer_text(got[i])}" + listing)
            if got[i] != want[i]:
                fail(f"{what}: .{half} layer {i} differs: expected {_layer_text(want[i])}, "
                     f"got {_layer_text(got[i])}" + listing)


def load_weights(state: Any, sizes: tuple[int, int, int], *, what: str) -> nn.Module:
    """Validate the worker's ``state_dict`` arrays (keys, shapes, float, finite) and load them
    into :func:`trusted_autoencoder`; the model is returned in eval mode on the CPU."""
    model = trusted_autoencoder(*sizes)
    want = model.state_dict()
    if state is None:
        fail(f"{what}: the model is not a torch.nn.Module, so it has no weights to evaluate")
    expect_type(state, dict, what=f"{what}: state_dict()")
    missing = [k for k in want if k not in state]
    extra = [str(k) for k in state if k not in want]
    if missing or extra:
        fail(f"{what}: state_dict() keys differ from the contract's (an nn.Sequential per half): "
             f"missing {missing or 'none'}, unexpected {extra or 'none'}")
    loaded = {}
    for key, ref in want.items():
        value = state[key]
        if torch.is_tensor(value):
            value = value.numpy()
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            fail(f"{what}: state_dict()[{key!r}]: expected a float tensor, got "
                 f"{type_name(value)}: {short(value, 80)}")
        if tuple(value.shape) != tuple(ref.shape):
            fail(f"{what}: state_dict()[{key!r}]: expected shape {tuple(ref.shape)}, got "
                 f"{tuple(value.shape)}")
        if not np.all(np.isfinite(value)):
            fail(f"{what}: state_dict()[{key!r}] holds {int((~np.isfinite(value)).sum())} "
                 "non-finite value(s) (NaN or inf): training diverged")
        loaded[key] = torch.from_numpy(np.array(value, dtype=np.float32))
    model.load_state_dict(loaded)
    return model.eval()


def encode(model: nn.Module, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.encoder(torch.as_tensor(X, dtype=torch.float32)).numpy()


def decode(model: nn.Module, codes: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.decoder(torch.as_tensor(codes, dtype=torch.float32)).numpy()


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


def live_units(codes: np.ndarray) -> int:
    """Code units that are non-zero for at least one input (a ReLU unit can die in training)."""
    return int(np.sum(np.any(codes != 0, axis=0)))


def pca_mse(X_train: np.ndarray, X_test: np.ndarray, k: int) -> float:
    """Held-out MSE of PCA with ``k`` components fitted on ``X_train`` (k = 0: the mean image)."""
    from sklearn.decomposition import PCA

    if k == 0:
        return mse(np.broadcast_to(X_train.mean(axis=0), X_test.shape), X_test)
    pca = PCA(n_components=k, svd_solver="full").fit(X_train)
    return mse(pca.inverse_transform(pca.transform(X_test)), X_test)


def noisy(X: np.ndarray, noise_std: float, seed: int) -> np.ndarray:
    """The judge's noisy copy of held-out images: ``clip(X + noise_std * N(0, 1), 0, 1)``."""
    rng = np.random.default_rng(seed)
    return np.clip(X + noise_std * rng.standard_normal(X.shape), 0.0, 1.0).astype(np.float32)


def expect_history(history: Any, epochs: int, *, what: str) -> np.ndarray:
    """A list of ``epochs`` finite Python/numpy floats; returned as float64."""
    expect_type(history, (list, tuple), what=what)
    if len(history) != epochs:
        fail(f"{what}: expected one loss per epoch ({epochs} values), got {len(history)}")
    for i, value in enumerate(history):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            hint = " (use loss.item() to get a float)" if torch.is_tensor(value) else ""
            fail(f"{what}: item {i} is {type_name(value)}: {short(value, 80)}; expected a "
                 f"float{hint}")
    out = np.array(history, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        fail(f"{what}: non-finite loss at epoch {int(np.argmax(~np.isfinite(out)))}: "
             f"{short(out)} (training diverged)")
    return out


# -- training, once per grading run -----------------------------------------------------------


@dataclass(frozen=True)
class Trained:
    """What the worker sent back for one variant, the weights already loaded by the judge."""

    variant: str
    history: Any  # unvalidated: the loss check validates it
    device: Any  # device type of the model's first parameter after training
    model: nn.Module | None  # the judge's copy; None when the weights could not be loaded
    problem: str | None  # why the weights could not be loaded (a CheckFailure's message)


def sizes_of(setup: Setup, variant: str) -> tuple[int, int, int]:
    """(input, hidden, code) sizes the ``variant`` is built with."""
    p = setup.profile
    if VARIANTS[variant][2]:
        return setup.input_dim, p.wide_hidden_dim, p.wide_code_dim
    return setup.sizes


def train_call(setup: Setup, settings: Settings, variant: str) -> dict[str, Any]:
    """Keyword arguments of the ``train`` probe for ``variant`` (a key of ``VARIANTS``)."""
    denoise, sparse, _ = VARIANTS[variant]
    p = setup.profile
    _, hidden_dim, code_dim = sizes_of(setup, variant)
    return dict(hidden_dim=hidden_dim, code_dim=code_dim, epochs=p.epochs,
                batch_size=p.batch_size, lr=p.lr,
                noise_std=settings.noise_std if denoise else 0.0,
                l1_weight=settings.l1_weight if sparse else 0.0,
                device=setup.device, seed=settings.train_seed,
                threads=settings.cpu_threads if setup.device == "cpu" else None)


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
    key = ("trained", tuple(sorted(call.items())))
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
    """Check the probe's answer for ``variant`` and load its weights into the judge's copy."""
    what = what_trained(setup, settings, variant)
    sizes = sizes_of(setup, variant)
    if not isinstance(answer, dict):
        return Trained(variant, None, None, None, f"{what}: the probe returned {short(answer)}")
    try:
        expect_layers(answer.get("layers"), sizes, what=f"{what}: the model's layers")
        model = load_weights(answer.get("state"), sizes, what=what)
    except AssertionError as err:
        return Trained(variant, answer.get("history"), answer.get("device"), None, str(err))
    return Trained(variant, answer.get("history"), answer.get("device"), model, None)


def model_of(result: Trained) -> nn.Module:
    """The judge's loaded copy, or a failure saying why the weights cannot be evaluated."""
    if result.model is None:
        fail(f"cannot evaluate the trained {result.variant} model: {result.problem}")
    return result.model


# -- the measured quantities (shared by the checks and calibrate.py) ------------------------


@dataclass(frozen=True)
class PcaComparison:
    error: float  # held-out reconstruction MSE of the model
    pca: float  # held-out MSE of PCA with `live` components
    live: int  # live code units
    ratio: float  # error / pca
    recon: np.ndarray  # the model's reconstructions of the held-out images


def compare_with_pca(model: nn.Module, setup: Setup) -> PcaComparison:
    """The model against PCA with as many components as its code has live units.

    A ReLU code unit can die during training (zero for every input); the lectures' claim is
    about equal code sizes, so a model with k live units is compared with k components.
    """
    codes = encode(model, setup.X_test)
    recon = decode(model, codes)
    error = mse(recon, setup.X_test)
    live = live_units(codes)
    pca = pca_mse(setup.X_train, setup.X_test, live)
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
    images = noisy(setup.X_test, settings.noise_std, settings.split_seed + 1)
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


def loss_ratio(history: np.ndarray) -> float:
    """Last epoch's loss over the first's."""
    return float(history[-1] / max(history[0], 1e-12))
