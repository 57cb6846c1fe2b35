"""The judge's side of the sandbox: start workers, talk to them under time limits, kill them.

- :func:`prepare_runtime` decides once per grading run how workers run: as an unprivileged user
  when the judge is root and that user can start the interpreter (else it says why not), and,
  when the drop is enforced, makes the references and hidden checks unreadable to that user.
- :class:`Worker` is one live worker process (a fresh ``python -I`` per exercise, in a temporary
  directory holding only the submitted module, its own process group).
- The proxy the checks call (``student.f(...)``) is :class:`grader.student.Student`.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.config import EXERCISES_DIR, Config
from grader.errors import BadOutput, Crashed, ImportFailed

MARKER = "DLGRADE_WORKER_TOKEN"
ProgressFn = Callable[[float, float, str], None]


@dataclass(frozen=True)
class Runtime:
    """How this grading run starts workers."""

    python: str
    uid: int | None  # None: same user as the judge
    gid: int | None
    notices: tuple[str, ...]
    limits: dict
    threads: int
    output_limit: int
    response_limit: int

    @property
    def dropped(self) -> bool:
        return self.uid is not None


def prepare_runtime(config: Config) -> Runtime:
    sb = config.sandbox
    limits = {"data": sb.memory_mb * 1024 * 1024, "fsize": 256 * 1024 * 1024, "core": 0}
    common = dict(python=sys.executable, limits=limits, threads=sb.threads,
                  output_limit=sb.output_limit_kb * 1024,
                  response_limit=sb.response_limit_mb * 1024 * 1024)
    if os.geteuid() != 0:
        note = (f"sandbox: the judge runs as uid {os.geteuid()}, not root, so workers run as the "
                "same user (no privilege drop; they can read what this user can read)")
        return Runtime(uid=None, gid=None, notices=(note,), **common)
    try:
        user = pwd.getpwnam(sb.user)
    except KeyError:
        return Runtime(uid=None, gid=None, notices=(
            f"sandbox: user {sb.user!r} does not exist: privilege drop NOT enforced",), **common)
    reason = _cannot_start_as(user.pw_uid, user.pw_gid)
    if reason:
        return Runtime(uid=None, gid=None, notices=(
            f"sandbox: privilege drop NOT enforced: user {sb.user} cannot start {sys.executable} "
            f"({reason}); use a virtual environment that other users can read (e.g. made with "
            "the system python3 in a world-readable folder)",), **common)
    protected = _protect(config)
    limits = {**limits, "nproc": sb.max_processes}
    return Runtime(uid=user.pw_uid, gid=user.pw_gid, notices=(
        f"sandbox: workers run as user {sb.user}; made readable by root only: {protected}",),
        **{**common, "limits": limits})


def _cannot_start_as(uid: int, gid: int) -> str:
    try:
        proc = subprocess.run([sys.executable, "-I", "-c", "import grader.worker, numpy"],
                              user=uid, group=gid, extra_groups=[], cwd="/", env=_base_env(1),
                              capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        return str(err)
    if proc.returncode != 0:
        return (proc.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[-1]
    return ""


def _protect(config: Config) -> str:
    """Make references and hidden checks unreadable to others (the worker's user)."""
    done = []
    if config.solutions is not None:
        config.solutions.chmod(config.solutions.stat().st_mode & ~0o077)
        done.append(str(config.solutions))
    for hidden in sorted(EXERCISES_DIR.glob("*/test_hidden*.py")):
        hidden.chmod(hidden.stat().st_mode & ~0o077)
    done.append("grader/exercises/*/test_hidden*.py")
    return ", ".join(done)


def _base_env(threads: int) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
           "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}
    for key in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "NVIDIA_VISIBLE_DEVICES"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


class Worker:
    """One worker process; create with :meth:`start`, always end with :meth:`kill`."""

    def __init__(self, runtime: Runtime, exercise: str, module_source: bytes) -> None:
        self.runtime = runtime
        self.exercise = exercise
        self.token = secrets.token_hex(16)
        self.home = Path(tempfile.mkdtemp(prefix=f"dlgrade-{exercise}-"))
        self.logdir = Path(tempfile.mkdtemp(prefix=f"dlgrade-log-{exercise}-"))
        self.module_path = self.home / f"{exercise}.py"
        self.module_path.write_bytes(module_source)
        if runtime.dropped:
            os.chown(self.home, runtime.uid, runtime.gid)
            os.chown(self.module_path, runtime.uid, runtime.gid)
        self.log_path = self.logdir / "output.txt"
        self.proc: subprocess.Popen | None = None
        self.requests = self.answers = -1
        self.names: list[str] = []
        self.on_progress: ProgressFn | None = None

    def start(self, deadline: float) -> None:
        """Spawn and wait for the hello; raise ImportFailed/TimedOut/Crashed."""
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        spec = {"exercise": self.exercise, "module": str(self.module_path),
                "request_fd": req_r, "answer_fd": ans_w, "limits": self.runtime.limits}
        env = {**_base_env(self.runtime.threads), "HOME": str(self.home), MARKER: self.token}
        drop = ({"user": self.runtime.uid, "group": self.runtime.gid, "extra_groups": []}
                if self.runtime.dropped else {})
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [self.runtime.python, "-I", "-m", "grader.worker", json.dumps(spec)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                pass_fds=(req_r, ans_w), cwd=self.home, env=env, start_new_session=True,
                umask=0o077, **drop)
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
        out = memoryview(len(payload).to_bytes(8, "big") + payload) if payload else memoryview(b"")
        buf = bytearray()
        need: int | None = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            writers = [self.requests] if len(out) else []
            readable, writable, _ = select.select([self.answers], writers, [], left)
            if writable:
                try:
                    out = out[os.write(self.requests, out[:1 << 16]):]
                except BrokenPipeError:
                    out = memoryview(b"")  # the worker is gone; its exit shows up as EOF
            if not readable:
                continue
            chunk = os.read(self.answers, 1 << 20)
            if not chunk:
                raise Crashed(self._death(doing))
            buf += chunk
            if need is None and len(buf) >= 8:
                need = int.from_bytes(buf[:8], "big")
                if need > self.runtime.response_limit:
                    raise BadOutput(f"while {doing}, the worker sent {need} bytes, more than the "
                                    f"{self.runtime.response_limit} allowed")
            while need is not None and len(buf) >= 8 + need:
                try:
                    message = json.loads(bytes(buf[8:8 + need]))
                except ValueError:
                    message = None
                if not isinstance(message, dict):
                    raise BadOutput(f"while {doing}, the worker's answer was not readable "
                                    "(did your code write to the grader's pipes?)")
                if "progress" not in message:
                    return message
                self._progress(message["progress"])
                del buf[:8 + need]
                need = int.from_bytes(buf[:8], "big") if len(buf) >= 8 else None

    def _progress(self, value: Any) -> None:
        if self.on_progress is not None and isinstance(value, list) and len(value) == 3:
            try:
                self.on_progress(float(value[0]), float(value[1]), str(value[2])[:80])
            except (TypeError, ValueError):
                pass

    def _death(self, doing: str) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            how = "closed its connection to the grader"
        elif code < 0:
            how = f"was killed by signal {signal.Signals(-code).name}"
            if -code == signal.SIGKILL:
                how += " (out of memory?)"
        else:
            how = f"exited with code {code}"
            if doing.startswith("importing"):
                how += " (does the module call os._exit() or sys.exit() at top level?)"
        tail = [line for line in self.output().splitlines() if line.strip()][-3:]
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
        """Kill the process group and any escaped descendant; reap; remove the folders."""
        for fd in (self.requests, self.answers):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.requests = self.answers = -1
        if self.proc is not None:
            for _ in range(3):  # again, in case a process forked while we were killing
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                _kill_marked(self.token)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.home, ignore_errors=True)

    def cleanup_logs(self) -> None:
        shutil.rmtree(self.logdir, ignore_errors=True)


def _kill_marked(token: str) -> None:
    """SIGKILL every process whose environment carries this worker's token (setsid escapees)."""
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
