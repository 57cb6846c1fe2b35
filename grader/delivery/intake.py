"""Submission intake: turn what a student handed in into a folder of ``<id>.py`` files.

``take_submission(path, ids, workdir)`` accepts a folder, a ``.zip``, one file (``kfold.py``,
``kfold.ipynb``), or a folder holding zips (Gradescope's upload folder; each zip directly in it
is unpacked and searched too). It never raises for a bad submission and never modifies it:
every id ends up either in ``found`` (with ``workdir/modules/<id>.py`` written) or in
``problems`` with a reason. Messages name files relative to the submission root
(``hw3/KFold.py``) or a zip (``sub.zip:kfold.py``).

**One rule for every candidate.** A candidate for ``<id>`` is any file up to ``MAX_DEPTH``
folders deep, in the folder or in a zip (skipping ``__MACOSX``, ``__pycache__`` and hidden
names), named ``<id>.py`` or ``<id>.ipynb`` or a near miss of it (any case; ``.py.txt`` and
``.txt``; `` (1)``, ``(1)``, `` - Copy``, `` copy``, ``_copy``). Where it sits does not matter:
the candidates that can be used (a regular file within the size limits, a notebook that reads)
are compared by the module each gives, copies with the same module count once, and exactly
one module is taken; two different ones are refused as ambiguous, with the list. A candidate
that cannot be used is named in a notice (or in the problem when nothing else is left).

``scope="here"`` is what ``dlgrade check`` without ``--submission`` looks at: the files of the
folder itself and of its ``assignments/``, no deeper, and no zip.

**Bounded.** Every name from the submission (file names, zip members, refused or not, cell
sources quoted in messages) is cut to ``MAX_NAME`` characters where it is read; a folder is
walked for at most ``MAX_ENTRIES`` entries; a zip's central directory is sized from its
end record before ``zipfile`` parses it (``MAX_ZIP_MEMBERS`` entries, ``MAX_ZIP_DIRECTORY``
bytes); a notebook is read as JSON by this module (never by nbformat's validator, 28 s on
300,000 cells) after its size and cell count are checked; and the whole intake runs against a
time budget (``BUDGET_S``): past it, nothing is graded and the reason says so.

Notebooks give their code cells as Jupyter runs them: ``from __future__`` lines first, IPython
magics, shell lines and ``%%`` cells dropped, and a map from each line of the module back to
its cell and line (:meth:`Intake.locate` rewrites the module's line numbers in messages).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
import time
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


MAX_DEPTH = 3                     # folders between the submission root and a file
MAX_PY = 2 * 1024 * 1024          # a module (a .py file, or what a notebook gives)
MAX_NOTEBOOK = 20 * 1024 * 1024   # notebooks carry their outputs (plots); only the code is kept
MAX_NOTEBOOK_CELLS = 5000
# JSON objects and arrays of a notebook (counted as its bytes "{" and "[", strings included, so
# never fewer) before it is parsed: 20 MB of "{}" would be 10 million objects, a gigabyte.
MAX_NOTEBOOK_NODES = 500_000
MAX_ZIP_TOTAL = 50 * 1024 * 1024
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_DIRECTORY = 1024 * 1024  # bytes of a zip's central directory (2000 names of 400 B)
# zipfile decodes each entry's extra field in time quadratic in its size (a 64 KiB one: 0.05 s;
# 50 of them, 2 s): each is held to this, read by a linear scan of the directory first.
MAX_ZIP_EXTRA = 4096
MAX_ENTRIES = 10_000              # folder entries walked, all folders together
MAX_NAME = 200                    # characters of a name from the submission kept for messages
MAX_LISTED = 15
BUDGET_S = 60.0                   # seconds for the whole intake
IGNORED_DIRS = frozenset({"__MACOSX", "__pycache__"})
EXTENSIONS = ((".py.txt", "py"), (".ipynb.txt", "ipynb"), (".py", "py"), (".ipynb", "ipynb"),
              (".txt", "py"))
ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error)
COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|\s+-\s+copy|\s+copy|_copy)$")
FUTURE = re.compile(r"from\s+__future__\s+import\b")

CellMap = tuple[tuple[int, int], ...]  # per module line (0-based): (code cell, line), 0 = none


@dataclass(frozen=True)
class Intake:
    """What ``take_submission`` made of a submission; each id is in ``found`` or ``problems``."""

    folder: Path                          # workdir/"modules": <id>.py for each id found
    found: dict[str, str]                 # id -> the file as the student named it ("hw3/KFold.py")
    notices: dict[str, tuple[str, ...]]   # id -> visible notices on how it was taken
    problems: dict[str, str]              # id -> why it cannot be graded
    general: tuple[str, ...]              # notices about the whole submission
    cells: dict[str, CellMap] = field(default_factory=dict)  # id -> its notebook's line map

    def locate(self, exercise: str, text: str) -> str:
        """``text`` with the line numbers of a module made from a notebook (``kfold.py, line
        12``, ``kfold.py has a syntax error on line 4``) given as the notebook's code cell and
        the line in it; other text unchanged."""
        cells = self.cells.get(exercise)
        if not cells or f"{exercise}.py" not in text:
            return text
        label = _cut(self.found.get(exercise, f"{exercise}.ipynb"), 80)

        def where(n: int) -> str:
            cell, line = cells[n - 1] if 0 < n <= len(cells) else (0, 0)
            return f"code cell {cell}, line {line}" if cell else f"line {n} of the joined cells"

        text = re.sub(rf"\b{re.escape(exercise)}\.py has a syntax error on line (\d+)",
                      lambda m: f"{label} has a syntax error in {where(int(m.group(1)))}", text)
        return re.sub(rf"\b{re.escape(exercise)}\.py(\"?), line (\d+)",
                      lambda m: f"{label}, {where(int(m.group(2)))}", text)


@dataclass(frozen=True)
class _File:
    label: str      # what the student sees: relative path, or "<zip>:<inner path>" (cut)
    prefix: str     # "" or "<zip>:"
    path: Path      # where it is on this machine (never shown)
    depth: int
    name: str
    link: bool
    stems: frozenset[str]   # the ids this name could stand for
    kind: str | None        # "py", "ipynb", or None when no exercise file


@dataclass(frozen=True)
class _Module:
    file: _File
    data: bytes
    note: str | None
    cells: CellMap | None


class _Rejected(Exception):
    """A candidate that cannot be taken; ``str()`` is the reason, for the student."""


class _OverBudget(Exception):
    """The intake ran past its time budget."""


class _Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise _OverBudget


def take_submission(path: Path | str, ids: Sequence[str], workdir: Path, *,
                    scope: str = "submission", budget_s: float = BUDGET_S) -> Intake:
    """Lay out ``workdir/modules/<id>.py`` for each id found in the submission at ``path``.

    ``workdir`` is an existing empty folder owned by the caller; everything is written inside
    it. ``scope="here"``: only the files of ``path`` itself and of ``path/assignments``, no zip
    (``dlgrade check`` without ``--submission``). Never raises for a bad submission; every id
    is in exactly one of found/problems.
    """
    given, path, workdir = _cut(str(path)), Path(path), Path(workdir)
    modules = workdir / "modules"
    modules.mkdir(exist_ok=True)
    general: list[str] = []
    files: list[_File] = []
    fatal = None
    budget = _Budget(budget_s)
    walker = _Walker(general, budget)
    try:
        if not path.exists():
            general.append("the submission folder does not exist")
            fatal = f"no submission was found: the folder {given} does not exist"
        elif path.is_dir() and scope == "here":
            files = walker.walk(path, "", depth=0)
            if (path / "assignments").is_dir() and not (path / "assignments").is_symlink():
                files += walker.walk(path / "assignments", "", depth=0, rel=("assignments",))
        elif path.is_dir():
            files = walker.walk(path, "", depth=MAX_DEPTH)
            zips = [f for f in files if f.depth == 0 and f.name.lower().endswith(".zip")]
            for n, z in enumerate(zips):
                if z.link:
                    general.append(f"did not unpack {z.label}: it is a symbolic link")
                    continue
                files += _unzip(z.path, z.label, workdir / "unpacked" / str(n), general,
                                walker) or []
        elif path.is_file() and (path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)):
            unpacked = _unzip(path, _cut(path.name), workdir / "unpacked" / "0", general, walker)
            if unpacked is None:
                fatal = f"the submission {_cut(path.name)} could not be unpacked (see the notices)"
            files = unpacked or []
        elif path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_NOTEBOOK:
            # one file handed in on its own (`--submission kfold.ipynb`): as a folder holding it
            single = workdir / "single"
            single.mkdir()
            (single / path.name).write_bytes(path.read_bytes())
            files = walker.walk(single, "", depth=0)
        else:
            general.append(f"the submission {_cut(path.name)} is neither a folder nor a zip file")
            fatal = (f"no submission could be read: {_cut(path.name)} is neither a folder nor "
                     "a zip file")
        if fatal is None and not files:
            general.append("the submission is empty")
    except _OverBudget:
        fatal = _over_budget(budget, general)

    found: dict[str, str] = {}
    notices: dict[str, tuple[str, ...]] = {}
    problems: dict[str, str] = {}
    cells: dict[str, CellMap] = {}
    for ex in dict.fromkeys(ids):
        if fatal is not None:
            problems[ex] = fatal
            continue
        if not ex.isidentifier():
            problems[ex] = f"{_cut(ex, 40)!r} is not a valid exercise id"
            continue
        said: list[str] = []
        try:
            chosen = _take(ex, files, said, budget)
            _write(modules / f"{ex}.py", chosen.data)
            found[ex] = chosen.file.label
            if chosen.cells is not None:
                cells[ex] = chosen.cells
        except _Rejected as err:
            problems[ex] = str(err)
        except _OverBudget:
            fatal = _over_budget(budget, general)
            problems[ex] = fatal
        except OSError as err:
            problems[ex] = f"the grader could not write {ex}.py ({err.strerror})"
        if said:
            notices[ex] = tuple(said)
    return Intake(modules, found, notices, problems, tuple(general), cells)


def _over_budget(budget: _Budget, general: list[str]) -> str:
    general.append(f"reading the submission took more than {budget.seconds:g} s: it holds too "
                   "much (files, zip entries or notebook cells); nothing was graded")
    return (f"the submission could not be read within {budget.seconds:g} s (see the notices); "
            "hand in only your exercise files")


def _take(ex: str, files: list[_File], said: list[str], budget: _Budget) -> _Module:
    """The one module for ``ex`` (see the module docstring); ``_Rejected`` otherwise."""
    exact = {f"{ex}.py", f"{ex}.ipynb"}
    cands = sorted((f for f in files if ex.lower() in f.stems),
                   key=lambda f: (f.name not in exact, f.depth, f.kind != "py", f.label))
    if not cands:
        held = _describe(files) if files else "nothing (the submission is empty)"
        raise _Rejected(f"no {ex}.py found. Expected a file named {ex}.py (or {ex}.ipynb); "
                        f"the submission holds: {held}")
    usable: list[_Module] = []
    unusable: list[tuple[_File, str]] = []
    for f in cands:
        budget.check()
        try:
            usable.append(_module(f))
        except _Rejected as err:
            unusable.append((f, str(err)))
    if not usable:
        if len(cands) == 1:
            raise _Rejected(f"{cands[0].label} was not accepted as {ex}.py: {unusable[0][1]}")
        raise _Rejected(f"none of the files that could be {ex}.py can be used: "
                        + _first([f"{f.label} ({why})" for f, why in unusable], 5))
    distinct: dict[str, _Module] = {}
    for m in usable:
        digest = hashlib.sha256(m.data).hexdigest()
        if digest in distinct:
            said.append(f"ignored {m.file.label}: the same code as {distinct[digest].file.label}")
        else:
            distinct[digest] = m
    if len(distinct) > 1:
        raise _Rejected(f"found {len(distinct)} different files that could be {ex}.py: "
                        + _first([m.file.label for m in distinct.values()], MAX_LISTED)
                        + f". Keep only one of them, named {ex}.py (or {ex}.ipynb)")
    chosen = next(iter(distinct.values()))
    if unusable:
        said.append(f"took {chosen.file.label}; ignored what could not be used: "
                    + _first([f"{f.label} ({why})" for f, why in unusable], 3))
    if chosen.file.name not in exact:
        should = f"{ex}.ipynb" if chosen.file.kind == "ipynb" else f"{ex}.py"
        said.append(f"took {chosen.file.label} as {ex}.py (the file name should be {should})")
    elif chosen.file.depth > 0:
        said.append(f"took {chosen.file.label} as {ex}.py (found in a subfolder)")
    said.extend([chosen.note] if chosen.note else [])
    return chosen


def _module(f: _File) -> _Module:
    """The module a candidate gives; ``_Rejected`` (with the reason) when it cannot be used."""
    if f.kind != "ipynb":
        return _Module(f, _read(f, MAX_PY), None, None)
    data, note, cells = _notebook(_read(f, MAX_NOTEBOOK), f.label)
    if len(data) > MAX_PY:
        raise _Rejected(f"its code cells make {len(data) / 2**20:.1f} MiB of code, more than "
                        f"the {MAX_PY // 2**20} MiB limit")
    return _Module(f, data, note, cells)


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


# -- notebooks ----------------------------------------------------------------------------------

def _notebook(data: bytes, label: str) -> tuple[bytes, str, CellMap]:
    """The code cells of a notebook as one module, as Jupyter runs them: ``from __future__``
    lines first, IPython magics, shell lines and ``%%`` cells dropped; with the line map."""
    sources = _code_cells(data)
    future: list[tuple[str, tuple[int, int]]] = []
    body: list[tuple[str, tuple[int, int]]] = []
    lines_out: list[str] = []
    cells_out: list[str] = []
    kept = 0
    for n, src in enumerate(sources, 1):
        if src.lstrip().startswith("%%"):
            cells_out.append(f"code cell {n} `{_cut(src.strip().splitlines()[0], 60)}`")
            continue
        kept += 1
        out: list[tuple[str, tuple[int, int]]] = []
        for i, line in enumerate(src.splitlines(), 1):
            if line.strip().startswith(("%", "!")):
                lines_out.append(f"code cell {n} line {i} `{_cut(line.strip(), 60)}`")
                code = [k for k, _ in out if k.strip()]
                if code and code[-1].split("#")[0].rstrip().endswith(":"):
                    # The magic was a block's first line: the block must not become empty.
                    out.append((line[: len(line) - len(line.lstrip())] + "pass", (n, i)))
                continue
            if FUTURE.match(line):  # legal at the top of any cell: first line of the module
                future.append((line.strip(), (n, i)))
                continue
            out.append((line, (n, i)))
        while out and not out[-1][0].strip():
            out.pop()
        if body:
            body += [("", (0, 0)), ("", (0, 0))]
        body += out
    lines = future + body
    module = "\n".join(text for text, _ in lines) + "\n"
    note = f"{label}: took its {kept} code cell(s)"
    if future:
        note += f"; put its {len(future)} `from __future__` line(s) first, as Jupyter runs them"
    if lines_out:
        note += (f"; dropped {len(lines_out)} IPython magic/shell line(s): "
                 + _first(lines_out, 3))
    if cells_out:
        note += f"; dropped {len(cells_out)} cell(s) starting with %%: " + _first(cells_out, 3)
    return module.encode("utf-8", "surrogatepass"), note, tuple(w for _, w in lines)


def _code_cells(data: bytes) -> list[str]:
    """The sources of a notebook's code cells, read as JSON here (bounded, and fast: nbformat's
    schema validation took 28 s on 300,000 cells); nbformat only converts the rare notebook
    older than version 4, once its size and cell count are known to be small."""
    # Bounded before parsing: cells counted by their key (a key cannot hide in a string, where
    # its quotes are escaped) and every object and array by its opening byte.
    _count(data.count(b'"cell_type"'))
    nodes = data.count(b"{") + data.count(b"[")
    if nodes > MAX_NOTEBOOK_NODES:
        raise _Rejected(f"it holds more than {MAX_NOTEBOOK_NODES} JSON objects and arrays; "
                        "clear the notebook's outputs and hand it in again")
    try:
        nb = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError, MemoryError) as err:
        raise _Rejected(f"it could not be read as a notebook ({type(err).__name__}: "
                        f"{_cut(str(err), 60)})") from None
    if not isinstance(nb, dict):
        raise _Rejected("it could not be read as a notebook (not a JSON object)")
    major = nb.get("nbformat")
    if major == 4 or (major is None and isinstance(nb.get("cells"), list)):
        cells = nb.get("cells")
        if not isinstance(cells, list):
            raise _Rejected("it could not be read as a notebook (it has no list of cells)")
        _count(len(cells))
        out = []
        for cell in cells:
            if not isinstance(cell, dict):
                raise _Rejected("it could not be read as a notebook (a cell is not an object)")
            if cell.get("cell_type") == "code":
                out.append(_source(cell.get("source", "")))
        return out
    if not isinstance(major, int) or major > 4 or major < 3:
        raise _Rejected(f"it could not be read as a notebook (nbformat {_cut(str(major), 20)} "
                        "is not supported)")
    worksheets = nb.get("worksheets") if isinstance(nb.get("worksheets"), list) else []
    _count(sum(len(w.get("cells", [])) for w in worksheets if isinstance(w, dict)
               and isinstance(w.get("cells"), list)))
    import io

    import nbformat  # here, not at the top: 0.4 s that only old notebooks need

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            old = nbformat.read(io.StringIO(data.decode("utf-8")), as_version=4)
    except Exception as err:  # nbformat raises many kinds of errors for a broken file
        raise _Rejected(f"it could not be read as a notebook ({type(err).__name__}: "
                        f"{_cut(str(err), 60)})") from None
    return [_source(c.get("source", "")) for c in old.cells if c.get("cell_type") == "code"]


def _count(cells: int) -> None:
    if cells > MAX_NOTEBOOK_CELLS:
        raise _Rejected(f"it holds {cells} cells, more than the limit of {MAX_NOTEBOOK_CELLS}")


def _source(src: object) -> str:
    if isinstance(src, str):
        return src
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        return "".join(src)
    raise _Rejected("it could not be read as a notebook (a cell's source is not text)")


# -- zips -----------------------------------------------------------------------------------------

def zip_directory(archive: Path) -> tuple[int, int] | None:
    """(entries, bytes) of a zip's central directory, from its end record alone (the last
    64 KiB of the file), before anything parses the directory; None when there is none."""
    found = _end_record(archive)
    return None if found is None else (found[0], found[1])


def _end_record(archive: Path) -> tuple[int, int, int] | None:
    """(entries, directory bytes, directory offset) from the end record, as zipfile finds them
    (``zipfile._EndRecData``: a bounded read of the file's end, zip64 included)."""
    try:
        with open(archive, "rb") as fp:
            end = zipfile._EndRecData(fp)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, struct.error):
        return None
    if not end:
        return None
    size = int(end[zipfile._ECD_SIZE])
    start = int(end[zipfile._ECD_LOCATION]) - size
    if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:
        start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
    return int(end[zipfile._ECD_ENTRIES_TOTAL]), size, start


