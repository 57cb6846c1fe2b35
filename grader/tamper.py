"""Judge side: does a submission reach into the grader? Its source read with ``ast``, never run.

This is a **detector with stated limits**, not a wall. Everything in the worker runs in the
interpreter that imported the submission, the probes included, so a submission can rewrite them:
a module whose functions only raise can replace ``grader.exercises.kfold.probes.split`` with a
hidden implementation of its own, or with one that makes answers up. No verdict rests on this
module: the judge verifies every answer against its own computation (forged data fails the
checks with this rule switched off, and the forgery tests assert it), a submission's process that
answers the judge by another path is judged by its answers, and what code may *use* (torch or
numpy only, say) is enforced by the worker's view of the file system, not by reading source.
What this rule adds is that code which visibly reaches into the grader is paid nothing, with the
lines named once. It finds, anywhere in the file except docstrings:

- **importers and reflection**: imports of the grader (``grader``, ``dlgrade``), of modules that
  import or reach things by a name given as data or walk frames (``importlib``, ``pydoc``,
  ``pkgutil``, ``runpy``, ``zipimport``, ``unittest.mock``, ``inspect``, ``gc``, ``ctypes``,
  ``builtins``, ``marshal``, ``pickle`` and kin, ``pdb``, ``code``, ``__main__`` ...), and the
  names ``operator.attrgetter``/``methodcaller``, ``traceback.walk_stack``/``walk_tb``;
- **other modules' namespaces and frames**: ``sys.modules``, ``sys._getframe``, ``settrace``,
  ``meta_path`` ... (on ``sys`` however reached, ``os.sys`` too), frame, traceback, function and
  module internals (``f_globals``, ``f_back``, ``tb_frame``, ``gi_frame``, ``__globals__``,
  ``__code__``, ``__closure__``, ``__self__``, ``__traceback__``, ``__subclasses__``, a module's
  ``__dict__``, ``vars(module)``, ``globals()``);
- **code or names built at run time**: ``eval``, ``exec``, ``compile``, ``__import__``,
  ``__builtins__``, ``breakpoint``, ``help``, and ``getattr``/``setattr``/``delattr`` on a
  module with a name that is not a literal. Binding one of these names yourself exempts nothing
  (``__import__ = __import__``); only a function's own parameter of that name is the caller's
  value, not the builtin;
- **names as strings**: a string (or bytes, or a constant expression of strings: ``"f_" +
  "globals"``, an f-string of constants, ``"".join([...])`` of constants) that names the grader,
  anywhere but in a message (``raise``, ``assert``, ``print``, warnings and logging), or that is
  one of the refused names above (``getattr(frame, "f_globals")``, ``globals()["__builtins__"]``,
  ``sys.__dict__["modules"]``), surrounding spaces and all;
- **replacing a module's functions**: ``np.asarray = ...``, ``setattr(np, ...)``,
  ``object.__setattr__(np, ...)``.

A source the judge cannot parse at all (a ``MemoryError`` or ``RecursionError`` of the parser:
100,000 unary minus signs, deep nesting) is paid nothing either, with a message saying so; a
plain syntax error is left to the import, whose message names the line.

What it cannot see: names computed from data it cannot fold (``chr`` codes, a file's contents,
arithmetic on strings), objects reached through C extensions, and any library that imports or
unpickles by a name given as data and is not listed. Those submissions are judged by their
answers and contained by the sandbox, as every submission is.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

GRADER = re.compile(r"(^|[^A-Za-z0-9_])(dl)?grader([^A-Za-z0-9_]|$)")
# Modules whose import is refused: the grader, and what imports, unpickles or reaches objects by
# a name given as data, walks frames, traces or debugs.
MODULES = {"grader", "dlgrade", "gc", "inspect", "importlib", "ctypes", "_ctypes", "builtins",
           "marshal", "pydoc", "pkgutil", "runpy", "zipimport", "imp", "unittest", "pickle",
           "_pickle", "cPickle", "copyreg", "shelve", "dill", "cloudpickle", "pdb", "bdb",
           "trace", "code", "codeop", "__main__", "_imp", "site"}
# Attributes of sys that reach other modules, frames or the import machinery.
SYS_ATTRIBUTES = {"modules", "_getframe", "settrace", "setprofile", "meta_path", "path_hooks",
                  "path_importer_cache", "_current_frames", "addaudithook", "exc_info",
                  "exception", "last_traceback", "last_value", "last_exc", "monitoring",
                  "__dict__", "_getframemodulename", "path"}
# Attributes that reach frames, other modules' globals or the builtins, wherever they are read.
INTERNALS = {"f_globals", "f_back", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next",
             "gi_frame", "cr_frame", "ag_frame", "gi_yieldfrom", "cr_await", "__globals__",
             "__subclasses__", "__builtins__", "__code__", "__closure__", "__self__",
             "__traceback__", "__loader__", "__spec__", "__import__", "f_trace",
             # frame walkers and name-driven getters of the standard library
             "walk_stack", "walk_tb", "attrgetter", "methodcaller", "settrace", "setprofile",
             "_getframe", "_current_frames", "import_module", "locate", "resolve_name",
             # a package's search path (a module written at run time joins the package)
             "__path__", "load_library"}
# Attribute names refused only on a module (or in strings): object internals ordinary code may
# use on its own objects (``self.__dict__``, ``super().__setattr__``).
MODULE_INTERNALS = {"__dict__", "__getattribute__", "__setattr__", "__delattr__"}
DYNAMIC = {"eval", "exec", "compile", "__import__", "__builtins__", "breakpoint", "help",
           "globals", "__loader__", "__spec__"}
ATTRIBUTE_CALLS = {"getattr", "setattr", "delattr"}
# Names that, given as a string, reach something refused (see the module docstring).
REFUSED_STRINGS = (SYS_ATTRIBUTES | INTERNALS | MODULE_INTERNALS | {"sys", "__import__",
                                                                     "__builtins__"}) - {
    "exception", "monitoring", "locate", "path"}
# Library paths that import code by a name or a path given as data.
REFUSED_PATHS = {"unittest.mock", "torch.package", "torch.hub", "torch.utils.cpp_extension",
                 "numpy.ctypeslib", "np.ctypeslib"}
# Keyword arguments that make a loader unpickle (and so call whatever the data names).
UNPICKLING = {("weights_only", False), ("allow_pickle", True)}
# Calls whose string arguments are messages to a reader (``print`` only without ``file=``).
MESSAGE_CALLS = {"print", "warn", "warning", "info", "debug", "error", "critical", "log",
                 "exception"}
FOLD_DEPTH = 32  # constant expressions other than `+` chains are folded this deep
MAX_TEXT = 10_000  # characters of a string looked at


@dataclass(frozen=True)
class Finding:
    line: int
    what: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}" if self.line else self.what


UNPARSEABLE = "the judge could not parse the file"


def findings(source: bytes) -> list[Finding]:
    """What in ``source`` reaches into the grader or builds code at run time. Empty when the
    file has a syntax error (its import then fails with that error, a clearer message); one
    finding saying so when the parser itself fails (out of memory, nesting too deep)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    except (MemoryError, RecursionError, ValueError, OverflowError) as err:
        return [Finding(0, f"{UNPARSEABLE} ({type(err).__name__}: too large or too deeply "
                           "nested, e.g. thousands of operators or brackets in one expression)")]
    try:
        return _findings(tree)
    except (MemoryError, RecursionError) as err:
        return [Finding(0, f"{UNPARSEABLE} ({type(err).__name__} while reading it)")]


