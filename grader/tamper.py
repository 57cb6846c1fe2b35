"""Judge side: does a submission reach into the grader? Its source read with ``ast``, never run.

Everything in the worker runs in the interpreter that imported the submission, the probes
included, so a submission can rewrite them: a module whose functions only raise can replace
``grader.exercises.kfold.probes.split`` with a hidden implementation of its own, or with one
that makes answers up, and no data the worker sends tells the two apart from honest code. The
exercises' functions must do the work themselves; so the judge reads the submitted file before
running anything and, when the code

- imports the grader (``grader``, ``dlgrade``) or names it in a string (``sys.modules[...]``);
- reaches other modules' namespaces or frames: ``sys.modules``, ``sys._getframe``,
  ``sys.settrace``/``setprofile``, ``sys.meta_path``/``path_hooks``, frame and function
  internals (``f_globals``, ``f_back``, ``f_locals``, ``tb_frame``, ``gi_frame``, ``__globals__``,
  ``__subclasses__``), imports of ``gc``, ``inspect``, ``importlib``, ``ctypes``, ``builtins``,
  ``marshal``;
- builds code or names at run time: ``eval``, ``exec``, ``compile``, ``__import__``,
  ``__builtins__``, ``getattr``/``setattr``/``delattr`` on a module with a name that is not a
  literal;
- replaces a function of a module it imported (``np.asarray = ...``, ``setattr(np, ...)``);

every check of the exercise is graded (the sandbox holds whatever the code does) and pays
nothing; the exercise's note names the lines found.
A course's exercises need none of these; comments, docstrings and messages are not looked at.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

GRADER = re.compile(r"(^|[^A-Za-z0-9_])(dl)?grader([^A-Za-z0-9_]|$)")
MODULES = {"gc", "inspect", "importlib", "ctypes", "builtins", "marshal", "grader", "dlgrade"}
SYS_ATTRIBUTES = {"modules", "_getframe", "settrace", "setprofile", "meta_path", "path_hooks",
                  "path_importer_cache", "_current_frames"}
INTERNALS = {"f_globals", "f_back", "f_locals", "f_builtins", "tb_frame", "gi_frame",
             "cr_frame", "ag_frame", "__globals__", "__subclasses__", "__builtins__"}
DYNAMIC = {"eval", "exec", "compile", "__import__", "__builtins__"}
ATTRIBUTE_CALLS = {"getattr", "setattr", "delattr"}


@dataclass(frozen=True)
class Finding:
    line: int
    what: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}"


def findings(source: bytes) -> list[Finding]:
    """What in ``source`` reaches into the grader or builds code at run time (empty when the
    file does not parse: its import then fails with the syntax error, a clearer message)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    docstrings = _docstrings(tree)
    modules = _imported_modules(tree)
    bound = _bound_names(tree)
    found: list[Finding] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in bound:
            continue  # the student's own variable called `eval`, say
        for what in _look(node, modules, docstrings):
            found.append(Finding(getattr(node, "lineno", 0), what))
    return sorted(set(found), key=lambda f: (f.line, f.what))


def _look(node: ast.AST, modules: set[str], docstrings: set[int]) -> list[str]:
    if isinstance(node, ast.Import):
        return [f"imports {a.name}" for a in node.names if a.name.split(".")[0] in MODULES]
    if isinstance(node, ast.ImportFrom):
        root = (node.module or "").split(".")[0]
        if root in MODULES:
            return [f"imports from {node.module}"]
        if root == "sys":
            return [f"imports sys.{a.name}" for a in node.names if a.name in SYS_ATTRIBUTES]
        return []
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == "sys" and node.attr in SYS_ATTRIBUTES:
            return [f"uses sys.{node.attr}"]
        if node.attr in INTERNALS:
            return [f"uses .{node.attr} (another module's or frame's internals)"]
        return []
    if isinstance(node, ast.Name) and node.id in DYNAMIC:
        return [f"uses {node.id} (code or names built at run time)"]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if id(node) not in docstrings and GRADER.search(node.value) and " " not in node.value:
            return [f"names the grader ({node.value[:60]!r})"]
        return []
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in ATTRIBUTE_CALLS and node.args:
        target = node.args[0]
        if isinstance(target, ast.Name) and target.id in modules:
            name = node.args[1] if len(node.args) > 1 else None
            if node.func.id != "getattr" or not (isinstance(name, ast.Constant)
                                                  and isinstance(name.value, str)):
                return [f"{node.func.id}() on the module {target.id}"]
        return []
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = (node.targets if isinstance(node, (ast.Assign, ast.Delete))
                   else [node.target])
        return [f"replaces {t.value.id}.{t.attr}" for t in targets
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                and t.value.id in modules]
    return []


def _imported_modules(tree: ast.AST) -> set[str]:
    """Names bound to modules by ``import x`` / ``import x as y`` / ``from x import y`` (a
    submodule, e.g. ``from torch import nn``) anywhere in the file."""
    names = {"sys", "os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from torch import nn`: nn is a module; `from math import pi` is not, but
            # replacing it is as suspicious
            names.update(a.asname or a.name for a in node.names if a.name != "*")
    return names


def _bound_names(tree: ast.AST) -> set[str]:
    """Names the file binds itself (arguments, assignments, definitions)."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
    return bound


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def verdict(exercise: str, source: bytes) -> str | None:
    """The message every check of ``exercise`` shows when its source reaches into the grader;
    None when it does not."""
    found = findings(source)
    if not found:
        return None
    lines = "; ".join(map(str, found[:5])) + (f"; and {len(found) - 5} more" if len(found) > 5
                                              else "")
    return (f"not paid: your {exercise}.py reaches into the grader or builds code at run time "
            f"({lines}). The assignment's functions must do the work themselves; remove that "
            "code and hand in again.")
