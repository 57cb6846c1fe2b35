"""Stop the judge (SIGSTOP): grading stalls until someone notices."""
# {{LIB}}
import signal as _signal

for _pid in judge_pids():
    try:
        _os.kill(_pid, _signal.SIGSTOP)
        breach("stopped the judge")
    except OSError:
        pass
arm(globals())
