"""Training on the spirals, shared by the checks and by calibration (judge side).

The trainer gets only the training spirals; the held-out spirals come from a seed the worker
cannot know (:func:`held_out_seed`) and never leave the judge; the accuracy is computed by the
judge from the returned weights, after validating them (:func:`predicted_classes`).

This module ships with the student release, and :func:`predicted_classes` is the one
computation on a network that the public checks of `backprop` keep: the held-out accuracy of the
weights a student's ``train_mlp`` returns can be judged no other way (the held-out points must
never reach the worker, and golden data cannot know a student's weights). It returns class
predictions only: no layer output as the contract returns it, no loss, no gradient (the leak
tests call it on every public case's inputs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np

from grader.data import make_spirals
from grader.exercises.backprop.validate import count_layers, expect_params
from grader.expect import fail

N_CLASSES = 3


def held_out_seed(secret: int, seed: int) -> int:
    """The held-out spirals' seed in grading: the course's secret (``grader.fixtures.
    course_secret``, which the worker never has) with the check's seed. The worker receives
    ``seed`` (as ``train_mlp``'s seed), so ``seed + 1`` would let it draw the held-out points."""
    digest = hashlib.sha256(f"backprop held-out spirals/{secret}/{seed}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def spiral_accuracy(train: Callable[..., Any], settings: Any, *, seed: int,
                    hidden_sizes: tuple[int, ...], learning_rate: float,
                    test_seed: int | None = None) -> tuple[float, str]:
    """``(held-out accuracy, description of the call)`` of ``train(X, y, **budget)``'s weights.

    ``train`` is the student's ``train_mlp`` through the sandbox, or the reference's in
    calibration. The held-out spirals are drawn from ``test_seed`` (grading: a secret one,
    :func:`held_out_seed`; calibration: ``seed + 1``, an independent draw all the same).
    Raises ``CheckFailure`` when the returned params are malformed.
    """
    X, y = make_spirals(settings.n_train_per_class, n_classes=N_CLASSES, noise=settings.noise,
                        seed=seed)
    X_test, y_test = make_spirals(settings.n_test_per_class, n_classes=N_CLASSES,
                                  noise=settings.noise,
                                  seed=seed + 1 if test_seed is None else test_seed)
    kwargs = dict(hidden_sizes=tuple(hidden_sizes), num_classes=N_CLASSES, epochs=settings.epochs,
                  learning_rate=learning_rate, batch_size=settings.batch_size, reg=settings.reg,
                  seed=seed % 2**31)
    what = (f"train_mlp(X of shape {X.shape}, y, "
            + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")")
    params = train(X, y, **kwargs)
    params = expect_params(params, [X.shape[1], *hidden_sizes, N_CLASSES], what=what)
    accuracy = float(np.mean(predicted_classes(params, X_test) == y_test))
    return accuracy, what


def predicted_classes(params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """The class (N,) the network ``params`` (validated float64 weights; a ReLU between layers,
    as the contract's MLP) predicts for each row of ``X``: the largest of its scores."""
    h = np.asarray(X, dtype=np.float64)
    last = count_layers(params)
    with np.errstate(over="ignore", invalid="ignore"):  # huge weights fail the checks, quietly
        for k in range(1, last + 1):
            h = h @ params[f"W{k}"] + params[f"b{k}"]
            h = np.maximum(h, 0.0) if k < last else h
    return h.argmax(axis=1)


def expect_spiral_accuracy(student: Any, settings: Any, *, seed: int,
                           hidden_sizes: tuple[int, ...], learning_rate: float,
                           feedback: Any = None, test_seed: int | None = None) -> float:
    """The check: the student's trained MLP reaches ``settings.min_accuracy`` on held-out
    spirals."""
    def train(X: np.ndarray, y: np.ndarray, **kwargs: Any) -> Any:
        return student.train_mlp(X, y, _timeout=settings.train_timeout, **kwargs)

    accuracy, what = spiral_accuracy(train, settings, seed=seed, hidden_sizes=hidden_sizes,
                                     learning_rate=learning_rate, test_seed=test_seed)
    n_test = N_CLASSES * settings.n_test_per_class
    if feedback is not None:
        feedback.info(f"held-out accuracy on {n_test} spiral points: {accuracy:.3f} "
                      f"(needed: {settings.min_accuracy:.3f})")
    if not (accuracy >= settings.min_accuracy):  # NaN-safe: a NaN accuracy fails
        fail(f"{what}: the trained network classifies {accuracy:.1%} of {n_test} held-out spiral "
             f"points correctly; at least {settings.min_accuracy:.0%} is needed (the reference "
             "reaches it on every calibration seed). Check that every step updates the "
             "parameters with mlp_loss's gradients, and the He initialisation.")
    return accuracy
