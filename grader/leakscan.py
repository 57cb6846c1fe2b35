"""The behavioural leak scan, run inside a bundle: does any shipped function give an answer?

Run by :func:`grader.leaks.behavioural_leaks` as a separate interpreter whose ``sys.path`` starts
with an unpacked bundle, so that ``import grader`` is the *bundle's* engine (this file is executed
by path and imports nothing of ``grader`` itself). It imports every module of the shipped
exercise packages (and a few of the engine's pure helpers) and calls every function and class
defined there on the inputs of each recorded reference call (a public case's call of a contract
function): once with the call's own arguments, once with the arguments named as the reference
names them (a helper ``conv2d_gradients(x, w, stride, padding, dout)`` takes them by name). A
callable that cannot take the arguments is skipped; each call is cut off after ``CALL_SECONDS``.
Any value the callable returns that equals an *informative* part of the reference's output (an
array of 2 or more values that are not all equal, a float that is not a whole number, a whole
number of 10 or more; never a copy of an input) is a leak.

The recorded calls (their results already reduced to :func:`leaves`) come from the instructor's
side (the reference, the exercises' ``cases.py``)
in a pickle this process reads: trusted data it wrote itself, never a submission's.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import inspect
import io
import json
import pickle
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

CALL_SECONDS = 2.0
# Memory the scanner may use (RLIMIT_DATA): a helper called on a large input can ask for
# gigabytes (numgrad.perturbations of the timed conv case: 9.6 GB), and a MemoryError is a
# skipped call, not a stalled machine.
MEMORY_BYTES = 3 * 1024 ** 3
# Engine modules scanned besides the exercise packages: pure helpers. The rest of the engine
# starts processes, writes files or signals pids, and takes no contract function's inputs.
ENGINE_MODULES = ("grader.expect", "grader.numgrad", "grader.golden", "grader.errors",
                  "grader.data")


class _Timeout(BaseException):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def leaves(value: Any, depth: int = 0) -> list[np.ndarray]:
    """The numeric parts of a value, as arrays: arrays and tensors, numbers, a flat sequence of
    numbers as one array, a module's parameters and buffers; containers searched."""
    if depth > 6:
        return []
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        return []
    if isinstance(value, (int, float, np.integer, np.floating)):
        return [np.asarray(value, dtype=np.float64)]
    if isinstance(value, np.ndarray):
        return [value] if value.dtype.kind in "biuf" else []
    module = type(value).__module__ or ""
    if module.startswith("torch"):
        try:
            if hasattr(value, "state_dict") and callable(value.state_dict):
                return [t.detach().cpu().numpy() for t in value.state_dict().values()]
            if hasattr(value, "detach"):
                return [value.detach().cpu().numpy()]
        except Exception:
            return []
        return []
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v, depth + 1)]
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (int, float, np.integer, np.floating))
                         and not isinstance(v, bool) for v in value):
            return [np.asarray(value, dtype=np.float64)]
        return [leaf for v in value for leaf in leaves(v, depth + 1)]
    return []


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
        return False
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if not (np.all(np.isfinite(a64)) and np.all(np.isfinite(b64))):
        return False
    scale = max(1.0, float(np.max(np.abs(b64), initial=0.0)))
    return bool(np.allclose(a64, b64, rtol=1e-6, atol=1e-9 * scale))


def informative(leaf: np.ndarray, inputs: list[np.ndarray]) -> bool:
    """Worth finding in a helper's output: not a trivial value, not one of the inputs."""
    if leaf.dtype.kind not in "biuf" or leaf.size == 0:
        return False
    values = leaf.astype(np.float64)
    if not np.all(np.isfinite(values)):
        return False
    if leaf.size >= 2:
        if float(np.ptp(values)) == 0.0:
            return False
    else:
        v = float(values.reshape(-1)[0])
        if v == round(v) and abs(v) < 10:
            return False
    return not any(_same(leaf, x) for x in inputs)


