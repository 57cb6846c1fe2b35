"""The judge's side of the sandbox: start workers, talk to them under time limits, kill them.

- :func:`prepare_runtime` decides once per grading run how workers run: as an unprivileged user
  when the judge is root and that user can start the interpreter (else it says why not), and,
  when the drop is enforced, makes the references and hidden checks unreadable to that user.
- :class:`Worker` is one live worker process (a fresh ``python -I`` per exercise, in a temporary
  directory holding only the submitted module, its own process group).
- The proxy the checks call (``student.f(...)``) is :class:`grader.sandbox.student.Student`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pwd
import secrets
import select
import shutil
import signal
import stat
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
# Workers import this very engine (a bundle's copy, say), not whatever `grader` the interpreter
# would find: `-I` ignores PYTHONPATH, so the folder holding the package goes on sys.path first.
ENGINE_ROOT = str(Path(__file__).resolve().parents[2])


def engine_argv(python: str, module: str, *args: str) -> list[str]:
    """``python -I`` running ``module``'s ``main(argv)`` from this engine."""
    boot = (f"import sys; sys.path.insert(0, {ENGINE_ROOT!r}); "
            f"from {module} import main; sys.exit(main(sys.argv[1:]))")
    return [python, "-I", "-c", boot, *args]
ProgressFn = Callable[[float, float, str], None]


@dataclass(frozen=True)
class Runtime:
    """How this grading run starts workers.

    When workers drop privileges, the judge reads the references and hidden checks from
    ``private`` (a root-only copy made for this run), and each worker starts in a mount
    namespace where the originals (``cover_dirs``, ``cover_files``) are covered; where the
    kernel or container refuses that, their modes are narrowed for the run and ``restore``d by
    :meth:`close`. Either way the checkout is left as it was.
    """

    python: str
    uid: int | None  # None: same user as the judge
    gid: int | None
    notices: tuple[str, ...]
    limits: dict
    threads: int
    output_limit: int
    response_limit: int
    private: Path | None = None
    cover_dirs: tuple[str, ...] = ()
    cover_files: tuple[str, ...] = ()
    restore: tuple[tuple[str, int], ...] = ()

    @property
    def dropped(self) -> bool:
        return self.uid is not None

    @property
    def private_dirs(self) -> tuple[Path, ...]:
        return (self.private,) if self.private else ()

    def hidden_copy(self, check_file: Path) -> Path:
        """The file the judge collects for ``check_file``: its private copy if there is one."""
        if self.private is None:
            return check_file
        copy = self.private / "exercises" / check_file.parent.name / check_file.name
        return copy if copy.is_file() else check_file

    def judge_config(self, config: Config) -> Config:
        """``config`` with ``solutions`` pointing at the private copy when there is one."""
        if self.private is None or config.solutions is None:
            return config
        return dataclasses.replace(config, solutions=self.private / "solutions")

    def close(self) -> None:
        """Restore narrowed modes and remove the private copy."""
        for path, mode in self.restore:
            try:
                os.chmod(path, mode)
            except OSError:
                pass
        if self.private is not None:
            shutil.rmtree(self.private, ignore_errors=True)


def prepare_runtime(config: Config) -> Runtime:
    sb = config.sandbox
    limits = {"data": sb.memory_mb * 1024 * 1024, "fsize": 256 * 1024 * 1024, "core": 0}
    common = dict(python=sys.executable, limits=limits, threads=sb.threads,
                  output_limit=sb.output_limit_kb * 1024,
                  response_limit=int(sb.answer_limit_mb * 1024 * 1024))
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
    limits = {**limits, "nproc": sb.max_processes}
    dirs, files = _hidden_material(config)
    private = _private_copy(dirs, files)
    covered = dict(cover_dirs=tuple(map(str, dirs)), cover_files=tuple(map(str, files)))
    failure = _cover_fails(user.pw_uid, user.pw_gid, covered)
    if not failure:
        how = ("the references and hidden checks are covered in their mount namespace; the "
               "judge reads a root-only copy")
        return Runtime(uid=user.pw_uid, gid=user.pw_gid, private=private, **covered,
                       notices=(f"sandbox: workers run as user {sb.user}; {how}",),
                       **{**common, "limits": limits})
    restore = _narrow_modes(dirs, files)
    how = (f"the references and hidden checks are made readable by root only for this run "
           f"(modes restored afterwards; a mount namespace was refused: {failure})")
    return Runtime(uid=user.pw_uid, gid=user.pw_gid, private=private, restore=restore,
                   notices=(f"sandbox: workers run as user {sb.user}; {how}",),
                   **{**common, "limits": limits})


