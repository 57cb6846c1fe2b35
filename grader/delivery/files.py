"""What every bundle is made of: an allowlist of the engine's files, a config, a pyproject, one
zip writer that also writes the bundle's ``MANIFEST`` (every file, and why it is there).

What ships is computed, never "everything but ...": the engine's modules that the shipped
commands import (from :data:`ENGINE_ROOTS`, following every ``grader`` import), and per exercise
its ``__init__.py``, ``probes.py``, check modules (public ones only in a student release), its
golden data, its slip catalogue and public slip signatures (the judge's signatures, which name
hidden checks, only to a grading server), and the modules of its package those import. A maintainer file (``cases.py``,
``calibrate.py``, ``equivalent_mutants.yml``, the exercise's README) that a public check, a
probe or the engine imports, or an instructor tool (release, mutation testing, selftest,
calibration, the bundlers, batch grading) that any shipped module imports, is refused: the bundle
is not built. A hidden check or a module only hidden
checks import (an exercise's oracle) ships only to a grading server (Gradescope), marked
"judge only".
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import grader
from grader import golden
from grader.config import Config
from grader.errors import GraderError
from grader.slips.catalogue import CATALOGUE_FILE, PUBLIC_SIGNATURES_FILE, SIGNATURES_FILE
from grader.release import strip_solutions

PACKAGE_DIR = Path(grader.__file__).resolve().parent
HIDDEN_CHECK = re.compile(r"test_hidden.*\.py$")
# A fixed date makes the same inputs give the same zip bytes (zip cannot store 1970).
ZIP_DATE = (2026, 1, 1, 0, 0, 0)
MANIFEST = "MANIFEST"
# torch's CPU builds, on PyTorch's own index: a plain torch from PyPI is gigabytes of CUDA
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
BUILTIN_CONFIG = "grader/default_config.yml"

# What the shipped commands start from: the command line (whose `check` and `grade` run the
# runner), and the worker, which the sandbox starts by name (``python -I -c "from
# grader.sandbox.worker import main"``), not by an import. cli.py's own imports inside its
# instructor commands are not followed: in a student release those commands say they are not
# included (grader.cli.main).
ENGINE_ROOTS = ("__init__.py", "__main__.py", "cli.py", "runner.py", "sandbox/worker.py")
ENGINE_DATA = {"checks.ini": "pytest's settings for the checks (markers, strictness)"}
LAZY_IMPORTS_NOT_FOLLOWED = ("cli.py",)
# Instructor tools: never in a bundle, whatever imports them.
INSTRUCTOR_TOOLS = ("release.py", "mutants.py", "selftest.py", "calibration.py", "leaks.py",
                    "delivery/files.py", "delivery/student_zip.py", "delivery/gradescope.py",
                    "delivery/otter.py", "delivery/ci.py", "batch/", "skeleton.py")
# An exercise's maintainer files: never shipped (the golden cases' declaration, which calls
# the reference; calibration; equivalent mutants, which quote the solution; the README).
MAINTAINER_FILES = ("cases.py", "calibrate.py", "equivalent_mutants.yml", "README.md")
# Why each engine module is there, for the MANIFEST (others: "engine").
ENGINE_WHY = {
    "__init__.py": "the package", "__main__.py": "python -m grader",
    "cli.py": "the dlgrade command", "config.py": "reads and validates autograder.yml",
    "errors.py": "what a verdict's reason is", "expect.py": "the checks' verdicts",
    "numgrad.py": "numerical gradients of your own code", "golden.py": "reads golden data",
    "fixtures.py": "what the checks are given", "plugin.py": "runs the checks (pytest plugin)",
    "runner.py": "grades a submission", "results.py": "the results table and files",
    "interrupts.py": "stops a run cleanly on Ctrl-C, SIGTERM or SIGHUP",
    "tamper.py": "refuses code that reaches into the grader", "data.py": "data sets the checks use",
    "delivery/intake.py": "takes a submission (folder, zip, notebook, near-miss names)",
}


@dataclass(frozen=True)
class Entry:
    """One file of a bundle: its name in the zip, contents, file mode and why it is there."""

    name: str
    data: bytes
    mode: int
    why: str


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE_DIR).as_posix()


def _module_file(dotted: str) -> Path | None:
    """The file of module ``grader.a.b`` (``a/b.py`` or ``a/b/__init__.py``), if it exists."""
    parts = dotted.split(".")[1:]
    base = PACKAGE_DIR.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if parts and path.is_file():
            return path
    return PACKAGE_DIR / "__init__.py" if not parts else None


def grader_imports(path: Path, *, lazy: bool = True) -> tuple[tuple[str, Path], ...]:
    """The ``grader`` modules ``path`` imports, as (name, file): ``import grader.x``,
    ``from grader.x import y`` (``y`` a module or a name in ``x``), relative imports; with
    ``lazy=False``, only those at the module's top level."""
    # otter selects per exercise, and each selection follows the whole engine again: each file
    # is parsed once (again only once it has changed)
    return _grader_imports(path, lazy, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=None)
