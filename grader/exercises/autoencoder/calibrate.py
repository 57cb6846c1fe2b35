"""Calibration for `autoencoder`: ``dlgrade calibrate autoencoder --seeds 20``.

For each seed ``s`` the reference is trained in-process, through the same probe and the same
judge code as the checks, with ``split_seed = train_seed = s`` (a new held-out split, new
initial weights, new minibatch order and noise), and one value per threshold is recorded:

- the plain model's reconstruction MSE on the training images after training over before, from
  its exported parameters (``max_loss_ratio``; "before" is the smaller of the exported initial
  parameters' MSE and the judge's own freshly initialised model's), and over the mean training
  image's (``max_mean_image_ratio``);
- held-out MSE over PCA's with as many components as live code units (``max_pca_ratio``);
- denoising model's MSE from noisy held-out inputs over the wide plain model's (a plain model of
  the same sizes) (``max_denoise_ratio``);
- sparse model's mean |code| over the wide plain model's (``max_sparse_ratio``), and its held-out
  reconstruction MSE over the wide plain model's (``max_sparse_mse_ratio``);
- the ``lr=0`` histories (``history.py``): the largest relative error of the plain and sparse
  epochs over ``history.RTOL``, and the largest ``|epoch - expectation|`` of the denoising run
  over its tolerance (both must stay at most 1; the denoising bound is statistical, with a
  false-failure probability of ``history.FALSE_FAILURE``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from types import ModuleType

from grader.calibration import Measurement
import numpy as np

from grader.exercises.autoencoder import Settings, history, judge, probes


def train_reference(reference: ModuleType, setup: judge.Setup, settings: Settings,
                    variant: str) -> judge.Trained:
    """The reference through the ``train`` probe, in-process, loaded by the judge's code."""
    answer = probes.train(reference, setup.to_worker,
                          **judge.train_call(setup, settings, variant))
    return judge.receive(answer, setup, settings, variant)


class InProcess:
    """The reference behind the same ``probe`` call the checks make (trusted: in-process)."""

    def __init__(self, reference: ModuleType) -> None:
        self.reference = reference

    def probe(self, name: str, *args, _timeout: float | None = None, **kwargs):
        return getattr(probes, name)(self.reference, *args, **kwargs)


def history_errors(reference: ModuleType, device: str, seed: int,
                   threads: int | None = None) -> dict[str, float]:
    """The ``lr=0`` histories' errors over their tolerances (at most 1 passes)."""
    student = InProcess(reference)
    out = {}
    exact = []
    for kind in ("plain", "sparse"):
        run = history._run(student, kind, device=device, seed=seed, threads=threads)
        want = history.exact_loss(run.network, run.X, history.KINDS[kind][1])["contract"]
        got = np.asarray(run.history, np.float64)
        exact.append(float(np.max(np.abs(got - want))) / (history.RTOL * abs(want)))
    out["lr=0 plain/sparse history error / tol"] = max(exact)
    run = history._run(student, "denoising", device=device, seed=seed, threads=threads)
    expect = history.noisy_loss(run.network, run.X, history.NOISE_STD, seed)
    got = np.asarray(run.history, np.float64)
    out["lr=0 denoising history error / tol"] = float(np.max(np.abs(got - expect.mean))
                                                      / expect.tolerance)
    return out


def measure_seed(reference: ModuleType, settings: Settings, device: str,
                 seed: int) -> dict[str, float]:
    """The ratios for one seed (see the module docstring)."""
    settings = dataclasses.replace(settings, split_seed=seed, train_seed=seed)
    setup = judge.make_setup(settings, device)
    models = {v: train_reference(reference, setup, settings, v) for v in judge.VARIANTS}
    plain = judge.model_of(models["plain"])
    wide = judge.model_of(models["wide"])
    sparsity = judge.compare_sparsity(judge.model_of(models["sparse"]), wide, setup)
    loss = judge.training_loss(models["plain"], setup, settings.train_seed)
    return {
        "training MSE after/before": loss.ratio,
        "training MSE after / mean image": loss.mean_ratio,
        "held-out MSE / PCA(live units)": judge.compare_with_pca(plain, setup).ratio,
        "denoising / wide plain MSE on noisy": judge.compare_denoising(
            judge.model_of(models["denoising"]), wide, setup, settings).ratio,
        "sparse / wide plain mean |code|": sparsity.ratio,
        "sparse / wide plain held-out MSE": sparsity.error_ratio,
        **history_errors(reference, device, seed, judge.worker_threads(setup, settings)),
    }


def measure(reference: ModuleType, settings: Settings, *, seeds: Sequence[int], device: str,
            echo: Callable[[str], None]) -> list[Measurement]:
    """One :class:`Measurement` per threshold over ``seeds``."""
    thresholds = {"training MSE after/before": settings.max_loss_ratio,
                  "training MSE after / mean image": settings.max_mean_image_ratio,
                  "held-out MSE / PCA(live units)": settings.max_pca_ratio,
                  "denoising / wide plain MSE on noisy": settings.max_denoise_ratio,
                  "sparse / wide plain mean |code|": settings.max_sparse_ratio,
                  "sparse / wide plain held-out MSE": settings.max_sparse_mse_ratio,
                  "lr=0 plain/sparse history error / tol": 1.0,
                  "lr=0 denoising history error / tol": 1.0}
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
