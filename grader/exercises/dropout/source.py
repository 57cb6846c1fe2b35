"""Judge side: does the submitted source use torch's own dropout? Read with ``ast``, never run.

The contract asks for dropout by hand. Whether torch's dropout ran cannot be learnt from the
worker: a submission can switch off the worker's recorder (``torch._C.DisableTorchFunction()``)
or replace it, since it runs in the same process. So the judge reads the file the worker
imported (``grader.fixtures.submitted_source``) and looks, in the code (not in comments or
docstrings), for

- any attribute whose name contains ``dropout`` (``F.dropout``, ``torch.dropout``,
  ``nn.Dropout``, ``nn.AlphaDropout``, ``torch._VF.feature_dropout``,
  ``torch.ops.aten.native_dropout``, ``torch.nn.modules.dropout``, ...), except on ``self``;
- names imported from a ``torch`` module that contain ``dropout`` (``from torch.nn.functional
  import dropout as d``), and ``from torch... import *``;
- strings that name a dropout operator (``"aten::native_dropout"``, ``"dropout"``), as
  ``getattr`` or ``torch.ops`` would take them;
- anything that switches torch's function overrides off or on (``DisableTorchFunction``,
  ``TorchFunctionMode``, ``__torch_function__``): the one way to hide a call from a recorder;
- ways to reach an attribute or a module through a name computed at run time, which no reading
  of the source can follow: ``getattr`` with a name that is not a literal (or ``getattr``
  passed around), ``operator.attrgetter`` / ``methodcaller``, ``__getattribute__``,
  ``__getattr__``, ``__dict__``, ``vars``, ``eval``, ``exec``, ``compile``, ``__import__``,
  ``__builtins__``, ``sys.modules``, and imports of ``importlib``, ``builtins``, ``operator``,
  ``ctypes``, ``gc``, ``marshal`` and the pickle family (unpickling calls functions by name).

The student's own names are never flagged: a class ``Dropout``, functions ``dropout_forward``
and ``dropout_backward``, attributes of ``self``, strings with spaces (messages), docstrings
and comments. Each finding names its line.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# An identifier-like string naming one of torch's dropout operators: the last part of a
# dotted or ``::`` path (``aten::native_dropout``, ``torch.nn.functional.dropout``).
_OPERATOR = re.compile(r"^_?(native_|fused_|feature_|alpha_)*dropout([123]d)?(_backward)?_?$",
                       re.IGNORECASE)
_OVERRIDES = re.compile(r"torch_?function", re.IGNORECASE)
_DYNAMIC_NAMES = {
    "eval": "runs code built from a string",
    "exec": "runs code built from a string",
    "compile": "compiles code built from a string",
    "__import__": "imports a module by a name computed at run time",
    "vars": "reads a namespace as a dictionary",
    "__builtins__": "reaches the built-in functions as a dictionary",
    "attrgetter": "reaches attributes by a name given as data",
    "methodcaller": "calls methods by a name given as data",
}
_DYNAMIC_ATTRIBUTES = {
    "__dict__": "reads a namespace as a dictionary",
    "__getattribute__": "reaches attributes by a name given as data",
    "__getattr__": "reaches attributes by a name given as data",
    "attrgetter": "reaches attributes by a name given as data",
    "methodcaller": "calls methods by a name given as data",
}
_DYNAMIC_MODULES = {
    "importlib": "imports modules by a name computed at run time",
    "builtins": "reaches the built-in functions (getattr, __import__) indirectly",
    "operator": "reaches attributes by a name given as data (attrgetter, methodcaller)",
    "ctypes": "reaches the interpreter's memory directly",
    "gc": "reaches every object in the process (gc.get_objects)",
    "marshal": "loads code objects",
    "pickle": "unpickles objects (unpickling calls functions by name)",
    "_pickle": "unpickles objects (unpickling calls functions by name)",
    "cloudpickle": "unpickles objects (unpickling calls functions by name)",
    "dill": "unpickles objects (unpickling calls functions by name)",
    "shelve": "unpickles objects (unpickling calls functions by name)",
    "copyreg": "registers functions that unpickling calls by name",
}


@dataclass(frozen=True)
class Finding:
    line: int
    code: str  # the source line, stripped
    why: str

    def text(self) -> str:
        return f"line {self.line}: {self.code}  <- {self.why}"


class SourceUnreadable(Exception):
    """The source could not be parsed (the message says why)."""


UNREADABLE = ": what it reaches cannot be read from the code"


def _why_name(name: str, shown: str, dynamic: dict[str, str]) -> str | None:
    """Why an identifier (a name or an attribute, ``shown`` as written) is flagged, or None."""
    if _OVERRIDES.search(name):
        return f"switches torch's function overrides ({shown}), which hides calls from any recorder"
    if name in dynamic:
        return f"{dynamic[name]} ({shown})" + UNREADABLE
    return None


def _dotted(node: ast.AST) -> str:
    """``torch.nn.functional.dropout`` for an attribute chain (``...`` where it is not names)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    parts.append(node.id if isinstance(node, ast.Name) else "...")
    return ".".join(reversed(parts))


