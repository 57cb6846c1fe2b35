"""Shared anonymous memory (mmap MAP_SHARED | MAP_ANONYMOUS, every page touched): RLIMIT_DATA
never counted it. Hold the memory limit and 512 MB more."""
# {{LIB}}
import mmap as _mmap

_LIMIT = int("{{MEMORY_MB}}")
_BLOCK = 64
_held, _blocks = 0, []
try:
    while _held < _LIMIT + 512:
        _b = _mmap.mmap(-1, _BLOCK << 20, flags=_mmap.MAP_SHARED | _mmap.MAP_ANONYMOUS)
        _b[::4096] = b"\1" * ((_BLOCK << 20) // 4096)  # a byte in every page: all of it is held
        _blocks.append(_b)
        _held += _BLOCK
        if _held > _LIMIT and _held - _BLOCK <= _LIMIT:  # said at once: the worker may die next
            breach("held %d MB of shared memory, over the %d MB limit" % (_held, _LIMIT))
except Exception as _err:
    print("stopped at %d MB: %s" % (_held, _err), flush=True)
arm(globals())
