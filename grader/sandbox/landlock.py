"""Landlock, through its three system calls: what a worker may read, write and connect to.

Landlock is a Linux security module that any process can apply to itself, unprivileged; the
restriction is inherited across ``fork`` and ``execve`` and can never be lifted. dlgrade's
launcher applies it in the worker's process just before ``exec``ing the interpreter, so the
submission's first line already runs under it:

- files: read and execute beneath ``read`` paths, everything beneath ``write`` paths (the
  worker's home), read/write on the ``devices`` files (``/dev/null``...), listing (names, not
  contents) beneath ``listable`` folders (the package folders the allowed packages sit in:
  the import system lists them), nothing else. A ``read`` path that is a symlink (``/lib ->
  usr/lib``) gets no rule: a rule would hold for everything beneath its target, and the worker's
  view (:mod:`grader.sandbox.view`) cuts package folders out of such targets;
- network (ABI 4+): no TCP bind and no TCP connect at all;
- scopes (ABI 6+): no signals to processes outside the worker's domain (the judge, the
  launcher) and no connection to abstract UNIX sockets created outside it.

The ptrace restriction comes with every ABI: a process in the domain cannot read
``/proc/<pid>/mem`` or ``environ`` of a process outside it.

Kernel ABI reference: ``include/uapi/linux/landlock.h`` (syscalls 444-446 on every
architecture that has them).
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from dataclasses import dataclass

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights (bit positions from landlock.h); the ABI that introduced each.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1  # __attribute__((packed)) in the kernel's header
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _syscall(libc: ctypes.CDLL, number: int, *args: object) -> int:
    fn = libc.syscall
    fn.restype = ctypes.c_long
    result = fn(ctypes.c_long(number), *args)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 where Landlock is missing, disabled or filtered
    (a container's seccomp profile may refuse the system call)."""
    try:
        return _syscall(_libc(), SYS_CREATE_RULESET, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0


@dataclass(frozen=True)
class Policy:
    """What the worker may touch: ``read`` (read and execute beneath; symlinks are skipped),
    ``write`` (everything beneath), ``devices`` (read and write, ioctl: ``/dev/null``, GPU
    device files), ``listable`` (list folders beneath, read no file)."""

    read: tuple[str, ...]
    write: tuple[str, ...]
    devices: tuple[str, ...] = ()
    listable: tuple[str, ...] = ()


def describe(abi: int) -> str:
    """What Landlock enforces at ``abi``, for the grading log."""
    parts = ["files"]
    if abi >= 4:
        parts.append("TCP")
    if abi >= 6:
        parts.append("signals and abstract sockets")
    return f"Landlock ABI {abi} ({', '.join(parts)})"


def restrict(policy: Policy, abi: int) -> None:
    """Apply ``policy`` to this thread and all it will ``exec`` or ``fork``; irreversible.

    Paths that do not exist are skipped. Raises ``OSError`` when the kernel refuses.
    """
    libc = _libc()
    fs = _fs_rights(abi)
    attr = _RulesetAttr(fs, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _syscall(libc, SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                       ctypes.c_uint32(0))
    try:
        read = EXECUTE | READ_FILE | READ_DIR
        device = (READ_FILE | WRITE_FILE | (IOCTL_DEV if abi >= 5 else 0)
                  | (TRUNCATE if abi >= 3 else 0))
        for paths, rights in ((policy.read, read), (policy.write, fs), (policy.devices, device),
                              (policy.listable, READ_DIR)):
            for path in paths:
                _allow(libc, ruleset, path, rights)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        _syscall(libc, SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)


def _allow(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    try:
        mode = os.fstat(fd).st_mode  # the object the rule will name, not the path again
        if stat.S_ISLNK(mode):
            return  # a rule would follow it to its whole target (see the module docstring)
        if not stat.S_ISDIR(mode):
            rights &= FILE_RIGHTS  # a file takes only the rights that apply to files
        rule = _PathBeneath(rights, fd)
        try:
            _syscall(libc, SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                     ctypes.byref(rule), ctypes.c_uint32(0))
        except OSError as err:
            if err.errno != errno.EINVAL:  # EINVAL: rights that do not apply (e.g. a pipe)
                raise
    finally:
        os.close(fd)