def callables(module: Any) -> list[tuple[str, Any]]:
    """Functions and classes (and their static and class methods) defined in ``module``, and
    ``functools.partial`` objects it holds."""
    found = []
    for name, value in sorted(vars(module).items()):
        if isinstance(value, functools.partial):
            found.append((name, value))
            continue
        if not (inspect.isfunction(value) or inspect.isclass(value)):
            continue
        if getattr(value, "__module__", None) != module.__name__:
            continue
        found.append((name, value))
        if inspect.isclass(value):
            for attr, raw in vars(value).items():
                if isinstance(raw, (staticmethod, classmethod)):
                    found.append((f"{name}.{attr}", getattr(value, attr)))
    return found


@functools.cache
def _signature(func: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def _bindings(func: Any, call: dict) -> list[tuple[tuple, dict]]:
    """The ways to call ``func`` with a recorded call's inputs: as the contract function was
    called, and by the reference's parameter names (``call["named"]``, the case's other calls'
    named inputs added)."""
    signature = _signature(func)
    if signature is None:
        return []
    ways = []
    if call["args"] is not None:
        try:
            signature.bind(*call["args"], **call["kwargs"])
            ways.append((call["args"], call["kwargs"]))
        except TypeError:
            pass
    named = call["named_all"]
    params = list(signature.parameters.values())
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return ways
    wanted = {p.name: named[p.name] for p in params if p.name in named}
    required = [p.name for p in params if p.default is p.empty]
    if not wanted or not all(n in wanted for n in required):
        return ways
    positional = tuple(wanted.pop(p.name) for p in params
                       if p.kind == p.POSITIONAL_ONLY and p.name in wanted)
    try:
        signature.bind(*positional, **wanted)
    except TypeError:
        return ways
    return [*ways, (positional, wanted)]


def _call(func: Any, args: tuple, kwargs: dict) -> tuple[bool, Any]:
    args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    signal.setitimer(signal.ITIMER_REAL, CALL_SECONDS)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return True, func(*args, **kwargs)
    except (_Timeout, Exception, SystemExit, KeyboardInterrupt):
        return False, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def scan(modules: list[str], calls: list[dict]) -> dict:
    """Call every callable of ``modules`` on every recorded call; return the leaks found, the
    modules that could not be imported, and how many calls were made."""
    signal.signal(signal.SIGALRM, _alarm)
    leaks, unimportable, made = [], [], 0
    targets = []
    for call in calls:
        inputs = [leaf for v in call["named_all"].values() for leaf in leaves(v)]
        call["wanted"] = [(i, leaf) for i, leaf in enumerate(call["result"])
                          if informative(leaf, inputs)]
    for name in modules:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                module = importlib.import_module(name)
        except BaseException as err:  # noqa: BLE001 - reported, never fatal here
            unimportable.append(f"{name}: {type(err).__name__}: {err}"[:300])
            continue
        targets += [(f"{name}.{qual}", func) for qual, func in callables(module)]
    for qualname, func in targets:
        for call in calls:
            if not call["wanted"]:
                continue
            for args, kwargs in _bindings(func, call):
                ok, value = _call(func, args, kwargs)
                made += 1
                if not ok:
                    continue
                got = leaves(value)
                for index, want in call["wanted"]:
                    if any(_same(g, want) for g in got):
                        leaks.append({"callable": qualname, "exercise": call["exercise"],
                                      "case": call["case"], "function": call["function"],
                                      "part": index})
                        break
    return {"leaks": leaks, "unimportable": unimportable, "calls": made,
            "callables": len(targets)}


def main(argv: list[str]) -> int:
    """``leakscan.py BUNDLE_ROOT CALLS_PICKLE OUT_JSON MODULE...``"""
    import resource

    root, calls_path, out_path, *modules = argv
    resource.setrlimit(resource.RLIMIT_DATA, (MEMORY_BYTES, MEMORY_BYTES))
    # Only the bundle's own files: an editable install's finder would fill in a module the
    # bundle lacks from the checkout it was installed from.
    sys.meta_path[:] = [f for f in sys.meta_path
                        if "__editable__" not in (getattr(f, "__module__", "") or "")]
    sys.path.insert(0, root)
    import grader

    if not Path(grader.__file__).resolve().is_relative_to(Path(root).resolve()):
        print(f"leakscan: grader comes from {grader.__file__}, not the bundle {root}",
              file=sys.stderr)
        return 2
    with open(calls_path, "rb") as f:
        calls = pickle.load(f)  # written by grader.leaks in the calling process: trusted
    result = scan(modules, calls)
    Path(out_path).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
