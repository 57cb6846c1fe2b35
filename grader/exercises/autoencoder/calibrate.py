"""Calibration for `autoencoder`: ``dlgrade calibrate autoencoder --seeds 20``.

For each seed ``s`` the reference is trained in-process, through the same probe and the same
judge code as the checks, with ``split_seed = train_seed = s`` (a new held-out split, new
initial weights, new minibatch order and noise), and one value per threshold is recorded:

- last/first epoch loss of the plain model (``max_loss_ratio``);
- held-out MSE over PCA's with as many components as live code units (``max_pca_ratio``);
- denoising model's MSE from noisy held-out inputs over the wide plain model's (a plain model of
  the same sizes) (``max_denoise_ratio``);
- sparse model's mean |code| over the wide plain model's (``max_sparse_ratio``), and its held-out
  reconstruction MSE over the wide plain model's (``max_sparse_mse_ratio``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from types import ModuleType

from grader.calibration import Measurement
from grader.exercises.autoencoder import Settings, judge, probes


def train_reference(reference: ModuleType, setup: judge.Setup, settings: Settings,
                    variant: str) -> judge.Trained:
    """The reference through the ``train`` probe, in-process, loaded by the judge's code."""
    answer = probes.train(reference, setup.to_worker,
                          **judge.train_call(setup, settings, variant))
    return judge.receive(answer, setup, settings, variant)


def measure_seed(reference: ModuleType, settings: Settings, device: str,
                 seed: int) -> dict[str, float]:
    """The five ratios for one seed (see the module docstring)."""
    settings = dataclasses.replace(settings, split_seed=seed, train_seed=seed)
    setup = judge.make_setup(settings, device)
    models = {v: train_reference(reference, setup, settings, v) for v in judge.VARIANTS}
    plain = judge.model_of(models["plain"])
    history = judge.expect_history(models["plain"].history, setup.profile.epochs,
                                   what="reference history")
    wide = judge.model_of(models["wide"])
    sparsity = judge.compare_sparsity(judge.model_of(models["sparse"]), wide, setup)
    return {
        "loss last/first epoch": judge.loss_ratio(history),
        "held-out MSE / PCA(live units)": judge.compare_with_pca(plain, setup).ratio,
        "denoising / wide plain MSE on noisy": judge.compare_denoising(
            judge.model_of(models["denoising"]), wide, setup, settings).ratio,
        "sparse / wide plain mean |code|": sparsity.ratio,
        "sparse / wide plain held-out MSE": sparsity.error_ratio,
    }


def measure(reference: ModuleType, settings: Settings, *, seeds: Sequence[int], device: str,
            echo: Callable[[str], None]) -> list[Measurement]:
    """One :class:`Measurement` per threshold over ``seeds``."""
    thresholds = {"loss last/first epoch": settings.max_loss_ratio,
                  "held-out MSE / PCA(live units)": settings.max_pca_ratio,
                  "denoising / wide plain MSE on noisy": settings.max_denoise_ratio,
                  "sparse / wide plain mean |code|": settings.max_sparse_ratio,
                  "sparse / wide plain held-out MSE": settings.max_sparse_mse_ratio}
    values: dict[str, list[float]] = {name: [] for name in thresholds}
    for seed in seeds:
        started = time.monotonic()
        row = measure_seed(reference, settings, device, seed)
        for name, value in row.items():
            values[name].append(value)
        echo(f"seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items())
             + f" ({time.monotonic() - started:.1f} s)")
    return [Measurement(name, thresholds[name], "below", tuple(values[name]))
            for name in thresholds]
