"""The hidden checks' oracle for `kfold`: scikit-learn's ``KFold`` rule written down (judge side
only: it never ships; the public checks read the same values from the golden data).

``tests/exercises/test_kfold.py`` holds :func:`unshuffled_split` equal to scikit-learn's
``KFold(n_splits=k)`` for many sizes (importing scikit-learn in the judge cost every grading of
kfold 1.5-2 s).
"""

from __future__ import annotations

import numpy as np


def expected_sizes(n_samples: int, k: int) -> list[int]:
    """Validation fold sizes as scikit-learn's ``KFold``: the first ``n % k`` get one more."""
    return [n_samples // k + (1 if i < n_samples % k else 0) for i in range(k)]


def unshuffled_split(n_samples: int, k: int) -> list[np.ndarray]:
    """The validation folds of scikit-learn's ``KFold(n_splits=k)`` without shuffling:
    consecutive blocks of :func:`expected_sizes`."""
    bounds = np.cumsum([0, *expected_sizes(n_samples, k)])
    return [np.arange(bounds[i], bounds[i + 1]) for i in range(k)]
