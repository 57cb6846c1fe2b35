"""Leak tests of a bundle (instructor side: never ships): does anything in it give an answer away?

- :func:`textual_leaks`: a line of a solution region (30 characters or more, whitespace
  normalised) that appears in a file of the bundle (a comment, a docstring, an equivalent
  mutant's ``before:``, a README quoting the reference). Archives in the bundle (golden data) are
  read member by member.
- :func:`behavioural_leaks`: a function or class of the bundle's exercise packages (or of the
  engine's pure helpers) that, called on the inputs of a public case's call of a contract
  function, returns the reference's output (see :mod:`grader.leakscan`, which runs inside the
  unpacked bundle in an interpreter of its own). The calls are recorded on the reference while
  the exercises' ``cases.py`` compute their golden data, so an exercise is covered as soon as it
  declares its public cases.

``dlgrade bundle student`` refuses a release with a textual leak; the framework's tests run both
scans on every bundle (``tests/test_leaks.py``).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.leakscan import leaves
from grader.release import (BEGIN, END, Call, compute_case, declared_cases, load_reference,
                            strip_solutions)

MIN_CHARS = 30
CALLS_PER_FUNCTION = 3  # per case: the scan needs the kinds of inputs, not every perturbation
SCANNER = Path(__file__).with_name("leakscan.py")


def _normalise(text: str) -> str:
    return " ".join(text.split())


def solution_lines(solutions: Path, *, min_chars: int = MIN_CHARS) -> list[str]:
    """Every line inside a ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` region of
    ``solutions/*.py``, whitespace normalised, of at least ``min_chars`` characters, except
    those the stubs hold too (outside the regions: the contract, which is public)."""
    lines: list[str] = []
    paths = sorted(Path(solutions).glob("*.py"))
    public = " \n ".join(_normalise(strip_solutions(p.read_text(), p.stem, filename=p.name))
                         for p in paths)
    for path in paths:
        for line in solution_region_lines(path.read_text()).values():
            text = _normalise(line)
            if len(text) >= min_chars and text not in lines and text not in public:
                lines.append(text)
    return lines


def solution_region_lines(source: str) -> dict[int, str]:
    """The lines inside the ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` regions of ``source``
    (markers excluded), by 1-based line number, in order."""
    inside, lines = False, {}
    for number, line in enumerate(source.splitlines(), 1):
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside:
            lines[number] = line
    return lines


def _texts(name: str, data: bytes) -> list[tuple[str, str]]:
    """``(name, text)`` of a file, or of each member when it is an archive (golden data)."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return [(f"{name}:{m}", zf.read(m).decode(errors="replace"))
                        for m in zf.namelist()]
        except zipfile.BadZipFile:
            pass
    return [(name, data.decode(errors="replace"))]


def textual_leaks(files: Mapping[str, bytes], lines: Sequence[str]) -> list[tuple[str, str]]:
    """``(file, line)`` for each solution line found in a file (whitespace normalised)."""
    found = []
    for name, data in sorted(files.items()):
        for where, text in _texts(name, data):
            flat = _normalise(text)
            found += [(where, line) for line in lines if line in flat]
    return found


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (an unpacked bundle), by its path relative to it."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def recorded_calls(exercises: Sequence[str], solutions: Path) -> list[dict[str, Any]]:
    """The reference's calls made while computing each exercise's public cases (stored or
    not), at most ``CALLS_PER_FUNCTION`` per case and function, as plain dicts for the scanner:
    the arguments, the arguments by name (``named_all``: of every call of the case), the
    result. Raises ``GraderError`` when an exercise declares no case (nothing to scan with)."""
    out: list[dict[str, Any]] = []
    for ex in exercises:
        cases = declared_cases(ex)
        if not cases:
            raise GraderError(f"{ex} declares no public case (grader/exercises/{ex}/cases.py: "
                              "golden_cases()): the leak scan has no input to try")
        reference = load_reference(Path(solutions) / f"{ex}.py", ex)
        for case in cases:
            calls: list[Call] = []
            compute_case(case, reference, calls)
            named: dict[str, Any] = {}
            for call in calls:
                for key, value in call.named.items():
                    named.setdefault(key, value)
            kept: dict[str, int] = {}
            for call in calls:
                if kept.get(call.function, 0) >= CALLS_PER_FUNCTION:
                    continue
                record = {"exercise": ex, "case": case.name, "function": call.function,
                          "args": call.args, "kwargs": call.kwargs,
                          "named_all": _picklable({**named, **call.named}),
                          "result": leaves(call.result)}  # its numbers: all the scan compares
                try:
                    pickle.dumps(record)
                except Exception:  # an argument of the reference's own class: by name only
                    record.update(args=None, kwargs=None)
                kept[call.function] = kept.get(call.function, 0) + 1
                out.append(record)
    return out


def _picklable(named: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in named.items():
        try:
            pickle.dumps(value)
        except Exception:
            continue
        out[key] = value
    return out


def scanned_modules(root: Path) -> list[str]:
    """The modules the behavioural scan imports from an unpacked bundle: every module of its
    exercise packages and the engine's pure helpers that it holds."""
    from grader.leakscan import ENGINE_MODULES

    root = Path(root)
    names = []
    for path in sorted((root / "grader" / "exercises").glob("*/*.py")):
        rel = path.relative_to(root).with_suffix("")
        names.append(".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts))
    names += [m for m in ENGINE_MODULES
              if (root / Path(*m.split("."))).with_suffix(".py").is_file()]
    return names


def behavioural_leaks(root: Path, calls: list[dict[str, Any]], *,
                      python: str = sys.executable, timeout: float = 900.0) -> dict[str, Any]:
    """Run the scanner on the unpacked bundle ``root`` with ``calls``; return its result
    (``leaks``, ``unimportable``, ``calls``, ``callables``). Raises ``GraderError`` when the
    scanner does not finish (a crash is not a clean bill)."""
    root = Path(root).resolve()
    with tempfile.TemporaryDirectory(prefix="dlgrade-leakscan-") as tmp:
        data, out = Path(tmp) / "calls.pickle", Path(tmp) / "result.json"
        with open(data, "wb") as f:
            pickle.dump(calls, f)  # our own reference outputs, for our own scanner
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DLGRADE_CONFIG")}
        env.update(MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1")
        command = [python, "-I", str(SCANNER), str(root), str(data), str(out),
                   *scanned_modules(root)]
        try:
            proc = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise GraderError(f"the leak scan did not finish in {timeout:g} s") from None
        if proc.returncode != 0 or not out.is_file():
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
            raise GraderError(f"the leak scan failed (exit code {proc.returncode}): {tail}")
        return json.loads(out.read_text())


def describe(leaks: list[dict[str, Any]]) -> list[str]:
    """One line per leak, for a message."""
    return [f"{leak['callable']} returns part {leak['part']} of {leak['exercise']}."
            f"{leak['function']}'s output on case {leak['case']!r}" for leak in leaks]


