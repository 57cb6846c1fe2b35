"""What makes a batch resumable: content hashes and one results file per submission.

A submission is graded again only when its files or the grader changed. ``submission_hash``
covers what the intake can see (every file, hidden names and ``__MACOSX``/``__pycache__``
skipped, as the intake skips them); ``grader_hash`` covers what decides a score: the config
(file and loaded values), the exercises graded, every file of their checks
(``grader/exercises/<id>/``) and their references (``solutions/<id>.py``). A change in the
engine itself (``grader/*.py``) does not count: ``grade-batch --force`` grades everything again.

Each submission's state is its results file ``DIR/results/<file>.json``, written atomically as
soon as it is graded, so an interrupted batch keeps all it finished.
"""

from __future__ import annotations

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

STATE_VERSION = 1  # of the results file's layout; another version is graded again
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


def is_current(state: dict | None, submission: str, grader_version: str) -> bool:
    """Graded to completion from the same files with the same grader: no need to grade again."""
    return (state is not None and state.get("complete") is True
            and state.get("submission_hash") == submission
            and state.get("grader_hash") == grader_version)


def save_state(path: Path, state: dict) -> None:
    write_atomic(path, json.dumps({"state_version": STATE_VERSION, **state}, indent=1))
