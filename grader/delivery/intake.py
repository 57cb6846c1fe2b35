"""Submission intake: turn what a student handed in into a folder of ``<id>.py`` files.

``take_submission(path, ids, workdir)`` accepts a folder, a ``.zip``, or a folder holding zips
(Gradescope's upload folder; each zip directly in it is unpacked and searched too). It never
raises for a bad submission and never modifies it: every id ends up either in ``found`` (with
``workdir/modules/<id>.py`` written) or in ``problems`` with a reason. Messages name files
relative to the submission root (``hw3/KFold.py``) or a zip (``sub.zip:kfold.py``).

For each id, in order: an exact ``<id>.py`` at the top level wins. Otherwise every candidate up
to ``MAX_DEPTH`` folders deep counts (skipping ``__MACOSX``, ``__pycache__`` and hidden names):
exact names and near misses (any case; ``.py.txt``/``.txt``; `` (1)``, ``(1)``, `` - Copy``,
`` copy``, ``_copy``), ``.py`` or ``.ipynb``. Identical copies count once; an exact ``.py``
beats an exact ``.ipynb``; any other two candidates are ambiguous. Notebooks give their code
cells without IPython magics, shell lines and ``%%`` cells.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


MAX_DEPTH = 3                     # folders between the submission root and a file
MAX_PY = 2 * 1024 * 1024
MAX_NOTEBOOK = 20 * 1024 * 1024   # notebooks carry their outputs (plots); only the code is kept
MAX_ZIP_TOTAL = 50 * 1024 * 1024
MAX_ZIP_MEMBERS = 2000
MAX_LISTED = 15
IGNORED_DIRS = frozenset({"__MACOSX", "__pycache__"})
EXTENSIONS = ((".py.txt", "py"), (".ipynb.txt", "ipynb"), (".py", "py"), (".ipynb", "ipynb"),
              (".txt", "py"))
ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error)
COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|\s+-\s+copy|\s+copy|_copy)$")


@dataclass(frozen=True)
class Intake:
    """What ``take_submission`` made of a submission; each id is in ``found`` or ``problems``."""

    folder: Path                          # workdir/"modules": <id>.py for each id found
    found: dict[str, str]                 # id -> the file as the student named it ("hw3/KFold.py")
    notices: dict[str, tuple[str, ...]]   # id -> visible notices on how it was taken
    problems: dict[str, str]              # id -> why it cannot be graded
    general: tuple[str, ...]              # notices about the whole submission


@dataclass(frozen=True)
class _File:
    label: str      # what the student sees: relative path, or "<zip>:<inner path>"
    prefix: str     # "" or "<zip>:"
    path: Path      # where it is on this machine (never shown)
    depth: int
    name: str
    link: bool
    stems: frozenset[str]   # the ids this name could stand for
    kind: str | None        # "py", "ipynb", or None when no exercise file


class _Rejected(Exception):
    """A candidate that cannot be taken; ``str()`` is the reason, for the student."""


def take_submission(path: Path | str, ids: Sequence[str], workdir: Path) -> Intake:
    """Lay out ``workdir/modules/<id>.py`` for each id found in the submission at ``path``.

    ``workdir`` is an existing empty folder owned by the caller; everything is written inside
    it. Never raises for a bad submission; every id is in exactly one of found/problems.
    """
    given, path, workdir = str(path), Path(path), Path(workdir)
    modules = workdir / "modules"
    modules.mkdir(exist_ok=True)
    general: list[str] = []
    files: list[_File] = []
    fatal = None
    if not path.exists():
        general.append("the submission folder does not exist")
        fatal = f"no submission was found: the folder {given} does not exist"
    elif path.is_dir():
        files = _walk(path, "", general)
        zips = [f for f in files if f.depth == 0 and f.name.lower().endswith(".zip")]
        for n, z in enumerate(zips):
            if z.link:
                general.append(f"did not unpack {z.label}: it is a symbolic link")
                continue
            files += _unzip(z.path, z.label, workdir / "unpacked" / str(n), general) or []
    elif path.is_file() and (path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)):
        unpacked = _unzip(path, path.name, workdir / "unpacked" / "0", general)
        if unpacked is None:
            fatal = f"the submission {path.name} could not be unpacked (see the notices)"
        files = unpacked or []
    elif path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_NOTEBOOK:
        # one file handed in on its own (`--submission kfold.ipynb`): as a folder holding it
        single = workdir / "single"
        single.mkdir()
        (single / path.name).write_bytes(path.read_bytes())
        files = _walk(single, "", general)
    else:
        general.append(f"the submission {path.name} is neither a folder nor a zip file")
        fatal = f"no submission could be read: {path.name} is neither a folder nor a zip file"
    if fatal is None and not files:
        general.append("the submission is empty")

    found: dict[str, str] = {}
    notices: dict[str, tuple[str, ...]] = {}
    problems: dict[str, str] = {}
    for ex in dict.fromkeys(ids):
        if fatal is not None:
            problems[ex] = fatal
            continue
        if not ex.isidentifier():
            problems[ex] = f"{ex!r} is not a valid exercise id"
            continue
        said: list[str] = []
        try:
            chosen, data = _take(ex, files, said)
            _write(modules / f"{ex}.py", data)
            found[ex] = chosen.label
        except _Rejected as err:
            problems[ex] = str(err)
        except OSError as err:
            problems[ex] = f"the grader could not write {ex}.py ({err.strerror})"
        if said:
            notices[ex] = tuple(said)
    return Intake(modules, found, notices, problems, tuple(general))


def _take(ex: str, files: list[_File], said: list[str]) -> tuple[_File, bytes]:
    """The one file for ``ex`` and the module bytes made of it; ``_Rejected`` otherwise."""
    exact = {f"{ex}.py", f"{ex}.ipynb"}
    cands = sorted((f for f in files if ex.lower() in f.stems),
                   key=lambda f: (f.name not in exact, f.depth, f.kind != "py", f.label))
    top = [f for f in cands if f.depth == 0 and f.name == f"{ex}.py"]
    pool = _drop_copies(top or cands, said)
    if top and len(cands) > len(top):
        said.append(f"took {pool[0].label}; ignored the other file(s) that could be {ex}.py: "
                    + ", ".join(f.label for f in cands if f not in top))
    kinds = [f.kind for f in pool]
    if len(pool) > 1 and {f.name for f in pool} <= exact and kinds.count("py") == 1:
        said.append(f"took {pool[0].label}; ignored " + ", ".join(f.label for f in pool[1:])
                    + " (a .py file comes before a notebook of the same name)")
        pool = pool[:1]
    if len(pool) > 1:
        raise _Rejected(f"found {len(pool)} files that could be {ex}.py: "
                        + ", ".join(f.label for f in pool)
                        + f". Keep only one of them, named {ex}.py (or {ex}.ipynb)")
    if not pool:
        held = _describe(files) if files else "nothing (the submission is empty)"
        raise _Rejected(f"no {ex}.py found. Expected a file named {ex}.py (or {ex}.ipynb); "
                        f"the submission holds: {held}")
    chosen, note = pool[0], None
    try:
        data = _read(chosen, MAX_NOTEBOOK if chosen.kind == "ipynb" else MAX_PY)
        if chosen.kind == "ipynb":
            data, note = _notebook(data, chosen.label)
    except _Rejected as err:
        raise _Rejected(f"{chosen.label} was not accepted as {ex}.py: {err}") from None
    if chosen.name not in exact:
        should = f"{ex}.ipynb" if chosen.kind == "ipynb" else f"{ex}.py"
        said.append(f"took {chosen.label} as {ex}.py (the file name should be {should})")
    elif chosen.depth > 0:
        said.append(f"took {chosen.label} as {ex}.py (found in a subfolder)")
    said.extend([note] if note else [])
    return chosen, data


def _drop_copies(pool: list[_File], said: list[str]) -> list[_File]:
    """Keep the first of candidates with identical bytes: a re-download is not ambiguity."""
    seen: dict[str, _File] = {}
    kept = []
    for f in pool:
        try:
            digest = hashlib.sha256(_read(f, MAX_NOTEBOOK)).hexdigest() if len(pool) > 1 else ""
        except _Rejected:
            digest = f.label  # unreadable: never the same as another
        if digest in seen:
            said.append(f"ignored {f.label}: the same content as {seen[digest].label}")
        else:
            seen[digest] = f
            kept.append(f)
    return kept


def _read(f: _File, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, never following a link."""
    if f.link:
        raise _Rejected("it is a symbolic link; hand in the file itself")
    try:
        # O_NONBLOCK: a FIFO planted in a submission must not hang the intake.
        fd = os.open(f.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        raise _Rejected(f"it could not be read ({err.strerror})") from None
    with open(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _Rejected("it is not a regular file")
        if st.st_size > limit:
            raise _Rejected(f"it is {st.st_size / 2**20:.1f} MiB, more than the "
                            f"{limit // 2**20} MiB limit")
        return fh.read(limit + 1)[:limit]


def _notebook(data: bytes, label: str) -> tuple[bytes, str]:
    """The code cells of a notebook as one module, without IPython magics and shell lines."""
    import nbformat  # here, not at the top: 0.4 s that only notebooks need

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.read(io.StringIO(data.decode("utf-8")), as_version=4)
            cells = [c for c in nb.cells if c.get("cell_type") == "code"]
    except Exception as err:  # nbformat raises many kinds of errors for a broken file
        raise _Rejected(f"it could not be read as a notebook ({type(err).__name__}: "
                        f"{_short(str(err))})") from None
    kept: list[str] = []
    lines_out: list[str] = []
    cells_out: list[str] = []
    for n, cell in enumerate(cells, 1):
        src = cell.get("source", "")
        src = src if isinstance(src, str) else "".join(map(str, src))
        if src.lstrip().startswith("%%"):
            cells_out.append(f"code cell {n} `{_short(src.strip().splitlines()[0])}`")
            continue
        out = []
        for i, line in enumerate(src.splitlines(), 1):
            if line.strip().startswith(("%", "!")):
                lines_out.append(f"code cell {n} line {i} `{_short(line.strip())}`")
                code = [k for k in out if k.strip()]
                if code and code[-1].split("#")[0].rstrip().endswith(":"):
                    # The magic was a block's first line: the block must not become empty.
                    out.append(line[: len(line) - len(line.lstrip())] + "pass")
                continue
            out.append(line)
        kept.append("\n".join(out).rstrip())
    note = f"{label}: took its {len(kept)} code cell(s)"
    if lines_out:
        note += (f"; dropped {len(lines_out)} IPython magic/shell line(s): "
                 + _first(lines_out, 3))
    if cells_out:
        note += f"; dropped {len(cells_out)} cell(s) starting with %%: " + _first(cells_out, 3)
    return ("\n\n".join(kept) + "\n").encode("utf-8"), note


def _unzip(archive: Path, label: str, dest: Path, general: list[str]) -> list[_File] | None:
    """Unpack ``archive`` into ``dest`` safely and list its files; None when it is unusable."""
    refused: list[str] = []
    links: list[str] = []
    failed: list[str] = []
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                general.append(f"did not unpack {label}: it holds {len(infos)} entries, "
                               f"more than the limit of {MAX_ZIP_MEMBERS}")
                return None
            # zipfile stops each member at its declared size, so the declared sum is a real cap.
            if sum(i.file_size for i in infos) > MAX_ZIP_TOTAL:
                general.append(f"did not unpack {label}: it holds more than "
                               f"{MAX_ZIP_TOTAL // 2**20} MB uncompressed")
                return None
            dest.mkdir(parents=True)
            for info in infos:
                inner = info.filename.replace("\\", "/")
                parts = [p for p in inner.split("/") if p not in ("", ".")]
                if info.is_dir() or not parts:
                    continue
                if inner.startswith("/") or ".." in parts or re.match(r"[A-Za-z]:$", parts[0]):
                    refused.append(inner)
                elif stat.S_ISLNK(info.external_attr >> 16):
                    links.append(inner)
                elif not any(_ignored(p) for p in parts):
                    target = dest.joinpath(*parts)
                    try:
                        target.parent.mkdir(parents=True, exist_ok=True)  # no links unpacked
                        with zf.open(info) as src:
                            _write(target, src.read())
                    # RuntimeError: encrypted; NotImplementedError: unknown compression.
                    except (*ZIP_ERRORS, RuntimeError, NotImplementedError):
                        failed.append(inner)
    except ZIP_ERRORS:
        general.append(f"could not unpack {label}: it is not a readable zip file")
        return None
    general.append(f"unpacked {label}")
    for what, names in (("refused unsafe name(s)", refused), ("skipped symbolic link(s)", links),
                        ("could not unpack member(s)", failed)):
        if names:
            general.append(f"{label}: {what}: " + _first(names, 5))
    return _walk(dest, f"{label}:", general)


def _write(target: Path, data: bytes) -> None:
    """A fresh regular file, mode 0o644; an existing file or a link at ``target`` is an error."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with open(fd, "wb") as fh:
        os.fchmod(fd, 0o644)  # the umask may have taken bits away
        fh.write(data)


def _walk(root: Path, prefix: str, general: list[str]) -> list[_File]:
    """The files under ``root``, at most ``MAX_DEPTH`` folders deep, skipping junk folders."""
    out: list[_File] = []

    def visit(folder: Path, rel: tuple[str, ...]) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            general.append(f"could not read the folder {prefix}{'/'.join(rel) or '.'}")
            return
        for e in entries:
            if _ignored(e.name):
                continue
            if e.is_dir(follow_symlinks=False):
                if len(rel) < MAX_DEPTH:
                    visit(Path(e.path), rel + (e.name,))
                continue
            stems, kind = _stems(e.name)
            out.append(_File(prefix + "/".join(rel + (e.name,)), prefix, Path(e.path), len(rel),
                             e.name, e.is_symlink(), stems, kind))

    visit(root, ())
    return out


def _ignored(name: str) -> bool:
    return name.startswith(".") or name in IGNORED_DIRS


def _stems(name: str) -> tuple[frozenset[str], str | None]:
    """The ids a name may stand for, and its kind: ``KFold - Copy.py.txt`` -> {kfold, ...}, py."""
    low = name.lower()
    for ext, kind in EXTENSIONS:
        if low.endswith(ext) and len(low) > len(ext):
            stem = low[: -len(ext)].strip()
            break
    else:
        return frozenset(), None
    # Every stage counts, so that an id that itself ends in "_copy" still matches.
    stems = {stem}
    while (m := COPY_SUFFIX.search(stem)) and m.start() > 0:
        stem = stem[: m.start()].strip()
        stems.add(stem)
    return frozenset(stems), kind


def _describe(files: list[_File]) -> str:
    """``a.py, notes.txt, hw3/ (3 files)``: top-level entries, a lone folder opened up."""
    def head(prefix: str, inner: str) -> str:
        return prefix + inner.split("/", 1)[0] + ("/" if "/" in inner else "")

    items = [(f.prefix, f.label[len(f.prefix):]) for f in files]
    while len(heads := {head(p, i) for p, i in items}) == 1 and heads.pop().endswith("/"):
        items = [(head(p, i), i.split("/", 1)[1]) for p, i in items]
    counts = Counter(head(p, i) for p, i in items)
    return _first([h + (f" ({n} file{'s' * (n != 1)})" if h.endswith("/") else "")
                   for h, n in counts.items()], MAX_LISTED)


def _first(items: list[str], n: int) -> str:
    more = f", and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
