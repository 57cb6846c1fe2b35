"""Answers from the worker are read under limits: whatever a submission writes on the answer
pipe, its check fails with a clear message, every check stays listed and the judge stays small.

The end-to-end cases are submissions under ``tests/submissions/bad/frame_*`` that forge frames
on the worker's answer fd (its number is in the spec, the worker's last argument).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from grader.config import ExerciseConfig, SandboxConfig
from grader.errors import BadOutput
from grader.runner import grade, list_checks
from grader.sandbox.frames import (FrameLimits, FrameReader, exchange, frame_limits, over_limits,
                                   parse_answer, progress_args)
from tests.helpers import REPO
from tests.test_bad_submissions import (fast_config, kfold_outputs,  # noqa: F401 - a fixture
                                        with_reference_param_count)

LIMITS = FrameLimits(max_bytes=1 << 20, max_depth=8, max_items=20)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# -- limits, checked before json.loads --------------------------------------------------------

def test_within_limits_nothing_is_said():
    assert over_limits(json.dumps({"ok": True, "value": [1, [2, {"a": 3}]]}).encode(), LIMITS) == ""
    assert over_limits(nested(8), LIMITS) == ""


@pytest.mark.parametrize("body", [nested(9), b'{"v": ' + nested(8) + b"}",
                                  b"[" + b"[]," * 3 + nested(8) + b"]"])
def test_nesting_past_the_limit_is_named(body):
    assert "nested more than 8 levels deep" in over_limits(body, LIMITS)


def test_elements_are_counted_as_json_counts_values_and_keys():
    # the document, 19 numbers: 20 elements; one more is over
    assert over_limits(json.dumps(list(range(19))).encode(), LIMITS) == ""
    assert "more than 20 elements" in over_limits(json.dumps(list(range(20))).encode(), LIMITS)
    # {"k": [...]}: the document, the key, the list, 17 numbers
    assert over_limits(json.dumps({"k": list(range(17))}).encode(), LIMITS) == ""
    assert over_limits(json.dumps({"k": list(range(18))}).encode(), LIMITS) != ""


def test_brackets_commas_and_colons_inside_strings_do_not_count():
    body = json.dumps({"ok": True, "value": ["[[[[{{{{,,,,::::]]" * 1000, 'say "[["']}).encode()
    assert over_limits(body, LIMITS) == ""
    assert parse_answer(body, LIMITS, "x")["value"][1] == 'say "[["'


@pytest.mark.parametrize("body", [
    b'"' + b'\\"[' * 5_000_000,  # one unterminated string full of escaped quotes
    b"[" + b"]" * 10_000_000,  # closers only
    b'"a"' * 5_000_000,  # strings without separators
    b"[" + b"1," * 7_000_000 + b"1]",  # many elements
])
def test_scanning_crafted_payloads_takes_bounded_time(body):
    started = time.perf_counter()
    over_limits(body, FrameLimits(16 << 20, 64, 200_000))
    assert time.perf_counter() - started < 2.0  # measured: under 0.2 s each


# -- parsing: any bad payload is BadOutput, never another exception ---------------------------

@pytest.mark.parametrize("body", [
    b"\xff\xfe not json", b"", b"[1, 2]", b'"a string"', b"{",
    '{"ok": true}'.encode("utf-16"),  # json.loads would take UTF-16; the byte scan could not
    b'{"ok": "yes"}', b'{"ok": true, "names": 5}', b'{"ok": false, "exc_mro": [1]}',
    b'{"ok": false, "message": ["m"]}', b'{"progress": [1, 2]}', b'{"progress": ["a", 2, "x"]}',
    b'{"import_error": {"x": 1}}', b'{"ok": true, "value": ' + b"1" * 5000 + b"}",
])
def test_unreadable_answers_are_bad_output(body):
    with pytest.raises(BadOutput, match=r"^while kfold_indices\(10, 3\), the result of your code "
                                        r"was not readable"):
        parse_answer(body, LIMITS, "kfold_indices(10, 3)")


def test_answers_over_the_limits_are_bad_output_saying_which():
    with pytest.raises(BadOutput, match="nested more than 8 levels deep"):
        parse_answer(b'{"ok": true, "value": ' + nested(100_000) + b"}", LIMITS, "x")
    with pytest.raises(BadOutput, match="more than 20 elements"):
        parse_answer(json.dumps({"ok": True, "value": [[]] * 30}).encode(), LIMITS, "x")
    with pytest.raises(BadOutput, match=r"2\.0 MiB of results, more than the 1\.0 MiB allowed"):
        parse_answer(b" " * (2 << 20), LIMITS, "x")


def test_progress_values_are_numbers_and_a_printable_label():
    assert progress_args([1, 4, "epoch \x1b[2J1\r"]) == (1.0, 4.0, "epoch [2J1")
    assert progress_args([float("nan"), 4, "x"]) is None
    assert progress_args([10**400, 4, "x"]) is None
    assert progress_args([True, 4, "x"]) is None
    assert progress_args("50%") is None


def test_an_exercise_may_allow_more_bytes_than_the_sandbox():
    sandbox = SandboxConfig(answer_limit_mb=2, answer_max_depth=10, answer_max_items=99)
    assert frame_limits(sandbox) == FrameLimits(2 << 20, 10, 99)
    own = ExerciseConfig("kfold", 10, answer_limit_mb=0.5)
    assert frame_limits(sandbox, own).max_bytes == 1 << 19


# -- reading from the pipe -------------------------------------------------------------------

def _pipe_with(data: bytes) -> int:
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    os.set_blocking(read, False)
    return read


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return len(body).to_bytes(8, "big") + body


def test_progress_frames_are_passed_on_and_the_answer_returned():
    seen = []
    fd = _pipe_with(_frame({"progress": [1, 2, "a"]}) + _frame({"ok": True, "value": 7}))
    try:
        answer = exchange(-1, fd, b"", time.monotonic() + 10, limits=LIMITS, doing="x",
                          on_progress=seen.append)
    finally:
        os.close(fd)
    assert answer == {"ok": True, "value": 7} and seen == [[1, 2, "a"]]


def test_a_length_over_the_limit_is_refused_before_its_payload_is_read():
    read, write = os.pipe()
    os.write(write, (2**62).to_bytes(8, "big"))  # and nothing more: the judge must not wait
    os.set_blocking(read, False)
    try:
        with pytest.raises(BadOutput, match="more than the 1.0 MiB allowed") as err:
            exchange(-1, read, b"", time.monotonic() + 10, limits=LIMITS, doing="x",
                     on_progress=print)
    finally:
        os.close(read)
        os.close(write)
    frames, tb = [], err.value.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert frames[1:] == ["exchange"]  # none of the frames that held the buffer is kept


def test_end_of_stream_and_deadline():
    fd = _pipe_with(_frame({"ok": True})[:5])
    with pytest.raises(EOFError):
        exchange(-1, fd, b"", time.monotonic() + 10, limits=LIMITS, doing="x", on_progress=print)
    os.close(fd)
    read, write = os.pipe()
    os.set_blocking(read, False)
    with pytest.raises(TimeoutError):
        exchange(-1, read, b"", time.monotonic() + 0.2, limits=LIMITS, doing="x",
                 on_progress=print)
    os.close(read)
    os.close(write)


def test_a_frame_arriving_in_pieces_is_read_whole():
    data = _frame({"ok": True, "value": "x" * 100})
    read, write = os.pipe()
    os.set_blocking(read, False)
    reader = FrameReader(read, LIMITS, "x")
    got = None
    for i in range(0, len(data), 7):
        os.write(write, data[i:i + 7])
        got = got or reader.read()
    os.close(read)
    os.close(write)
    assert json.loads(got) == {"ok": True, "value": "x" * 100}


# -- the judge's memory and time, measured in a process of its own -----------------------------

JUDGE = """
import os, subprocess, sys, time
from grader.errors import BadOutput
from grader.sandbox.frames import FrameLimits, exchange
WRITER = ("import os, sys; body = {body}; f = os.fdopen(int(sys.argv[1]), 'wb');"
          "f.write(len(body).to_bytes(8, 'big')); f.write(body); f.flush(); os._exit(0)")
