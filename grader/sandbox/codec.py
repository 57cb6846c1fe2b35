"""The only format that crosses the sandbox boundary: JSON with arrays as ``.npy`` bytes.

Used on both sides. Decoding never runs code: arrays are read from their ``.npy`` header and
bytes (never pickled objects), containers are rebuilt from explicit tags, and anything the
encoder does not know becomes an :class:`Opaque` description instead of a live object. The judge
decodes what submission code sent, so every malformed tree raises :class:`DecodeError`.

Supported: None, bool, int, float (NaN/inf too), str, list, tuple, dict (keys: str/int/float/bool/
None/tuple), numpy arrays and scalars and torch tensors of numbers or booleans (decoded as
``torch.Tensor``); arrays of strings, dates or objects travel as :class:`Opaque`.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib import format as npformat

MAX_DEPTH = 64
# dtype kinds that cross the boundary: bool, signed and unsigned integers, floats, complex
NUMERIC_KINDS = "biufc"


@dataclass(frozen=True)
class Opaque:
    """A value that cannot cross the boundary, described by its type name and a short repr."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


class DecodeError(ValueError):
    """The payload is not well-formed codec data."""


def dumps(value: Any) -> bytes:
    return json.dumps(encode(value), allow_nan=True, separators=(",", ":")).encode()


def loads(payload: bytes) -> Any:
    try:
        tree = json.loads(payload)
    except (ValueError, RecursionError) as err:
        raise DecodeError(f"not JSON: {err}") from None
    return decode(tree)


def encode(value: Any, depth: int = 0) -> Any:
    """A JSON-able tree for ``value`` (runs in the worker; never raises for odd values)."""
    if depth > MAX_DEPTH:
        return _opaque(value, "nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if abs(value) < 2**63:
            return value
        try:
            return {"$t": "bigint", "v": str(value)}
        except ValueError:  # more digits than sys.get_int_max_str_digits()
            return _opaque(value, f"int of {value.bit_length()} bits")
    if isinstance(value, float):
        return {"$t": "float", "v": repr(value)} if value != value or value in _INF else value
    if type(value) is list:
        return [encode(v, depth + 1) for v in value]
    if type(value) is tuple:
        return {"$t": "tuple", "v": [encode(v, depth + 1) for v in value]}
    if type(value) is dict:
        return {"$t": "dict", "v": [[encode(k, depth + 1), encode(v, depth + 1)]
                                    for k, v in value.items()]}
    if isinstance(value, np.ndarray) and type(value) is np.ndarray:
        return _array("ndarray", value)
    if isinstance(value, np.generic):
        return _array("npscalar", np.asarray(value))
    if type(value).__module__.startswith("torch") and type(value).__name__ in ("Tensor", "Parameter"):
        return _tensor(value)
    return _opaque(value)


_INF = (float("inf"), float("-inf"))


def _array(tag: str, arr: np.ndarray) -> Any:
    if arr.dtype.kind not in NUMERIC_KINDS:  # strings, dates, objects: decode refuses them
        return _opaque(arr, f"array of dtype {arr.dtype}")
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return {"$t": tag, "npy": base64.b64encode(buf.getvalue()).decode()}


def _tensor(tensor: Any) -> Any:
    try:
        t = tensor.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        out = _array("tensor", t.numpy())
        if isinstance(out, dict):
            out["requires_grad"] = bool(tensor.requires_grad)
        return out
    except Exception as err:  # a tensor subclass, a meta tensor...
        return _opaque(tensor, f"tensor that cannot be read: {err}")


def _opaque(value: Any, text: str | None = None) -> dict:
    cls = type(value)
    name = cls.__name__ if cls.__module__ in ("builtins", None) else f"{cls.__module__}.{cls.__name__}"
    if text is None:
        try:
            text = repr(value)
        except Exception:
            text = "(repr failed)"
    return {"$t": "opaque", "type": str(name)[:200], "text": str(text)[:300]}


def decode(tree: Any) -> Any:
    """Rebuild a value from :func:`encode`'s tree (runs in the judge).

    Any tree :func:`encode` did not make raises :class:`DecodeError` and nothing else: unknown
    or malformed tags, arrays of dtypes other than bool, integers, floats and complex numbers,
    ``.npy`` headers that do not match their data, trees too deep to rebuild.
    """
    try:
        return _decode(tree, 0)
    except (RecursionError, MemoryError, OverflowError) as err:
        raise DecodeError(f"cannot be rebuilt ({type(err).__name__})") from None


def _decode(tree: Any, depth: int) -> Any:
    if depth > MAX_DEPTH + 2:
        raise DecodeError("nested too deeply")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):
        return [_decode(v, depth + 1) for v in tree]
    if not isinstance(tree, dict):
        raise DecodeError(f"unexpected {type(tree).__name__}")
    tag = tree.get("$t")
    if tag == "tuple":
        return tuple(_decode(v, depth + 1) for v in _list(tree.get("v")))
    if tag == "dict":
        return _dict(_list(tree.get("v")), depth)
    if tag == "float":
        text = tree.get("v")
        if not isinstance(text, str) or text not in ("nan", "inf", "-inf"):
            raise DecodeError("bad float")
        return float(text)
    if tag == "bigint":
        return _bigint(tree.get("v"))
    if tag in ("ndarray", "npscalar", "tensor"):
        return _arraylike(tag, _load_npy(tree.get("npy")))
    if tag == "opaque":
        name, text = tree.get("type"), tree.get("text")
        if not isinstance(name, str) or not isinstance(text, str):
            raise DecodeError("bad opaque value")
        return Opaque(name[:200], text[:300])
    raise DecodeError(f"unknown tag {str(tag)[:40]!r}")


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise DecodeError("expected a list")
    return value


