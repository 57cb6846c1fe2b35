"""What makes a batch resumable: content hashes and one results file per submission.

An exercise of a submission is graded again only when the submission's files or that
exercise's grader changed. ``submission_hash`` covers what the intake can see (every file,
hidden names and ``__MACOSX``/``__pycache__`` skipped, as the intake skips them);
``exercise_hash`` covers what decides an exercise's score: the config's values for the whole
run and for that exercise, every file of its checks (``grader/exercises/<id>/``) and its
reference (``solutions/<id>.py``). A change in the engine itself (``grader/*.py``) does not
count: ``grade-batch --force`` grades everything again.

Each submission's state is its results file ``DIR/results/<file>.json``, written atomically as
soon as it is graded, so an interrupted batch keeps all it finished. It keeps each exercise's
results apart (``parts``), so that a batch of a subset (``--exercises kfold``) into the same
DIR replaces those exercises and keeps the others, as long as the submission's files are the
same; the whole (``results``, ``exercises``, ``checks``, ``flags``, ``score``) is made from the
parts by :func:`combine`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import stat
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import grader
from grader.config import EXERCISES_DIR, Config
from grader.delivery.intake import IGNORED_DIRS
from grader.results import write_atomic

STATE_VERSION = 2  # of the results file's layout; another version is graded again
CHUNK = 1 << 20


def submission_hash(path: Path) -> str:
    """sha256 of a folder's visible files (relative path and bytes) or of a file's bytes."""
    h = hashlib.sha256()
    if path.is_symlink() or not path.exists():
        h.update(b"absent" if not path.is_symlink() else b"link:" + os.readlink(path).encode())
    elif path.is_dir():
        for rel, full in _files(path):
            h.update(b"\0file\0" + rel.encode("utf-8", "surrogateescape") + b"\0")
            _update(h, full)
    else:
        _update(h, path)
    return h.hexdigest()


def grader_hash(config: Config, exercises: Sequence[str]) -> str:
    """sha256 of what decides a score: the config, the exercise ids, checks and references."""
    h = hashlib.sha256()
    h.update(f"dlgrade {grader.__version__} state {STATE_VERSION}\0".encode())
    h.update(("\0".join(exercises) + "\0").encode())
    try:
        h.update(config.path.read_bytes())
    except OSError:
        pass
    h.update(repr(config).encode())
    for ex in exercises:
        for rel, full in _files(EXERCISES_DIR / ex):
            if not rel.endswith((".pyc", ".pyo")):
                h.update(f"\0check\0{ex}/{rel}\0".encode())
                _update(h, full)
        reference = config.solutions / f"{ex}.py" if config.solutions else None
        if reference is not None and reference.is_file():
            h.update(f"\0reference\0{ex}\0".encode())
            _update(h, reference)
    return h.hexdigest()


def exercise_hash(config: Config, exercise: str) -> str:
    """sha256 of what decides ``exercise``'s score: the config's run-wide values and the
    exercise's own, the files of its checks and its reference (not the other exercises')."""
    h = hashlib.sha256()
    h.update(f"dlgrade {grader.__version__} state {STATE_VERSION}\0{exercise}\0".encode())
    own = dataclasses.replace(config, exercises=(config.exercise(exercise),), path=Path("."),
                              root=Path("."))
    h.update(repr(own).encode())
    for rel, full in _files(EXERCISES_DIR / exercise):
        if not rel.endswith((".pyc", ".pyo")):
            h.update(f"\0check\0{rel}\0".encode())
            _update(h, full)
    reference = config.solutions / f"{exercise}.py" if config.solutions else None
    if reference is not None and reference.is_file():
        h.update(b"\0reference\0")
        _update(h, reference)
    return h.hexdigest()


def stale(state: dict | None, submission: str, hashes: dict[str, str]) -> list[str]:
    """The exercises of ``hashes`` (id -> :func:`exercise_hash`) that ``state`` does not hold
    graded from these files by this grader: those a batch must grade (in ``hashes``' order)."""
    if state is None or state.get("submission_hash") != submission:
        return list(hashes)
    parts = state.get("parts") or {}
    failed = set((state.get("failure") or {}).get("exercises", ()))
    return [ex for ex, h in hashes.items()
            if ex in failed or (parts.get(ex) or {}).get("grader_hash") != h]


def combine(parts: dict[str, dict], notices: list[str], order: Sequence[str], *,
            stdout_visibility: str = "hidden", failure: dict | None = None) -> dict:
    """The whole of a submission's state from its exercises' ``parts`` (in ``order``): the
    Gradescope ``results`` (notices, a grader error at the top, each exercise's notes and
    checks, numbered anew), ``exercises`` ({id: [score, max]}), ``checks``, ``flags``,
    ``score``, ``max_score``; with ``failure`` (the exercises a grading process could not
    grade, and why): ``ok`` false, the flag ``grading failed`` and the ``error``."""
    from grader.results import broken_checks_notice

    ids = [ex for ex in order if ex in parts] + sorted(set(parts) - set(order))
    checks = [c for ex in ids for c in parts[ex]["checks"]]
    tests = [dict(t, number=str(i)) for i, t in
             enumerate((t for ex in ids for t in parts[ex]["tests"]), 1)]
    hints = {ex: parts[ex]["hint"] for ex in ids if parts[ex].get("hint")}
    lines = [broken_checks_notice([c["exercise"] for c in checks if c["status"] == "error"]),
             *notices,
             *(note for ex in ids for note in parts[ex]["notes"]),
             *(h["line"] for h in hints.values() if h.get("public"))]
    score = round(sum(parts[ex]["score"][0] for ex in ids), 2)
    out = {"exercises": {ex: parts[ex]["score"] for ex in ids}, "checks": checks,
           "flags": [f for ex in ids for f in parts[ex]["flags"]],
           "score": score, "max_score": round(sum(parts[ex]["score"][1] for ex in ids), 2),
           "results": {"score": score, "output": "\n".join(x for x in lines if x),
                       "output_format": "text", "visibility": "visible",
                       "stdout_visibility": stdout_visibility, "tests": tests},
           "hints": hints, "parts": parts, "notices": notices, "ok": failure is None,
           "complete": failure is None, "failure": failure}
    if failure is not None:
        out["error"] = failure["error"]
        out["flags"] = [*failure["flags"], *out["flags"]]
    return out


def _files(root: Path) -> Iterable[tuple[str, Path]]:
    """(relative path, path) of every visible entry under ``root``, in a stable order."""
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        for name in sorted(n for n in names if not _ignored(n)):
            full = Path(folder) / name
            yield full.relative_to(root).as_posix(), full


def _ignored(name: str) -> bool:
    return name.startswith(".") or name in IGNORED_DIRS


def _update(h: "hashlib._Hash", path: Path) -> None:
    """The bytes of a regular file; a link by its target, anything else by its kind (never
    opened: a FIFO in a submission must not hang the batch)."""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            h.update(b"link:" + os.readlink(path).encode("utf-8", "surrogateescape"))
        elif not stat.S_ISREG(st.st_mode):
            h.update(f"special:{stat.S_IFMT(st.st_mode)}".encode())
        else:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    h.update(chunk)
    except OSError as err:
        h.update(f"unreadable:{err.errno}".encode())


def results_names(keys: Sequence[str]) -> dict[str, str]:
    """key -> results file name: safe characters, unique even where keys differ only in them."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for key in keys:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._") or "submission"
        if safe != key or safe.lower() in used:
            safe = f"{safe[:80]}-{zlib.crc32(key.encode('utf-8', 'surrogateescape')):08x}"
        used.add(safe.lower())
        names[key] = f"{safe}.json"
    return names


def load_state(path: Path) -> dict | None:
    """A results file written by an earlier batch, or None (absent, unreadable, other layout)."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("state_version") != STATE_VERSION:
        return None
    return state


def save_state(path: Path, state: dict) -> None:
    write_atomic(path, json.dumps({"state_version": STATE_VERSION, **state}, indent=1))