def _findings(tree: ast.AST) -> list[Finding]:
    nodes = list(ast.walk(tree))
    docstrings = _docstrings(nodes)
    messages = _message_strings(nodes)
    modules = _imported_modules(nodes)
    parameters = _parameter_uses(tree)
    operands = {id(side) for node in nodes if isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Add) for side in (node.left, node.right)}
    found: set[Finding] = set()
    for node in nodes:
        if isinstance(node, ast.Name) and id(node) in parameters:
            continue  # a function's own parameter called `eval`: the caller's value
        for what in _look(node, modules, docstrings, messages, operands):
            found.add(Finding(getattr(node, "lineno", 0), what))
    return sorted(found, key=lambda f: (f.line, f.what))


def _look(node: ast.AST, modules: set[str], docstrings: set[int], messages: set[int],
          operands: set[int]) -> list[str]:
    if isinstance(node, ast.Import):
        return [f"imports {a.name}" for a in node.names if _refused_module(a.name)]
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if _refused_module(module):
            return [f"imports from {module}"]
        if module == "sys":
            return [f"imports sys.{a.name}" for a in node.names if a.name in SYS_ATTRIBUTES]
        return [f"imports {a.name} from {module}" for a in node.names
                if a.name in INTERNALS or _refused_module(f"{module}.{a.name}")]
    if isinstance(node, ast.Attribute):
        return _attribute(node, modules)
    if isinstance(node, ast.Name) and node.id in DYNAMIC:
        return [f"uses {node.id} (code or names built at run time)"]
    if isinstance(node, ast.Constant) and isinstance(node.value, bytes) \
            and b"grader" in node.value[:MAX_TEXT].lower():
        return ["names the grader in bytes (a pickle, say, names what it calls)"]
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) \
            and id(node) not in docstrings:
        return _string(_text(node.value), id(node) in messages)
    if isinstance(node, (ast.BinOp, ast.JoinedStr, ast.Call)) and id(node) not in operands:
        folded = _fold(node, 0)
        if folded is not None:
            return _string(folded, id(node) in messages)
    if isinstance(node, ast.Call):
        return _call(node, modules)
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = (node.targets if isinstance(node, (ast.Assign, ast.Delete))
                   else [node.target])
        return [f"replaces {t.value.id}.{t.attr}" for t in targets
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                and t.value.id in modules]
    return []


