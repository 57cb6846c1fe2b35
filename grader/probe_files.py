"""What a worker's engine copy holds of an exercise: its probes and the helper modules they
declare, and a check, before any worker starts, that the probes import nothing else of the
engine.

A worker imports the engine from a clean copy (:mod:`grader.sandbox.runtime`) that holds the
worker itself, the codec and, per exercise, ``__init__.py`` and ``probes.py``. A probe that
needs more of its exercise (a network definition shared with the judge, say) declares it in the
exercise's ``__init__.py``::

    PROBE_HELPERS = ("network",)   # grader/exercises/<id>/network.py goes into the copy too

The worker, and so the submission, can read every file of the copy: never declare an oracle, a
hidden check or anything that computes an answer. A helper may not be a check module
(``test_*``) or the calibration module. :func:`import_problem` reads the probes and the helpers
(``ast``, never importing them) and names any module of the engine they import that the copy
would not hold: that is the grader's error, said before grading, never the student's failure.
Imports made at run time through ``importlib`` are not seen.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.config import EXERCISES_DIR

PROBE_FILES = ("__init__.py", "probes.py")
DECLARATION = "PROBE_HELPERS"
# What a worker needs of the engine, every copy holds (grader.sandbox.runtime makes the copy):
# the worker, the codec and the packages above them, as files and as module names.
WORKER_FILES = ("grader/__init__.py", "grader/sandbox/__init__.py", "grader/sandbox/worker.py",
                "grader/sandbox/codec.py", "grader/exercises/__init__.py")
WORKER_MODULES = frozenset(f.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
                           for f in WORKER_FILES)
REFUSED = ("test_", "calibrate")


class HelperError(ValueError):
    """A declaration that cannot be honoured; ``str()`` says which and why."""


def declared_helpers(exercise: str, folder: Path = EXERCISES_DIR) -> tuple[str, ...]:
    """The names in ``PROBE_HELPERS`` of ``<folder>/<exercise>/__init__.py`` (read, not
    imported); ``HelperError`` for a declaration that is not a tuple of module names of the
    exercise, or names a check or the calibration module."""
    init = folder / exercise / "__init__.py"
    try:
        tree = ast.parse(init.read_text())
    except (OSError, SyntaxError, ValueError):
        return ()
    names: tuple[str, ...] = ()
    for node in tree.body:
        targets = (node.targets if isinstance(node, ast.Assign) else
                   [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == DECLARATION for t in targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                raise HelperError(f"{exercise}: {DECLARATION} must be a tuple of module "
                                  "names written out (no expression)") from None
            if not isinstance(value, (tuple, list)) or not all(isinstance(v, str) for v in value):
                raise HelperError(f"{exercise}: {DECLARATION} must be a tuple of module names")
            names = tuple(value)
    for name in names:
        if not name.isidentifier():
            raise HelperError(f"{exercise}: {DECLARATION} names {name!r}, not a module name "
                              f"of grader/exercises/{exercise}/")
        if name.startswith(REFUSED) or name in ("probes", "__init__"):
            raise HelperError(f"{exercise}: {DECLARATION} may not name {name!r}: checks and "
                              "the calibration module never go where a worker can read them")
        if not (folder / exercise / f"{name}.py").is_file():
            raise HelperError(f"{exercise}: {DECLARATION} names {name!r}, but there is no "
                              f"grader/exercises/{exercise}/{name}.py")
    return names


def probe_files(exercise: str, folder: Path = EXERCISES_DIR) -> tuple[str, ...]:
    """The files of ``exercise`` the worker's engine copy holds (names in its folder); only
    the probes' own when the declaration is broken (:func:`import_problem` says why)."""
    try:
        helpers = declared_helpers(exercise, folder)
    except HelperError:
        helpers = ()
    return (*PROBE_FILES, *(f"{name}.py" for name in helpers))


def import_problem(exercise: str, folder: Path = EXERCISES_DIR) -> str | None:
    """Why the probes of ``exercise`` could not be imported in a worker, or None: a broken
    declaration, or an engine module they import (``grader.*`` or relative) that the engine
    copy does not hold."""
    try:
        helpers = declared_helpers(exercise, folder)
    except HelperError as err:
        return str(err)
    if not (folder / exercise / "probes.py").is_file():
        return None
    package = f"grader.exercises.{exercise}"
    held = set(WORKER_MODULES) | {package, f"{package}.probes"} | {f"{package}.{h}"
                                                                 for h in helpers}
    for source in ("__init__", "probes", *helpers):
        path = folder / exercise / f"{source}.py"
        try:
            tree = ast.parse(path.read_text())
        except (OSError, SyntaxError, ValueError) as err:
            return f"{exercise}: grader/exercises/{exercise}/{source}.py cannot be read: {err}"
        for module in _engine_imports(tree, package, folder.parent.parent):
            if module not in held:
                return (f"{exercise}: grader/exercises/{exercise}/{source}.py imports "
                        f"{module}, which is not in the worker's copy of the engine: a probe "
                        f"may import numpy, torch and the modules of its exercise named in "
                        f"{DECLARATION} (grader/exercises/{exercise}/__init__.py); move what "
                        "it needs there and declare it")
    return None


def _engine_imports(tree: ast.AST, package: str, root: Path) -> list[str]:
    """The engine modules (``grader...``) a module imports, relative imports resolved;
    ``from M import a`` counts as ``M.a`` where that is a module (a file under ``root``, the
    folder holding ``grader/``), else as ``M``."""
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.split(".")[0] == "grader"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "grader":
                continue
            out.append(module)
            folder = root.joinpath(*module.split("."))
            out += [f"{module}.{a.name}" for a in node.names
                    if (folder / f"{a.name}.py").is_file()
                    or (folder / a.name / "__init__.py").is_file()]
    return out
