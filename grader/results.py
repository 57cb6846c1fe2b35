"""One result model, many formats: text table, Gradescope ``results.json``, JUnit XML.

Only the judge builds these, after every worker is dead. Every format shows student text
(messages, output, file names) through :func:`printable` only, so a submission cannot break a
file's syntax or a terminal's display. Files are written without following links: a report
replaces whatever was at its path whole (temporary file + rename), and artifacts are written
into a private folder that is then put in place (:func:`private_folder`, :func:`write_private`,
:func:`publish_folder`).
"""

from __future__ import annotations

import errno
import html
import json
import os
import re
import shutil
import stat
import tempfile
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree as ET

Status = Literal["passed", "failed", "error", "skipped"]
TOTAL_DECIMALS = 2
MARKS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP"}


@dataclass(frozen=True)
class CheckResult:
    """One graded check. ``status="error"`` means the grader broke, not the student's code."""

    exercise: str
    name: str
    score: float
    max_score: float
    visibility: str
    status: Status
    output: str = ""
    output_format: Literal["text", "html"] = "text"
    seconds: float = 0.0
    # Where the check's own verdict failed, "" when it did not (grader.slips.signature.locus):
    # which case, where in the check, what kind of failure. Never shown; signatures use it.
    failed_at: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class Hint:
    """The likely slip behind an exercise's failures, named after grading by matching its
    failure signature with the exercise's catalogue (:mod:`grader.slips`). Information only: it
    never changes a score, and it says "usually" because it can be wrong."""

    slips: tuple[str, ...]  # catalogue ids, best match first (one or two)
    texts: tuple[str, ...]  # their student-facing descriptions
    public: bool = True  # the visible checks' failures alone name it (as `dlgrade check` would)
    together: bool = False  # two slips made at once, not one slip or the other

    @property
    def line(self) -> str:
        if self.together:
            return HINT_LEAD + "two slips at once: " + "; and: ".join(self.texts)
        return HINT_LEAD + "; or: ".join(self.texts)


HINT_LEAD = "This pattern of failures usually means: "


