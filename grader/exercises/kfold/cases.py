"""The public cases of `kfold` and their golden data (judge side: never ships).

``golden_cases()`` declares the unshuffled splits the public checks compare with: for each size
``(n_samples, k)`` they use, the reference's ``kfold_indices(n_samples, k)``. ``dlgrade release``
writes them to ``golden.npz``; the public checks read the fold sizes and the validation folds
from there (the remainder rule is never computed on the student's side).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from grader.exercises.kfold import validate
from grader.golden import Case

# The public checks' sizes and the iterated checks' (23, 4) and (30, 3): (n_samples, k).
SIZES = [*validate.SIZES, (23, 4), (30, 3)]


def _split(ref: ModuleType, inputs: dict[str, Any]) -> dict[str, Any]:
    folds = ref.kfold_indices(inputs["n_samples"], inputs["k"])
    return {"folds": [(train, val) for train, val in folds]}


def golden_cases() -> list[Case]:
    return [Case(validate.split_case(n, k), {"n_samples": n, "k": k}, _split) for n, k in SIZES]
