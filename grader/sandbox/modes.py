"""Root-only modes for a run, shared between judges that run at once.

Where workers run under uids of their own but neither namespaces nor Landlock hide the checkout,
the judge makes the references, the exercises' folders and ``.git`` readable by root only while
it grades (:func:`grader.sandbox.runtime.prepare_runtime`). Judges of a batch run side by side:
if each restored the modes it found, the first to finish would open the files while the others
still grade, and the last would "restore" the narrowed modes for good. So the original modes and
the judges holding them are kept in one state file in the judges' shared folder
(:func:`shared_dir`), under a lock: the first holder narrows and records, later ones join, the
last one out restores. Holders that died without giving back (a killed judge) are dropped when
the file is next read.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
from pathlib import Path

# The folder judges on this machine share, the first of these that serves: the uid leases'
# locks (grader.sandbox.runtime) and the narrowed modes' state file.
SHARED_DIRS = ("/run/dlgrade-uids", "/tmp/dlgrade-uids")
STATE_NAME = "narrowed-modes.json"


def shared_dir() -> str:
    """A folder of the judge's user, mode 0700, shared by every judge on this machine (root's
    where workers run under uids of their own): made if missing; raises ``OSError`` where no
    folder of ``SHARED_DIRS`` is one (another user's, or open to others)."""
    for folder in SHARED_DIRS:
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except OSError:
            continue
        info = os.lstat(folder)
        if (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
                and stat.S_IMODE(info.st_mode) == 0o700):
            return folder
    raise OSError("no folder of the judge's own, mode 0700, for the uid locks and narrowed "
                  "modes (" + ", ".join(SHARED_DIRS) + ")")


def _state_file() -> Path:
    return Path(shared_dir()) / STATE_NAME


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _update(change) -> tuple[str, ...]:
    """Run ``change(state)`` on the state file's contents under its lock; write it back."""
    path = _state_file()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        info = os.fstat(fd)
        if info.st_uid != os.geteuid() or not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not this user's file")
        raw = os.read(fd, 1 << 20)
        try:
            state = json.loads(raw) if raw else {}
        except ValueError:
            state = {}
        for entry in state.values():  # holders that died without giving back
            entry["holders"] = [p for p in entry.get("holders", []) if _alive(p)]
        for name in [n for n, e in state.items() if not e["holders"]]:
            _chmod(name, state.pop(name)["mode"])
        result = change(state)
        data = json.dumps(state).encode()
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, data)
        return result
    finally:
        os.close(fd)


def _chmod(name: str, mode: int) -> None:
    try:
        os.chmod(name, mode)
    except OSError:
        pass


def narrow(paths: list[Path]) -> tuple[str, ...]:
    """Make ``paths`` root-only for this process (joining other judges that did already);
    return the paths held, to give to :func:`restore`."""
    pid = os.getpid()

    def change(state: dict) -> tuple[str, ...]:
        held = []
        for path in paths:
            name = str(path)
            entry = state.get(name)
            if entry is None:
                mode = stat.S_IMODE(path.stat().st_mode)
                entry = state[name] = {"mode": mode, "holders": []}
                path.chmod(mode & ~0o077)
            if pid not in entry["holders"]:
                entry["holders"].append(pid)
            held.append(name)
        return tuple(held)

    return _update(change)


def restore(names: tuple[str, ...]) -> None:
    """Give ``names`` back: each is restored when no other live judge holds it."""
    if not names:
        return
    pid = os.getpid()

    def change(state: dict) -> tuple[str, ...]:
        for name in names:
            entry = state.get(name)
            if entry is None:
                continue
            entry["holders"] = [p for p in entry["holders"] if p != pid]
            if not entry["holders"]:
                _chmod(name, state.pop(name)["mode"])
        return ()

    _update(change)