def _refused_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] in MODULES or ".".join(parts[:2]) in REFUSED_PATHS \
        or ".".join(parts[:3]) in REFUSED_PATHS


def _attribute(node: ast.Attribute, modules: set[str]) -> list[str]:
    base = _last_name(node.value)
    if base == "sys" and node.attr in SYS_ATTRIBUTES:
        return [f"uses sys.{node.attr}"]
    if node.attr in INTERNALS:
        return [f"uses .{node.attr} (another module's or frame's internals)"]
    if node.attr in MODULE_INTERNALS:
        on_module = isinstance(node.value, ast.Name) and node.value.id in modules
        receiver_ok = (isinstance(node.value, ast.Name) and node.value.id == "self") or (
            isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "super")
        if on_module or (node.attr != "__dict__" and not receiver_ok):
            return [f"uses .{node.attr} of {base or 'an object'} (a namespace reached as data)"]
    dotted = _dotted(node)
    if dotted in REFUSED_PATHS:
        return [f"uses {dotted} (imports code by a name or path given as data)"]
    return []


def _call(node: ast.Call, modules: set[str]) -> list[str]:
    func = node.func
    found = [f"calls with {k.arg}={k.value.value!r} (unpickling calls what the data names)"
             for k in node.keywords if isinstance(k.value, ast.Constant)
             and (k.arg, k.value.value) in UNPICKLING]
    if isinstance(func, ast.Name) and func.id == "vars" and node.args \
            and isinstance(node.args[0], ast.Name) and node.args[0].id in modules:
        found.append(f"uses vars({node.args[0].id}) (a module's namespace as data)")
    if isinstance(func, ast.Name) and func.id in ATTRIBUTE_CALLS and node.args:
        target = node.args[0]
        if isinstance(target, ast.Name) and target.id in modules:
            name = node.args[1] if len(node.args) > 1 else None
            literal = isinstance(name, ast.Constant) and isinstance(name.value, str)
            if func.id != "getattr" or not literal:
                found.append(f"{func.id}() on the module {target.id}")
    return found


def _string(value: str, in_message: bool) -> list[str]:
    """A string the code uses: refused when it names the grader (outside a message) or is one
    of the refused names (surrounding spaces are no disguise)."""
    if in_message:
        return []
    value = value[:MAX_TEXT]
    if GRADER.search(value):
        return [f"names the grader ({value.strip()[:60]!r})"]
    if value.strip() in REFUSED_STRINGS:
        return [f"names {value.strip()!r} in a string (reaches it by name)"]
    return []


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _fold(node: ast.AST | None, depth: int) -> str | None:
    """The string a constant expression evaluates to (``"a" + "b"``, ``f"{'a'}b"``,
    ``"".join(["a", "b"])``, ``" ab ".strip()``), or None. A chain of ``+`` is flattened without
    recursion (it may be thousands long); other nesting is followed ``FOLD_DEPTH`` deep, and
    the text is kept to ``MAX_TEXT`` characters."""
    if node is None or depth > FOLD_DEPTH:
        return None
    if isinstance(node, ast.Constant):
        return _text(node.value)[:MAX_TEXT] if isinstance(node.value, (str, bytes)) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts, stack, size = [], [node], 0
        while stack:
            item = stack.pop()
            if isinstance(item, ast.BinOp) and isinstance(item.op, ast.Add):
                stack.extend((item.right, item.left))
                continue
            text = _fold(item, depth + 1)
            if text is None:
                return None
            if size < MAX_TEXT:
                parts.append(text)
                size += len(text)
        return "".join(parts)[:MAX_TEXT]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            inner = value.value if isinstance(value, ast.FormattedValue) else value
            text = _fold(inner, depth + 1)
            if text is None:
                return None
            parts.append(text)
        return "".join(parts)[:MAX_TEXT]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver = _fold(node.func.value, depth + 1)
        if receiver is None:
            return None
        if node.func.attr == "join" and len(node.args) == 1 \
                and isinstance(node.args[0], (ast.List, ast.Tuple)):
            items = [_fold(e, depth + 1) for e in node.args[0].elts[:1000]]
            return None if None in items else receiver.join(items)[:MAX_TEXT]
        if node.func.attr in ("strip", "lstrip", "rstrip", "lower", "upper") and not node.args:
            return getattr(receiver, node.func.attr)()
        if node.func.attr == "replace" and len(node.args) == 2:
            old, new = _fold(node.args[0], depth + 1), _fold(node.args[1], depth + 1)
            if old and new is not None:
                return receiver.replace(old, new)[:MAX_TEXT]
    return None


