"""K-fold cross-validation splits.

Cross-validation estimates how well a model generalises by training it k times, each time
holding out one *fold* of the data for validation and training on the rest. Here you write the
index bookkeeping: which samples go in which fold.

Conventions (the same as scikit-learn's ``KFold``):

- the validation folds are consecutive blocks of the sample order ``0, 1, ..., n_samples - 1``
  (of a seeded permutation of it when shuffling);
- when ``n_samples`` is not a multiple of ``k``, the first ``n_samples % k`` folds get one sample
  more than the others: ``n_samples=10, k=3`` gives validation folds of sizes 4, 3, 3;
- every sample is in exactly one validation fold, and in the training part of every other fold.

Arguments that are counts (``n_samples``, ``k``, ``repeats``) must be integers: a Python ``int``
or a numpy integer such as ``np.int64(3)`` (what ``len(...)`` or ``array.shape`` give you).
Anything else raises ``ValueError``: a float, even ``3.0``, a string, and ``True``/``False``
(a bool is not a count).
"""

from __future__ import annotations

import numpy as np
# BEGIN SOLUTION


def _as_count(value: object, name: str) -> int:
    """``value`` as an ``int`` if it is a Python or numpy integer (not a bool), else ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}: {value!r}")
    return int(value)


def _check_split(n_samples: object, k: object) -> tuple[int, int]:
    n = _as_count(n_samples, "n_samples")
    folds = _as_count(k, "k")
    if folds < 2:
        raise ValueError(f"k must be at least 2, got k={folds}")
    if folds > n:
        raise ValueError(f"k={folds} is larger than n_samples={n}: some folds would be empty")
    return n, folds


def _split_order(order: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K folds over ``order`` (a permutation of ``0..n-1``): consecutive blocks, remainder first."""
    n = len(order)
    sizes = np.full(k, n // k, dtype=np.int64)
    sizes[: n % k] += 1
    stops = np.cumsum(sizes)
    pairs = []
    for start, stop in zip(stops - sizes, stops):
        val = order[start:stop]
        in_val = np.zeros(n, dtype=bool)
        in_val[val] = True
        pairs.append((np.flatnonzero(~in_val).astype(np.int64), val.astype(np.int64)))
    return pairs
# END SOLUTION


def kfold_indices(n_samples: int, k: int, *, shuffle: bool = False,
                  seed: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split the sample indices ``0..n_samples-1`` into ``k`` folds for cross-validation.

    Args:
        n_samples: how many samples there are (an integer, at least ``k``).
        k: how many folds (an integer, ``2 <= k <= n_samples``).
        shuffle: if ``False`` the validation folds are consecutive blocks of
            ``0, 1, ..., n_samples - 1`` in order (fold 0 first); if ``True`` they are consecutive
            blocks of a random permutation of the indices.
        seed: seeds that permutation (e.g. ``np.random.default_rng(seed)``): the same seed gives
            the same folds. ``None`` gives a different permutation at each call. Ignored when
            ``shuffle`` is ``False``.

    Returns:
        A list of ``k`` pairs ``(train_idx, val_idx)``, one per fold, in fold order. Both are 1-D
        numpy integer arrays (e.g. ``int64``) of sample indices; ``val_idx`` has
        ``n_samples // k + 1`` indices for the first ``n_samples % k`` folds and
        ``n_samples // k`` for the others (as scikit-learn's ``KFold``); ``train_idx`` holds all
        the other indices. The order of the indices inside an array does not matter.

    Raises:
        ValueError: ``n_samples`` or ``k`` is not an integer (see the module docstring),
            ``k < 2``, or ``k > n_samples``.

    Example:
        >>> [val.tolist() for _, val in kfold_indices(5, 2)]
        [[0, 1, 2], [3, 4]]
    """
    # BEGIN SOLUTION
    n, folds = _check_split(n_samples, k)
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    return _split_order(order, folds)
    # END SOLUTION


def iterated_kfold_indices(n_samples: int, k: int, repeats: int, *,
                           seed: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Iterated (repeated) K-fold with shuffling: ``repeats`` independent shuffled K-fold splits.

    Args:
        n_samples: how many samples there are (an integer, at least ``k``).
        k: folds per repeat (an integer, ``2 <= k <= n_samples``).
        repeats: how many times to repeat the whole K-fold split (an integer, at least 1).
        seed: seeds all the shuffles: the same seed gives the same result. ``None`` (the
            default) is allowed and gives a different result at each call (e.g.
            ``np.random.default_rng(None)``: a fresh generator, not ``default_rng(seed + r)``,
            which fails for ``None``).

    Returns:
        A list of ``repeats * k`` pairs ``(train_idx, val_idx)`` as in :func:`kfold_indices`:
        pairs ``r * k`` to ``r * k + k - 1`` are the k folds of repeat ``r``, a full shuffled
        K-fold split (fold sizes as in :func:`kfold_indices`). Each repeat uses a new
        permutation, so different repeats give different folds.

    Raises:
        ValueError: ``n_samples``, ``k`` or ``repeats`` is not an integer, ``k < 2``,
            ``k > n_samples``, or ``repeats < 1``.
    """
    # BEGIN SOLUTION
    n, folds = _check_split(n_samples, k)
    times = _as_count(repeats, "repeats")
    if times < 1:
        raise ValueError(f"repeats must be at least 1, got repeats={times}")
    # One generator for all repeats: each permutation is a fresh draw, the whole list is seeded.
    rng = np.random.default_rng(seed)
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(times):
        pairs.extend(_split_order(rng.permutation(n), folds))
    return pairs
    # END SOLUTION
