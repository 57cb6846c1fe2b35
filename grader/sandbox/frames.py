"""The judge's end of the pipes: send a request, read answers one frame at a time, under limits.

A frame is an 8-byte big-endian length and a JSON payload. The worker runs submission code, so
every byte read here is untrusted and the judge's memory and time must not depend on it:

- the length is checked against ``FrameLimits.max_bytes`` before the payload is read;
- the payload's nesting depth and element count are checked before ``json.loads`` sees it: a
  cheap upper bound from ``bytes.count`` first, and only when that is over a limit, a scan of
  its structure that skips string contents and stops at the first limit crossed;
- the parsed message must have the protocol's shape (``{"ok": bool, "value": ...}`` and the
  other fields the worker sends, each of its type), so the code reading it cannot trip.

Whatever fails becomes :class:`~grader.errors.BadOutput` with a message a student can act on.
Besides that, :func:`exchange` raises only ``TimeoutError`` (past the deadline) and
``EOFError`` (the worker closed its end: it died).
"""

from __future__ import annotations

import json
import math
import os
import re
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grader.config import ExerciseConfig, SandboxConfig
from grader.errors import BadOutput

HEADER = 8
READ_CHUNK = 1 << 20
WRITE_CHUNK = 1 << 16
LABEL_CHARS = 80


@dataclass(frozen=True)
class FrameLimits:
    """What one answer frame may hold: payload bytes, nesting depth of lists and objects, and
    elements (values and keys, the document itself included)."""

    max_bytes: int
    max_depth: int
    max_items: int


def frame_limits(sandbox: SandboxConfig, exercise: ExerciseConfig | None = None) -> FrameLimits:
    """The limits for answers of ``exercise`` (its own byte limit, else the sandbox's)."""
    mb = sandbox.answer_limit_mb
    if exercise is not None and exercise.answer_limit_mb is not None:
        mb = exercise.answer_limit_mb
    return FrameLimits(max_bytes=int(mb * 1024 * 1024), max_depth=sandbox.answer_max_depth,
                       max_items=sandbox.answer_max_items)


DEFAULT_LIMITS = frame_limits(SandboxConfig())


def exchange(requests: int, answers: int, payload: bytes, deadline: float, *,
             limits: FrameLimits, doing: str, on_progress: Callable[[Any], None]) -> dict:
    """Send ``payload`` as one frame on fd ``requests`` (nothing when empty) while reading frames
    from fd ``answers``; return the first message that is not a progress report.

    Both fds are non-blocking. Progress values go to ``on_progress`` as sent (a list of three:
    see :func:`progress_args`). ``doing`` says in the student's terms what ran, for messages.
    Raises ``TimeoutError`` at ``deadline``, ``EOFError`` when the worker's end is closed and
    ``BadOutput`` for a frame over ``limits`` or not readable.
    """
    try:
        return _exchange(requests, answers, payload, deadline, limits, doing, on_progress)
    except BadOutput as err:
        # without the frames that hold the refused answer's buffer: pytest keeps the
        # traceback of a failed check until the end of the run
        raise err.with_traceback(None) from None


def _exchange(requests: int, answers: int, payload: bytes, deadline: float,
              limits: FrameLimits, doing: str, on_progress: Callable[[Any], None]) -> dict:
    out = memoryview(len(payload).to_bytes(HEADER, "big") + payload if payload else b"")
    frame = FrameReader(answers, limits, doing)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        readable, writable, _ = select.select([answers], [requests] if len(out) else [], [], left)
        if writable:
            try:
                out = out[os.write(requests, out[:WRITE_CHUNK]):]
            except BrokenPipeError:
                out = memoryview(b"")  # the worker is gone; its exit shows up as EOF
        body = frame.read() if readable else None
        if body is None:
            continue
        message = parse_answer(body, limits, doing)
        if "progress" not in message:
            return message
        on_progress(message["progress"])


class FrameReader:
    """Reads frames from a non-blocking fd, one read at a time, each into a buffer of the size
    its header declares: a length over ``limits.max_bytes`` is refused from the header alone,
    and a frame within it costs its size once (no growing buffer, no copy)."""

    def __init__(self, fd: int, limits: FrameLimits, doing: str) -> None:
        self._fd, self._limits, self._doing = fd, limits, doing
        self._buffer = bytearray(HEADER)
        self._filled = 0
        self._in_body = False

    def read(self) -> bytearray | None:
        """Read what the fd has for the current frame; its payload once complete, else None.
        Raises ``EOFError`` at the end of the stream, ``BadOutput`` for a length over the limit.
        """
        wanted = min(len(self._buffer) - self._filled, READ_CHUNK)
        if wanted:
            with memoryview(self._buffer) as whole:
                try:
                    count = os.readv(self._fd, [whole[self._filled:self._filled + wanted]])
                except BlockingIOError:
                    return None
            if not count:
                raise EOFError
            self._filled += count
        if self._filled < len(self._buffer):
            return None
        if self._in_body:
            body = self._buffer
            self._buffer, self._filled, self._in_body = bytearray(HEADER), 0, False
            return body
        size = int.from_bytes(self._buffer, "big")
        if size > self._limits.max_bytes:
            raise _too_big(size, self._limits, self._doing)
        self._buffer, self._filled, self._in_body = bytearray(size), 0, True
        return self.read() if size == 0 else None


