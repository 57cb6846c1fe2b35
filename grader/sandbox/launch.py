"""The trusted launcher: it builds one worker's sandbox, then ``exec``s the worker inside it.

The judge starts it (``python -I``, the engine on ``sys.path``) with a JSON :class:`Spec`;
nothing of the submission exists in its process tree yet. What it builds depends on what
:func:`grader.sandbox.runtime.prepare_runtime` found the kernel offers:

``namespaces``
    ``unshare`` of the mount, pid, network, IPC and UTS namespaces (and a user namespace when
    the judge is not root). The launcher forks the namespace's init, which builds a private
    root in a tmpfs — read-only binds of the interpreter, its packages, the system libraries,
    ``/etc``, ``/sys`` and the clean engine copy; a fresh ``/proc``; ``/dev`` with a few device
    files; the worker's home as a size-limited tmpfs holding a copy of the module; ``/tmp``
    pointing into the home — and ``pivot_root``s into it. The checkout, other users' files and
    the judge's temporary folders are not in it at all; the network namespace has only a
    loopback that is down. The init forks the worker and reaps; when the worker exits, the init
    exits and the kernel kills every process left in the namespace.
``no namespaces``
    The launcher makes itself a child subreaper and forks the worker: double-forked orphans are
    re-parented to the launcher, and it (or the judge, see :mod:`grader.sandbox.reaper`) kills
    them when the worker ends.

In both, the worker's process then joins a session keyring of its own
(:mod:`grader.sandbox.keyring`), drops to its uid (as root; a worker left as uid 0 drops every
capability instead, for good), sets its resource limits, applies Landlock
(:mod:`grader.sandbox.landlock`) and the syscall filter (:mod:`grader.sandbox.seccomp`) where
available, and ``exec``s the worker. Where the judge made a cgroup for the worker
(:mod:`grader.sandbox.cgroup`), the launcher joins it first, so everything it starts is in it.
The launcher passes the worker's exit status on (death by a signal as that signal).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import resource
import signal
import sys
from dataclasses import dataclass, field

from grader.sandbox import keyring, landlock, reaper, seccomp

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
# Mount flags an unprivileged remount must keep (the kernel locks them on inherited mounts).
KEEP_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC | 1024 | 2048 | (1 << 12)  # + NOATIME, NODIRATIME, RELATIME
MNT_DETACH = 2
PR_SET_CHILD_SUBREAPER = 36
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
RLIMITS = {"data": resource.RLIMIT_DATA, "nproc": resource.RLIMIT_NPROC,
           "fsize": resource.RLIMIT_FSIZE, "core": resource.RLIMIT_CORE, "as": resource.RLIMIT_AS}
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 28, 47, 4
# NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE and KEEP_CAPS, each locked: uid 0 gains no
# capability at exec, and nothing can undo it
SECUREBITS_LOCKED_DOWN = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80
CAP_VERSION_3 = 0x20080522
SETUP_FAILED = 70  # exit code: the sandbox could not be built (a grader problem)
SHM_MB = 64


@dataclass(frozen=True)
class Spec:
    """One worker's sandbox. Paths are absolute; ``home`` exists and holds ``module``."""

    argv: list[str]
    home: str
    module: str
    uid: int | None = None  # drop to this uid (the judge is root); None: stay
    gid: int | None = None
    namespaces: bool = False
    userns: bool = False  # a user namespace too (the judge is not root)
    root: str = ""  # an empty folder to build the private root on (namespaces)
    binds: list[str] = field(default_factory=list)  # read-only in the private root
    listable: list[str] = field(default_factory=list)  # Landlock: names listed, not read
    devices: list[str] = field(default_factory=list)  # device files, read-write
    home_mb: int = 512
    landlock: int = 0  # the Landlock ABI to apply; 0: none
    limits: dict[str, int] = field(default_factory=dict)
    nproc_extra: bool = False  # RLIMIT_NPROC counts the user's current tasks as well
    seccomp: bool = False  # install the syscall filter
    deny_memfd: bool = False  # the filter refuses memfd_create too (an address-space cap)
    keyring: bool = True  # join a fresh session keyring
    cgroup: str = ""  # the worker's cgroup.procs, joined before anything starts; '': none

    @classmethod
    def from_json(cls, text: str) -> Spec:
        return cls(**json.loads(text))


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _unshare(spec: Spec) -> None:
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc().unshare(flags | (CLONE_NEWUSER if spec.userns else 0)), "unshare")
    if spec.userns:  # the same ids inside: not root there, so exec drops every capability
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")


def _bind(source: str, target: str, *, readonly: bool = True) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "w").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    if readonly:
        kept = os.statvfs(target).f_flag & KEEP_FLAGS
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | kept)


