"""The judge's side of one worker: a sandbox around it, frames with it, a complete end.

- :class:`Sandbox`: one sandbox, built by the launcher (:mod:`grader.sandbox.launch`) the way
  :func:`~grader.sandbox.runtime.prepare_runtime` decided: a fresh home holding the module, a
  uid of its own (as root), and an end that leaves no process and no file behind.
- :class:`Worker`: the worker process in its sandbox (a fresh ``python -I`` per exercise,
  importing the clean engine copy, its own session), and the frames exchanged with it.
- The proxy the checks call (``student.f(...)``) is :class:`grader.sandbox.student.Student`.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.errors import BadOutput, Crashed, GraderError, ImportFailed
from grader.sandbox import frames, launch, reaper
from grader.sandbox.cgroup import WorkerCgroup
from grader.sandbox.runtime import (ENGINE_ROOT, Runtime, UidLease, boot_argv, lease_uid,
                                    worker_tmp)
from grader.sandbox.runtime import prepare_runtime  # noqa: F401 - the judge's entry point

MARKER = "DLGRADE_WORKER_TOKEN"
ProgressFn = Callable[[float, float, str], None]
# Every text a worker sends is cut to these sizes where the judge receives it, before anything
# reads it: the judge's work on them (scrubbing paths, copying an import error into each
# check, wrapping lines) must not grow with what a submission chooses to send.
TEXT_LIMITS = {"message": 2000, "traceback": 4000, "import_error": 4000, "exc_type": 200,
               "missing": 200}
LIST_LIMITS = {"names": (10_000, 200), "exc_mro": (64, 200)}  # (items, characters each)


def base_env(threads: int) -> dict[str, str]:
    """The whole environment of a worker (nothing of the judge's: no CI secrets)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg",
           "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}
    for key in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "NVIDIA_VISIBLE_DEVICES"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


class Sandbox:
    """One sandbox around a command: create, :meth:`popen` (or :meth:`run`), always :meth:`close`.

    The home is a fresh folder of the judge's holding ``<name>.py``; with namespaces the worker
    sees a size-limited tmpfs at the same path instead, holding a copy. As root without
    namespaces, the home and the module are handed to the worker's uid (the module first, by its
    descriptor, so no link planted meanwhile is ever followed).
    """

    def __init__(self, runtime: Runtime, name: str, module_source: bytes) -> None:
        iso = runtime.isolation
        self.runtime = runtime
        self.token = secrets.token_hex(16)
        self.home = Path(tempfile.mkdtemp(prefix=f"dlgrade-{name}-", dir=worker_tmp()))
        self.module_path = self.home / f"{name}.py"
        self.lease: UidLease | None = None
        self.root = ""
        self.proc: subprocess.Popen | None = None
        self.cgroup: WorkerCgroup | None = None
        try:
            if runtime.cgroup_parent is not None:
                self.cgroup = WorkerCgroup(runtime.cgroup_parent, f"dlgrade-{self.token}",
                                           memory_bytes=runtime.memory_mb * 1024 * 1024,
                                           max_tasks=runtime.max_tasks)
            if iso.uid_range is not None:
                self.lease = lease_uid(*iso.uid_range)
                self.uid: int | None = self.lease.uid
                self.gid: int | None = self.lease.uid
            else:
                self.uid, self.gid = iso.uid, iso.gid
            hand_over = self.uid is not None and not iso.namespaces
            fd = os.open(self.module_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(module_source)
                if hand_over:
                    os.fchown(f.fileno(), self.uid, self.gid)
            if hand_over:
                os.chown(self.home, self.uid, self.gid, follow_symlinks=False)
            if iso.namespaces:
                self.root = tempfile.mkdtemp(prefix="dlgrade-root-", dir=worker_tmp())
        except BaseException:
            self.close()
            raise

    def env(self) -> dict[str, str]:
        home = str(self.home)
        return {**base_env(self.runtime.threads), "HOME": home, "TMPDIR": home,
                MARKER: self.token}

    def launcher_argv(self, argv: list[str]) -> list[str]:
        iso, rt = self.runtime.isolation, self.runtime
        view = rt.view(self.module_path.stem)  # the exercise's: only what it may import
        spec = launch.Spec(argv=argv, home=str(self.home), module=self.module_path.name,
                           uid=self.uid, gid=self.gid, namespaces=iso.namespaces,
                           userns=iso.userns, root=self.root, binds=list(view.binds),
                           listable=list(view.listable),
                           devices=list(rt.devices), home_mb=rt.home_mb, landlock=iso.landlock,
                           limits=dict(rt.limits), nproc_extra=self.uid is None,
                           seccomp=iso.seccomp, deny_memfd=iso.memory == "address space",
                           cgroup=self.cgroup.procs if self.cgroup is not None else "")
        return boot_argv(rt.python, ENGINE_ROOT, "grader.sandbox.launch",
                         json.dumps(spec.__dict__))

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen:
        """Start ``argv`` in the sandbox (through the launcher, in a session of its own)."""
        self.proc = subprocess.Popen(self.launcher_argv(argv), cwd=self.home, env=self.env(),
                                     start_new_session=True, umask=0o077, **kwargs)
        return self.proc

    def run(self, argv: list[str], *, timeout: float) -> subprocess.CompletedProcess:
        """Run ``argv`` in the sandbox to its end; its output captured."""
        proc = self.popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.end()
            out, err = proc.communicate()
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)

    def end(self) -> None:
        """Kill every process of the sandbox: the launcher's tree (a pid namespace's init takes
        its namespace with it), every process of the worker's uid, anything carrying the token,
        and everything in its cgroup."""
        if self.cgroup is not None:
            self.cgroup.kill()
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)  # the launcher kills and reaps its tree
                try:
                    self.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
            reaper.kill_tree(self.proc.pid)  # what is left if the launcher could not
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.lease is not None:
            reaper.kill_uid(self.lease.uid)
        _kill_marked(self.token)

    def close(self) -> None:
        """:meth:`end`, then remove every file the sandbox left and give its uid back."""
        self.end()
        iso = self.runtime.isolation
        if self.uid is not None and self.lease is not None and not (iso.namespaces
                                                                     or iso.landlock):
            reaper.remove_files_of(self.uid)  # it could write in /tmp like anyone
        reaper.remove_tree(self.home)
        if self.root:
            try:
                os.rmdir(self.root)
            except OSError:
                reaper.remove_tree(self.root)
        if self.cgroup is not None:
            self.cgroup.close()
        if self.lease is not None:
            self.lease.release()  # its keyrings emptied

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Worker:
    """One worker process; create with :meth:`start`, always end with :meth:`kill`."""

    def __init__(self, runtime: Runtime, exercise: str, module_source: bytes) -> None:
        self.runtime = runtime
        self.exercise = exercise
        self.sandbox = Sandbox(runtime, exercise, module_source)
        self.token = self.sandbox.token
        self.home = self.sandbox.home
        self.module_path = self.sandbox.module_path
        try:
            self.logdir = Path(tempfile.mkdtemp(prefix=f"dlgrade-log-{exercise}-"))
        except BaseException:  # an interrupt between the two leaves no sandbox behind
            self.sandbox.close()
            raise
        self.log_path = self.logdir / "output.txt"
        self.proc: subprocess.Popen | None = None
        self.requests = self.answers = -1
        self.names: list[str] = []
        self.on_progress: ProgressFn | None = None
        self.limits = frames.DEFAULT_LIMITS  # the Student sets its exercise's

    def start(self, deadline: float) -> None:
        """Spawn and wait for the hello; raise ImportFailed/TimedOut/Crashed."""
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        spec = {"exercise": self.exercise, "module": str(self.module_path),
                "request_fd": req_r, "answer_fd": ans_w,
                "imports": self.runtime.import_rule(self.exercise)}
        with open(self.log_path, "ab") as log:
            self.proc = self.sandbox.popen(
                [*self.runtime.worker_argv(), json.dumps(spec)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                pass_fds=(req_r, ans_w))
        os.close(req_r)
        os.close(ans_w)
        self.requests, self.answers = req_w, ans_r
        os.set_blocking(self.requests, False)
        os.set_blocking(self.answers, False)
        hello = self._receive(b"", deadline, doing=f"importing {self.exercise}.py")
        if "import_error" in hello:
            raise ImportFailed(str(hello["import_error"]))
        self.names = [str(n) for n in hello.get("names", [])]

    def request(self, message: dict, deadline: float, *, doing: str) -> dict:
        return self._receive(json.dumps(message, allow_nan=True).encode(), deadline, doing=doing)

    def _receive(self, payload: bytes, deadline: float, *, doing: str) -> dict:
        try:
            message = cut_texts(frames.exchange(self.requests, self.answers, payload, deadline,
                                                limits=self.limits,
                                                doing=doing, on_progress=self._progress))
        except EOFError:
            raise Crashed(self._death(doing)) from None
        return self._memory_hint(message)

    def _memory_hint(self, message: dict) -> dict:
        """An answer that ran out of memory says what the limit is: the student's failure,
        with what to change."""
        text = " ".join(str(message.get(k, "")) for k in ("exc_type", "message", "import_error"))
        if "MemoryError" not in text and "Cannot allocate memory" not in text:
            return message
        hint = (f" (the code's memory is limited to {self.runtime.memory_mb} MB: "
                "use smaller arrays or fewer copies)")
        key = "import_error" if "import_error" in message else "message"
        return {**message, key: str(message.get(key, "")) + hint}

    def _progress(self, value: Any) -> None:
        args = frames.progress_args(value)
        if self.on_progress is not None and args is not None:
            self.on_progress(*args)

    def _death(self, doing: str) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        tail = [line for line in self.output().splitlines() if line.strip()][-3:]
        if code == launch.SETUP_FAILED and tail and tail[-1].startswith("dlgrade launcher:"):
            raise GraderError(f"the sandbox could not start the code of {self.exercise}.py: "
                              f"{tail[-1].removeprefix('dlgrade launcher: ')}")
        if code is None:
            how = "stopped answering"
        elif self.sandbox.cgroup is not None and self.sandbox.cgroup.oom_kills():
            how = (f"was killed for using more than its memory limit of "
                   f"{self.runtime.memory_mb} MB")
        elif code < 0:
            how = f"was killed by signal {signal.Signals(-code).name}"
            if -code == signal.SIGKILL:
                how += " (out of memory?)"
        else:
            how = f"exited with code {code}"
            if doing.startswith("importing"):
                how += " (does the module call os._exit() or sys.exit() at top level?)"
        last = ("; its last output:\n" + "\n".join(f"    {line[:200]}" for line in tail)
                if tail else "")
        return f"the process running your code {how} while {doing}{last}"

    def output(self) -> str:
        """The captured stdout/stderr, cut at the configured limit."""
        limit = self.runtime.output_limit
        try:
            with open(self.log_path, "rb") as f:
                data = f.read(limit + 1)
                size = os.fstat(f.fileno()).st_size
        except OSError:
            return ""
        text = data[:limit].decode(errors="replace")
        if size > limit:
            text += f"\n[... output cut: {size - limit} more bytes]"
        return text

    def kill(self) -> None:
        """End the sandbox: every process, every file; close the pipes."""
        for fd in (self.requests, self.answers):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.requests = self.answers = -1
        self.sandbox.close()

    def cleanup_logs(self) -> None:
        reaper.remove_tree(self.logdir)


def cut_texts(message: dict) -> dict:
    """``message`` (a worker's, well formed: see :func:`grader.sandbox.frames.well_formed`) with
    each text cut to :data:`TEXT_LIMITS` and each list of names to :data:`LIST_LIMITS`."""
    out = dict(message)
    for key, limit in TEXT_LIMITS.items():
        text = out.get(key)
        if isinstance(text, str) and len(text) > limit:
            out[key] = text[:limit] + f" [... {len(text) - limit} more characters cut]"
    for key, (items, chars) in LIST_LIMITS.items():
        values = out.get(key)
        if isinstance(values, list):
            out[key] = [v[:chars] for v in values[:items]]
    return out


def join_outputs(outputs: list[str], limit: int) -> str:
    """The captured outputs of an exercise's workers (one per restart), each already cut to
    ``limit``, joined and cut to ``limit`` characters in all: 22 restarts must not cost the
    judge 22 times the output limit. (Room is left for the notes saying what was cut.)"""
    limit += 200
    kept, size = [], 0
    for i, text in enumerate(outputs):
        if size + len(text) > limit:
            kept.append(text[:max(0, limit - size)])
            dropped = sum(len(t) for t in outputs[i:]) - len(kept[-1])
            kept.append(f"\n[... output cut: {dropped} more characters, {len(outputs) - i} "
                        "worker start(s)]")
            break
        kept.append(text)
        size += len(text)
    return "".join(kept)


def _kill_marked(token: str) -> None:
    """SIGKILL every process whose environment carries this token (a process that escaped
    everything else but kept its environment)."""
    needle = f"{MARKER}={token}".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue
