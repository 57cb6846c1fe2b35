"""grader.data: the MNIST loaders, on small IDX files written here (nothing is downloaded)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from grader.data import (MNIST_ENV, load_digits, load_digits_split, load_mnist, mnist_path,
                         read_idx)

_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
          np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> Path:
    """Write ``array`` in the IDX format (big-endian), gzipped when ``gz``."""
    data = np.ascontiguousarray(array)
    header = bytes([0, 0, _CODES[data.dtype], data.ndim]) + struct.pack(
        f">{data.ndim}I", *data.shape)
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(header + data.tobytes())
    return path


def fake_mnist(rng: np.random.Generator, n_train: int = 7, n_test: int = 3, side: int = 4):
    return (rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
            rng.integers(0, 10, n_train, dtype=np.uint8),
            rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
            rng.integers(0, 10, n_test, dtype=np.uint8))


def write_mnist_folder(folder: Path, arrays, *, gz: bool, dotted: bool = False) -> Path:
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    if dotted:
        names = [n.replace("-idx", ".idx") for n in names]
    for name, array in zip(names, arrays):
        write_idx(folder / (name + (".gz" if gz else "")), array, gz=gz)
    return folder


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, ">i2", ">i4", ">f4", ">f8"])
def test_read_idx_round_trips_every_type(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if np.dtype(dtype) == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    got = read_idx(write_idx(tmp_path / "a-idx3", array))
    assert got.shape == (2, 3, 4)
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_read_idx_reads_gzip(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l.gz", array, gz=True)), array)


def test_read_idx_refuses_bad_magic_and_short_payload(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + b"\x00\x01")
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        read_idx(short)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_load_mnist_from_idx_folder(tmp_path, gz):
    arrays = fake_mnist(np.random.default_rng(0))
    X_train, y_train, X_test, y_test = load_mnist(write_mnist_folder(tmp_path, arrays, gz=gz))
    assert X_train.shape == (7, 16) and X_test.shape == (3, 16)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_allclose(X_train, arrays[0].reshape(7, 16) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test, arrays[3])
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0


def test_load_mnist_unscaled_keeps_uint8_and_accepts_dotted_names(tmp_path):
    arrays = fake_mnist(np.random.default_rng(1))
    X_train, _, X_test, _ = load_mnist(write_mnist_folder(tmp_path, arrays, gz=False,
                                                          dotted=True), scale=False)
    assert X_train.dtype == np.uint8
    np.testing.assert_array_equal(X_test, arrays[2].reshape(3, 16))


def test_load_mnist_from_npz(tmp_path):
    arrays = fake_mnist(np.random.default_rng(2))
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    X_train, y_train, X_test, y_test = load_mnist(path)
    np.testing.assert_allclose(X_test, arrays[2].reshape(3, 16) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_train, arrays[1])


def test_load_mnist_missing_and_inconsistent_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="neither"):
        load_mnist(tmp_path / "nothing.npz")
    arrays = list(fake_mnist(np.random.default_rng(3)))
    arrays[1] = arrays[1][:5]  # 7 images, 5 labels
    with pytest.raises(ValueError, match="do not match"):
        load_mnist(write_mnist_folder(tmp_path, arrays, gz=False))


def test_mnist_path_prefers_the_setting_then_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(MNIST_ENV, raising=False)
    assert mnist_path(None) is None
    assert mnist_path("") is None
    monkeypatch.setenv(MNIST_ENV, str(tmp_path))
    assert mnist_path(None) == tmp_path
    assert mnist_path("/data/mnist") == Path("/data/mnist")


def test_digits_split_unchanged():
    X_train, y_train, X_test, y_test = load_digits_split(seed=0)
    assert X_train.shape == (1348, 64) and X_test.shape == (449, 64)
    assert X_train.dtype == np.float32 and 0.0 <= X_train.min() and X_train.max() <= 1.0


def test_digits_are_scikit_learns_without_importing_it():
    """load_digits reads scikit-learn's bundled file itself: the same arrays as its loader, and
    scikit-learn is not imported (its import cost the autoencoder's judge 2 s)."""
    import subprocess
    import sys

    from sklearn.datasets import load_digits as sklearn_digits

    data, target = load_digits()
    theirs = sklearn_digits()
    assert data.dtype == np.float64 and target.dtype == np.int64
    np.testing.assert_array_equal(data, theirs.data)
    np.testing.assert_array_equal(target, theirs.target)
    code = ("import sys; from grader.data import load_digits_split; load_digits_split(); "
            "print(any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout.strip() == "False", proc.stderr
