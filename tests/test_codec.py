"""The boundary format: round trips, and nothing executable ever decodes."""

from __future__ import annotations

import base64
import io
import math
import re

import numpy as np
import pytest
import torch

from grader.sandbox import codec


def roundtrip(value):
    return codec.loads(codec.dumps(value))


def test_plain_values_round_trip():
    value = {"a": [1, 2.5, None, True, "s"], 3: (1, (2,)), "big": 2**70}
    assert roundtrip(value) == value
    assert type(roundtrip((1, 2))) is tuple


def test_nan_and_inf_survive():
    out = roundtrip([float("nan"), float("inf"), -float("inf")])
    assert math.isnan(out[0]) and out[1:] == [float("inf"), -float("inf")]


def test_arrays_scalars_and_tensors():
    arr = np.arange(6, dtype=np.int32).reshape(2, 3)
    out = roundtrip({"a": arr, "s": np.float32(1.5), "t": torch.ones(2, requires_grad=True)})
    assert out["a"].dtype == np.int32 and (out["a"] == arr).all()
    assert isinstance(out["s"], np.float32)
    assert isinstance(out["t"], torch.Tensor) and out["t"].tolist() == [1.0, 1.0]


def test_unknown_objects_become_opaque_descriptions():
    out = roundtrip([(i for i in range(3)), object(), np.array([object()], dtype=object)])
    assert [type(o) for o in out] == [codec.Opaque] * 3
    assert out[0].type_name == "generator"
    assert "dtype object" in out[2].text


def test_object_arrays_in_a_payload_are_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    tree = {"$t": "ndarray", "npy": base64.b64encode(buf.getvalue()).decode()}
    with pytest.raises(codec.DecodeError, match="bad array payload"):
        codec.decode(tree)


@pytest.mark.parametrize("payload", [b"not json", b'{"$t": "pickle"}', b'{"$t": "float", "v": "1e999x"}',
                                     b'{"$t": "dict", "v": [[[1], 2]]}'])
def test_malformed_payloads_raise_decode_error(payload):
    with pytest.raises(codec.DecodeError):
        codec.loads(payload)


def npy(array: np.ndarray, **save) -> str:
    buf = io.BytesIO()
    np.save(buf, array, **save)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize("tree, message", [
    ({"$t": "bigint", "v": "12x"}, "bad bigint"),
    ({"$t": "bigint", "v": " 1_0"}, "bad bigint"),
    ({"$t": "bigint", "v": ["1"]}, "bad bigint"),
    ({"$t": "bigint", "v": "9" * 5000}, "bigint of more than"),
    ({"$t": "dict", "v": [[[1], 2]]}, "unhashable dict key of type list"),
    ({"$t": "dict", "v": [[{"$t": "dict", "v": []}, 2]]}, "unhashable dict key of type dict"),
    ({"$t": "dict", "v": "ab"}, "expected a list"),
    ({"$t": "dict", "v": [[1, 2, 3]]}, "bad dict item"),
    ({"$t": "tuple", "v": {"a": 1}}, "expected a list"),
    ({"$t": "float", "v": ["nan"]}, "bad float"),
    ({"$t": "opaque", "type": ["x"], "text": "y"}, "bad opaque value"),
    ({"$t": ["tuple"], "v": []}, "unknown tag"),
    ({"v": 1}, "unknown tag 'None'"),
    ({"$t": "ndarray", "npy": 5}, "array payload missing"),
    ({"$t": "ndarray", "npy": "!!!"}, "bad array payload"),
    ({"$t": "ndarray", "npy": base64.b64encode(b"\x93NUMPY\x09\x00").decode()}, "unsupported"),
    ({"$t": "npscalar", "npy": npy(np.arange(3))}, "a numpy scalar of shape (3,)"),
])
def test_every_malformed_tree_raises_decode_error(tree, message):
    with pytest.raises(codec.DecodeError, match=re.escape(message)):
        codec.decode(tree)


def test_trees_too_deep_raise_decode_error_not_recursion_error():
    tree = []
    for _ in range(100_000):
        tree = [tree]
    with pytest.raises(codec.DecodeError, match="nested too deeply"):
        codec.decode(tree)


@pytest.mark.parametrize("array", [np.array(["a", "bc"]), np.array([b"a"]),
                                   np.array(["2024-01-01"], dtype="datetime64[D]"),
                                   np.array([1], dtype="timedelta64[s]"),
                                   np.zeros(2, dtype=[("a", "i4"), ("b", "f8")]),
                                   np.zeros(2, dtype="V4")])
def test_arrays_that_are_not_numbers_are_refused_naming_their_dtype(array):
    with pytest.raises(codec.DecodeError, match=re.escape(f"an array of dtype {array.dtype}")):
        codec.decode({"$t": "ndarray", "npy": npy(array)})
    # and the encoder describes them instead of sending them
    assert isinstance(roundtrip(array), codec.Opaque)


def test_a_header_declaring_more_than_its_data_is_refused_without_allocating():
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10**12, 10**6)})
    tree = {"$t": "ndarray", "npy": base64.b64encode(header.getvalue() + b"\0" * 8).decode()}
    with pytest.raises(codec.DecodeError, match=r"\(8\d{18} bytes\) but it holds 8 bytes"):
        codec.decode(tree)
    tree["npy"] = npy(np.arange(4.0))[:-8]  # cut short
    with pytest.raises(codec.DecodeError):
        codec.decode(tree)


@pytest.mark.parametrize("array", [np.arange(6, dtype=">i4").reshape(2, 3),
                                   np.asfortranarray(np.arange(6.0).reshape(2, 3)),
                                   np.array([True, False]), np.array([1 + 2j]),
                                   np.zeros((0, 3), dtype=np.float16), np.uint8(7)])
def test_numeric_arrays_round_trip_writable_in_native_byte_order(array):
    out = roundtrip(array)
    assert out.dtype == array.dtype.newbyteorder("=") and np.array_equal(out, array)
    if isinstance(out, np.ndarray):
        assert out.flags.writeable and out.dtype.isnative


def test_ints_too_long_to_print_cross_as_opaque():
    out = roundtrip(10**5000)
    assert isinstance(out, codec.Opaque) and "int of" in out.text
    assert roundtrip(-(2**100)) == -(2**100)
