"""Leave files in /var/tmp and /dev/shm (a file and a POSIX shared-memory object)."""
# {{LIB}}
for _path in ("/var/tmp/" + MARKER, "/dev/shm/" + MARKER):
    try:
        with open(_path, "w") as _f:
            _f.write("left behind")
    except OSError:
        pass
try:
    import _posixshmem

    _fd = _posixshmem.shm_open("/" + MARKER + "-shm", _os.O_CREAT | _os.O_RDWR, 0o600)
    _os.ftruncate(_fd, 4096)
    _os.close(_fd)
except Exception:
    pass
arm(globals())
