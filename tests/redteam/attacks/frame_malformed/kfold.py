"""Answer on the worker's answer pipe with malformed frames, a different one per call: unknown
tags, a 100 000-digit bigint, a pickled object array whose unpickling would run a command,
unhashable keys, wrong types everywhere, invalid UTF-8, a non-object, an absurd length."""
# {{LIB}}
import base64 as _b64
import io as _io
import zlib as _zlib

import numpy as _np


class _Pwn:
    def __reduce__(self):
        return (_os.system, ("touch /tmp/" + MARKER + "-unpickled",))


def _npy(arr, allow_pickle=False):
    buf = _io.BytesIO()
    _np.save(buf, arr, allow_pickle=allow_pickle)
    return _b64.b64encode(buf.getvalue()).decode()


_objects = _np.empty(2, dtype=object)
_objects[:] = [_Pwn(), _Pwn()]
_big_header = _io.BytesIO()
_np.lib.format.write_array_header_1_0(_big_header, {"descr": "<f8", "fortran_order": False,
                                                     "shape": (10 ** 12,)})
_FRAMES = [
    b'{"ok":true,"value":{"$t":"nosuchtag"}}',
    b'{"ok":true,"value":{"$t":"bigint","v":"' + b"9" * 100_000 + b'"}}',
    b'{"ok":true,"value":{"$t":"ndarray","npy":"' + _npy(_objects, True).encode() + b'"}}',
    b'{"ok":true,"value":{"$t":"dict","v":[[[1,2],3]]}}',
    b'{"ok":true,"value":{"$t":"tuple","v":5}}',
    b'{"ok":false,"exc_type":{"x":1},"exc_mro":"notalist","message":["a"],"traceback":7}',
    b'{"ok":true}',
    b'{"ok":true,"value":"\xff\xfe"}',
    b'[1,2,3]',
    b'{"ok":true,"value":{"$t":"float","v":"1e999999"}}',
    b'{"ok":true,"value":{"$t":"npscalar","npy":"' + _b64.b64encode(_big_header.getvalue()) + b'"}}',
    b'{"ok":true,"value":{"$t":"tensor","npy":null,"requires_grad":"yes"}}',
    b'{"missing":{"not":"a string"}}',
    b'{"ok":false,"exc_type":"NotImplementedError","message":"' + b"m" * 1_000_000 + b'"}',
]
_calls = [0]


def kfold_indices(*args, **kwargs):
    i = (_calls[0] + _zlib.crc32(repr((args, kwargs)).encode())) % (len(_FRAMES) + 1)
    _calls[0] += 1
    if i == len(_FRAMES):  # a header announcing 2**62 bytes
        fd = answer_fd()
        if fd is not None:
            _os.write(fd, (1 << 62).to_bytes(8, "big"))
    else:
        send_frame(_FRAMES[i])
    raise NotImplementedError("kfold: implement kfold_indices")


iterated_kfold_indices = kfold_indices
