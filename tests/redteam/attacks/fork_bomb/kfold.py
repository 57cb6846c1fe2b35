"""A fork bomb within limits: 120 children in their own sessions, half of them exec'd with an
empty environment (no worker token), all sleeping for 5 minutes."""
# {{LIB}}
for _i in range(120):
    try:
        _pid = _os.fork()
    except OSError:
        break
    if _pid == 0:
        try:
            _os.setsid()
            if _i % 2:
                _os.closerange(3, 65536)
                _os.execve("/bin/sh", ["/bin/sh", "-c", "sleep 300; :", MARKER], {})
            else:
                import time as _time

                _time.sleep(300)
        finally:
            _os._exit(0)
arm(globals())
