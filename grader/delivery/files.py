"""What every bundle is made of: the engine's files, a config, a pyproject, one zip writer."""

from __future__ import annotations

import importlib.metadata
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import yaml

import grader
from grader.config import Config
from grader.errors import GraderError
from grader.release import strip_solutions

PACKAGE_DIR = Path(grader.__file__).resolve().parent
ENGINE_SUFFIXES = (".py", ".ini", ".md", ".yml", ".json")
HIDDEN_CHECK = re.compile(r"test_hidden.*\.py$")
# Instructor-only modules that run the reference; a student release has no use for them. The
# judge's slip signatures name the hidden checks and where they fail (grader.slips): a student
# release matches on the public ones (slip_signatures_public.json).
INSTRUCTOR_ONLY = ("calibrate.py", "slip_signatures.json")
# A fixed date makes the same inputs give the same zip bytes (zip cannot store 1970).
ZIP_DATE = (2026, 1, 1, 0, 0, 0)

Entry = tuple[str, bytes, int]  # name in the zip, contents, file mode


def engine_files(*, hidden: bool, exercises: Sequence[str]) -> Iterator[Entry]:
    """``grader/**`` as installed: with or without the hidden checks (and instructor tools),
    and only the named exercises' folders."""
    for path in sorted(PACKAGE_DIR.rglob("*")):
        rel = path.relative_to(PACKAGE_DIR)
        if not path.is_file() or path.suffix not in ENGINE_SUFFIXES or "__pycache__" in rel.parts:
            continue
        if rel.parts[0] == "exercises" and len(rel.parts) > 2 and rel.parts[1] not in exercises:
            continue
        if not hidden and (HIDDEN_CHECK.match(path.name) or path.name in INSTRUCTOR_ONLY):
            continue
        yield f"grader/{rel.as_posix()}", path.read_bytes(), 0o644


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
        yield f"assignments/{ex}.py", text, 0o644


def references(config: Config, exercises: Sequence[str]) -> Iterator[Entry]:
    if config.solutions is None:
        raise GraderError("this bundle needs the references: set 'solutions' in the config")
    for ex in exercises:
        path = config.solutions / f"{ex}.py"
        if not path.is_file():
            raise GraderError(f"no reference {ex}.py in {config.solutions.name}/")
        yield f"solutions/{ex}.py", path.read_bytes(), 0o644


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
"*" = ["*.ini", "*.md", "*.yml"]
'''


def write_zip(out: Path, entries: Iterable[Entry]) -> Path:
    """Write ``entries`` to ``out`` (replaced whole), in a stable order with fixed dates."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    seen: set[str] = set()
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in entries:
            if name in seen:
                raise GraderError(f"bundle: {name} would be written twice")
            seen.add(name)
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp.replace(out)
    return out
