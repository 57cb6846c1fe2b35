"""Data sets the checks share, all local: no download ever happens here.

- :func:`make_spirals`: the course's interleaved spirals (classification toy set).
- :func:`load_digits_split`: scikit-learn's bundled 8x8 digits, scaled to [0, 1], split in two.
- :func:`load_mnist`: MNIST from local IDX files (gzipped or not) or an ``.npz``; the path comes
  from the exercise's setting or the ``DLGRADE_MNIST`` environment variable (:func:`mnist_path`).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np


def make_spirals(n_per_class: int, *, n_classes: int = 3, noise: float = 0.2,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spirals in the plane, as in the course's toy example (CS231n's version).

    Returns ``X`` float64 (n_per_class * n_classes, 2) in about [-1, 1], and ``y`` int64 labels
    in ``0..n_classes-1``; ``noise`` is the standard deviation of the angle jitter (radians).
    """
    rng = np.random.default_rng(seed=seed)
    xs, ys = [], []
    for c in range(n_classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        t = (np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class)
             + rng.normal(0.0, noise, n_per_class))
        xs.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        ys.append(np.full(n_per_class, c, dtype=np.int64))
    X = np.concatenate(xs).astype(np.float64)
    y = np.concatenate(ys)
    order = rng.permutation(len(y))
    return X[order], y[order]


def load_digits_split(*, test_fraction: float = 0.25,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits (1,797 images of 8x8), flattened to 64 and scaled to [0, 1].

    Returns ``X_train, y_train, X_test, y_test``: float32 images (N, 64), int64 labels (N,);
    the split is a seeded permutation, the test part ``round(test_fraction * 1797)`` images.
    """
    data, target = load_digits()
    X = (data / 16.0).astype(np.float32)
    y = target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """``sklearn.datasets.load_digits()``'s ``data`` (1797, 64) float64 in 0..16 and ``target``
    (1797,) int64, read from the file scikit-learn ships (``datasets/data/digits.csv.gz``, parsed
    as scikit-learn parses it) without importing scikit-learn: its import (scipy, pandas) took
    2 s of the autoencoder's grading. ``tests/test_data.py`` holds the two equal."""
    from importlib.util import find_spec

    spec = find_spec("sklearn")  # finds the package without running it
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt") as f:
                table = np.loadtxt(f, delimiter=",")
            return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits as sklearn_digits  # an unusual install: its loader

    digits = sklearn_digits()
    return np.asarray(digits.data, np.float64), np.asarray(digits.target, np.int64)


# --- MNIST (issue 6): read from local files only --------------------------------------------

MNIST_ENV = "DLGRADE_MNIST"

# The file names of the original distribution (yann.lecun.com) and of torchvision's raw folder;
# some mirrors write a dot before "idx".
_MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}

# IDX type codes (third byte of the magic number) -> big-endian numpy dtypes.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzipped when its name ends in ``.gz``.

    Layout: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions ``d``, then ``d`` big-endian uint32
    sizes, then the values in C order. Returns an array of that shape in native byte order
    (uint8 for MNIST's images and labels). Raises ``ValueError`` naming the file when the header
    is not IDX or the payload's size does not match the header.
    """
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (magic bytes {raw[:4].hex() or 'missing'})")
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: IDX header cut short ({len(raw)} bytes, {ndim} dimensions)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes of data), "
                         f"the file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(
        dtype.newbyteorder("="))


def _find_idx(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(f"MNIST: none of {', '.join(names)} (or .gz) in {folder}")


def load_mnist(path: str | Path, *, scale: bool = True
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST from local files: a folder of the four IDX files (gzipped or not) or an ``.npz``.

    - a folder: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
      ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally ``.gz``
      (``train-images.idx3-ubyte`` spellings are accepted too);
    - an ``.npz`` with ``x_train, y_train, x_test, y_test`` (Keras's ``mnist.npz`` layout),
      read with ``allow_pickle=False``.

    Returns ``X_train, y_train, X_test, y_test``: images flattened to ``(N, H*W)`` — float32 in
    [0, 1] (divided by 255) when ``scale``, else the stored uint8 — and int64 labels ``(N,)``.
    Nothing is downloaded. Raises ``FileNotFoundError`` when a file is missing and
    ``ValueError`` when the arrays are inconsistent (counts of images and labels differ, not
    uint8 images).
    """
    path = Path(path).expanduser()
    if path.is_dir():
        parts = [read_idx(_find_idx(path, _MNIST_FILES[k]))
                 for k in ("train_images", "train_labels", "test_images", "test_labels")]
    elif path.is_file() and path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(npz.files)
            if missing:
                raise ValueError(f"{path}: missing arrays {sorted(missing)} (has {npz.files})")
            parts = [npz[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    else:
        raise FileNotFoundError(f"MNIST: {path} is neither a folder of IDX files nor an .npz")
    x_train, y_train, x_test, y_test = parts
    for name, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        if images.dtype != np.uint8:
            raise ValueError(f"{path}: {name} images have dtype {images.dtype}, expected uint8")
        if images.ndim < 2 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{path}: {name} images {images.shape} and labels {labels.shape} "
                             "do not match")
    out = []
    for images, labels in ((x_train, y_train), (x_test, y_test)):
        flat = images.reshape(len(images), -1)
        out += [flat.astype(np.float32) / 255.0 if scale else flat, labels.astype(np.int64)]
    return out[0], out[1], out[2], out[3]


def mnist_path(setting: str | Path | None = None) -> Path | None:
    """Where MNIST lives: ``setting`` (from ``autograder.yml``) if given, else the environment
    variable ``DLGRADE_MNIST``, else ``None`` (no MNIST: the checks use the digits)."""
    value = setting if setting not in (None, "") else os.environ.get(MNIST_ENV) or None
    return None if value is None else Path(value).expanduser()
