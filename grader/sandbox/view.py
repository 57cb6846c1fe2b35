"""What a worker may read, per exercise: the view that makes ``imports`` a rule, not a wish.

An exercise declares the packages its code may import (``imports`` in ``autograder.yml``, else
the exercise's ``IMPORTS``; numpy only when neither says). A worker of that exercise sees

- the system folders and the interpreter's prefixes (the standard library, the system
  libraries, ``/etc``) with **every** ``site-packages`` and ``dist-packages`` folder beneath
  them cut out, whichever Python they belong to (the venv's, the system's, ``/usr/local``'s,
  ``/usr/lib/python3/dist-packages``, one bundled with some tool);
- from the worker interpreter's own package folders, only the entries of the allowed packages'
  distributions and of every distribution they require (``importlib.metadata`` requirements,
  followed transitively, environment markers evaluated here: torch's CUDA libraries on a GPU
  machine), taken from each distribution's ``RECORD`` (so vendored ``numpy.libs`` come along);
  those folders themselves may be listed (the import system lists them), not read;
- the engine copy.

:func:`exercise_view` computes it in the judge; the runtime hands it to the launcher as the
private root's binds (namespaces) and as Landlock's read rules. What is not in the view cannot
be imported, opened or loaded, however the code spells it (``sys.path``,
``spec_from_file_location`` on torch's files, ``ctypes.CDLL`` on ``libtorch_cpu.so``,
``pydoc.locate``, ``__import__`` of a built string, a ``.pth`` file). The worker's import hook
(:class:`grader.sandbox.worker.ImportRule`) only turns the failure into one sentence a student
understands; where neither Landlock nor namespaces are in force it is all there is, and the
grading notice says the rule is not enforced.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import site
import sys
import sysconfig
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement

PACKAGE_FOLDERS = ("site-packages", "dist-packages")
# Pseudo file systems: no Python package lives there, and walking them costs (or never ends).
NOT_WALKED = ("/sys", "/proc", "/dev")
ENGINE_PACKAGES = ("grader",)  # the engine copy's own top-level package
_PYTHON_LIB = re.compile(r"python\d+(\.\d+)?")


@dataclass(frozen=True)
class View:
    """One exercise's view: ``binds`` (read and execute beneath each; top-level symlinks such
    as ``/lib -> usr/lib`` are recreated as links, never followed by a rule), ``listable``
    (folders whose names may be listed, not read: the package folders the allowed entries sit
    in), and for the import hook the names importable there (``available``) and the top-level
    names installed for this interpreter that are not (``blocked``)."""

    imports: tuple[str, ...]
    binds: tuple[str, ...]
    listable: tuple[str, ...] = ()
    available: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()


def describe(views: dict[str, View]) -> str:
    """``conv, kfold: numpy; dropout: numpy, torch`` (exercises grouped by what they allow)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for exercise, view in views.items():
        groups.setdefault(view.imports, []).append(exercise)
    return "; ".join(f"{', '.join(ids)}: {', '.join(imports) or 'the standard library'}"
                     for imports, ids in groups.items())


# -- the view ---------------------------------------------------------------------------------

def exercise_view(imports: tuple[str, ...], roots: tuple[str, ...],
                  sites: tuple[str, ...] | None = None) -> View:
    """The view for code that may import ``imports``: ``roots`` (the system folders, the
    interpreter's prefixes and the engine copy) less every package folder beneath them, plus
    the allowed distributions' entries of the worker's package folders ``sites`` (default:
    this interpreter's, :func:`worker_sites`)."""
    sites = worker_sites() if sites is None else sites
    return _view(tuple(imports), tuple(roots), tuple(sites))