def parse_answer(body: bytes | bytearray, limits: FrameLimits, doing: str) -> dict:
    """The message in one frame's payload, checked against ``limits`` before it is parsed and
    against the protocol's shape after; raises ``BadOutput`` saying which failed."""
    if len(body) > limits.max_bytes:
        raise _too_big(len(body), limits, doing)
    over = over_limits(body, limits)
    if over:
        raise BadOutput(f"while {doing}, your code returned {over}; return numbers in numpy "
                        "arrays, or smaller values")
    try:
        # decoded here as UTF-8: given bytes, json.loads would also accept UTF-16 or -32,
        # which the byte scan above cannot read
        message = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError, MemoryError):
        message = None
    if not well_formed(message):
        raise BadOutput(f"while {doing}, the result of your code was not readable "
                        "(does your code write to file descriptors it did not open?)")
    return message


# A JSON string (the escapes skipped; possessive, so no backtracking), a lone quote (an
# unterminated string), an empty container, or one structural character.
_TOKEN = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"|"|\[\s*+\]|\{\s*+\}|[\[\]{},:]', re.DOTALL)
_QUOTE, _CLOSERS, _SEPARATORS = ord('"'), b"]}", b",:"


def over_limits(body: bytes | bytearray, limits: FrameLimits) -> str:
    """What in ``body`` crosses ``limits.max_depth`` or ``limits.max_items`` ('' if nothing).

    Elements are counted as JSON counts values and keys: one for the document, one per ``,``
    and ``:`` and one per non-empty container, outside strings. Invalid JSON may read as ''
    here (the parser refuses it next). The scan stops at the first limit crossed, so the
    Python-level work is bounded by the limits, whatever the payload.
    """
    opens = body.count(b"[") + body.count(b"{")
    elements = 1 + opens + body.count(b",") + body.count(b":")
    if opens <= limits.max_depth and elements <= limits.max_items:
        return ""  # upper bounds of both: brackets, commas and colons inside strings count too
    depth = strings = 0
    items = 1
    for token in _TOKEN.finditer(body):
        first = body[token.start()]
        if first == _QUOTE:
            if token.end() - token.start() == 1:
                return ""  # unterminated: not JSON, and what follows it is string content
            strings += 1  # at most one per element in JSON; bounds the scan of invalid input
            if strings > limits.max_items:
                return _too_many(limits)
        elif first in _SEPARATORS:
            items += 1
            if items > limits.max_items:
                return _too_many(limits)
        elif first in _CLOSERS:
            depth -= 1
            if depth < 0:
                return ""  # unbalanced: not JSON
        elif depth + 1 > limits.max_depth:
            return (f"a value nested more than {limits.max_depth} levels deep (lists, tuples "
                    "and dicts inside each other)")
        elif token.end() - token.start() == 1:  # a container that holds something
            depth += 1
            items += 1
            if items > limits.max_items:
                return _too_many(limits)
    return ""


def _too_many(limits: FrameLimits) -> str:
    return (f"a value with more than {limits.max_items:,} elements in lists, tuples and dicts "
            "together")


# The fields the worker sends and their types (grader.sandbox.worker); "value" is a codec tree,
# checked when it is decoded.
_FIELDS: dict[str, type] = {"ok": bool, "names": list, "import_error": str, "missing": str,
                            "exc_type": str, "exc_mro": list, "message": str, "traceback": str,
                            "progress": list}
_STRING_LISTS = ("names", "exc_mro")


def well_formed(message: Any) -> bool:
    """Whether ``message`` has the shape of a worker's message (hello, answer or progress)."""
    if not isinstance(message, dict):
        return False
    if any(key in message and not isinstance(message[key], kind) for key, kind in _FIELDS.items()):
        return False
    if any(not all(isinstance(x, str) for x in message.get(key, ())) for key in _STRING_LISTS):
        return False
    progress = message.get("progress")
    return progress is None or (len(progress) == 3 and _number(progress[0])
                                and _number(progress[1]) and isinstance(progress[2], str))


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def progress_args(value: Any) -> tuple[float, float, str] | None:
    """``(done, total, label)`` from a progress value, or None when it is not one (non-finite
    numbers, or not ``[number, number, str]``); the label keeps printable characters only."""
    if not (isinstance(value, list) and len(value) == 3 and _number(value[0])
            and _number(value[1]) and isinstance(value[2], str)):
        return None
    try:
        done, total = float(value[0]), float(value[1])
    except OverflowError:  # an int beyond float's range
        return None
    if not (math.isfinite(done) and math.isfinite(total)):
        return None
    label = "".join(ch for ch in value[2][:LABEL_CHARS] if ch.isprintable())
    return done, total, label


def _too_big(size: int, limits: FrameLimits, doing: str) -> BadOutput:
    return BadOutput(f"while {doing}, your code returned {_size(size)} of results, more than "
                     f"the {_size(limits.max_bytes)} allowed (return smaller values; arrays "
                     "take less room than lists of numbers)")


def _size(n: int) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GiB"
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"