def _dict(pairs: list, depth: int) -> dict:
    out = {}
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            raise DecodeError("bad dict item")
        key = _decode(pair[0], depth + 1)
        try:
            hash(key)
        except TypeError:
            raise DecodeError(f"unhashable dict key of type {type(key).__name__}") from None
        out[key] = _decode(pair[1], depth + 1)
    return out


_BIGINT = re.compile(r"-?[0-9]+")


def _bigint(text: Any) -> int:
    # int() alone would accept " 1_0 ", "+5" and other digits than 0-9, and raise ValueError
    # past sys.get_int_max_str_digits()
    if not isinstance(text, str) or not _BIGINT.fullmatch(text):
        raise DecodeError("bad bigint")
    if len(text.lstrip("-")) > _max_digits():
        raise DecodeError(f"bigint of more than {_max_digits()} digits")
    return int(text)


def _max_digits() -> int:
    return sys.get_int_max_str_digits() or 1_000_000


def _arraylike(tag: str, arr: np.ndarray) -> Any:
    if tag == "npscalar":
        if arr.ndim != 0:
            raise DecodeError(f"a numpy scalar of shape {arr.shape}")
        return arr[()]
    if tag == "tensor":
        import torch

        try:
            return torch.from_numpy(arr)
        except (TypeError, ValueError) as err:  # a dtype torch has no tensor of
            raise DecodeError(f"no tensor of dtype {arr.dtype}: {err}") from None
    return arr


def _load_npy(text: Any) -> np.ndarray:
    """The array in base64 ``.npy`` text: a numeric dtype, a header that matches its data.

    Read by hand rather than with ``np.load``, which allocates the shape the header declares
    before it finds the data missing.
    """
    if not isinstance(text, str):
        raise DecodeError("array payload missing")
    try:
        raw = base64.b64decode(text, validate=True)
        stream = io.BytesIO(raw)
        version = npformat.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = npformat.read_array_header_2_0(stream)
        else:
            raise DecodeError(f"unsupported .npy version {version}")
    except DecodeError:
        raise
    except Exception as err:  # binascii.Error, ValueError, SyntaxError from the header...
        raise DecodeError(f"bad array payload: {err}") from None
    if dtype.kind not in NUMERIC_KINDS:
        raise DecodeError(f"bad array payload: an array of dtype {dtype} (only numbers and "
                          "booleans can be graded)")
    if any(d < 0 for d in shape):
        raise DecodeError(f"bad array payload: shape {shape}")
    expected, held = math.prod(shape) * dtype.itemsize, len(raw) - stream.tell()
    if expected != held:
        raise DecodeError(f"bad array payload: its header says shape {shape} of {dtype} "
                          f"({expected} bytes) but it holds {held} bytes")
    try:
        flat = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=stream.tell())
        # a writable copy in the machine's byte order, as np.load would give
        return flat.reshape(shape, order="F" if fortran else "C").astype(
            dtype.newbyteorder("="), order="K")
    except ValueError as err:  # more dimensions than numpy allows, ...
        raise DecodeError(f"bad array payload: {err}") from None
