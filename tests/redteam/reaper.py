"""Run judges as a child subreaper and report what they left behind.

Started by :mod:`tests.redteam.harness` (as root) with a JSON spec on stdin; prints a JSON
report on stdout. Because this process is a *child subreaper* (``PR_SET_CHILD_SUBREAPER``),
every process a judge or its workers start, however it detaches (``setsid``, double fork, an
empty environment), is re-parented here when its parent dies: after the judge exits, whatever
is still in this process's tree was left behind by that grading run, whoever else shares the
machine. Processes elsewhere that carry an attack's marker in their command line or environment
are reported too.

Spec::

    {"runs": [{"argv": [...], "cwd": str, "env": {...}, "stdout": path, "stderr": path,
               "timeout": seconds, "files": [paths to hash at exit]}, ...],
     "markers": [str, ...],          # leftover processes carrying one of these are reported
     "watch_s": seconds,             # hash run 0's files again this long after it exited
     "linger_s": seconds,            # look again this long after run 0 when something was left
     "scan_uids": [[first, last], ...], "ignore_pids": [...],
     "others_file": path,             # pids of other lanes' reapers, one a line
     "keyring": {"name": str, "payload": str, "owner": uid}}  # optional: see judge_keyring

The first run is the attack; later runs (a correct submission graded right after, say) start
while whatever the attack left is still alive. At the end everything in this process's tree and
every marked process is killed and reaped; processes of other users or trees are only reported.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def _stat(pid: str) -> tuple[int, str, int] | None:
    """(ppid, state, starttime) of ``pid``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    return int(rest[1]), rest[0], int(rest[19])