@functools.lru_cache(maxsize=32)
def _view(imports: tuple[str, ...], roots: tuple[str, ...], sites: tuple[str, ...]) -> View:
    walked = tuple(r for r in (_real(p) for p in roots)
                   if not any(_beneath(r, skip) for skip in NOT_WALKED))
    folders = set(package_folders(walked)) | set(sites)
    # another Python's library folder (python3.12/ above its site-packages, Debian's python3/
    # above dist-packages) is no part of this one's standard library: out whole
    ours = {_real(sysconfig.get_path(key)) for key in ("stdlib", "platstdlib")}
    hidden = folders | {parent for f in folders
                        if _PYTHON_LIB.fullmatch(os.path.basename(parent := os.path.dirname(f)))
                        and parent not in ours}
    whole: list[str] = []
    links: list[str] = []
    kept_links: list[str] = []
    for root in roots:
        if not os.path.lexists(root):
            continue
        if os.path.islink(root) and os.path.dirname(root.rstrip("/")) == "/":
            kept_links.append(root)  # /lib -> usr/lib: recreated as a link in a private root
        root = _real(root)
        if not any(_beneath(root, w) for w in whole):
            _cover(root, hidden, whole, links)
    kept_links += [link for link in links if _covered(_real(link), whole, hidden)]
    entries, listable, available = _allowed_entries(imports, sites)
    binds = sorted(set(whole) | set(kept_links) | set(entries))
    installed = _installed_names(sites)
    keep = set(available) | set(sys.stdlib_module_names) | set(ENGINE_PACKAGES)
    return View(imports=imports, binds=tuple(binds), listable=tuple(sorted(listable)),
                available=tuple(sorted(available)),
                blocked=tuple(sorted(installed - keep)))


