"""Ending a worker completely: every process it started, every file it left.

A worker may fork, ``setsid``, double-fork and scrub its environment; whatever it did, these
find what is left from outside, where the worker cannot interfere:

- :func:`kill_tree`: a process and all its descendants (``/proc/<pid>/stat`` parent links),
  leaves first, repeated until nothing is left. The launcher is a child subreaper, so a
  double-forked orphan is re-parented to it and stays in its tree; in a pid namespace,
  killing the namespace's init takes every process in it down.
- :func:`kill_uid`: every process running under a uid (as root each worker has a uid of its
  own, so this is exact).
- :func:`remove_tree` and :func:`remove_files_of`: the worker's home, and what its uid wrote
  in the shared temporary folders.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterable


def _parent_map() -> dict[int, int]:
    """pid -> parent pid for every process this judge can see."""
    parents = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after
        # the last ')'
        fields = data[data.rfind(b")") + 2:].split()
        if len(fields) > 1:
            parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid``, deepest first."""
    children: dict[int, list[int]] = {}
    for child, parent in _parent_map().items():
        children.setdefault(parent, []).append(child)
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found[::-1]


def _kill(pids: Iterable[int]) -> int:
    killed = 0
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, PermissionError):
            pass
    return killed


def kill_tree(root: int, *, include_root: bool = True, rounds: int = 50) -> None:
    """SIGKILL ``root``'s descendants until none is left, then ``root``.

    ``root`` stays alive until its descendants are gone: as a subreaper it collects the
    orphans of processes killed meanwhile, so none slips out of the tree.
    """
    for _ in range(rounds):
        if not _kill(descendants(root)):
            break
        time.sleep(0.005)
    if include_root:
        _kill([root])


def uid_processes(uid: int) -> list[int]:
    """Processes whose real, effective or saved uid is ``uid``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"Uid:"):
                        if uid in {int(v) for v in line.split()[1:4]}:
                            found.append(int(entry.name))
                        break
        except (OSError, ValueError):
            continue
    return found


def kill_uid(uid: int, *, rounds: int = 50) -> bool:
    """SIGKILL every process of ``uid`` until none is left; whether none is."""
    for _ in range(rounds):
        pids = uid_processes(uid)
        if not pids:
            return True
        _kill(pids)
        time.sleep(0.005)
    return not uid_processes(uid)


def remove_tree(path: str | os.PathLike) -> None:
    """Remove ``path`` whatever modes the worker set inside it (a folder of mode 000 stops
    ``rmtree``); symbolic links are removed, never followed."""
    path = os.fspath(path)
    if not os.path.lexists(path):
        return
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return
    stack = [path]  # not recursion: the worker may have nested folders thousands deep
    while stack:
        folder = stack.pop()
        try:
            os.chmod(folder, 0o700)
            entries = list(os.scandir(folder))
        except OSError:
            continue
        stack.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
    shutil.rmtree(path, ignore_errors=True)


def remove_files_of(uid: int, folders: Iterable[str] = ("/tmp", "/var/tmp", "/dev/shm")) -> list[str]:
    """Remove the entries directly in ``folders`` owned by ``uid`` (what a worker without a
    private root wrote in the shared temporary folders); return their paths."""
    removed = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                remove_tree(entry.path)
                removed.append(entry.path)
            except OSError:
                continue
    return removed
