"""Every command the docs show is checked against the real command line, so they cannot drift.

- Each ``dlgrade`` command in a fenced ``sh``/``bash`` block of README.md, docs/*.md and the
  exercises' READMEs (``.venv/bin/dlgrade`` and ``python -m grader`` alike; ``&&``, ``||``,
  ``;``, ``|`` and line continuations split) is parsed by dlgrade's own parser, usage
  placeholders filled in (``SUBMISSION``, ``[--jobs N]``, ``student|gradescope``); a ``make``
  target must exist. Those not run here are run by the tests ``ELSEWHERE`` names.
- The cheap ones are run, from the checkout, with their outputs sent to a temporary folder:
  ``check``, ``release --check``, ``bundle student``/``gradescope``, ``init-ci``,
  ``selftest EXERCISE`` for kfold, and ``--help``.
- Each ``dlgrade ...`` in inline code names a command that exists and only options it takes.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from grader import cli
from tests.helpers import REPO, subparsers

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
         *sorted((REPO / "grader" / "exercises").glob("*/README.md"))]
PLACEHOLDERS = {"SUBMISSION": "submission", "ROOT": "export", "POINTS": "60", "N": "2",
                "EXERCISE": "kfold", "PATH": "some/path", "DIR": "out", "IDS": "kfold,conv",
                "RATE": "0.9", "ADDRESS": "auto"}
RUN = {"check", "release", "bundle", "init-ci", "selftest"}
SLOW_TARGETS = {"otter"}  # bundle otter builds a zip per exercise with otter's own API


def blocks(page: Path) -> list[tuple[int, str]]:
    """(line number, text) of each fenced sh/bash block of ``page``."""
    out, text = [], page.read_text()
    for m in re.finditer(r"^```(?:sh|bash)\n(.*?)^```", text, flags=re.S | re.M):
        out.append((text[: m.start()].count("\n") + 2, m.group(1)))
    return out


def commands(block: str) -> list[list[str]]:
    """The shell commands of a block, as argv lists (comments and continuations handled)."""
    joined = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        current: list[str] = []
        for word in words + [";"]:
            if word in ("&&", "||", ";", "|", "&"):
                if current:
                    out.append(current)
                current = []
            else:
                current.append(word)
    return out


def dlgrade_argv(argv: list[str]) -> list[str] | None:
    """The arguments after ``dlgrade`` (or ``python -m grader``), or None."""
    if argv and argv[0].endswith("dlgrade"):
        return argv[1:]
    if len(argv) > 2 and argv[0].startswith("python") and argv[1:3] == ["-m", "grader"]:
        return argv[3:]
    return None


def filled(args: list[str]) -> list[str]:
    """Usage notation made concrete: ``[--jobs N]`` -> ``--jobs 2``, ``a|b`` -> ``a``."""
    out = []
    for word in args:
        word = word.strip("[]")
        if word in ("...", ""):
            continue
        if "|" in word and not word.startswith("-"):
            word = word.split("|")[0]
        out.append(PLACEHOLDERS.get(word, word))
    return out


def shown() -> list[tuple[str, list[str]]]:
    found = []
    for page in PAGES:
        for line, block in blocks(page):
            for argv in commands(block):
                found.append((f"{page.relative_to(REPO)}:{line}", argv))
    return found


ALL = shown()
DLGRADE = [(where, filled(args)) for where, argv in ALL if (args := dlgrade_argv(argv))
           is not None]


def test_the_docs_show_commands():
    assert len(DLGRADE) >= 20 and any(args[:1] == ["grade-batch"] for _, args in DLGRADE)


@pytest.mark.parametrize("where, args", DLGRADE, ids=[f"{w} {' '.join(a)}" for w, a in DLGRADE])
def test_every_dlgrade_command_parses(where, args):
    parser = cli._parser()
    parser.exit = lambda status=0, message=None: (_ for _ in ()).throw(  # no SystemExit
        AssertionError(f"{where}: dlgrade {' '.join(args)}: {message}"))
    parser.error = lambda message: parser.exit(2, message)
    for sub in subparsers(parser).values():
        sub.exit, sub.error = parser.exit, parser.error
    if args in (["--help"], ["-h"]):
        return
    parsed = parser.parse_args(args)
    assert callable(parsed.run)


def test_every_make_target_shown_exists():
    targets = {argv[1] for _, argv in ALL if argv[:1] == ["make"] and len(argv) > 1}
    assert {"demo", "test"} <= targets
    makefile = (REPO / "Makefile").read_text()
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), target


def _cheap(args: list[str]) -> bool:
    if not args or args[0] not in RUN:
        return args in (["--help"],)
    if args[0] == "check":
        return "--submission" not in args  # the docs' own folders (mywork) do not exist here
    if args[0] == "release":
        return "--check" in args  # never rewrite the checkout's stubs
    if args[0] == "bundle":
        return args[1] not in SLOW_TARGETS
    if args[0] == "selftest":
        return args[1:] == ["kfold"]
    return True


def _into(args: list[str], tmp: Path) -> list[str]:
    """``--out X`` sent into ``tmp`` (the checkout is never written)."""
    out = list(args)
    for i, word in enumerate(out[:-1]):
        if word == "--out":
            out[i + 1] = str(tmp / out[i + 1])
    if out[0] == "init-ci" and "--out" not in out:
        out += ["--out", str(tmp)]
    return out


CHEAP = [(w, a) for w, a in DLGRADE if _cheap(a)]
# The commands too slow (or too wide) to run here are run by these tests, as the docs show them.
ELSEWHERE = {
    "grade": "tests/test_delivery_ci.py, tests/test_delivery_bundles.py (run_autograder)",
    "grade-batch": "tests/test_batch.py (the command at --jobs 1), tests/test_batch_ray.py",
    "check": "tests/test_delivery_bundles.py (--submission, from an empty folder)",
    "selftest": "tests/test_selftest.py, tests/test_added_exercise.py (selftest EXERCISE)",
    "new": "tests/test_added_exercise.py",
    "bundle": "tests/test_delivery_otter.py (bundle otter)",
}


def test_every_command_not_run_here_is_run_by_another_test():
    for where, args in DLGRADE:
        if not _cheap(args):
            assert args[0] in ELSEWHERE, f"{where}: dlgrade {' '.join(args)} is run by no test"
            for name in re.findall(r"tests/\w+\.py", ELSEWHERE[args[0]]):
                assert (REPO / name).is_file(), name


@pytest.mark.parametrize("where, args", CHEAP, ids=[f"{w} {' '.join(a)}" for w, a in CHEAP])
def test_the_cheap_commands_run(where, args, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DLGRADE_CONFIG"}
    proc = subprocess.run([sys.executable, "-m", "grader", *_into(args, tmp_path)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{where}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"


INLINE = sorted({m.group(1) for page in PAGES
                 for m in re.finditer(r"`(?:\.venv/bin/)?dlgrade ([^`]+)`", page.read_text())})


@pytest.mark.parametrize("text", INLINE)
def test_inline_commands_name_real_commands_and_options(text):
    words = filled(text.split())
    subs = subparsers(cli._parser())
    if words[0].startswith("-"):
        assert words[0] in ("--help", "-h", "--config"), text
        return
    assert words[0] in subs, f"`dlgrade {text}`: no command {words[0]!r}"
    options = {o for a in subs[words[0]]._actions for o in a.option_strings}
    for word in words[1:]:
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"`dlgrade {text}`: {words[0]} has no {word}"
