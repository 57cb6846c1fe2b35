"""Start a worker as an unprivileged user that cannot see the references or the hidden checks.

Run by the judge, as root, as ``python -I -m grader.sandbox.cover SPEC_JSON``; nothing of the student's
has run yet. It enters a new mount namespace, covers each folder in ``spec["dirs"]`` with an
empty read-only tmpfs and each file in ``spec["files"]`` with ``/dev/null`` (only in that
namespace: the checkout itself is left as it was), drops to ``spec["uid"]``/``spec["gid"]`` with
no supplementary groups, and ``exec``s ``spec["argv"]`` (the worker), keeping its pipes.

With ``spec["probe"]`` it does the same and then, as the user, prints a JSON list of the covered
paths it can still read, instead of ``exec``: :func:`grader.sandbox.process.prepare_runtime` asks this
once per grading run to learn whether covering works on this kernel and in this container.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18


def _libc_call(name: str, *args: object) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _libc_call("mount", enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))


def cover(dirs: list[str], files: list[str]) -> None:
    """Hide ``dirs`` and ``files`` from this process and its children (a private namespace)."""
    _libc_call("unshare", CLONE_NEWNS)
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)  # our mounts stay in this namespace
    for folder in dirs:
        _mount("tmpfs", folder, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
               "size=4k,mode=0555")
    for path in files:
        _mount("/dev/null", path, None, MS_BIND, None)


def drop(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def still_readable(paths: list[str]) -> list[str]:
    """Which of ``paths`` this process can read something of (a listing or bytes)."""
    readable = []
    for path in paths:
        try:
            if os.path.isdir(path):
                if os.listdir(path):
                    readable.append(path)
            else:
                with open(path, "rb") as f:
                    if f.read(1):
                        readable.append(path)
        except OSError:
            pass
    return readable


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    try:
        cover(spec["dirs"], spec["files"])
    except OSError as err:
        print(json.dumps({"error": str(err)}))
        return 3
    drop(spec["uid"], spec["gid"])
    if spec.get("probe"):
        print(json.dumps({"readable": still_readable(spec["dirs"] + spec["files"])}))
        return 0
    os.execv(spec["argv"][0], spec["argv"])
    return 4  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
