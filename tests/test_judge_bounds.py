"""The judge is linear and bounded on every text a worker sends (issue 19): each is cut where it is
received, and the path scrubber's time grows with the text's length, not its square.

The time bounds below are not speed targets: a quadratic scrubber needs hours on a megabyte of
``/a/a/a`` (65 s on 64 KiB, 256 times that on 1 MiB), the linear one a fraction of a second, and
the bound sits orders of magnitude from both.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from grader.runner import drop_temp_folders, path_scrubber
from grader.sandbox.process import LIST_LIMITS, TEXT_LIMITS, cut_texts, join_outputs
from grader.sandbox.runtime import Runtime
from tests.helpers import repo_config

MEGABYTE = 1 << 20
# What the scrubber did before: the same cuts, in quadratic time on runs of "/a".
OLD_TEMP = re.compile(r"(?:/[^\s'\"/:]+)*/dlgrade-[A-Za-z0-9_-]+?-[A-Za-z0-9_]{8}/")


@pytest.mark.parametrize("text", [
    "/tmp/dlgrade-kfold-x1y2z3w4/kfold.py, line 3",
    'File "/tmp/a/b/dlgrade-kfold-abcdefgh/kfold.py", line 3, in f',
    "x/tmp/dlgrade-kfold-abcdefgh/f and /a/dlgrade-x-12345678/b/dlgrade-y-87654321/c d",
    "/tmp/dlgrade-log-kfold-12345678/output.txt:3 and 'no paths here'",
    "see /tmp/dlgrade-kfold-short/x",
])
def test_temporary_folders_are_cut_as_before(text):
    assert drop_temp_folders(text) == OLD_TEMP.sub("", text)


ADVERSARIAL = {
    "slashes": "/a" * (MEGABYTE // 2),
    "slashes then a folder": "/a" * (MEGABYTE // 2 - 20) + "/dlgrade-kfold-abcdefgh/",
    "folder names": "/dlgrade-" * (MEGABYTE // 9),
    "one long name": "/dlgrade-" + "a-" * (MEGABYTE // 2),
    "folders in one path": "/a/dlgrade-k-12345678" * (MEGABYTE // 21),
    "words": "a " * (MEGABYTE // 2) + "/dlgrade-x-12345678/",
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_the_scrubber_is_linear_on_a_megabyte_of_adversarial_text(name):
    scrub = path_scrubber(Path("/nonexistent/submission"), repo_config(), Runtime())
    started = time.monotonic()
    scrub(ADVERSARIAL[name])
    assert time.monotonic() - started < 10, "quadratic: 1 MiB of this takes hours"


def test_texts_from_a_worker_are_cut_where_they_are_received():
    huge = "/a" * MEGABYTE
    message = cut_texts({"ok": False, "exc_type": huge, "message": huge, "traceback": huge,
                         "exc_mro": [huge] * 100_000, "import_error": huge, "missing": huge,
                         "names": [huge] * 100_000})
    for key, limit in TEXT_LIMITS.items():
        assert len(message[key]) < limit + 100 and "more characters cut" in message[key]
    for key, (items, chars) in LIST_LIMITS.items():
        assert len(message[key]) == items and all(len(v) == chars for v in message[key])
    assert cut_texts({"ok": True, "value": [1, 2]}) == {"ok": True, "value": [1, 2]}


def test_the_outputs_of_restarted_workers_are_joined_under_one_limit():
    outputs = ["x" * 1000] * 22
    joined = join_outputs(outputs, 1500)
    assert len(joined) < 1500 + 300 and joined.startswith("x" * 1500)
    assert "output cut" in joined and "21 worker start(s)" in joined
    assert join_outputs(["a", "b"], 1500) == "ab"
