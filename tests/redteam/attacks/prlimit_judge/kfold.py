"""Lower the judge's resource limits with prlimit(2): a file size limit of 0 kills it when it
writes the results; a small open-files limit stops it opening them."""
# {{LIB}}
import resource as _resource

for _pid in judge_pids():
    try:
        _resource.prlimit(_pid, _resource.RLIMIT_FSIZE, (0, 0))
        breach("set the judge's RLIMIT_FSIZE to 0")
    except (OSError, ValueError):
        pass
    try:
        _resource.prlimit(_pid, _resource.RLIMIT_NOFILE, (8, 8))
        breach("set the judge's RLIMIT_NOFILE to 8")
    except (OSError, ValueError):
        pass
arm(globals())
