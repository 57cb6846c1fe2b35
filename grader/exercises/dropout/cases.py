"""The public cases of `dropout`, for the leak tests only (judge side: never ships).

The dropout checks judge statistics, the mask the student's own forward used and numerical
gradients of it: no check compares with a value the reference computed, so nothing is stored
(``store=False``: no golden file). The leak tests still call every function that ships with the
student release on these inputs and make sure none returns the reference's output.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from grader.golden import Case


def _forward(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
    out, cache = ref.dropout_forward(inputs["x"], inputs["p"], train=inputs["train"],
                                     seed=inputs["seed"])
    return {"out": out, "dx": ref.dropout_backward(inputs["dout"], cache)}


def _module(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.manual_seed(inputs["seed"])
    layer = ref.Dropout(inputs["p"])
    return {"out": layer(torch.from_numpy(inputs["x"])).detach().numpy()}


def golden_cases() -> list[Case]:
    rng = np.random.default_rng([2026, 15])
    x = rng.uniform(0.5, 1.5, size=(20, 50))
    dout = rng.normal(size=x.shape)
    cases = [Case(f"forward/p={p},train={train}",
                  {"x": x, "p": p, "train": train, "seed": 7, "dout": dout}, _forward, store=False)
             for p, train in ((0.3, True), (0.8, True), (0.3, False), (0.0, True), (1.0, True))]
    cases.append(Case("module/p=0.3", {"x": x, "p": 0.3, "seed": 7}, _module, store=False))
    return cases
