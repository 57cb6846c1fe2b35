"""Read another worker's home (another student's submission graded at the same time): next to
this worker's home, in /tmp/dlgrade-*, and through /proc/<worker>/cwd. (Only the homes the harness
planted for this run are read.)"""
# {{LIB}}
import glob as _glob

_paths = _glob.glob(_os.path.join(_os.path.dirname(_os.getcwd()), "dlgrade-*", "*.py"))
_paths += _glob.glob("/tmp/dlgrade-*/*.py")
for _pid in _os.listdir("/proc"):
    if _pid.isdigit() and "dlgrade-redteam-decoy-{{DECOY}}" in " ".join(_cmdline(_pid)):
        try:
            _paths += _glob.glob(_os.readlink("/proc/%s/cwd" % _pid) + "/*.py")
        except OSError:
            pass
for _path in dict.fromkeys(_paths):
    if "decoy{{DECOY}}" not in _path:
        continue
    try:
        with open(_path) as _f:
            leak("another worker's " + _os.path.basename(_path), _f.read(300))
    except OSError:
        pass
arm(globals())
