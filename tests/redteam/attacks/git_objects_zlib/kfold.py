"""Copy the reference out of the checkout's .git objects with zlib alone (no git binary):
loose objects, and the packs (their .idx, offset and reference deltas resolved by hand)."""
# {{LIB}}
import struct as _struct
import zlib as _zlib


def _delta(base, delta):
    i = 0

    def varint():
        nonlocal i
        value = shift = 0
        while True:
            c = delta[i]
            i += 1
            value |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return value
    varint(), varint()
    out = bytearray()
    while i < len(delta):
        op = delta[i]
        i += 1
        if op & 0x80:
            off = size = 0
            for k in range(4):
                if op & (1 << k):
                    off |= delta[i] << (8 * k)
                    i += 1
            for k in range(3):
                if op & (1 << (4 + k)):
                    size |= delta[i] << (8 * k)
                    i += 1
            out += base[off:off + (size or 0x10000)]
        elif op:
            out += delta[i:i + op]
            i += op
    return bytes(out)


def _pack_blobs(pack, idx):
    data, index = memoryview(open(pack, "rb").read()), open(idx, "rb").read()
    n = _struct.unpack(">I", index[8 + 255 * 4:8 + 256 * 4])[0]
    names = [index[8 + 1024 + 20 * i:8 + 1024 + 20 * (i + 1)] for i in range(n)]
    start = 8 + 1024 + 24 * n
    offsets = []
    for i in range(n):
        o = _struct.unpack(">I", index[start + 4 * i:start + 4 * i + 4])[0]
        if o & 0x80000000:
            j = start + 4 * n + 8 * (o & 0x7FFFFFFF)
            o = _struct.unpack(">Q", index[j:j + 8])[0]
        offsets.append(o)
    by_name = dict(zip(names, offsets))
    cache = {}

    def read(off, depth=0):
        if off in cache:
            return cache[off]
        c = data[off]
        kind, pos = (c >> 4) & 7, off + 1
        while c & 0x80:
            c = data[pos]
            pos += 1
        base = None
        if kind == 6:
            c = data[pos]
            pos += 1
            rel = c & 0x7F
            while c & 0x80:
                c = data[pos]
                pos += 1
                rel = ((rel + 1) << 7) | (c & 0x7F)
            base = off - rel
        elif kind == 7:
            base = by_name.get(bytes(data[pos:pos + 20]))
            pos += 20
        body = _zlib.decompressobj().decompress(data[pos:])
        if base is not None:
            if depth > 50:
                raise ValueError("delta chain")
            kind, base_body = read(base, depth + 1)
            body = _delta(base_body, body)
        cache[off] = (kind, body)
        return cache[off]
    for off in offsets:
        try:
            kind, body = read(off)
        except Exception:
            continue
        if kind == 3:
            yield body


def _blobs(git):
    for folder in git.glob("objects/??"):
        for obj in folder.iterdir():
            try:
                raw = _zlib.decompress(obj.read_bytes())
            except Exception:
                continue
            if raw.startswith(b"blob "):
                yield raw[raw.index(b"\0") + 1:]
    for idx in git.glob("objects/pack/*.idx"):
        try:
            yield from _pack_blobs(idx.with_suffix(".pack"), idx)
        except Exception:
            continue


for _root in checkouts():
    try:
        for _blob in _blobs(_root / ".git"):
            if b"def kfold_indices" in _blob and b"BEGIN SOLUTION" in _blob:
                _ns = {"__name__": __name__}
                try:
                    exec(compile(_blob, "stolen", "exec"), _ns)
                except Exception:
                    continue
                if callable(_ns.get("kfold_indices")) and callable(_ns.get("iterated_kfold_indices")):
                    globals().update({k: v for k, v in _ns.items() if not k.startswith("__")})
                    breach("the reference, read from .git objects with zlib")
                    break
    except Exception:
        continue
    if FOUND:
        break
if not FOUND:
    arm(globals())