def _dotted(node: ast.AST) -> str:
    """``torch.hub.load`` for that attribute chain ('' when it does not start with a name)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def _last_name(node: ast.AST) -> str:
    """``sys`` for ``sys`` and for ``os.sys``; '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _imported_modules(nodes: list[ast.AST]) -> set[str]:
    """Names bound to modules by ``import x`` / ``import x as y`` / ``from x import y`` (a
    submodule, e.g. ``from torch import nn``) anywhere in the file."""
    names = {"sys", "os"}
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from torch import nn`: nn is a module; `from math import pi` is not, but
            # replacing it is as suspicious
            names.update(a.asname or a.name for a in node.names if a.name != "*")
    return names


def _parameter_uses(tree: ast.AST) -> set[int]:
    """ids of the Name nodes that read a parameter of the function they are in (or of an
    enclosing one), and are not declared global there: ``def run(eval=False): return eval``.
    Nothing else a file binds exempts a name (``__import__ = __import__`` reads the builtin)."""
    uses: set[int] = set()
    stack: list[tuple[ast.AST, frozenset[str]]] = [(tree, frozenset())]
    while stack:
        node, params = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            # defaults and decorators are evaluated outside the function
            outside = [*args.defaults, *(d for d in args.kw_defaults if d is not None),
                       *getattr(node, "decorator_list", ()),
                       *((node.returns,) if getattr(node, "returns", None) else ())]
            stack.extend((child, params) for child in outside)
            names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                                     *(x for x in (args.vararg, args.kwarg) if x))}
            body = node.body if isinstance(node.body, list) else [node.body]
            declared = {n for stmt in body for sub in ast.walk(stmt)
                        if isinstance(sub, (ast.Global, ast.Nonlocal)) for n in sub.names}
            inner = frozenset((params | names) - declared)
            stack.extend((child, inner) for child in body)
            continue
        if isinstance(node, ast.Name) and node.id in params and isinstance(node.ctx, ast.Load):
            uses.add(id(node))
        if isinstance(node, ast.ClassDef):
            stack.extend((child, params) for child in ast.iter_child_nodes(node))
            continue
        stack.extend((child, params) for child in ast.iter_child_nodes(node))
    return uses


def _docstrings(nodes: list[ast.AST]) -> set[int]:
    """ids of the strings that stand alone as statements (docstrings and the like): they do
    nothing when the code runs."""
    return {id(node.value) for node in nodes
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}


def _message_strings(nodes: list[ast.AST]) -> set[int]:
    """ids of the string constants that are (parts of) a message: the exception of a
    ``raise``, an ``assert``'s message, an argument of ``print``, ``warnings.warn`` or a
    logging call. Only the message's own text counts: a call nested in it is not a message."""
    roots: list[ast.AST] = []
    for node in nodes:
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            roots.extend([*node.exc.args, *(k.value for k in node.exc.keywords)])
        elif isinstance(node, ast.Assert) and node.msg is not None:
            roots.append(node.msg)
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else (
                node.func.id if isinstance(node.func, ast.Name) else "")
            to_file = any(k.arg == "file" for k in node.keywords)
            if (name in MESSAGE_CALLS and not to_file) or name.endswith(
                    ("Error", "Exception", "Warning")):
                roots.extend(node.args)
    found: set[int] = set()
    while roots:
        node = roots.pop()
        if isinstance(node, ast.Constant):
            found.add(id(node))
        elif isinstance(node, ast.JoinedStr):
            found.add(id(node))
            roots.extend(v for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            found.add(id(node))
            roots.extend((node.left, node.right))
    return found


def verdict(exercise: str, source: bytes) -> str | None:
    """The message every check of ``exercise`` shows when its source reaches into the grader
    (or cannot be parsed by the judge); None when it does not."""
    found = findings(source)
    if not found:
        return None
    if found[0].what.startswith(UNPARSEABLE):
        return (f"not paid: {found[0].what} of your {exercise}.py, so it could not be checked "
                "for code that reaches into the grader. Write expressions a reader can follow "
                "and hand in again.")
    lines = "; ".join(map(str, found[:5])) + (f"; and {len(found) - 5} more" if len(found) > 5
                                              else "")
    return (f"not paid: your {exercise}.py reaches into the grader or builds code at run time "
            f"({lines}). The assignment's functions must do the work themselves; remove that "
            "code and hand in again.")
