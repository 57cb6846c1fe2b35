"""The judge's side of the sandbox: start workers, talk to them under time limits, kill them.

- :func:`prepare_runtime` decides once per grading run how workers run: as an unprivileged user
  when the judge is root and that user can start the interpreter (else it says why not), and,
  when the drop is enforced, makes the references and hidden checks unreadable to that user.
- :class:`Worker` is one live worker process (a fresh ``python -I`` per exercise, in a temporary
  directory holding only the submitted module, its own process group).
- :class:`Student` is the proxy the checks call: ``student.f(...)`` / ``student.probe(...)``. It
  starts workers lazily, restarts them after a crash or a timeout, charges every call to the
  exercise's time budget, and turns every failure into a ``StudentError`` with a clear message.
"""

from __future__ import annotations

import json
import os
import pwd
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import secrets
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np

from grader import codec
from grader.config import Config, ExerciseConfig, EXERCISES_DIR
from grader.errors import (BadOutput, Crashed, ImportFailed, Missing, Raised, StudentError,
                           TimedOut)

MARKER = "DLGRADE_WORKER_TOKEN"
ProgressFn = Callable[[float, float, str], None]
MAX_MODULE_BYTES = 2 * 1024 * 1024


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
        return f"the process running your code {how} while {doing}"

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


class Student:
    """Proxy for one exercise's submitted module; see the module docstring."""

    def __init__(self, runtime: Runtime, exercise: ExerciseConfig, submission: Path, *,
                 on_progress: ProgressFn | None = None) -> None:
        self._runtime = runtime
        self._on_progress = on_progress
        self._exercise = exercise
        self._file = submission / f"{exercise.id}.py"
        self._worker: Worker | None = None
        self._used = 0.0
        self._fatal: StudentError | None = None
        self._outputs: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<student {self._exercise.id}>"

    def call(self, name: str, *args: Any, _timeout: float | None = None, **kwargs: Any) -> Any:
        """Call ``name`` of the submitted module in the worker and return the decoded value."""
        return self._run("call", name, args, kwargs, _timeout)

    def probe(self, name: str, *args: Any, _timeout: float | None = None, **kwargs: Any) -> Any:
        """Run ``grader.exercises.<id>.probes.<name>(module, *args, **kwargs)`` in the worker."""
        return self._run("probe", name, args, kwargs, _timeout)

    def has(self, name: str) -> bool:
        """Whether the module defines a callable ``name`` (imports it if needed)."""
        self._ensure_worker(time.monotonic() + self._budget(None))
        return name in self._worker.names

    def _budget(self, timeout: float | None) -> float:
        left = self._exercise.time_limit - self._used
        if left <= 0:
            raise TimedOut(f"{self._exercise.id}: the exercise's time budget of "
                           f"{self._exercise.time_limit:g} s is used up; this check could not run")
        return min(timeout or self._exercise.call_timeout, left)

    def _run(self, op: str, name: str, args: tuple, kwargs: dict, timeout: float | None) -> Any:
        budget = self._budget(timeout)
        what = _describe(name, args, kwargs) if op == "call" else f"running the check's probe {name}"
        started = time.monotonic()
        deadline = started + budget
        try:
            self._ensure_worker(deadline)
            if op == "call" and name not in self._worker.names:
                raise Missing(f"{self._file.name} has no function {name}(): define it with the "
                              "signature in the assignment")
            answer = self._worker.request(
                {"op": op, "name": name, "args": codec.encode(list(args)),
                 "kwargs": codec.encode(dict(kwargs))}, deadline, doing=what)
        except TimeoutError:
            self._stop_worker()
            raise TimedOut(f"{what} did not finish within {budget:g} s (time limit); "
                           "look for an infinite loop or very slow code") from None
        except (Crashed, BadOutput):
            self._stop_worker()
            raise
        finally:
            self._used += time.monotonic() - started
        return self._answer(answer, op, name, what)

    def _answer(self, answer: dict, op: str, name: str, what: str) -> Any:
        if answer.get("ok"):
            try:
                return codec.decode(answer.get("value"))
            except codec.DecodeError as err:
                raise BadOutput(f"{what} returned a value the grader cannot read: {err}") from None
        if "missing" in answer:
            raise Missing(f"{self._file.name} has no function {str(answer['missing'])[:100]}(): "
                          "define it with the signature in the assignment")
        exc_type = str(answer.get("exc_type", "Exception"))
        message = str(answer.get("message", ""))
        trace = str(answer.get("traceback", ""))
        if exc_type == "NotImplementedError" and op == "call":
            text = f"{name}() is not implemented yet (it raises NotImplementedError: {message})"
        else:
            text = f"{what} raised {exc_type}: {message}"
        if trace and exc_type != "NotImplementedError":
            text += "\n" + trace
        raise Raised(text, exc_type=exc_type, exc_mro=tuple(map(str, answer.get("exc_mro", []))),
                     exc_message=message, traceback=trace)

    def _ensure_worker(self, deadline: float) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self._worker is not None:
            return
        source = self._read_module()
        worker = Worker(self._runtime, self._exercise.id, source)
        worker.on_progress = self._on_progress
        self._worker = worker
        try:
            worker.start(deadline)
        except TimeoutError:
            self._fatal = ImportFailed(
                f"importing {self._file.name} did not finish within the time limit; look for "
                "top-level code that loops or trains (put it under `if __name__ == \"__main__\":`)")
        except StudentError as err:
            self._fatal = err if isinstance(err, ImportFailed) else ImportFailed(str(err))
        if self._fatal is not None:
            self._stop_worker()
            raise self._fatal

    def _read_module(self) -> bytes:
        try:
            info = os.lstat(self._file)
        except FileNotFoundError:
            self._fatal = Missing(f"missing {self._file.name}: the submission has no "
                                  f"{self._file.name}, so this exercise scores 0")
            raise self._fatal from None
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MODULE_BYTES:
            self._fatal = ImportFailed(f"{self._file.name} must be a regular file of at most "
                                       f"{MAX_MODULE_BYTES // 1024} KiB")
            raise self._fatal
        return self._file.read_bytes()

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._outputs.append(self._worker.output())
            self._worker.cleanup_logs()
            self._worker = None

    def close(self) -> str:
        """Stop the worker (killing everything it started) and return all captured output."""
        if self._worker is not None:
            try:
                os.close(self._worker.requests)  # a clean end: the worker sees EOF and exits
                self._worker.requests = -1
                self._worker.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._stop_worker()
        return "".join(o for o in self._outputs if o)

    @property
    def seconds_used(self) -> float:
        return self._used


def _brief(value: Any, depth: int = 0) -> str:
    """Arguments as a reader wants them in a message: small values in full, arrays by shape."""
    from grader.expect import short

    if isinstance(value, np.ndarray) and value.size > 6:
        return f"array(shape={value.shape}, {value.dtype})"
    if isinstance(value, dict) and depth == 0:
        items = ", ".join(f"{k!r}: {_brief(v, 1)}" for k, v in list(value.items())[:4])
        return "{" + items + (", ..." if len(value) > 4 else "") + "}"
    return short(value, 60)


def _describe(name: str, args: tuple, kwargs: dict) -> str:
    parts = [_brief(a) for a in args] + [f"{k}={_brief(v)}" for k, v in kwargs.items()]
    text = f"{name}({', '.join(parts)})"
    return text if len(text) <= 160 else text[:157] + "..."
