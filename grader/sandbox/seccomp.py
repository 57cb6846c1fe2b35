"""A syscall filter for the worker: a seccomp BPF program of our own, installed by the launcher
just before it ``exec``s the worker, inherited by everything the worker starts, never lifted.

Why a program of our own: libseccomp's Python bindings (``pyseccomp``, Debian's
``python3-seccomp``) are not installed where dlgrade runs (a student's laptop, Gradescope's
image, a CI runner) and would be one more native dependency; the filter needed here is a short
deny list, which classic BPF expresses in a few dozen instructions, installed with
``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)`` through ctypes.

What it refuses (the anchors: Docker's default profile, nsjail's and bubblewrap's defaults),
each with ``EPERM`` so that a library probing for a call fails politely instead of being killed:

- the kernel keyrings (``add_key``, ``keyctl``, ``request_key``): a key of the judge's session
  (a Kerberos ``KEYRING:`` cache under ssh or systemd) or a key left for the next student;
- ``bpf``, ``perf_event_open``, ``userfaultfd``, ``io_uring_*`` (torch on CPU uses none of
  them), ``ptrace``, ``process_vm_readv``/``writev``, ``pidfd_getfd``, ``process_madvise``,
  ``kcmp``;
- mounting and namespaces: ``mount``, ``umount2``, ``pivot_root``, the new mount API
  (``open_tree``, ``move_mount``, ``fsopen``...), ``unshare``, ``setns``, and ``clone`` with any
  namespace flag (a plain ``clone``, as ``fork`` and threads use, passes);
- the kernel and the machine: ``kexec_*``, ``init_module``/``finit_module``/``delete_module``,
  ``reboot``, ``swapon``/``swapoff``, ``acct``, ``quotactl``, ``syslog``, the clocks
  (``settimeofday``, ``clock_settime``, ``adjtimex``), ``iopl``/``ioperm``, ``vhangup``,
  ``open_by_handle_at`` and ``name_to_handle_at``, ``fanotify_init``, ``lookup_dcookie``,
  ``memfd_secret``;
- System V IPC (``shmget``, ``msgget``, ``semget`` and their calls): its objects outlive the
  process that made them, and their memory is not the process's;
- ``memfd_create`` where the memory cap is an address-space limit (its pages, written but never
  mapped, would not count).

``clone3`` returns ``ENOSYS``: its flags sit in memory a filter cannot read, and glibc then falls
back to ``clone``, whose flags it can. A call from another architecture's table (32-bit
``int 0x80`` on x86_64, the x32 ABI) returns ``ENOSYS`` too. Handled: x86_64 and aarch64; on
another machine :func:`available` says no, and the grading notice says the filter is missing.

CUDA: the driver talks to ``/dev/nvidia*`` through ``open``, ``ioctl`` and ``mmap`` (all
allowed), and its inter-process paths may use ``memfd_create``, which is refused only under the
address-space cap, never in force for a CUDA worker (CUDA reserves tens of GB of address
space). No GPU here: a CUDA worker under this filter is untested.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys

# Each architecture's audit id and system call numbers (asm/unistd_64.h, asm-generic/unistd.h).
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000
CLONE_NAMESPACES = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
                    | 0x20000000 | 0x40000000)  # NEWNS CGROUP UTS IPC USER PID NET
SYSCALLS = {
    "x86_64": {
        "add_key": 248, "request_key": 249, "keyctl": 250, "bpf": 321, "perf_event_open": 298,
        "userfaultfd": 323, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "pidfd_getfd": 438, "process_madvise": 440, "kcmp": 312, "kexec_load": 246,
        "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
        "mount": 165, "umount2": 166, "pivot_root": 155, "open_tree": 428, "move_mount": 429,
        "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "unshare": 272, "setns": 308, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163,
        "quotactl": 179, "quotactl_fd": 443, "syslog": 103, "lookup_dcookie": 212,
        "name_to_handle_at": 303, "open_by_handle_at": 304, "settimeofday": 164,
        "clock_settime": 227, "adjtimex": 159, "clock_adjtime": 305, "iopl": 172, "ioperm": 173,
        "vhangup": 153, "fanotify_init": 300, "memfd_secret": 447, "uselib": 134,
        "shmget": 29, "shmat": 30, "shmdt": 67, "shmctl": 31, "msgget": 68, "msgsnd": 69,
        "msgrcv": 70, "msgctl": 71, "semget": 64, "semop": 65, "semctl": 66, "semtimedop": 220,
        "clone": 56, "clone3": 435, "memfd_create": 319,
    },
    "aarch64": {
        "add_key": 217, "request_key": 218, "keyctl": 219, "bpf": 280, "perf_event_open": 241,
        "userfaultfd": 282, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "pidfd_getfd": 438, "process_madvise": 440, "kcmp": 272, "kexec_load": 104,
        "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106,
        "mount": 40, "umount2": 39, "pivot_root": 41, "open_tree": 428, "move_mount": 429,
        "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "unshare": 97, "setns": 268, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "reboot": 142, "swapon": 224, "swapoff": 225, "acct": 89,
        "quotactl": 60, "quotactl_fd": 443, "syslog": 116, "lookup_dcookie": 18,
        "name_to_handle_at": 264, "open_by_handle_at": 265, "settimeofday": 170,
        "clock_settime": 112, "adjtimex": 171, "clock_adjtime": 266, "vhangup": 58,
        "fanotify_init": 262, "memfd_secret": 447,
        "shmget": 194, "shmat": 196, "shmdt": 197, "shmctl": 195, "msgget": 186, "msgsnd": 189,
        "msgrcv": 188, "msgctl": 187, "semget": 190, "semop": 193, "semctl": 191,
        "semtimedop": 192, "clone": 220, "clone3": 435, "memfd_create": 279,
    },
}
SPECIAL = ("clone", "clone3", "memfd_create")  # handled apart (see the module docstring)

# Classic BPF (linux/filter.h, linux/seccomp.h).
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
OFFSET_NR, OFFSET_ARCH, OFFSET_ARGS = 0, 4, 16
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


def denied(machine: str | None = None) -> tuple[str, ...]:
    """The calls refused with EPERM on ``machine`` (besides clone's namespace flags)."""
    table = SYSCALLS.get(machine or platform.machine(), {})
    return tuple(sorted(name for name in table if name not in SPECIAL))


def available() -> str:
    """'' when a filter can be installed here, else why not."""
    machine = platform.machine()
    if machine not in SYSCALLS:
        return f"no system call table for {machine}"
    try:
        with open("/proc/self/status") as f:
            if "Seccomp:" not in f.read():
                return "this kernel has no seccomp"
    except OSError:
        return "no /proc/self/status to tell whether the kernel has seccomp"
    try:
        with open("/proc/sys/kernel/seccomp/actions_avail") as f:
            if "errno" not in f.read().split():
                return "this kernel's seccomp cannot return errors"
    except OSError:
        pass  # older kernels lack the file but have filters
    return ""


def program(machine: str, *, deny_memfd: bool = False) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions (see the module docstring)."""
    table = SYSCALLS[machine]
    names = [n for n in denied(machine)] + (["memfd_create"] if deny_memfd else [])
    little = sys.byteorder == "little"
    code: list[tuple[int, object, object, int]] = [
        (LD_W_ABS, 0, 0, OFFSET_ARCH),
        (JEQ_K, 0, "enosys", AUDIT_ARCH[machine]),
        (LD_W_ABS, 0, 0, OFFSET_NR),
    ]
    if machine == "x86_64":
        code.append((JGE_K, "enosys", 0, X32_SYSCALL_BIT))
    code.append((JEQ_K, "enosys", 0, table["clone3"]))
    code.append((JEQ_K, "clone", 0, table["clone"]))
    code += [(JEQ_K, "eperm", 0, table[name]) for name in names]
    code.append((RET_K, 0, 0, RET_ALLOW))
    labels = {"clone": len(code)}
    code += [(LD_W_ABS, 0, 0, OFFSET_ARGS + (0 if little else 4)),  # clone's flags, low word
             (JSET_K, "eperm", 0, CLONE_NAMESPACES),
             (RET_K, 0, 0, RET_ALLOW)]
    labels["eperm"] = len(code)
    code.append((RET_K, 0, 0, RET_ERRNO | errno.EPERM))
    labels["enosys"] = len(code)
    code.append((RET_K, 0, 0, RET_ERRNO | errno.ENOSYS))
    out = []
    for i, (op, jt, jf, k) in enumerate(code):
        jumps = []
        for target in (jt, jf):
            offset = labels[target] - i - 1 if isinstance(target, str) else target
            if not 0 <= offset <= 255:
                raise ValueError("seccomp program too long for its jumps")
            jumps.append(offset)
        out.append((op, jumps[0], jumps[1], k))
    return out


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Filter))]


def install(*, deny_memfd: bool = False) -> None:
    """Install the filter on this thread (and all it will ``exec`` or ``fork``); irreversible.
    Sets ``no_new_privs`` first (the kernel requires it of an unprivileged process). Raises
    ``OSError`` when the kernel refuses."""
    machine = platform.machine()
    if machine not in SYSCALLS:
        raise OSError(errno.ENOSYS, f"seccomp: no system call table for {machine}")
    instructions = program(machine, deny_memfd=deny_memfd)
    array = (_Filter * len(instructions))(*(_Filter(*i) for i in instructions))
    prog = _Program(len(instructions), array)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                           ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(err)}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp filter: {os.strerror(err)}")


def describe(*, deny_memfd: bool = False) -> str:
    """What the filter refuses, for the grading notice."""
    return ("a syscall filter (seccomp: keyrings, bpf, perf events, userfaultfd, io_uring, "
            "ptrace and process memory, mounts and namespaces, modules, kexec and reboot, "
            "System V IPC" + (", memfd" if deny_memfd else "") + " refused)")