def _directory_problem(archive: Path, size: int, start: int) -> str | None:
    """A linear walk of the central directory's fixed headers (at most ``MAX_ZIP_DIRECTORY``
    bytes): why zipfile should not parse it, or None."""
    try:
        with open(archive, "rb") as fp:
            fp.seek(max(0, start))
            data = fp.read(size)
    except OSError:
        return "it cannot be read"
    at, header = 0, zipfile.sizeCentralDir
    while at + header <= len(data):
        if data[at:at + 4] != zipfile.stringCentralDir:
            return None  # not what the end record said: zipfile will refuse it itself
        names, extra, comment = struct.unpack_from("<3H", data, at + 28)
        if extra > MAX_ZIP_EXTRA:
            return (f"an entry carries a {extra}-byte extra field (more than "
                    f"{MAX_ZIP_EXTRA} bytes)")
        at += header + names + extra + comment
    return None


def _unzip(archive: Path, label: str, dest: Path, general: list[str],
           walker: _Walker) -> list[_File] | None:
    """Unpack ``archive`` into ``dest`` safely and list its files; None when it is unusable."""
    refused: list[str] = []
    links: list[str] = []
    failed: list[str] = []
    directory = _end_record(archive)
    if directory is None:
        general.append(f"could not unpack {label}: it is not a readable zip file")
        return None
    entries, size, start = directory
    if entries > MAX_ZIP_MEMBERS or size > MAX_ZIP_DIRECTORY:
        general.append(f"did not unpack {label}: it holds {entries} entries "
                       f"({size / 2**20:.1f} MiB of directory), more than the limits of "
                       f"{MAX_ZIP_MEMBERS} entries and {MAX_ZIP_DIRECTORY // 2**20} MiB")
        return None
    if problem := _directory_problem(archive, size, start):
        general.append(f"did not unpack {label}: {problem}")
        return None
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:  # the end record said fewer: not to be trusted
                general.append(f"did not unpack {label}: it holds more than "
                               f"{MAX_ZIP_MEMBERS} entries")
                return None
            # zipfile stops each member at its declared size, so the declared sum is a real cap.
            if sum(i.file_size for i in infos) > MAX_ZIP_TOTAL:
                general.append(f"did not unpack {label}: it holds more than "
                               f"{MAX_ZIP_TOTAL // 2**20} MB uncompressed")
                return None
            dest.mkdir(parents=True)
            for info in infos:
                walker.budget.check()
                inner = info.filename.replace("\\", "/")
                parts = [p for p in inner.split("/") if p not in ("", ".")]
                if info.is_dir() or not parts:
                    continue
                if inner.startswith("/") or ".." in parts or re.match(r"[A-Za-z]:$", parts[0]):
                    refused.append(_cut(inner))
                elif stat.S_ISLNK(info.external_attr >> 16):
                    links.append(_cut(inner))
                elif not any(_ignored(p) for p in parts):
                    target = dest.joinpath(*parts)
                    try:
                        target.parent.mkdir(parents=True, exist_ok=True)  # no links unpacked
                        with zf.open(info) as src:
                            _write(target, src.read())
                    # RuntimeError: encrypted; NotImplementedError: unknown compression.
                    except (*ZIP_ERRORS, RuntimeError, NotImplementedError):
                        failed.append(_cut(inner))
    except ZIP_ERRORS:
        general.append(f"could not unpack {label}: it is not a readable zip file")
        return None
    general.append(f"unpacked {label}")
    for what, names in (("refused unsafe name(s)", refused), ("skipped symbolic link(s)", links),
                        ("could not unpack member(s)", failed)):
        if names:
            general.append(f"{label}: {what}: " + _first(names, 5))
    return walker.walk(dest, f"{label}:", depth=MAX_DEPTH)


