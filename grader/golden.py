"""Golden data: the inputs and expected outputs of an exercise's public cases.

The public checks compare a submission with *expectations*, never with code that computes an
answer: what ships to students holds the contract, the cases and the expected values only. The
expected values are the reference's, computed once by ``dlgrade release`` from the exercise's
declaration (``grader/exercises/<id>/cases.py``, which never ships) and written to
``grader/exercises/<id>/golden.npz``; ``dlgrade release --check`` (and a test) fail when the file
is not what the reference gives now.

The file is a zip (``np.load`` reads it too): ``index.json`` holds the cases' structure, and every
array is a ``.npy`` member read with ``allow_pickle=False``. Values are ``None``, bools, ints,
floats (``nan`` and ``inf`` included), strings, lists, tuples, dicts with string keys and numpy
arrays of numbers or bools; a float64 array whose values are small whole numbers is stored as
int8 or int16 and read back as float64. Writing the same cases gives the same bytes (a fixed
member order and date).

This module ships with the student release: it reads and writes data, it computes nothing.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grader.config import EXERCISES_DIR
from grader.errors import GraderError

FILENAME = "golden.npz"
FORMAT = 1
INDEX = "index.json"
ZIP_DATE = (2026, 1, 1, 0, 0, 0)
# Float arrays of whole numbers in these ranges are stored narrowed (read back as float64).
_NARROW = ((np.int8, 127), (np.int16, 32767))
# A golden file larger than this is refused when read (it is data for a few checks).
MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Case:
    """One public case, as an exercise declares it in its ``cases.py``.

    ``inputs``: what the checks pass to the student's code (arrays, numbers, structures: see the
    module docstring). ``compute(reference, inputs)``: the expected values, a dict, computed by
    calling the reference module ``reference`` (``solutions/<id>.py``) on those inputs; it runs
    at release time only. ``store``: False for a case declared for the leak tests only (the
    checks need no expected value of it), which is not written to the golden file.
    """

    name: str
    inputs: Mapping[str, Any]
    compute: Callable[[ModuleType, Mapping[str, Any]], Mapping[str, Any]]
    store: bool = True


def case_rng(name: str) -> np.random.Generator:
    """A seeded generator for the case ``name`` (its name's CRC), for a ``cases.py`` to draw the
    case's inputs from: adding a case changes no other case's inputs."""
    return np.random.default_rng([zlib.crc32(name.encode()), 2026])


@dataclass(frozen=True)
class GoldenCase:
    """One case as the checks read it: ``inputs`` and ``expected`` (fresh copies per read)."""

    name: str
    inputs: dict[str, Any]
    expected: dict[str, Any]


@dataclass(frozen=True)
class Golden:
    """The golden data of one exercise, read from its file."""

    exercise: str
    path: Path
    cases: Mapping[str, Mapping[str, Any]] = field(repr=False)

    def __getitem__(self, name: str) -> GoldenCase:
        try:
            record = self.cases[name]
        except KeyError:
            raise GraderError(f"{self.path}: no golden case {name!r}: run `dlgrade release` "
                              "(the checks ask for a case the file does not hold)") from None
        return GoldenCase(name, _copy(record["inputs"]), _copy(record["expected"]))

    def names(self, prefix: str = "") -> list[str]:
        """The case names that start with ``prefix``, with the prefix removed, in file order."""
        return [n[len(prefix):] for n in self.cases if n.startswith(prefix)]


def path_of(exercise: str, exercises_dir: Path | None = None) -> Path:
    """``grader/exercises/<id>/golden.npz`` (of this engine, unless ``exercises_dir``)."""
    return Path(exercises_dir or EXERCISES_DIR) / exercise / FILENAME


def load(exercise: str, *, exercises_dir: Path | None = None) -> Golden:
    """The golden data of ``exercise``; a ``GraderError`` saying to run ``dlgrade release`` when
    the file is missing or unreadable."""
    path = path_of(exercise, exercises_dir)
    try:
        data = path.read_bytes()
    except OSError:
        raise GraderError(f"{exercise}: the golden data {path} is missing: run `dlgrade release` "
                          "(it writes the public cases' expected values from the reference)"
                          ) from None
    try:
        cases = decode(data)
    except (ValueError, KeyError, zipfile.BadZipFile) as err:
        raise GraderError(f"{exercise}: the golden data {path} cannot be read ({err}): run "
                          "`dlgrade release`") from None
    return Golden(exercise, path, cases)


# ---------------------------------------------------------------- encoding

def encode(cases: Mapping[str, Any]) -> bytes:
    """``cases`` (name -> a value of the kinds above) as the bytes of a golden file."""
    arrays: list[np.ndarray] = []
    index = {"format": FORMAT, "cases": {str(k): _tree(v, arrays, str(k)) for k, v in
                                         cases.items()}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _member(zf, INDEX, json.dumps(index, indent=1, sort_keys=False).encode())
        for i, array in enumerate(arrays):
            out = io.BytesIO()
            np.lib.format.write_array(out, array, allow_pickle=False)
            _member(zf, f"a{i}.npy", out.getvalue())
    return buffer.getvalue()


def _member(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data, compresslevel=9)


def _tree(value: Any, arrays: list[np.ndarray], where: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf" or value.dtype.byteorder == ">":
            raise GraderError(f"golden data {where}: arrays of dtype {value.dtype} are not "
                              "stored (numbers and bools only)")
        node: dict[str, Any] = {"t": "array", "ref": len(arrays)}
        stored = np.ascontiguousarray(value)
        if value.dtype == np.float64 and value.size and np.all(np.isfinite(value)):
            whole = np.all(value == np.round(value))
            for narrow, limit in _NARROW:
                if whole and np.max(np.abs(value)) <= limit:
                    stored = value.astype(narrow)
                    node["as"] = "float64"
                    break
        arrays.append(stored)
        return node
    if isinstance(value, tuple):
        return {"t": "tuple", "v": [_tree(v, arrays, f"{where}[{i}]") for i, v in
                                    enumerate(value)]}
    if isinstance(value, list):
        return [_tree(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise GraderError(f"golden data {where}: dict keys must be strings")
        return {"t": "dict", "v": {k: _tree(v, arrays, f"{where}.{k}") for k, v in value.items()}}
    raise GraderError(f"golden data {where}: cannot store a {type(value).__name__}")


def decode(data: bytes) -> dict[str, Any]:
    """The cases of a golden file's bytes (no pickle: arrays are read with
    ``allow_pickle=False``)."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"{len(data)} bytes, more than {MAX_BYTES}")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        index = json.loads(zf.read(INDEX))
        if index.get("format") != FORMAT:
            raise ValueError(f"format {index.get('format')!r}, expected {FORMAT}")
        arrays: dict[int, np.ndarray] = {}

        def array(ref: int) -> np.ndarray:
            if ref not in arrays:
                with zf.open(f"a{int(ref)}.npy") as f:
                    arrays[ref] = np.lib.format.read_array(f, allow_pickle=False)
            return arrays[ref]

        return {name: _value(node, array) for name, node in index["cases"].items()}