@dataclass(frozen=True)
class Report:
    """Everything one grading run produced."""

    checks: tuple[CheckResult, ...]
    exercises: tuple[str, ...]
    points: dict[str, float]  # exercise -> configured points
    notices: tuple[str, ...] = ()
    exercise_notes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # shown once each
    student_output: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    stdout_visibility: str = "hidden"
    # exercise -> seconds starting its workers and in its calls (grader.sandbox.student)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    hints: dict[str, Hint] = field(default_factory=dict)  # exercise -> its likely slip

    # Totals are rounded to the 2 decimals Gradescope shows, so 120 points never read 119.999998.
    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), TOTAL_DECIMALS)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), TOTAL_DECIMALS)

    def check(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; have: {[c.name for c in self.checks]}")

    def exercise_score(self, exercise: str) -> tuple[float, float]:
        mine = [c for c in self.checks if c.exercise == exercise]
        return (round(sum(c.score for c in mine), TOTAL_DECIMALS),
                round(sum(c.max_score for c in mine), TOTAL_DECIMALS))

    def notes_text(self) -> str:
        """Run-wide notices, then each exercise's notes (intake, missing file) once."""
        lines = list(self.notices)
        for ex in self.exercises:
            lines.extend(f"{ex}: {note}" for note in self.exercise_notes.get(ex, ()))
        return "\n".join(lines)


def grader_error_notice(report: Report) -> str:
    """The top-level notice when the grader itself failed in any check ("" when it did not):
    every format shows it first, so that a broken autograder (a missing reference, a hidden
    check that crashes) never passes for an ordinary score."""
    return broken_checks_notice([c.exercise for c in report.checks if c.status == "error"])


def broken_checks_notice(broken: Sequence[str]) -> str:
    """:func:`grader_error_notice` from the exercise of each check the grader failed in, one
    entry per check, in the checks' order ("" when there is none)."""
    if not broken:
        return ""
    # exercises, not check names: a hidden check's name can carry its case (shown to students)
    where = ", ".join(f"{ex} ({n})" for ex, n in Counter(broken).items())
    return (f"GRADER ERROR: the grader itself failed in {len(broken)} check(s), of {where}. "
            "Their points are not a verdict on the submission, and the total is incomplete: "
            "tell your instructor.")


# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings, overrides and isolates,
# and what XML 1.0 forbids besides (surrogates, U+FFFE, U+FFFF). \r is handled before.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                          "\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """``text`` safe to show in a terminal, a CI log, JSON or XML: line ends become ``\\n``
    (``\\r\\n`` and a lone ``\\r`` alike, so nothing overwrites a line), tabs stay, and
    other control characters, bidi controls and characters XML 1.0 forbids are removed."""
    return _UNPRINTABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def printable_report(report: Report) -> Report:
    """``report`` with every text in it passed through :func:`printable`."""
    return replace(
        report,
        checks=tuple(replace(c, name=printable(c.name), output=printable(c.output))
                     for c in report.checks),
        notices=tuple(map(printable, report.notices)),
        exercise_notes={ex: tuple(map(printable, notes))
                        for ex, notes in report.exercise_notes.items()},
        student_output={ex: printable(text) for ex, text in report.student_output.items()})


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def format_table(report: Report, *, details: bool = True, width: int = 100) -> str:
    """The readable table: per exercise, each check with its points and what to fix."""
    report = printable_report(report)
    lines: list[str] = []
    for ex in report.exercises:
        score, top = report.exercise_score(ex)
        head = f"{ex} ({_num(report.points.get(ex, top))} points)"
        lines.append(f"{head:<{width - 12}}{_num(score):>6} / {_num(top)}")
        for note in report.exercise_notes.get(ex, ()):
            lines.extend(textwrap.wrap(note, width, initial_indent="  NOTE  ",
                                       subsequent_indent=" " * 8, break_on_hyphens=False))
        lines.extend(hint_lines(report, ex, width))
        for c in (c for c in report.checks if c.exercise == ex):
            label = c.name.split(": ", 1)[-1]
            lines.append(f"  {MARKS[c.status]:<5} {_num(c.score):>5}/{_num(c.max_score):<5} {label}")
            if details and c.status != "passed" and c.output:
                for out_line in _plain(c).splitlines()[:12]:
                    lines.extend(textwrap.wrap(out_line, width, initial_indent=" " * 14,
                                               subsequent_indent=" " * 16,
                                               break_on_hyphens=False) or [""])
        lines.append("")
    lines.append(f"Total: {_num(report.score)} / {_num(report.max_score)}"
                 f"   ({len(report.checks)} checks, {report.seconds:.1f} s)")
    if notice := grader_error_notice(report):  # first and last: where a reader looks
        lines[:0] = [*textwrap.wrap(notice, width, break_on_hyphens=False), ""]
        lines.append("GRADER ERROR: the total above is incomplete (see the top)")
    return "\n".join(lines)


def hint_lines(report: Report, exercise: str, width: int = 100) -> list[str]:
    """The exercise's hint (if any) for the text table: one line under its title, wrapped."""
    hint = report.hints.get(exercise)
    if hint is None:
        return []
    return textwrap.wrap(printable(hint.line), width, initial_indent="  HINT  ",
                         subsequent_indent=" " * 8, break_on_hyphens=False)


def with_hints(report: Report, tests: list[dict]) -> tuple[str, list[dict]]:
    """Gradescope's top-level ``output`` lines for the hints, and ``tests`` with each hint
    also at the head of its exercise's output: the first failed check that shows it as soon as
    it could be known. A hint named by the visible checks alone goes at the top and into the
    first failed visible check; one that needs hidden checks' failures only into the first
    failed hidden check, so that it shows when they do, never before."""
    top = []
    for ex in report.exercises:
        hint = report.hints.get(ex)
        if hint is None:
            continue
        line = printable(hint.line)
        if hint.public:
            top.append(f"{ex}: {line}")
        for entry in tests:
            if (entry["tags"] == [ex] and entry["status"] == "failed"
                    and (entry["visibility"] == "visible") == hint.public):
                entry["output"] = (f"{line}\n\n{entry['output']}"
                                   if entry["output_format"] == "text"
                                   else f"<p>{html.escape(line)}</p>{entry['output']}")
                break
    return "\n".join(top), tests


def _plain(check: CheckResult) -> str:
    if check.output_format != "html":
        return check.output
    import re
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", check.output))


def to_gradescope(report: Report) -> dict:
    """Gradescope's ``results.json`` (top-level ``score``, ``tests``, ``stdout_visibility``)."""
    report = printable_report(report)
    tests = []
    for i, c in enumerate(report.checks, 1):
        entry = {"name": c.name, "number": str(i), "score": round(c.score, 6), "max_score": round(c.max_score, 6),
                 "output": c.output, "visibility": c.visibility,
                 "status": "passed" if c.passed else "failed", "tags": [c.exercise],
                 "output_format": c.output_format}
        tests.append(entry)
    hints, tests = with_hints(report, tests)
    output = "\n".join(t for t in (grader_error_notice(report), report.notes_text(), hints) if t)
    return {"score": report.score, "execution_time": round(report.seconds, 2),
            "output": output, "output_format": "text", "visibility": "visible",
            "stdout_visibility": report.stdout_visibility, "tests": tests}


def to_junit(report: Report) -> str:
    """JUnit XML: one testsuite per exercise; a lost point is a failure, a grader crash an error."""
    report = printable_report(report)
    root = ET.Element("testsuites", name="dlgrade", tests=str(len(report.checks)),
                      time=f"{report.seconds:.3f}")
    for ex in report.exercises:
        mine = [c for c in report.checks if c.exercise == ex]
        suite = ET.SubElement(root, "testsuite", name=ex, tests=str(len(mine)),
                              failures=str(sum(c.status == "failed" for c in mine)),
                              errors=str(sum(c.status == "error" for c in mine)),
                              skipped=str(sum(c.status == "skipped" for c in mine)))
        for c in mine:
            case = ET.SubElement(suite, "testcase", classname=ex, name=c.name,
                                 time=f"{c.seconds:.3f}")
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="score", value=_num(c.score))
            ET.SubElement(props, "property", name="max_score", value=_num(c.max_score))
            if c.status in ("failed", "error", "skipped"):
                tag = {"failed": "failure", "error": "error", "skipped": "skipped"}[c.status]
                node = ET.SubElement(case, tag, message=_plain(c).splitlines()[0][:300]
                                     if c.output else c.status)
                node.text = _plain(c)
    return ET.tostring(root, encoding="unicode")


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` whole with ``text`` in UTF-8 (never a half-written or pre-existing file).

    The new file is renamed over ``path``: a symlink there is replaced, never written through.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def private_folder(parent: Path, prefix: str) -> Path:
    """A new folder in ``parent`` (made if missing) that only this user can enter."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def write_private(base: Path, folders: tuple[str, ...], name: str, data: bytes) -> Path:
    """Write ``data`` to ``base/<folders...>/name`` without following any link below ``base``.

    The judge owns what is below ``base`` (``base`` itself is the caller's choice): each of
    ``folders`` is opened without following links and made (mode 0700) where missing; a link
    or file in its place is removed first. The file is created new (``O_EXCL | O_NOFOLLOW``)
    under a temporary name and renamed over ``name``, so a link (or a folder) there is
    replaced, never followed. Every step goes through the parent's file descriptor, so a link planted
    meanwhile higher up changes nothing.
    """
    Path(base).mkdir(parents=True, exist_ok=True)
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for folder in folders:
            inner = _open_folder(fd, folder)
            os.close(fd)
            fd = inner
        tmp = f".{name}.{os.urandom(6).hex()}"
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                      dir_fd=fd)
        try:
            with os.fdopen(out, "wb") as f:
                f.write(data)
            try:
                os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
            except IsADirectoryError:  # a folder planted at the file's name
                shutil.rmtree(name, dir_fd=fd)
                os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            os.unlink(tmp, dir_fd=fd)
            raise
    finally:
        os.close(fd)
    return Path(base, *folders, name)


def _open_folder(parent_fd: int, name: str) -> int:
    """``name`` in ``parent_fd`` opened as a folder, never through a link; made if missing."""
    for _ in range(3):  # another process may be planting things: try again, then give up
        try:
            return os.open(name, _NOFOLLOW_DIR, dir_fd=parent_fd)
        except FileNotFoundError:
            pass
        except OSError as err:
            if err.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            os.unlink(name, dir_fd=parent_fd)  # a link or a file: removed, never followed
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
        except FileExistsError:
            pass
    return os.open(name, _NOFOLLOW_DIR, dir_fd=parent_fd)


def publish_folder(folder: Path, dest: Path) -> None:
    """Rename ``folder`` to ``dest``; whatever is at ``dest`` is removed first, never followed
    (a link is unlinked, a folder removed without following the links inside it)."""
    for _ in range(3):  # another process may be planting things: try again, then give up
        _remove(dest)
        try:
            os.rename(folder, dest)  # renames over an empty folder; fails on anything else
            return
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise
    os.rename(folder, dest)


def _remove(path: Path) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(path)  # unlinks the links inside a folder, never follows them
    else:
        os.unlink(path)


def write_gradescope(report: Report, path: Path) -> None:
    write_atomic(path, json.dumps(to_gradescope(report), indent=2))


def write_junit(report: Report, path: Path) -> None:
    write_atomic(path, to_junit(report))
