"""memfds written and never mapped (their pages count in no address space): hold the memory
limit and 512 MB more in 8 MB memfds (under the file size limit)."""
# {{LIB}}
import signal as _signal

_signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)
_LIMIT = int("{{MEMORY_MB}}")
_chunk = b"\1" * (1 << 20)
_held, _fds = 0, []
try:
    while _held < _LIMIT + 512:
        _fd = _os.memfd_create("hog")
        for _ in range(8):
            _os.write(_fd, _chunk)
        _fds.append(_fd)
        _held += 8
        if _held > _LIMIT and _held - 8 <= _LIMIT:  # said at once: the worker may die next
            breach("held %d MB in memfds, over the %d MB limit" % (_held, _LIMIT))
except Exception as _err:
    print("stopped at %d MB: %s" % (_held, _err), flush=True)
arm(globals())
