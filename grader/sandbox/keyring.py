"""The kernel keyrings: a worker gets a session keyring of its own, and a worker uid's keyrings
are emptied when its lease ends.

A process inherits its parent's session keyring. Under ssh, a systemd service or a container
runtime that keyring may hold the judge's credentials (Kerberos ``KEYRING:`` caches, tokens), and
a worker that possesses it can read them. The launcher therefore joins a fresh anonymous session
keyring (``keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)``) before it drops privileges; the seccomp
filter then refuses every keyring call (:mod:`grader.sandbox.seccomp`).

A uid's *user* keyring (and its persistent keyring, where the kernel has them) outlive its
processes: as root, a key a worker added there under one uid was readable (``/proc/keys``) by a
later worker under another uid when it opened the key's permissions. Where the filter is
missing, :func:`clear_uid` is the remedy: a child process takes the uid and clears them, when
the lease is taken and when it ends.
"""

from __future__ import annotations

import ctypes
import errno
import os

SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}
KEYCTL_GET_KEYRING_ID, KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR = 0, 1, 7
KEYCTL_GET_PERSISTENT = 22
KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = -3, -4, -5
# What a missing or refused keyring facility answers: nothing to join, nothing to leak.
ABSENT = (errno.ENOSYS, errno.EPERM, errno.EOPNOTSUPP)


def _keyctl() -> ctypes._CFuncPtr:
    libc = ctypes.CDLL(None, use_errno=True)
    number = SYS_KEYCTL.get(os.uname().machine)
    fn = libc.syscall
    fn.restype = ctypes.c_long

    def arg(value: int | bytes | None) -> object:
        if value is None:
            return ctypes.c_void_p(None)
        return ctypes.c_char_p(value) if isinstance(value, bytes) else ctypes.c_long(value)

    def call(op: int, *args: int | bytes | None) -> int:
        if number is None:
            ctypes.set_errno(errno.ENOSYS)
            return -1
        return fn(ctypes.c_long(number), ctypes.c_long(op), *map(arg, args))
    return call


def has_keys(uid: int) -> bool:
    """Whether the kernel holds any key of ``uid`` (``/proc/key-users``); True when that cannot
    be read. Asking about a uid's keyrings creates them, so an untouched uid is left alone."""
    try:
        with open("/proc/key-users") as f:
            return any(line.split(":", 1)[0].strip() == str(uid) for line in f)
    except OSError:
        return True


def join_fresh_session() -> bool:
    """Give this process a new anonymous session keyring; False where the kernel has no
    keyrings or refuses the call (then nothing of the judge's is reachable either). Raises
    ``OSError`` for any other failure (the worker must not start with the judge's keyring)."""
    keyctl = _keyctl()
    if keyctl(KEYCTL_JOIN_SESSION_KEYRING, None) >= 0:
        return True
    err = ctypes.get_errno()
    if err in ABSENT:
        return False
    raise OSError(err, f"keyring: joining a session keyring of its own: {os.strerror(err)}")


def clear_uid(uid: int, gid: int | None = None) -> None:
    """Empty ``uid``'s user, user-session and persistent keyrings (as root): a child process
    joins a keyring of its own, takes the uid and clears them. Best effort: a kernel without
    keyrings has nothing to clear."""
    if not has_keys(uid):
        return
    keyctl = _keyctl()  # loaded before the fork: the child only makes system calls
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            keyctl(KEYCTL_JOIN_SESSION_KEYRING, None)
            os.setgroups([])
            os.setgid(uid if gid is None else gid)
            os.setuid(uid)
            for ring in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING):
                if keyctl(KEYCTL_CLEAR, ring) < 0 and ctypes.get_errno() not in ABSENT:
                    code = 1
            persistent = keyctl(KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_SESSION_KEYRING)
            if persistent >= 0:
                keyctl(KEYCTL_CLEAR, persistent)
        except BaseException:  # noqa: BLE001 - a forked child never returns into the judge
            code = 1
        os._exit(code)
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except InterruptedError:
            continue
        except ChildProcessError:
            return