def _cover(path: str, hidden: set[str], whole: list[str], links: list[str]) -> None:
    """Add to ``whole`` the paths that together hold everything beneath ``path`` except the
    ``hidden`` folders: ``path`` itself when none is beneath it, else its entries, one level
    down at a time. Symlinks met on the way go to ``links`` (kept only where what they point
    at is in the view)."""
    if path in hidden:
        return
    if not any(_beneath(h, path) for h in hidden):
        whole.append(path)
        return
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_symlink():
                links.append(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                _cover(entry.path, hidden, whole, links)
            elif entry.is_file(follow_symlinks=False):
                whole.append(entry.path)
        except OSError:
            continue


def _covered(path: str, whole: list[str], hidden: set[str]) -> bool:
    return (any(_beneath(path, w) for w in whole)
            and not any(_beneath(path, h) for h in hidden))


def package_folders(roots: tuple[str, ...]) -> tuple[str, ...]:
    """Every ``site-packages`` / ``dist-packages`` folder beneath ``roots`` (symlinks are not
    followed: what they point at is judged where it lies)."""
    return tuple(sorted({f for root in dict.fromkeys(roots) for f in _folders_under(root)}))


@functools.lru_cache(maxsize=64)
def _folders_under(root: str) -> tuple[str, ...]:
    """:func:`package_folders` of one root, cached: a walk of ``/usr`` takes 0.3 to 0.5 s,
    once per judge process. A folder with a link count of 2 has no subfolder (find's leaf
    optimisation; file systems that do not count subfolders report 1 and are listed)."""
    found: list[str] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        if os.path.basename(folder) in PACKAGE_FOLDERS:
            found.append(folder)
            continue
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        if not entry.is_dir(follow_symlinks=False):
                            continue
                        if (entry.name not in PACKAGE_FOLDERS
                                and entry.stat(follow_symlinks=False).st_nlink == 2):
                            continue
                        stack.append(entry.path)
                    except OSError:
                        continue
        except OSError:
            continue
    return tuple(found)


def worker_sites() -> tuple[str, ...]:
    """The package folders of a worker's interpreter (``python -I`` of this one: no user
    site), real paths, those that exist."""
    try:
        sites = site.getsitepackages()
    except AttributeError:  # an old virtualenv's site module
        sites = [p for p in sys.path if os.path.basename(p) in PACKAGE_FOLDERS]
    return tuple(dict.fromkeys(_real(p) for p in sites if os.path.isdir(p)))


# -- distributions ----------------------------------------------------------------------------

class _Dist:
    """An installed distribution, read lazily: its requirements (METADATA) only when it is
    chosen, its files (RECORD) once."""

    def __init__(self, dist: importlib.metadata.Distribution, name: str, site: str) -> None:
        self._dist = dist
        self.name = name  # normalised (PEP 503)
        self.site = site

    @functools.cached_property
    def requires(self) -> tuple[str, ...]:
        try:
            return tuple(self._dist.requires or ())
        except Exception:  # noqa: BLE001 - unreadable metadata: no requirements known
            return ()

    @functools.cached_property
    def files(self) -> tuple[str, ...]:
        """Its files relative to its package folder (RECORD; an egg's installed-files.txt),
        and its metadata folder (``name-1.0.dist-info/``)."""
        return tuple(_files(self._dist, self.site))

    @functools.cached_property
    def modules(self) -> tuple[str, ...]:
        """The top-level import names it installs."""
        tops = {f.split("/", 1)[0] for f in self.files}
        return tuple(sorted({m for t in tops if (m := _module_name(t))}
                            | set(_top_level(self._dist))))


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_name(top: str) -> str | None:
    """The import name a top-level entry of a package folder provides, if any."""
    if top.endswith((".dist-info", ".egg-info", ".pth", ".libs", ".data")) or top == "__pycache__":
        return None
    name = top.split(".", 1)[0]
    return name if name.isidentifier() else None


@functools.lru_cache(maxsize=8)
def _distributions(sites: tuple[str, ...]) -> dict[str, _Dist]:
    """Every distribution installed in ``sites`` (the first of a name wins, as imports do)."""
    found: dict[str, _Dist] = {}
    for folder in sites:
        for dist in importlib.metadata.distributions(path=[folder]):
            name = getattr(dist, "_normalized_name", None)  # from the folder's name: no parsing
            if not name:
                try:
                    name = dist.metadata["Name"] or ""
                except Exception:  # noqa: BLE001 - unreadable metadata: not one to use
                    continue
            name = _normal(name)
            if name and name not in found:
                found[name] = _Dist(dist, name, folder)
    return found


def _files(dist: importlib.metadata.Distribution, folder: str) -> list[str]:
    out: list[str] = []
    record = dist.read_text("RECORD")
    meta = getattr(dist, "_path", None)
    if record:
        for line in record.splitlines():
            path = line.rsplit(",", 2)[0].strip().strip('"')
            if path and not path.startswith(("../", "/")):
                out.append(path)
    elif meta is not None:
        listed = dist.read_text("installed-files.txt") or ""
        for line in listed.splitlines():
            path = os.path.normpath(os.path.join(str(meta), line.strip()))
            if line.strip() and _beneath(path, folder) and path != folder:
                out.append(os.path.relpath(path, folder).replace(os.sep, "/"))
    real_meta = _real(str(meta)) if meta is not None else None
    if real_meta is not None and _beneath(real_meta, folder):
        out.append(os.path.relpath(real_meta, folder).replace(os.sep, "/") + "/")
    return out


def _top_level(dist: importlib.metadata.Distribution) -> list[str]:
    text = dist.read_text("top_level.txt") or ""
    return [line.strip() for line in text.splitlines() if line.strip().isidentifier()]


def _closure(imports: tuple[str, ...], sites: tuple[str, ...]) -> list[_Dist]:
    """The distributions that provide ``imports`` (by import name, or by distribution name)
    and every distribution they require, transitively (markers evaluated for this platform,
    extras only where a requirement asks for them)."""
    dists = _distributions(sites)
    todo: list[tuple[str, tuple[str, ...]]] = []
    for name in imports:
        if name in sys.stdlib_module_names:
            continue
        key = _normal(name)
        if key not in dists or name not in dists[key].modules:  # torch is torch; sklearn is not
            key = next((d.name for d in dists.values() if name in d.modules),
                       key if key in dists else None)
        if key is not None:
            todo.append((key, ()))
    chosen: dict[str, set[str]] = {}
    while todo:
        key, extras = todo.pop()
        if key not in dists:
            continue  # required but not installed: importing it fails anyway
        wanted = {"", *extras}
        done = chosen.get(key)
        if done is not None and wanted <= done:
            continue
        chosen[key] = (done or set()) | wanted
        for text in dists[key].requires:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.marker is not None and not any(req.marker.evaluate({"extra": e})
                                                  for e in wanted):
                continue
            todo.append((_normal(req.name), tuple(sorted(req.extras))))
    return [dists[key] for key in chosen]


@functools.lru_cache(maxsize=32)
def _allowed_entries(imports: tuple[str, ...], sites: tuple[str, ...]
                     ) -> tuple[tuple[str, ...], frozenset[str], frozenset[str]]:
    """Paths of the allowed distributions in the package folders (a top-level entry whole where
    no other distribution installs files beneath it, else its parts, level by level), the
    package folders that hold them (listable), and the import names they provide. A name no
    distribution provides but that sits in a package folder (a module installed without
    metadata) is allowed as that entry alone. Cached: it reads every distribution's RECORD."""
    chosen = _closure(imports, sites)
    names = {d.name for d in chosen}
    # Top-level entries another distribution may install into too: __pycache__ (taken file by
    # file), and a folder without __init__.py (a namespace package such as nvidia/). Only then
    # are the other distributions' RECORDs read.
    tops = {(d.site, f.split("/", 1)[0]) for d in chosen for f in d.files}
    maybe = {top for site_, top in tops if _maybe_shared(site_, top)}
    others: dict[str, set[str]] = {}  # site -> paths other distributions install under `maybe`
    if maybe - {"__pycache__"}:
        for dist in _distributions(sites).values():
            if dist.name not in names:
                shared = tuple(f for f in dist.files if f.split("/", 1)[0] in maybe)
                others.setdefault(dist.site, set()).update(_prefixes(shared))
    for site_ in {d.site for d in chosen}:
        others.setdefault(site_, set()).add("__pycache__")
    entries: set[str] = set()
    listable: set[str] = set()
    available: set[str] = set()
    for dist in chosen:
        taken = others.get(dist.site, set())
        whole: set[str] = set()
        for path in dist.files:
            top = path.split("/", 1)[0]
            if top not in taken:
                whole.add(top)
                continue
            parts = path.rstrip("/").split("/")
            for depth in range(2, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                if prefix not in taken or depth == len(parts):
                    entries.add(os.path.join(dist.site, prefix))
                    break
        entries.update(os.path.join(dist.site, top) for top in whole)
        listable.add(dist.site)
        available.update(dist.modules)
    for name in imports:
        if name in available or name in sys.stdlib_module_names:
            continue
        for folder in sites:
            for entry in _module_entries(folder, name):
                entries.add(entry)
                listable.add(folder)
                available.add(name)
    # a path beneath another one is covered by it (and would fail as a bind beneath a read-only one)
    kept = {e for e in entries if not any(e != o and _beneath(e, o) for o in entries)}
    return (tuple(sorted(p for p in kept if os.path.lexists(p))), frozenset(listable),
            frozenset(available))


def _maybe_shared(site_: str, top: str) -> bool:
    """Whether other distributions may install files beneath ``site_/top`` as well."""
    if top == "__pycache__":
        return True
    if top.endswith((".dist-info", ".egg-info", ".libs", ".data")):
        return False
    path = os.path.join(site_, top)
    return os.path.isdir(path) and not os.path.exists(os.path.join(path, "__init__.py"))


def _prefixes(files: tuple[str, ...]) -> set[str]:
    """Every folder prefix and file of ``files`` ('a', 'a/b', 'a/b/c.py')."""
    out = set()
    for path in files:
        parts = path.rstrip("/").split("/")
        out.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def _module_entries(folder: str, name: str) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names
            if n == name or (n.startswith(name + ".") and _module_name(n) == name)]


@functools.lru_cache(maxsize=8)
def _installed_names(sites: tuple[str, ...]) -> frozenset[str]:
    """Top-level import names found in the package folders (what a worker could import if
    the view let it)."""
    out: set[str] = set()
    for folder in sites:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        out.update(m for n in names if (m := _module_name(n)))
    return frozenset(out)


# -- paths ------------------------------------------------------------------------------------

def _real(path: str) -> str:
    return os.path.realpath(path)


def _beneath(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")