def _cannot_start_as(uid: int, gid: int) -> str:
    try:
        boot = f"import sys; sys.path.insert(0, {ENGINE_ROOT!r}); import grader.sandbox.worker, numpy"
        proc = subprocess.run([sys.executable, "-I", "-c", boot],
                              user=uid, group=gid, extra_groups=[], cwd="/", env=_base_env(1),
                              capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        return str(err)
    if proc.returncode != 0:
        return (proc.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[-1]
    return ""


def _hidden_material(config: Config) -> tuple[list[Path], list[Path]]:
    """The folders and files a worker must not read: references and hidden checks."""
    dirs = [config.solutions] if config.solutions is not None else []
    return dirs, sorted(EXERCISES_DIR.glob("*/test_hidden*.py"))


def _private_copy(dirs: list[Path], files: list[Path]) -> Path:
    """A root-only folder holding ``solutions/`` and ``exercises/<id>/test_hidden*.py``."""
    private = Path(tempfile.mkdtemp(prefix="dlgrade-judge-"))  # mode 0700
    for folder in dirs:
        shutil.copytree(folder, private / "solutions", symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for path in files:
        dest = private / "exercises" / path.parent.name / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    return private


def _cover_fails(uid: int, gid: int, covered: dict) -> str:
    """Why covering the hidden material in a mount namespace does not work here ('' if it does)."""
    spec = {"dirs": list(covered["cover_dirs"]), "files": list(covered["cover_files"]),
            "uid": uid, "gid": gid, "probe": True}
    try:
        proc = subprocess.run(engine_argv(sys.executable, "grader.sandbox.cover", json.dumps(spec)),
                              cwd="/", env=_base_env(1), capture_output=True, timeout=60)
        answer = json.loads(proc.stdout or b"{}")
    except (OSError, subprocess.SubprocessError, ValueError) as err:
        return str(err)
    if "error" in answer or proc.returncode != 0:
        return str(answer.get("error") or f"exit code {proc.returncode}")
    if answer.get("readable"):
        return f"still readable: {', '.join(answer['readable'])}"
    return ""


def _narrow_modes(dirs: list[Path], files: list[Path]) -> tuple[tuple[str, int], ...]:
    """Make ``dirs`` and ``files`` root-only; return their former modes to restore."""
    restore = []
    for path in [*dirs, *files]:
        mode = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode & ~0o077)
        restore.append((str(path), mode))
    return tuple(restore)


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
        argv = engine_argv(self.runtime.python, "grader.sandbox.worker", json.dumps(spec))
        drop = ({"user": self.runtime.uid, "group": self.runtime.gid, "extra_groups": []}
                if self.runtime.dropped else {})
        if self.runtime.cover_dirs or self.runtime.cover_files:
            # the launcher (trusted, root) covers the hidden material, drops and execs argv
            cover = {"dirs": list(self.runtime.cover_dirs), "files": list(self.runtime.cover_files),
                     "uid": self.runtime.uid, "gid": self.runtime.gid, "argv": argv}
            argv, drop = engine_argv(self.runtime.python, "grader.sandbox.cover", json.dumps(cover)), {}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv,
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
                    raise BadOutput(f"while {doing}, your code returned {need} bytes of results, "
                                    f"more than the {self.runtime.response_limit} allowed")
            while need is not None and len(buf) >= 8 + need:
                try:
                    message = json.loads(bytes(buf[8:8 + need]))
                except ValueError:
                    message = None
                if not isinstance(message, dict):
                    raise BadOutput(f"while {doing}, the result of your code was not readable "
                                    "(does your code write to file descriptors it did not open?)")
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
            how = "stopped answering"
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
