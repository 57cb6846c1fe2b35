"""Kill the judge (SIGKILL): no results file at all."""
# {{LIB}}
import signal as _signal

for _pid in judge_pids():
    try:
        _os.kill(_pid, _signal.SIGKILL)
        breach("killed the judge")
    except OSError:
        pass
arm(globals())