def _is_torch_module(name: str | None) -> bool:
    return bool(name) and (name == "torch" or name.startswith("torch."))


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of the string expressions that stand alone as statements (docstrings and the like)."""
    return {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)}


def torch_dropout_uses(source: bytes | str) -> list[Finding]:
    """Every place in ``source`` that uses torch's dropout or reaches code in a way that cannot
    be read (module docstring). Raises :class:`SourceUnreadable` when it cannot be parsed."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        raise SourceUnreadable(f"{type(err).__name__}: {err}") from None
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    lines = text.splitlines()
    skip = _docstring_nodes(tree)
    found: dict[tuple[int, str], Finding] = {}

    def add(node: ast.AST, why: str) -> None:
        line = getattr(node, "lineno", 0)
        code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        found.setdefault((line, why), Finding(line, code[:160], why))

    try:
        nodes = list(ast.walk(tree))
    except RecursionError as err:  # pragma: no cover - ast.parse fails first in practice
        raise SourceUnreadable(f"RecursionError: {err}") from None
    called = {id(node.func) for node in nodes if isinstance(node, ast.Call)}
    for node in nodes:
        if isinstance(node, ast.Attribute):
            base_is_self = isinstance(node.value, ast.Name) and node.value.id == "self"
            if "dropout" in node.attr.lower() and not base_is_self:
                add(node, f"torch's own dropout ({_dotted(node)})")
            elif why := _why_name(node.attr, _dotted(node), _DYNAMIC_ATTRIBUTES):
                add(node, why)
            elif node.attr == "modules" and isinstance(node.value, ast.Name) \
                    and node.value.id == "sys":
                add(node, "reaches modules by a name given as data (sys.modules)" + UNREADABLE)
        elif isinstance(node, ast.Name):
            if why := _why_name(node.id, node.id, _DYNAMIC_NAMES):
                add(node, why)
            elif node.id == "getattr" and id(node) not in called:
                add(node, "passes getattr around" + UNREADABLE)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "getattr":
            name = node.args[1] if len(node.args) >= 2 else None
            literal = isinstance(name, ast.Constant) and isinstance(name.value, str)
            if not literal:
                add(node, "getattr with a name computed at run time" + UNREADABLE)
            elif "dropout" in name.value.lower() or _OVERRIDES.search(name.value):
                add(node, f"torch's own dropout or its overrides by name "
                          f"(getattr(..., {name.value[:60]!r}))")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in skip:
            value = node.value.strip()
            last = re.split(r"\.|::", value)[-1]
            # "dropout", "aten::native_dropout", "torch.nn.Dropout"; a bare "Dropout" is more
            # likely the student's class name (getattr(nn, "Dropout") is caught above)
            path = value[:1].islower() or "." in value or "::" in value
            if (_OPERATOR.match(last) and path) or (_OVERRIDES.search(value) and " " not in value):
                add(node, f"names torch's dropout or its overrides as a string "
                          f"({node.value[:60]!r})")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            root = module.split(".")[0]
            if _is_torch_module(module):
                for alias in node.names:
                    shown = f"{module}.{alias.name}"
                    if alias.name == "*":
                        add(node, f"imports every name of {module} (from {module} import *), "
                                  "its dropout among them")
                    elif "dropout" in alias.name.lower():
                        add(node, f"torch's own dropout ({shown})")
                    elif why := _why_name(alias.name, shown, {}):
                        add(node, why)
            if root in _DYNAMIC_MODULES:
                add(node, f"{_DYNAMIC_MODULES[root]} (from {module} import ...)" + UNREADABLE)
            elif root == "sys" and any(a.name == "modules" for a in node.names):
                add(node, "reaches modules by a name given as data (sys.modules)" + UNREADABLE)
            else:
                for alias in node.names:
                    if alias.name in _DYNAMIC_NAMES:
                        add(node, f"{_DYNAMIC_NAMES[alias.name]} ({alias.name})" + UNREADABLE)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in _DYNAMIC_MODULES:
                    add(node, f"{_DYNAMIC_MODULES[root]} (import {alias.name})" + UNREADABLE)
                elif _is_torch_module(alias.name) and "dropout" in alias.name.lower():
                    add(node, f"torch's own dropout (import {alias.name})")
    return sorted(found.values(), key=lambda f: (f.line, f.why))