HUGE = "b'{\\"ok\\":true,\\"value\\":[' + b'[],' * (64_000_000 // 3) + b'[]]}'"
DEEP = "b'{\\"ok\\":true,\\"value\\":' + b'[' * 100_000 + b']' * 100_000 + b'}'"
limits = FrameLimits(max_bytes=64 << 20, max_depth=64, max_items=200_000)
def status(key):  # in MB; VmHWM is this process's peak: ru_maxrss would count the parent's
    with open("/proc/self/status") as lines:  # RSS at fork, kept across exec
        return next(int(line.split()[1]) for line in lines if line.startswith(key)) // 1024
before, started, errors = status('VmRSS'), time.monotonic(), []
for body in [HUGE] * 3 + [DEEP]:
    read, write = os.pipe()
    worker = subprocess.Popen([sys.executable, "-c", WRITER.format(body=body), str(write)],
                              pass_fds=(write,))
    os.close(write)
    os.set_blocking(read, False)
    try:
        exchange(-1, read, b"", time.monotonic() + 120, limits=limits, doing="x",
                 on_progress=print)
    except BadOutput as err:
        errors.append(err)  # kept, as pytest keeps a failed check's exception
    worker.kill()
    worker.wait()
    os.close(read)
print(before, status('VmHWM'), time.monotonic() - started, len(errors))
"""


def test_the_judge_stays_small_and_quick_reading_huge_and_deep_answers():
    """Three answers of 64 MB of ``[]`` (allowed in bytes, over the element limit) and one
    nested 100 000 deep. Measured on 2 shared cores: +62 MB peak RSS (one frame's buffer), 3 to
    6 s, most of it the writers building their frames.

    End to end (grading kfold, answer_limit_mb 64, the judge's peak RSS and wall time): before
    the limits 3104 MB and 103 s; with them 225 MB and 8.5 s (165 MB and 3.3 s for the frame
    nested 100 000 deep, which used to be a RecursionError, "the grader itself failed")."""
    out = subprocess.run([sys.executable, "-c", JUDGE], cwd=REPO, capture_output=True, text=True,
                         timeout=300, check=True).stdout.split()
    before, peak, seconds, refused = int(out[0]), int(out[1]), float(out[2]), int(out[3])
    print(f"judge peak RSS {before} MB -> {peak} MB, {seconds:.1f} s")
    assert refused == 4
    assert peak - before < 2 * 64 + 20  # one frame's buffer at a time, none kept
    assert seconds < 60


# -- the Student: limits for its worker, decoding charged to the budget ---------------------------

class FakeWorker:
    """Stands for a worker whose answer takes 0.2 s to arrive."""

    def __init__(self, runtime, exercise, source):
        self.names, self.requests, self.proc = ["f"], -1, None

    def start(self, deadline):
        pass

    def request(self, message, deadline, *, doing):
        time.sleep(0.2)
        return {"ok": True, "value": [1]}


def test_the_worker_gets_the_exercise_limits_and_decoding_is_charged(monkeypatch, tmp_path):
    from grader.sandbox import student as student_module

    monkeypatch.setattr(student_module, "Worker", FakeWorker)
    monkeypatch.setattr(student_module.codec, "decode", lambda tree: time.sleep(0.3) or tree)
    (tmp_path / "kfold.py").write_text("def f():\n    pass\n")
    exercise = ExerciseConfig("kfold", 10, answer_limit_mb=1)
    sandbox = SandboxConfig(answer_max_depth=5, answer_max_items=50)
    student = student_module.Student(None, exercise, tmp_path, sandbox=sandbox)
    assert student.f() == [1]
    assert student._worker.limits == FrameLimits(1 << 20, 5, 50)
    assert student.seconds_used >= 0.5  # the answer's 0.2 s and its decoding's 0.3 s


# -- end to end: forged frames fail kfold's checks and nothing else ---------------------------

@pytest.mark.parametrize("case, message", [
    ("frame_too_deep", "returned a value nested more than 64 levels deep"),
    ("frame_bad_tag", "returned a value that cannot be graded: unknown tag"),
    ("frame_string_array", "cannot be graded: bad array payload: an array of dtype <U"),
    ("frame_bigint_garbage", "returned a value that cannot be graded: bad bigint"),
    ("frame_too_big", "of results, more than the 16.0 MiB allowed"),
    ("frame_not_json", "the result of your code was not readable"),
    ("frame_length_over_limit", "returned 4294967296.0 GiB of results, more than the 16.0 MiB"),
])
def test_a_forged_answer_fails_its_check_and_nothing_else(case, message, fast_config, tmp_path):
    listed = [(c.name, c.max_score) for c in list_checks(fast_config, ["kfold"])]
    report = grade(fast_config, with_reference_param_count(case, tmp_path))
    kfold = [c for c in report.checks if c.exercise == "kfold"]
    assert [(c.name, c.max_score) for c in kfold] == listed
    assert all(c.status == "failed" and c.score == 0 for c in kfold), \
        [(c.status, c.output[:200]) for c in kfold if c.status != "failed"]
    assert message in kfold_outputs(report)[0]
    assert "kfold_indices(" in kfold_outputs(report)[0]  # names the call, not our machinery
    assert report.exercise_score("param_count") == (10, 10)
