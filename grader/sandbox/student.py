"""The proxy checks call: ``student.f(...)`` and ``student.probe(...)``.

It starts a :class:`~grader.sandbox.process.Worker` lazily, restarts it after a crash or a timeout,
charges every call to the exercise's time budget (starting the worker, reading and decoding its
answer included), holds the worker to the exercise's answer limits, and turns every failure into
a ``StudentError`` with a message a student can act on.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from grader.config import ExerciseConfig, SandboxConfig
from grader.errors import BadOutput, Crashed, ImportFailed, Missing, Raised, StudentError, TimedOut
from grader.sandbox import codec
from grader.sandbox.frames import frame_limits
from grader.sandbox.process import ProgressFn, Runtime, Worker, join_outputs

MAX_MODULE_BYTES = 2 * 1024 * 1024


class Student:
    """Proxy for one exercise's submitted module; see the module docstring."""

    def __init__(self, runtime: Runtime, exercise: ExerciseConfig, submission: Path, *,
                 on_progress: ProgressFn | None = None,
                 sandbox: SandboxConfig | None = None) -> None:
        """``sandbox`` gives the answer limits (depth, elements, bytes unless the exercise sets
        its own); the defaults of :class:`SandboxConfig` when None."""
        self._runtime = runtime
        self._on_progress = on_progress
        self._exercise = exercise
        self._limits = frame_limits(sandbox or SandboxConfig(), exercise)
        self._file = submission / f"{exercise.id}.py"
        self._worker: Worker | None = None
        self._used = 0.0
        self._starting = 0.0
        self._fatal: StudentError | None = None
        self._outputs: list[str] = []
        self._warming: tuple[threading.Thread, dict] | None = None
        # Calls and probes so far, and the last one's name: which case of a check failed
        # (grader.plugin records it for the failure signature, grader.slips).
        self.calls = 0
        self.last_call = ""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<student {self._exercise.id}>"

    def call(self, name: str, *args: Any, _timeout: float | None = None, **kwargs: Any) -> Any:
        """Call ``name`` of the submitted module in the worker and return the decoded value."""
        return self._run("call", name, args, kwargs, _timeout)

    def probe(self, name: str, *args: Any, _timeout: float | None = None,
              _what: str | None = None, **kwargs: Any) -> Any:
        """Run ``grader.exercises.<id>.probes.<name>(module, *args, **kwargs)`` in the worker.

        ``_what`` says in the student's terms what runs (``"build_autoencoder(64, 32, 8) and
        model(x)"``), for messages when it raises or times out; the default names the file.
        """
        return self._run("probe", name, args, kwargs, _timeout, _what)

    def has(self, name: str) -> bool:
        """Whether the module defines a callable ``name`` (imports it if needed)."""
        started = time.monotonic()
        try:
            self._ensure_worker(started + self._budget(None))
        finally:
            self._used += time.monotonic() - started
        return name in self._worker.names

    def _budget(self, timeout: float | None) -> float:
        left = self._exercise.time_limit - self._used
        if left <= 0:
            raise TimedOut(f"{self._exercise.id}: the exercise's time budget of "
                           f"{self._exercise.time_limit:g} s is used up; this check could not run")
        return min(timeout or self._exercise.call_timeout, left)

    def _run(self, op: str, name: str, args: tuple, kwargs: dict, timeout: float | None,
             what: str | None = None) -> Any:
        self.calls += 1
        self.last_call = name
        budget = self._budget(timeout)
        if what is None:  # a student reads this: their file and functions, not our internals
            what = (_describe(name, args, kwargs) if op == "call" else
                    f"your code in {self._file.name}")
        started = time.monotonic()
        try:  # reading and decoding the answer is charged too: the student chose its size
            answer = self._request(op, name, args, kwargs, started + budget, budget, what)
            return self._answer(answer, op, name, what)
        finally:
            self._used += time.monotonic() - started

    def _request(self, op: str, name: str, args: tuple, kwargs: dict, deadline: float,
                 budget: float, what: str) -> dict:
        try:
            self._ensure_worker(deadline)
            if op == "call" and name not in self._worker.names:
                raise Missing(f"{self._file.name} has no function {name}(): define it with the "
                              "signature in the assignment")
            return self._worker.request(
                {"op": op, "name": name, "args": codec.encode(list(args)),
                 "kwargs": codec.encode(dict(kwargs))}, deadline, doing=what)
        except TimeoutError:
            self._stop_worker()
            raise TimedOut(f"{what} did not finish within {budget:g} s (time limit); "
                           "look for an infinite loop or very slow code") from None
        except (Crashed, BadOutput):
            self._stop_worker()
            raise

    def _answer(self, answer: dict, op: str, name: str, what: str) -> Any:
        if answer.get("ok"):
            try:
                return codec.decode(answer.get("value"))
            except codec.DecodeError as err:
                raise BadOutput(f"{what} returned a value that cannot be graded: {err}") from None
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

    def prestart(self) -> None:
        """Start the worker in the background (the interpreter, torch, the module's import take
        seconds) while the judge does other work; the first call waits for it. Its time is the
        exercise's all the same, and so are its failures, raised at the first call."""
        if self._worker is not None or self._fatal is not None or self._warming is not None:
            return
        try:
            deadline = time.monotonic() + self._budget(None)
        except TimedOut:
            return
        box: dict = {}

        def warm() -> None:
            started = time.monotonic()
            try:
                self._start_worker(deadline)
            except BaseException as err:  # noqa: BLE001 - raised again at the first call
                box["error"] = err
            box["seconds"] = time.monotonic() - started

        thread = threading.Thread(target=warm, name=f"dlgrade-start-{self._exercise.id}",
                                  daemon=True)
        self._warming = (thread, box)
        thread.start()

    def _join_warming(self) -> float:
        """Wait for a background start; the seconds it took beyond the wait."""
        if self._warming is None:
            return 0.0
        thread, box = self._warming
        waited = time.monotonic()
        thread.join()
        waited = time.monotonic() - waited
        self._warming = None
        error = box.get("error")
        if error is not None and not isinstance(error, StudentError):
            raise error  # the grader's failure (the sandbox could not start): not the student's
        return max(0.0, box.get("seconds", 0.0) - waited)

    def _ensure_worker(self, deadline: float) -> None:
        self._used += self._join_warming()  # the whole start is charged, waited for or not
        if self._fatal is not None:
            raise self._fatal
        if self._worker is not None:
            return
        self._start_worker(deadline)

    def _start_worker(self, deadline: float) -> None:
        source = self._read_module()
        worker = Worker(self._runtime, self._exercise.id, source)
        worker.on_progress = self._on_progress
        worker.limits = self._limits
        self._worker = worker
        started = time.monotonic()
        try:
            worker.start(deadline)
        except TimeoutError:
            self._fatal = ImportFailed(
                f"importing {self._file.name} did not finish within the time limit; look for "
                "top-level code that loops or trains (put it under `if __name__ == \"__main__\":`)")
        except StudentError as err:
            self._fatal = err if isinstance(err, ImportFailed) else ImportFailed(str(err))
        finally:
            self._starting += time.monotonic() - started
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
        # No waiting for a clean exit (0.5 s for a process that imported torch): the worker's
        # output is unbuffered, so ending it loses nothing. A worker still starting in the
        # background is ended first (the wait would be its whole start: an interrupted run
        # must not wait for torch to import).
        if self._warming is not None and self._worker is not None:
            self._worker.sandbox.end()
        try:
            self._join_warming()
        except Exception:  # noqa: BLE001 - ending anyway; a check already said what failed
            pass
        self._stop_worker()
        return join_outputs([o for o in self._outputs if o], self._runtime.output_limit)

    @property
    def seconds_used(self) -> float:
        return self._used

    @property
    def timings(self) -> dict[str, float]:
        """Seconds spent starting workers (the launcher, the interpreter, importing the
        module) and in calls (the code's own work, sending and decoding the answers)."""
        return {"start": round(self._starting, 3), "calls": round(self._used - self._starting, 3)}


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