def _write(target: Path, data: bytes) -> None:
    """A fresh regular file, mode 0o644; an existing file or a link at ``target`` is an error."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with open(fd, "wb") as fh:
        os.fchmod(fd, 0o644)  # the umask may have taken bits away
        fh.write(data)


# -- folders --------------------------------------------------------------------------------------

class _Walker:
    """Lists files under a root, at most ``depth`` folders deep, skipping junk folders; every
    walk of one intake shares ``MAX_ENTRIES`` and the time budget."""

    def __init__(self, general: list[str], budget: _Budget) -> None:
        self.general = general
        self.budget = budget
        self.seen = 0
        self.cut = False

    def walk(self, root: Path, prefix: str, *, depth: int,
             rel: tuple[str, ...] = ()) -> list[_File]:
        out: list[_File] = []

        def visit(folder: Path, rel: tuple[str, ...], level: int) -> None:
            entries = []
            try:
                with os.scandir(folder) as it:
                    for e in it:
                        self.budget.check()
                        if self.seen >= MAX_ENTRIES:
                            self._over()
                            break
                        self.seen += 1
                        entries.append(e)
            except OSError:
                self.general.append(f"could not read the folder "
                                    f"{_cut(prefix + ('/'.join(rel) or '.'))}")
                return
            for e in sorted(entries, key=lambda e: e.name):
                if _ignored(e.name):
                    continue
                if e.is_dir(follow_symlinks=False):
                    if level < depth:
                        visit(Path(e.path), rel + (e.name,), level + 1)
                    continue
                stems, kind = _stems(e.name)
                out.append(_File(_cut(prefix + "/".join(rel + (e.name,))), prefix, Path(e.path),
                                 level, _cut(e.name), e.is_symlink(), stems, kind))

        visit(root, rel, 0)
        return out

    def _over(self) -> None:
        if not self.cut:
            self.cut = True
            self.general.append(f"looked at the first {MAX_ENTRIES} files and folders only: "
                                "the submission holds more")


def _ignored(name: str) -> bool:
    return name.startswith(".") or name in IGNORED_DIRS


def _stems(name: str) -> tuple[frozenset[str], str | None]:
    """The ids a name may stand for, and its kind: ``KFold - Copy.py.txt`` -> {kfold, ...}, py."""
    low = name.lower()
    if len(low) > MAX_NAME:  # no id is that long
        return frozenset(), None
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


def _cut(text: str, n: int = MAX_NAME) -> str:
    """A name from the submission as messages show it: at most ``n`` characters."""
    return text if len(text) <= n else text[: n - 3] + "..."
