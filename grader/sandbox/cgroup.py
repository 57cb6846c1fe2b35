"""A cgroup v2 per worker, where the judge can make one: the worker's whole memory (anonymous,
shared mappings, memfds, tmpfs pages it wrote) under ``memory.max``, no swap
(``memory.swap.max``), its tasks under ``pids.max``, and every process in it killed at the end
(``cgroup.kill``), however it detached.

The judge can make one when the cgroup v2 hierarchy is mounted, its own cgroup (``0::<path>`` in
``/proc/self/cgroup``) offers the ``memory`` and ``pids`` controllers, and either they are
already enabled for its children (a delegated cgroup, e.g. ``systemd-run -p Delegate=yes``, or
a container whose cgroup was prepared so) or it can enable them (the hierarchy's root, as root).
A cgroup that holds processes cannot enable controllers for its children (the "no internal
processes" rule), so a judge in such a cgroup gets none here: :func:`detect` says why, and the
runtime falls back to an address-space limit (:mod:`grader.sandbox.runtime`). Machines with the
v1 hierarchy only (or v2 without controllers, the "hybrid" layout) get none either.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

MOUNTINFO = "/proc/self/mountinfo"
CONTROLLERS = ("memory", "pids")


def _read(path: Path) -> str:
    with open(path) as f:
        return f.read()


def _mount_point(mountinfo: str = MOUNTINFO) -> Path | None:
    """Where the cgroup v2 hierarchy is mounted (the first cgroup2 mount), or None."""
    try:
        lines = _read(Path(mountinfo)).splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "cgroup2":
            return Path(left.split()[4])
    return None


def _own_path(cgroup_file: str = "/proc/self/cgroup") -> str | None:
    try:
        for line in _read(Path(cgroup_file)).splitlines():
            if line.startswith("0::"):
                return line[3:]
    except OSError:
        pass
    return None


def detect(*, mountinfo: str = MOUNTINFO, cgroup_file: str = "/proc/self/cgroup") -> tuple[Path | None, str]:
    """The folder in which the judge can make a cgroup per worker with the memory and pids
    controllers, and '' ; or None and why not (for the grading notice)."""
    mount = _mount_point(mountinfo)
    if mount is None:
        return None, "no cgroup v2 hierarchy is mounted"
    own = _own_path(cgroup_file)
    if own is None:
        return None, "this process is in no cgroup v2"
    folder = mount / own.lstrip("/")
    try:
        offered = _read(folder / "cgroup.controllers").split()
        enabled = _read(folder / "cgroup.subtree_control").split()
    except OSError as err:
        return None, f"its cgroup cannot be read ({err.strerror})"
    missing = [c for c in CONTROLLERS if c not in offered]
    if missing:
        return None, (f"its cgroup does not offer the {' and '.join(missing)} controller"
                      f"{'s' if len(missing) > 1 else ''} (cgroup v1 or a hybrid hierarchy holds "
                      "them)")
    if not os.access(folder, os.W_OK):
        return None, "its cgroup is not writable (not delegated to this user)"
    todo = [c for c in CONTROLLERS if c not in enabled]
    if todo:
        try:
            with open(folder / "cgroup.subtree_control", "w") as f:
                f.write(" ".join(f"+{c}" for c in todo))
        except OSError as err:
            why = ("it holds processes (cgroup v2's no-internal-processes rule): delegate an "
                   "empty cgroup to the judge" if err.errno == errno.EBUSY else err.strerror)
            return None, f"the memory and pids controllers cannot be enabled in its cgroup: {why}"
    return folder, ""


class WorkerCgroup:
    """One worker's cgroup: made with its limits, joined by the launcher (it writes its own pid
    to :attr:`procs` before it starts anything), emptied and removed by :meth:`close`."""

    def __init__(self, parent: Path, name: str, *, memory_bytes: int, max_tasks: int) -> None:
        self.path = Path(parent) / name
        self.path.mkdir(mode=0o755)
        try:
            self._write("memory.max", str(memory_bytes))
            if (self.path / "memory.swap.max").exists():
                self._write("memory.swap.max", "0")
            if (self.path / "memory.oom.group").exists():
                self._write("memory.oom.group", "1")  # the whole worker goes, not one thread
            self._write("pids.max", str(max_tasks))
        except BaseException:
            self.close()
            raise

    @property
    def procs(self) -> str:
        return str(self.path / "cgroup.procs")

    def _write(self, name: str, value: str) -> None:
        with open(self.path / name, "w") as f:
            f.write(value)

    def oom_kills(self) -> int:
        """How many times the kernel killed in this cgroup for memory."""
        try:
            for line in _read(self.path / "memory.events").splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def kill(self) -> None:
        """SIGKILL every process in the cgroup (``cgroup.kill``, Linux 5.14+; else each pid in
        ``cgroup.procs`` until none is left)."""
        try:
            self._write("cgroup.kill", "1")
        except OSError:
            pass
        for _ in range(200):
            try:
                pids = [int(p) for p in _read(self.path / "cgroup.procs").split()]
            except (OSError, ValueError):
                return
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.005)

    def close(self) -> None:
        """Kill what is left and remove the cgroup (it can only go once empty)."""
        self.kill()
        for _ in range(200):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.01)