def _build_root(spec: Spec, owner: tuple[int, int]) -> None:
    """Make ``spec.root`` the private root (see the module docstring) and pivot into it."""
    root = spec.root
    umask = os.umask(0o022)  # the skeleton's folders must be traversable by the worker's uid
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks out of the namespace
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    for path in spec.binds:
        target = root + path
        if os.path.islink(path) and os.path.dirname(path) == "/":  # /bin -> usr/bin (merged /usr)
            os.symlink(os.readlink(path), target)
        elif os.path.exists(path):
            _bind(path, target)
    os.makedirs(root + "/dev", exist_ok=True)
    _mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID, "size=64k,mode=0755")
    for device in ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                   *spec.devices):
        if os.path.exists(device):
            _bind(device, root + device, readonly=False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    uid, gid = owner
    os.makedirs(root + "/dev/shm")
    _mount("tmpfs", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={min(SHM_MB, spec.home_mb)}m,mode=0700,uid={uid},gid={gid}")
    os.makedirs(root + "/proc")
    try:
        _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError as err:  # a container may refuse a new proc; the worker goes without
        print(f"dlgrade launcher: no /proc in the sandbox ({err})", file=sys.stderr)
    home = root + spec.home
    os.makedirs(home)
    _mount("tmpfs", home, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={spec.home_mb}m,mode=0700,uid={uid},gid={gid}")
    with open(os.path.join(spec.home, spec.module), "rb") as f:
        source = f.read()
    module = os.path.join(home, spec.module)
    fd = os.open(module, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(source)
        os.fchown(f.fileno(), uid, gid)
    if not os.path.exists(root + "/tmp"):  # else /tmp holds the home and stays read-only
        os.symlink(spec.home, root + "/tmp")
    old = root + "/.oldroot"
    os.makedirs(old)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(0, f"pivot_root: unknown system call number on {platform.machine()}")
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    _check(libc.syscall(ctypes.c_long(number), root.encode(), old.encode()), "pivot_root")
    os.chdir("/")
    _check(libc.umount2(b"/.oldroot", MNT_DETACH), "umount old root")
    os.rmdir("/.oldroot")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.umask(umask)


def _count_tasks(uid: int) -> int:
    """Threads of ``uid`` (what RLIMIT_NPROC counts)."""
    total = 0
    for pid in reaper.uid_processes(uid):
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"Threads:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError):
            continue
    return total


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    """A worker left as uid 0 (the drop to a uid of its own was not possible) keeps none of
    root's powers: every capability goes from every set, the bounding set included, and the
    securebits make sure that exec gives none back."""
    libc = _libc()
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            _check(-1, "dropping the capability bounding set")
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    _check(libc.prctl(PR_SET_SECUREBITS, SECUREBITS_LOCKED_DOWN, 0, 0, 0), "securebits")
    data = (_CapData * 2)()
    _check(libc.capset(ctypes.byref(_CapHeader(CAP_VERSION_3, 0)), data), "capset")


def _become_worker(spec: Spec, nproc_base: int) -> None:
    """In the worker's process: drop, limit, confine, exec. Never returns."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        if spec.keyring:
            keyring.join_fresh_session()  # before the uid changes: none of the judge's keys
        if spec.uid is not None:
            os.setgroups([])
            os.setgid(spec.gid)
            os.setuid(spec.uid)
        if os.geteuid() == 0:
            _drop_capabilities()
        for key, value in spec.limits.items():
            if key == "nproc":
                value += nproc_base
            resource.setrlimit(RLIMITS[key], (value, value))
        os.chdir(spec.home)
        if spec.landlock:
            landlock.restrict(landlock.Policy(
                read=tuple(spec.binds) + ("/proc", "/dev"),
                listable=tuple(spec.listable),
                write=(spec.home, "/dev/shm") if spec.namespaces else (spec.home,),
                devices=("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                         *spec.devices)), spec.landlock)
        if spec.seccomp:
            seccomp.install(deny_memfd=spec.deny_memfd)  # last: it refuses what came before
        os.execv(spec.argv[0], spec.argv)
    except BaseException as err:  # noqa: BLE001 - never fall back into the launcher's code
        print(f"dlgrade launcher: cannot start the worker: {err}", file=sys.stderr, flush=True)
    os._exit(SETUP_FAILED)


def _wait_for(child: int) -> int:
    """Reap every child (adopted orphans too) until ``child`` ends; its wait status."""
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
        if pid == child:
            return status


def _reap_all() -> None:
    """Wait for every child (each was just killed): no zombie is left for init to collect."""
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def _on_terminate(_signum: int, _frame: object) -> None:
    """The judge's "end it now" (a time limit): kill everything below, reap it, go."""
    reaper.kill_tree(os.getpid(), include_root=False)
    _reap_all()
    os._exit(128 + signal.SIGTERM)


def _exit_like(status: int) -> None:
    """End this process as the worker ended: the same code, or killed by the same signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else SETUP_FAILED)


def main(argv: list[str]) -> int:
    spec = Spec.from_json(argv[0])
    owner = (spec.uid if spec.uid is not None else os.geteuid(),
             spec.gid if spec.gid is not None else os.getegid())
    nproc_base = _count_tasks(owner[0]) if spec.nproc_extra else 0
    try:
        if spec.cgroup:  # first: everything this process starts is in the worker's cgroup
            _write(spec.cgroup, str(os.getpid()))
        if spec.namespaces:
            _unshare(spec)
        else:
            _check(_libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl")
    except OSError as err:
        print(f"dlgrade launcher: cannot build the sandbox: {err}", file=sys.stderr, flush=True)
        return SETUP_FAILED
    child = os.fork()
    if child:
        signal.signal(signal.SIGTERM, _on_terminate)
        status = _wait_for(child)
        if not spec.namespaces:
            reaper.kill_tree(os.getpid(), include_root=False)  # adopted orphans
            _reap_all()
        elif os.WIFEXITED(status) and 128 < os.WEXITSTATUS(status) < 128 + signal.NSIG:
            # the init reports "killed by signal N" as 128 + N; N alone is that wait status
            status = os.WEXITSTATUS(status) - 128
        _exit_like(status)
    if not spec.namespaces:
        _become_worker(spec, nproc_base)
    # the namespace's init (pid 1): build the root, then fork the worker and reap
    try:
        _build_root(spec, owner)
    except OSError as err:
        print(f"dlgrade launcher: cannot build the sandbox: {err}", file=sys.stderr, flush=True)
        os._exit(SETUP_FAILED)
    worker = os.fork()
    if not worker:
        _become_worker(spec, nproc_base)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # pid 1 ignores signals it has no handler for
    status = _wait_for(worker)
    # pid 1 cannot kill itself with a signal: report it as 128 + signal, the shell's way
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status)
             else os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
