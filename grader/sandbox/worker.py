"""The worker: the only process that runs submission code.

Started by the launcher (:mod:`grader.sandbox.launch`) inside its sandbox, which has already
set the resource limits, the uid, the namespaces and Landlock: ``python -I`` importing this
module from the clean engine copy, with the spec (JSON) as its argument, the home as its current
folder, stdout/stderr going to a capture file and two pipes for the protocol. It imports the
module, says hello, then serves requests until the judge closes the request pipe. Everything it
runs, the submission can rewrite: what it sends back is a claim, never a verdict.

Before the module, it installs the exercise's import rule (:class:`ImportRule`, from the spec):
a finder first on ``sys.meta_path`` that refuses, with one sentence a student understands, the
packages installed here that the exercise does not allow. The rule itself is the worker's view
of the file system (:mod:`grader.sandbox.view`): the hook only words the failure, and where the
view is not enforced (no Landlock, no namespaces) code can remove it; the notices say so.

Frames are an 8-byte big-endian length and a JSON payload (see ``grader.sandbox.codec``). A request is
``{"op": "call"|"probe", "name": str, "args": [...], "kwargs": {...}}``; the answer is
``{"ok": true, "value": ...}`` or ``{"ok": false, ...}`` describing the exception; a probe that
takes a ``progress`` argument may send ``{"progress": [done, total, label]}`` frames before it. The worker never
judges anything: it only returns what the code produced.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import sys
import traceback
from typing import Any

from grader.sandbox import codec


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    requests = os.fdopen(spec["request_fd"], "rb", buffering=0)
    answers = os.fdopen(spec["answer_fd"], "wb", buffering=0)
    rule = spec.get("imports")
    if isinstance(rule, dict):
        hook = ImportRule(rule)
        sys.meta_path.insert(0, hook)
        importlib.util.find_spec = hook.guard_find_spec(importlib.util.find_spec)
    module, hello = _import(spec["exercise"], spec["module"])
    _send(answers, hello)
    if module is None:
        return 0
    probes = None
    while True:
        request = _receive(requests)
        if request is None:
            return 0
        if request.get("op") == "probe" and probes is None:
            probes = importlib.import_module(f"grader.exercises.{spec['exercise']}.probes")
        _send(answers, _serve(module, probes, request, spec["module"], answers))


class ImportRule:
    """A meta path finder that refuses the installed packages the exercise does not allow
    (``rule["blocked"]``, top-level names): an import of one raises ``ModuleNotFoundError``
    with the sentence of :func:`refusal`, however it is spelled (``import``, ``__import__``,
    ``importlib.import_module``, ``pydoc.locate``). A question is not an import:
    ``importlib.util.find_spec`` (see :meth:`guard_find_spec`) answers ``None`` for a refused
    package before the import system is asked, as libraries that look for optional packages
    expect (torch asks for dill, its ``_dynamo`` for pandas); the finder itself raises for any
    blocked name it is asked about."""

    def __init__(self, rule: dict) -> None:
        self.exercise = str(rule.get("exercise", "this exercise"))
        self.imports = [str(n) for n in rule.get("imports", ())]
        self.blocked = frozenset(str(n) for n in rule.get("blocked", ()))

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        """Raise the refusal for a blocked top-level name, however the import system was
        asked; ``None`` (not mine to find) for any other."""
        top = name.partition(".")[0]
        if top in self.blocked:
            raise ModuleNotFoundError(refusal(self.exercise, self.imports, top), name=name)
        return None

    def invalidate_caches(self) -> None:
        pass

    def guard_find_spec(self, find_spec: Any) -> Any:
        """``importlib.util.find_spec`` answering ``None`` for a refused package, as it does
        where the view holds none. Where the view is Landlock's alone, the package folders stay
        listed (Landlock refuses to read them, not to see their names), so the import system
        would find a spec: torch asks for dill that way, then imports it."""

        def guarded(name: str, package: str | None = None) -> Any:
            full = importlib.util.resolve_name(name, package) if name.startswith(".") else name
            if full.partition(".")[0] in self.blocked:
                return None
            return find_spec(name, package)

        return guarded


def refusal(exercise: str, imports: list[str], name: str) -> str:
    """``conv is written with numpy only: torch is not available to your code here``."""
    allowed = list(imports) or ["the standard library"]
    text = allowed[0] if len(allowed) == 1 else ", ".join(allowed[:-1]) + " and " + allowed[-1]
    return f"{exercise} is written with {text} only: {name} is not available to your code here"


def _import(exercise: str, path: str) -> tuple[Any, dict]:
    name = os.path.basename(path)
    try:
        module_spec = importlib.util.spec_from_file_location(exercise, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[exercise] = module
        module_spec.loader.exec_module(module)
    except SyntaxError as err:
        line = (err.text or "").rstrip()
        return None, {"import_error": f"{name} has a syntax error on line {err.lineno}: {err.msg}"
                      + (f"\n    {line.strip()}" if line else "")}
    except SystemExit as err:
        return None, {"import_error": f"{name} called sys.exit({err.code!r}) while being imported; "
                      "remove top-level code that exits"}
    except BaseException as err:  # the module's own top-level code failed
        return None, {"import_error": f"importing {name} raised {type(err).__name__}: {err}\n"
                      + _student_trace(err, path)}
    names = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("__"))
    return module, {"ok": True, "names": names}


def _serve(module: Any, probes: Any, request: dict, path: str, answers: Any) -> dict:
    name = str(request.get("name"))
    try:
        args = codec.decode(request.get("args", []))
        kwargs = codec.decode(request.get("kwargs", {}))
        if request.get("op") == "probe":
            probe = getattr(probes, name)
            if "progress" in inspect.signature(probe).parameters:
                kwargs["progress"] = lambda done, total, label="": _send(
                    answers, {"progress": [float(done), float(total), str(label)[:80]]})
            result = probe(module, *args, **kwargs)
        else:
            func = getattr(module, name, None)
            if not callable(func):
                return {"ok": False, "missing": name}
            result = func(*args, **kwargs)
    except BaseException as err:  # SystemExit and KeyboardInterrupt from student code too
        if isinstance(err, AttributeError) and getattr(err, "obj", None) is module:
            return {"ok": False, "missing": str(err.name)}  # a probe used a missing function
        mro = [c.__name__ for c in type(err).__mro__]
        return {"ok": False, "exc_type": type(err).__name__, "exc_mro": mro,
                "message": _safe_str(err), "traceback": _student_trace(err, path)}
    return {"ok": True, "value": codec.encode(result)}


def _safe_str(err: BaseException) -> str:
    try:
        return str(err)[:2000]
    except Exception:
        return "(the exception's message could not be read)"


def _student_trace(err: BaseException, path: str) -> str:
    """The frames of the traceback that are in the student's file, newest last."""
    try:
        frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == path]
    except Exception:
        return ""
    name = os.path.basename(path)
    return "\n".join(f"  {name}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}"
                     for f in frames[-6:])


def _send(stream: Any, message: dict) -> None:
    payload = json.dumps(message, allow_nan=True, separators=(",", ":")).encode()
    stream.write(len(payload).to_bytes(8, "big") + payload)


def _receive(stream: Any) -> dict | None:
    header = _read_exact(stream, 8)
    if header is None:
        return None
    body = _read_exact(stream, int.from_bytes(header, "big"))
    return None if body is None else json.loads(body)


def _read_exact(stream: Any, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
