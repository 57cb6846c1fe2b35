"""Kill other workers (other students' gradings on the same machine). (Only the decoy worker
the harness started is signalled.)"""
# {{LIB}}
import signal as _signal

for _pid in _os.listdir("/proc"):
    if _pid.isdigit() and int(_pid) != _os.getpid() and \
            "dlgrade-redteam-decoy-{{DECOY}}" in " ".join(_cmdline(_pid)):
        try:
            _os.kill(int(_pid), _signal.SIGKILL)
            breach("killed another worker")
        except OSError:
            pass
arm(globals())