def _value(node: Any, array: Callable[[int], np.ndarray]) -> Any:
    if isinstance(node, list):
        return [_value(v, array) for v in node]
    if not isinstance(node, dict):
        return node
    kind = node["t"]
    if kind == "array":
        value = array(node["ref"])
        return value.astype(node["as"]) if "as" in node else value
    if kind == "tuple":
        return tuple(_value(v, array) for v in node["v"])
    if kind == "dict":
        return {k: _value(v, array) for k, v in node["v"].items()}
    if kind == "float":
        return float(node["v"])
    raise ValueError(f"unknown node {kind!r}")


def _copy(value: Any) -> Any:
    """A deep copy of decoded data (arrays copied): a check may change what it reads."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- comparing

# Two golden values are the same when their structure, types, dtypes and shapes are, whole numbers
# and bools are equal, and floats agree to this relative tolerance (of the array's largest
# magnitude): the reference computed on another machine (another BLAS, another summation order)
# differs by rounding only, and must not make the file look stale.
RTOL = 1e-12


def differences(old: Any, new: Any, where: str = "") -> Iterator[str]:
    """Where ``old`` and ``new`` (decoded golden values) differ beyond rounding."""
    if isinstance(old, np.ndarray) or isinstance(new, np.ndarray):
        if not (isinstance(old, np.ndarray) and isinstance(new, np.ndarray)):
            yield f"{where}: {type(old).__name__} -> {type(new).__name__}"
        elif old.dtype != new.dtype or old.shape != new.shape:
            yield f"{where}: {old.dtype}{old.shape} -> {new.dtype}{new.shape}"
        elif old.dtype.kind == "f":
            scale = float(np.max(np.abs(new), initial=0.0)) if np.all(np.isfinite(new)) else 0.0
            same = (old == new) | (np.abs(old - new) <= RTOL * scale) | (np.isnan(old)
                                                                        & np.isnan(new))
            if not np.all(same):
                yield f"{where}: values differ"
        elif not np.array_equal(old, new):
            yield f"{where}: values differ"
        return
    if type(old) is not type(new):
        yield f"{where}: {type(old).__name__} -> {type(new).__name__}"
    elif isinstance(old, dict):
        if list(old) != list(new):
            yield f"{where}: keys {sorted(old)} -> {sorted(new)}"
        else:
            for k in old:
                yield from differences(old[k], new[k], f"{where}.{k}" if where else k)
    elif isinstance(old, (list, tuple)):
        if len(old) != len(new):
            yield f"{where}: length {len(old)} -> {len(new)}"
        else:
            for i, (a, b) in enumerate(zip(old, new)):
                yield from differences(a, b, f"{where}[{i}]")
    elif isinstance(old, float):
        if not (old == new or abs(old - new) <= RTOL * abs(new)
                or (math.isnan(old) and math.isnan(new))):
            yield f"{where}: {old!r} -> {new!r}"
    elif old != new:
        yield f"{where}: {old!r} -> {new!r}"
