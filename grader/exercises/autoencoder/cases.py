"""The public cases of `autoencoder`, for the leak tests only (judge side: never ships).

The autoencoder checks rebuild the function a student's model computes from its own parameters,
compare losses at ``lr=0`` with what those parameters give, and evaluate the trained model on
held-out images: no check compares with a value the reference computed, so nothing is stored
(``store=False``: no golden file). The leak tests still call every function that ships with the
student release on these inputs and make sure none returns the reference's output.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from grader.golden import Case

SIZES = (64, 32, 8)


def _build(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.manual_seed(inputs["seed"])
    model = ref.build_autoencoder(*inputs["sizes"])
    return {"params": [p.detach().numpy().copy() for p in model.parameters()]}


def _train(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.manual_seed(inputs["seed"])
    model = ref.build_autoencoder(*SIZES)
    history = ref.train_autoencoder(model, inputs["X"], epochs=inputs["epochs"],
                                    batch_size=inputs["batch_size"], lr=inputs["lr"],
                                    noise_std=inputs["noise_std"],
                                    l1_weight=inputs["l1_weight"], seed=inputs["seed"])
    return {"history": list(history)}


def golden_cases() -> list[Case]:
    rng = np.random.default_rng([2026, 30])
    X = rng.random((50, SIZES[0])).astype(np.float32)
    cases = [Case("build/64-32-8", {"sizes": list(SIZES), "seed": 0}, _build, store=False)]
    for kind, noise_std, l1_weight in (("plain", 0.0, 0.0), ("denoising", 0.5, 0.0),
                                       ("sparse", 0.0, 0.003)):
        cases.append(Case(f"train/{kind}", {"X": X, "epochs": 2, "batch_size": 16, "lr": 1e-2,
                                            "noise_std": noise_std, "l1_weight": l1_weight,
                                            "seed": 0}, _train, store=False))
    return cases
