"""The only format that crosses the sandbox boundary: JSON with arrays as ``.npy`` bytes.

Used on both sides. Decoding never runs code: arrays are read with ``allow_pickle=False`` (object
arrays are refused), containers are rebuilt from explicit tags, and anything the encoder does not
know becomes an :class:`Opaque` description instead of a live object.

Supported: None, bool, int, float (NaN/inf too), str, list, tuple, dict (keys: str/int/float/bool/
None/tuple), numpy arrays and scalars, torch tensors (decoded as ``torch.Tensor``).
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_DEPTH = 64


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
    except (ValueError, UnicodeDecodeError) as err:
        raise DecodeError(f"not JSON: {err}") from None
    return decode(tree)


def encode(value: Any, depth: int = 0) -> Any:
    """A JSON-able tree for ``value`` (runs in the worker; never raises for odd values)."""
    if depth > MAX_DEPTH:
        return _opaque(value, "nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else {"$t": "bigint", "v": str(value)}
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
    if arr.dtype.hasobject or arr.dtype.kind == "V":
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


def decode(tree: Any, depth: int = 0) -> Any:
    """Rebuild a value from :func:`encode`'s tree (runs in the judge; raises DecodeError)."""
    if depth > MAX_DEPTH + 2:
        raise DecodeError("nested too deeply")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):
        return [decode(v, depth + 1) for v in tree]
    if not isinstance(tree, dict):
        raise DecodeError(f"unexpected {type(tree).__name__}")
    tag = tree.get("$t")
    if tag == "tuple":
        return tuple(decode(v, depth + 1) for v in _list(tree.get("v")))
    if tag == "dict":
        out = {}
        for pair in _list(tree.get("v")):
            if not isinstance(pair, list) or len(pair) != 2:
                raise DecodeError("bad dict item")
            key = decode(pair[0], depth + 1)
            try:
                out[key] = decode(pair[1], depth + 1)
            except TypeError:
                raise DecodeError("unhashable dict key") from None
        return out
    if tag == "float":
        text = tree.get("v")
        if text not in ("nan", "inf", "-inf"):
            raise DecodeError("bad float")
        return float(text)
    if tag == "bigint":
        return int(str(tree.get("v")))
    if tag in ("ndarray", "npscalar", "tensor"):
        arr = _load_npy(tree.get("npy"))
        if tag == "npscalar":
            return arr[()]
        if tag == "tensor":
            import torch

            return torch.from_numpy(arr.copy())
        return arr
    if tag == "opaque":
        return Opaque(str(tree.get("type"))[:200], str(tree.get("text"))[:300])
    raise DecodeError(f"unknown tag {tag!r}")


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise DecodeError("expected a list")
    return value


def _load_npy(text: Any) -> np.ndarray:
    if not isinstance(text, str):
        raise DecodeError("array payload missing")
    try:
        raw = base64.b64decode(text, validate=True)
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as err:
        raise DecodeError(f"bad array payload: {err}") from None