def _grader_imports(path: Path, lazy: bool, mtime_ns: int) -> tuple[tuple[str, Path], ...]:
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = ".".join(("grader", *path.relative_to(PACKAGE_DIR).parent.parts))
    nodes = tree.body if not lazy else ast.walk(tree)
    found: list[tuple[str, Path]] = []

    def add(name: str) -> None:
        file = _module_file(name)
        if file is not None and (name, file) not in found:
            found.append((name, file))

    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "grader" or alias.name.startswith("grader."):
                    parts = alias.name.split(".")
                    for i in range(1, len(parts) + 1):  # importing a.b.c imports a and a.b too
                        add(".".join(parts[:i]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module != "grader" and not module.startswith("grader."):
                continue
            parts = module.split(".")
            for i in range(1, len(parts) + 1):
                add(".".join(parts[:i]))
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                if _module_file(submodule) not in (None, _module_file(module)):
                    add(submodule)
    return tuple(found)


def _instructor_tool(rel: str) -> bool:
    return any(rel == t or (t.endswith("/") and rel.startswith(t)) for t in INSTRUCTOR_TOOLS)


def _exercise_of(rel: str) -> str | None:
    parts = rel.split("/")
    return parts[1] if parts[0] == "exercises" and len(parts) > 2 else None


def select(exercises: Sequence[str], *, hidden: bool) -> dict[str, str]:
    """The files of ``grader/`` a bundle holds, relative to the package, with why each is
    there; ``hidden``: also each exercise's hidden checks and what they import (a grading
    server's bundle). Raises ``GraderError`` when a shipped module imports a maintainer file,
    an instructor tool, a hidden check (in a student release) or another exercise."""
    chosen: dict[str, str] = {}
    queue: list[tuple[Path, str, bool]] = []  # (file, why, judge only)

    def want(path: Path, why: str, judge: bool = False) -> None:
        rel = _rel(path)
        if rel not in chosen:
            chosen[rel] = ("judge only (grading server): " + why) if judge else why
            if path.suffix == ".py":
                queue.append((path, why, judge))

    for root in ENGINE_ROOTS:
        want(PACKAGE_DIR / root, "engine: " + ENGINE_WHY.get(root, "worker (runs submitted code)"))
    for rel, why in ENGINE_DATA.items():
        chosen[rel] = "engine: " + why
    want(PACKAGE_DIR / "exercises" / "__init__.py", "engine: the exercises' package")
    for ex in exercises:
        folder = PACKAGE_DIR / "exercises" / ex
        want(folder / "__init__.py", f"{ex}: the exercise's package (its settings)")
        if (folder / "probes.py").is_file():
            want(folder / "probes.py", f"{ex}: probes (drive your code in the worker, send back "
                                       "data)")
        for path in sorted(folder.glob("test_*.py")):
            if not HIDDEN_CHECK.match(path.name):
                want(path, f"{ex}: public checks")
        if golden.path_of(ex).is_file():
            chosen[_rel(golden.path_of(ex))] = (f"{ex}: golden data (the public cases' inputs "
                                                "and expected values, from the reference)")
        chosen.update(_slip_files(folder, hidden))
    _follow(queue, chosen, want, exercises, hidden)
    if hidden:  # then what only the hidden checks need: judge only
        for ex in exercises:
            for path in sorted((PACKAGE_DIR / "exercises" / ex).glob("test_*.py")):
                if HIDDEN_CHECK.match(path.name):
                    want(path, f"{ex}: hidden checks", judge=True)
        _follow(queue, chosen, want, exercises, hidden)
    return dict(sorted(chosen.items()))


def _slip_files(folder: Path, hidden: bool) -> dict[str, str]:
    """An exercise's slip catalogue (grader.slips): the descriptions and the public signatures
    (what `dlgrade check` matches on), and for a grading server the judge's signatures, which
    name the hidden checks and where they fail."""
    ex = folder.name
    files = {CATALOGUE_FILE: f"{ex}: the slips a hint can name (\"This pattern of failures "
                             "usually means: ...\")",
             PUBLIC_SIGNATURES_FILE: f"{ex}: how each slip fails the public checks (for the hint)"}
    if hidden:
        files[SIGNATURES_FILE] = (f"judge only (grading server): {ex}: how each slip fails every "
                                  "check (for the hint)")
    return {_rel(folder / name): why for name, why in files.items() if (folder / name).is_file()}


def _follow(queue: list[tuple[Path, str, bool]], chosen: dict[str, str], want: Any,
            exercises: Sequence[str], hidden: bool) -> None:
    """Add what the queued modules import, recursively (see :func:`select`)."""
    while queue:
        path, why, judge = queue.pop(0)
        rel = _rel(path)
        lazy = rel not in LAZY_IMPORTS_NOT_FOLLOWED
        for name, file in grader_imports(path, lazy=lazy):
            target = _rel(file)
            if target in chosen:
                continue
            ex = _exercise_of(target)
            if _instructor_tool(target):
                raise GraderError(f"grader/{rel} imports {name}, an instructor tool: it never "
                                  "ships")
            if ex is not None and ex not in exercises:
                raise GraderError(f"grader/{rel} imports {name}, of exercise {ex}, which is not "
                                  "in this bundle")
            if ex is not None and Path(target).name in MAINTAINER_FILES and not judge:
                raise GraderError(f"grader/{rel} imports {name}: {Path(target).name} is a "
                                  "maintainer file and never ships (public checks read the "
                                  "golden data instead)")
            if ex is not None and HIDDEN_CHECK.match(Path(target).name) and not hidden:
                raise GraderError(f"grader/{rel} imports {name}, a hidden check, which never "
                                  "ships to students")
            if ex is not None:
                kind = "module of its hidden checks" if judge else "module of its public checks"
                want(file, f"{ex}: {kind} (imported by {Path(rel).name})", judge=judge)
            else:
                want(file, "engine: " + ENGINE_WHY.get(target, f"imported by {rel}"), judge=judge)


def engine_files(*, hidden: bool, exercises: Sequence[str]) -> Iterator[Entry]:
    """``grader/**`` for a bundle: the allowlist :func:`select` computes, as entries."""
    for rel, why in select(exercises, hidden=hidden).items():
        yield Entry(f"grader/{rel}", (PACKAGE_DIR / rel).read_bytes(), 0o644, why)


def stubs(config: Config, exercises: Sequence[str]) -> Iterator[Entry]:
    """``assignments/<id>.py``: generated from the references when the config has them (so a
    stale stub is never shipped), else the config's assignments folder as it is."""
    for ex in exercises:
        if config.solutions is not None and (config.solutions / f"{ex}.py").is_file():
            source = config.solutions / f"{ex}.py"
            text = strip_solutions(source.read_text(), ex, filename=source.name).encode()
        elif config.assignments is not None and (config.assignments / f"{ex}.py").is_file():
            text = (config.assignments / f"{ex}.py").read_bytes()
        else:
            raise GraderError(f"no stub for {ex}: the config's solutions/assignments folders "
                              f"hold no {ex}.py")
        yield Entry(f"assignments/{ex}.py", text, 0o644,
                    f"{ex}: the stub you fill in (generated from the reference: each solution "
                    "region raises NotImplementedError)")


def references(config: Config, exercises: Sequence[str]) -> Iterator[Entry]:
    if config.solutions is None:
        raise GraderError("this bundle needs the references: set 'solutions' in the config")
    for ex in exercises:
        path = config.solutions / f"{ex}.py"
        if not path.is_file():
            raise GraderError(f"no reference {ex}.py in {config.solutions.name}/")
        yield Entry(f"solutions/{ex}.py", path.read_bytes(), 0o644,
                    f"judge only (grading server): {ex}: the reference solution")


def config_text(config: Config, exercises: Sequence[str], *, solutions: str | None,
                assignments: str | None, hidden_points: dict[str, float] | None = None,
                header: str) -> str:
    """The config as YAML for a bundle: the same settings, only ``exercises``, with the folders
    it ships; ``hidden_points`` when the hidden checks stay behind."""
    raw = yaml.safe_load(config.path.read_text()) or {}
    for key in ("solutions", "assignments"):
        raw.pop(key, None)
    if solutions:
        raw["solutions"] = solutions
    if assignments:
        raw["assignments"] = assignments
    raw["exercises"] = {ex: dict(raw["exercises"][ex]) for ex in exercises}
    for ex, points in (hidden_points or {}).items():
        raw["exercises"][ex]["hidden_points"] = round(points, 4)
    return header + yaml.safe_dump(raw, sort_keys=False, width=100)


def builtin_config(config: Config, exercises: Sequence[str], *, header: str, why: str,
                   hidden_points: dict[str, float] | None = None) -> Entry:
    """``grader/default_config.yml``, the config the shipped engine falls back on where no
    autograder.yml is found: :func:`config_text` of ``exercises``, naming no folder."""
    text = config_text(config, exercises, solutions=None, assignments=None,
                       hidden_points=hidden_points, header=header)
    return Entry(BUILTIN_CONFIG, text.encode(), 0o644, why)


def requirements() -> list[str]:
    """dlgrade's own requirements (ranges), from its installed metadata."""
    try:
        reqs = importlib.metadata.requires("dlgrade") or []
    except importlib.metadata.PackageNotFoundError:
        raise GraderError("dlgrade's package metadata is missing: install it with pip") from None
    return [r for r in reqs if "extra ==" not in r]


def pinned(names: Iterable[str]) -> list[str]:
    """``name==version`` for each requirement, at the version installed here (what was tested)."""
    out = []
    for req in names:
        name = re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0]
        version = importlib.metadata.version(name).split("+")[0]  # 2.13.0+cpu -> 2.13.0
        out.append(f"{name}=={version}")
    return out


def pyproject(name: str, description: str) -> str:
    deps = "".join(f'    "{r}",\n' for r in requirements())
    return f'''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{importlib.metadata.version("dlgrade")}"
description = "{description}"
requires-python = ">=3.11"
dependencies = [
{deps}]

[project.scripts]
dlgrade = "grader.cli:run"

[tool.setuptools.packages.find]
include = ["grader*"]

[tool.setuptools.package-data]
"*" = ["*.ini", "*.md", "*.yml", "*.npz"]
'''


def write_zip(out: Path, entries: Iterable[Entry], *, manifest: str | None = None,
              prefix: str = "") -> Path:
    """Write ``entries`` to ``out`` (replaced whole), in a stable order with fixed dates; with
    ``manifest`` (its header lines), also a ``MANIFEST`` listing every file and why; with
    ``prefix``, every file goes into that one folder (the manifest's names stay relative to it)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    entries = list(entries)
    if manifest is not None:
        entries.append(Entry(MANIFEST, manifest_text(manifest, entries).encode(), 0o644,
                             "this list"))
    tmp = out.with_name(f".{out.name}.partial")
    seen: set[str] = set()
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for entry in entries:
            if entry.name in seen:
                raise GraderError(f"bundle: {entry.name} would be written twice")
            seen.add(entry.name)
            zf.writestr(_zip_info(f"{prefix}/{entry.name}" if prefix else entry.name,
                                  entry.mode), entry.data)
    tmp.replace(out)
    return out


def _zip_info(name: str, mode: int) -> zipfile.ZipInfo:
    """A member ``name``: a regular file of ``mode``, deflated, dated :data:`ZIP_DATE`."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def manifest_text(header: str, entries: Iterable[Entry]) -> str:
    """``MANIFEST``: ``header`` (comment lines), then one ``path<TAB>why`` line per file, the
    manifest itself included, sorted by path."""
    lines = sorted({(e.name, e.why) for e in entries} | {(MANIFEST, "this list")})
    head = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return head + "".join(f"{name}\t{why}\n" for name, why in lines)


def add_manifest(zip_path: Path, header: str, why: dict[str, str], default: str) -> None:
    """Append a ``MANIFEST`` to a zip another tool wrote (otter's): each member with
    ``why[name]``, else ``default``."""
    with zipfile.ZipFile(zip_path) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
    if MANIFEST in names:
        raise GraderError(f"{zip_path}: already holds a {MANIFEST}")
    entries = [Entry(n, b"", 0o644, why.get(n, default)) for n in names]
    with zipfile.ZipFile(zip_path, "a") as zf:
        zf.writestr(_zip_info(MANIFEST, 0o644), manifest_text(header, entries))
