"""The boundary format: round trips, and nothing executable ever decodes."""

from __future__ import annotations

import base64
import io
import math

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