def _uid(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _read(path: str, limit: int = 1 << 20) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return b""


def _cmdline(pid: str) -> str:
    return _read(f"/proc/{pid}/cmdline", 4096).replace(b"\0", b" ").decode(errors="replace")


def processes() -> dict[str, tuple[int, str, int]]:
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(name)
            if st is not None:
                out[name] = st
    return out


def descendants(table: dict[str, tuple[int, str, int]], root: int) -> list[str]:
    children: dict[int, list[str]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(int(child))
    return out


def describe(pid: str) -> dict:
    st = _stat(pid)
    return {"pid": int(pid), "uid": _uid(pid), "state": st[1] if st else "?",
            "cmdline": _cmdline(pid)[:300]}


def live_tree() -> list[str]:
    table = processes()
    return [p for p in descendants(table, os.getpid()) if table[p][1] not in ("Z", "X")]


def marked(markers: list[str]) -> list[str]:
    if not markers:
        return []
    needles = [m.encode() for m in markers]
    out = []
    for pid, (_, state, _) in processes().items():
        if int(pid) == os.getpid() or state in ("Z", "X"):
            continue
        blob = _read(f"/proc/{pid}/cmdline", 1 << 16) + b"\0" + _read(f"/proc/{pid}/environ")
        if any(n in blob for n in needles):
            out.append(pid)
    return out


def by_uid(ranges: list[list[int]], before: dict[str, tuple[int, str, int]],
           ignore: set[int], others_file: str | None = None) -> list[str]:
    """New processes (not there before the run) of the watched uids, except those of another
    lane's reaper (listed in ``others_file``) and the ``ignore``d ones."""
    table = processes()
    others: set[str] = set()
    if others_file:
        for line in _read(others_file).decode(errors="replace").split():
            if line.isdigit() and int(line) != os.getpid():
                others.add(line)
                others.update(descendants(table, int(line)))
    out = []
    for pid, (_, state, start) in table.items():
        if state in ("Z", "X") or int(pid) in ignore or int(pid) == os.getpid() or pid in others:
            continue
        if pid in before and before[pid][2] == start:
            continue  # there before the run
        uid = _uid(pid)
        if uid is not None and any(lo <= uid <= hi for lo, hi in ranges):
            out.append(pid)
    return out


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_all(markers: list[str]) -> None:
    for _ in range(50):
        victims = set(live_tree()) | set(marked(markers))
        if not victims:
            break
        for pid in victims:
            try:
                os.kill(int(pid), signal.SIGCONT)
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
        reap()
    reap()


def digest(paths: list[str]) -> dict[str, str | None]:
    out = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                out[path] = hashlib.sha256(f.read()).hexdigest()
        except OSError:
            out[path] = None
    return out


def run_one(run: dict) -> dict:
    started = time.monotonic()
    with open(run["stdout"], "wb") as out, open(run["stderr"], "wb") as err:
        proc = subprocess.Popen(run["argv"], cwd=run["cwd"], env=run["env"], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, start_new_session=True)
    pid = str(proc.pid)
    stopped_since = None
    result = {"timed_out": False, "stopped": False}
    while proc.poll() is None:
        if time.monotonic() - started > run["timeout"]:
            result["timed_out"] = True
            for p in [pid, *descendants(processes(), proc.pid)]:
                try:
                    os.kill(int(p), signal.SIGKILL)
                except OSError:
                    pass
            proc.wait()
            break
        st = _stat(pid)
        if st and st[1] in ("T", "t"):  # stopped by a signal (SIGSTOP) or by a tracer
            stopped_since = stopped_since or time.monotonic()
            if time.monotonic() - stopped_since > 1.0:
                result["stopped"] = True
                os.kill(proc.pid, signal.SIGCONT)
                stopped_since = None
        else:
            stopped_since = None
        time.sleep(0.05)
    result["returncode"] = proc.returncode
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def leftovers(spec: dict, before: dict, ignore: set[int]) -> dict[str, list[dict]]:
    """What is alive now: in this tree, carrying a marker, or new and owned by a watched uid."""
    tree = set(live_tree()) - {str(p) for p in ignore}
    mark = set(marked(list(spec.get("markers", [])))) - {str(p) for p in ignore}
    uids = set(by_uid(spec.get("scan_uids", []), before, ignore,
                      spec.get("others_file"))) - tree - mark
    return {name: [describe(p) for p in sorted(group, key=int)]
            for name, group in (("tree", tree), ("marked", mark), ("uid", uids))}


SYS_ADD_KEY = {"x86_64": 248, "aarch64": 217}
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CHOWN, KEYCTL_SETPERM = 1, 4, 5
KEY_SPEC_SESSION_KEYRING = -3
# possessor: everything; the key's user: view, read, search (as a login's credential cache)
KEY_PERM = 0x3F000000 | 0x00010000 | 0x00020000 | 0x00080000


def judge_keyring(libc: ctypes.CDLL, spec: dict) -> None:
    """Put this process (and so the judges it starts) in a session keyring of its own holding
    a key whose payload is the judge's secret, owned by the judge's user: what an ssh login, a
    systemd service or a container runtime gives a judge (Kerberos KEYRING: caches)."""
    machine = os.uname().machine
    libc.syscall.restype = ctypes.c_long
    keyctl = lambda *a: libc.syscall(ctypes.c_long(SYS_KEYCTL[machine]), *a)  # noqa: E731
    if keyctl(ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), ctypes.c_void_p(None)) < 0:
        raise OSError(ctypes.get_errno(), "keyctl(JOIN_SESSION_KEYRING)")
    payload = spec["payload"].encode()
    key = libc.syscall(ctypes.c_long(SYS_ADD_KEY[machine]), b"user", spec["name"].encode(),
                       payload, ctypes.c_size_t(len(payload)),
                       ctypes.c_long(KEY_SPEC_SESSION_KEYRING))
    if key < 0:
        raise OSError(ctypes.get_errno(), "add_key")
    if spec.get("owner"):
        keyctl(ctypes.c_long(KEYCTL_CHOWN), ctypes.c_long(key), ctypes.c_long(spec["owner"]),
               ctypes.c_long(-1))
    keyctl(ctypes.c_long(KEYCTL_SETPERM), ctypes.c_long(key), ctypes.c_long(KEY_PERM))


def main() -> int:
    spec = json.load(sys.stdin)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    if spec.get("keyring"):
        judge_keyring(libc, spec["keyring"])
    markers = list(spec.get("markers", []))
    ignore = set(spec.get("ignore_pids", []))
    report = {"runs": []}
    before = processes()
    for i, run in enumerate(spec["runs"]):
        result = run_one(run)
        reap()
        if i == 0:
            exited = time.monotonic()
            result["files_at_exit"] = digest(run.get("files", []))
            result["left_at_exit"] = left = leftovers(spec, before, ignore)
            later = {}
            if any(left.values()) or spec.get("always_linger"):
                time.sleep(max(0.0, spec.get("linger_s", 2.0) - (time.monotonic() - exited)))
                reap()
                later = leftovers(spec, before, ignore)
            result["left_later"] = later
            if spec.get("watch_s"):
                time.sleep(max(0.0, spec["watch_s"] - (time.monotonic() - exited)))
                result["files_later"] = digest(run.get("files", []))
        report["runs"].append(result)
    kill_all(markers)
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
