"""``autograder.yml``: loaded, validated and turned into frozen dataclasses.

Nothing runs on a bad config: an unknown key, a wrong type, a missing file or folder gives a
``GraderError`` whose one-line message names the key (``exercises.kfold.time_limit: expected a
number, got 'ten'``).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from grader.errors import GraderError

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
EXERCISES_PACKAGE = "grader.exercises"
EXERCISES_DIR = Path(__file__).parent / "exercises"
CONFIG_NAME = "autograder.yml"
CONFIG_ENV = "DLGRADE_CONFIG"
# The course's exercises and settings, for `pip install dlgrade` used from any folder. In the
# repository it is a link to autograder.yml (a wheel holds a copy), so an exercise added there
# is built in too; it is loaded without its folders (solutions, assignments: the checkout's).
# A bundle writes its own (grader/delivery).
DEFAULT_CONFIG = Path(__file__).parent / "default_config.yml"
FOLDER_KEYS = ("solutions", "assignments")


ISOLATION = ("landlock", "namespaces", "uid")
# What an exercise's code may import when neither autograder.yml nor the exercise (an
# ``IMPORTS`` tuple in ``grader/exercises/<id>/__init__.py``) says otherwise: numpy only.
DEFAULT_IMPORTS = ("numpy",)


@dataclass(frozen=True)
class SandboxConfig:
    """How workers run and what the judge accepts from them.

    ``isolation`` names the mechanisms to use where the kernel offers them (all by default; a
    test leaves some out to see what a platform without them gets): ``landlock`` (the worker
    reads only the interpreter, its packages, a clean copy of the engine and its home, writes
    only its home, and has no TCP and no signals or abstract sockets outside its domain),
    ``namespaces`` (user, mount, pid and network namespaces: a private root with the same
    view, a size-limited home, no network, and every process of the worker dies with it) and
    ``uid`` (as root: each worker under a uid of its own from ``uid_range``). ``user`` is the
    account used as root when ``uid`` is left out. Grading needs at least one of them working
    (else it refuses, saying why); ``isolation: none`` grades without any, on purpose (trusted
    code only), and every report says so.
    """

    user: str = "nobody"
    isolation: tuple[str, ...] = ISOLATION
    uid_range: tuple[int, ...] = (61000, 61999)  # first and last uid; as root, one per worker
    home_mb: int = 512  # the worker's home (its only writable folder): size limit
    memory_mb: int = 6144  # RLIMIT_DATA per worker; RLIMIT_AS would break `import torch`
    max_processes: int = 512  # RLIMIT_NPROC for the worker's user (threads count)
    output_limit_kb: int = 64  # of the student's stdout/stderr kept per exercise
    answer_limit_mb: float = 16  # largest answer (one frame) the judge reads from a worker
    answer_max_depth: int = 64  # nesting of lists/objects in one answer
    answer_max_items: int = 200_000  # JSON values in one answer (arrays travel as .npy bytes)
    threads: int = 1  # OMP/MKL threads per worker: small models train faster on one (measured 30x on a loaded 2-core machine)


@dataclass(frozen=True)
class ExerciseConfig:
    """One exercise: its points, its time budget and its ``Settings``."""

    id: str
    points: float
    time_limit: float = 120.0  # seconds for all calls of this exercise together
    call_timeout: float = 20.0  # seconds for one call unless a check asks for more
    visibility: Visibility | None = None  # default for its checks without a marker
    # Points of checks that are not shipped (a student release has no hidden checks): the public
    # checks are then scaled to ``points - hidden_points``, as in the full grade.
    hidden_points: float | None = None
    answer_limit_mb: float | None = None  # this exercise's largest answer (default: sandbox's)
    # The packages (import names) its code may import besides the standard library, with the
    # distributions they need; the worker sees nothing else (grader.sandbox.view). Default:
    # the exercise's IMPORTS, else DEFAULT_IMPORTS.
    imports: tuple[str, ...] = DEFAULT_IMPORTS
    settings: Any = None  # the exercise's Settings dataclass instance (or None)


@dataclass(frozen=True)
class Config:
    """The whole ``autograder.yml``; paths are absolute."""

    path: Path
    root: Path
    exercises: tuple[ExerciseConfig, ...]
    assignment: str = "dlgrade assignment"
    seed: int = 0
    visibility: Visibility = "visible"
    # Gradescope's visibility of run_autograder's console output: the total and dlgrade's own
    # error lines (never a check's message or the code's printed output; see docs/instructors.md)
    stdout_visibility: Visibility = "hidden"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    solutions: Path | None = None
    assignments: Path | None = None
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)

    @property
    def builtin(self) -> bool:
        """Whether this is the built-in config (no autograder.yml was found)."""
        return self.path == DEFAULT_CONFIG.absolute()

    def exercise(self, exercise_id: str) -> ExerciseConfig:
        for ex in self.exercises:
            if ex.id == exercise_id:
                return ex
        known = ", ".join(e.id for e in self.exercises)
        raise GraderError(f"unknown exercise {exercise_id!r} (this config has: {known})")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.exercises)


def find_config(explicit: str | Path | None = None, *, cwd: Path | None = None,
                environ: dict[str, str] | None = None) -> Path:
    """Where the config is: ``explicit`` (``--config``), else ``$DLGRADE_CONFIG``, else
    ``autograder.yml`` in ``cwd`` or its nearest parent, else the packaged default.

    An explicit path or variable that names no file is an error saying where it looked.
    """
    environ = os.environ if environ is None else environ
    if explicit is not None:
        path = Path(explicit).expanduser().absolute()
        if not path.is_file():
            raise GraderError(f"config file not found: {path} (given with --config)")
        return path
    if environ.get(CONFIG_ENV):
        path = Path(environ[CONFIG_ENV]).expanduser().absolute()
        if not path.is_file():
            raise GraderError(f"config file not found: {path} (given by ${CONFIG_ENV})")
        return path
    here = (cwd or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    return DEFAULT_CONFIG


def builtin_notice(config: Config) -> str:
    """What the command line says, once, when it uses the built-in config."""
    ids = config.ids
    listed = ", ".join(ids[:8]) + (", ..." if len(ids) > 8 else "")
    return (f"no {CONFIG_NAME} here or in a parent folder: using the built-in config of the "
            f"{len(ids)} exercise(s) {listed}. To use another, create {CONFIG_NAME} in this "
            "folder (or a parent) or pass --config PATH")


def where_to_set(config: Config, key: str) -> str:
    """Advice on setting ``key``: in the config file in use, or, where that is the built-in
    one (inside the installed package: not the place), in an autograder.yml of one's own."""
    if config.builtin:
        return (f"create {CONFIG_NAME} (no config file was found here or above, so the built-in "
                f"one is in use) with '{key}:', or pass --config PATH")
    return f"set '{key}:' in {config.path.name}"


def load_config(path: str | Path = "autograder.yml") -> Config:
    """Read and validate ``path``; raise ``GraderError`` with a one-line message on any problem.

    The built-in config (:data:`DEFAULT_CONFIG`) is read without ``solutions`` and
    ``assignments``: in a checkout it is the repository's autograder.yml, whose folders belong
    to the checkout, not to a command run from anywhere."""
    builtin = Path(path).absolute() == DEFAULT_CONFIG.absolute()
    path = DEFAULT_CONFIG.absolute() if builtin else Path(path).resolve()
    if not path.is_file():
        raise GraderError(f"config file not found: {path} (looked for it with --config, "
                          f"${CONFIG_ENV}, then {CONFIG_NAME} in the current folder and its parents)")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise GraderError(f"{path.name}: not valid YAML{where}: {getattr(err, 'problem', err)}") from None
    if not isinstance(raw, dict):
        raise GraderError(f"{path.name}: expected a mapping at the top level")
    if builtin:
        raw = {k: v for k, v in raw.items() if k not in FOLDER_KEYS}
    return parse_config(raw, path)


def parse_config(raw: dict, path: Path) -> Config:
    root = path.parent
    top = _fields(raw, Config, "", skip={"path", "root", "exercises", "sandbox", "solutions",
                                         "assignments"},
                  extra={"exercises", "sandbox", "solutions", "assignments"})
    raw_sandbox = raw.get("sandbox") or {}
    if isinstance(raw_sandbox, dict) and raw_sandbox.get("isolation") == "none":
        raw_sandbox = {**raw_sandbox, "isolation": ["none"]}  # on purpose: see SandboxConfig
    sandbox = SandboxConfig(**_fields(raw_sandbox, SandboxConfig, "sandbox."))
    for f in dataclasses.fields(SandboxConfig):
        value = getattr(sandbox, f.name)
        if isinstance(value, (int, float)) and value <= 0:  # 0 MB or 0 threads kill every worker
            raise GraderError(f"sandbox.{f.name}: must be positive, got {value!r}")
    unknown = sorted(set(sandbox.isolation) - set(ISOLATION) - {"none"})
    if "none" in sandbox.isolation and len(sandbox.isolation) > 1:
        raise GraderError("sandbox.isolation: none stands alone (no isolation at all), got "
                          f"{list(sandbox.isolation)!r}")
    if not sandbox.isolation:
        raise GraderError("sandbox.isolation: an empty list leaves every worker unconfined; to "
                          "grade that way on purpose (trusted code only) write `isolation: none`")
    if unknown:
        raise GraderError(f"sandbox.isolation: unknown mechanism {unknown[0]!r} (known: "
                          f"{', '.join(ISOLATION)}; or none)")
    if (len(sandbox.uid_range) != 2 or not 0 < sandbox.uid_range[0] <= sandbox.uid_range[1]
            or any(u in (0, 65534) for u in sandbox.uid_range)):
        raise GraderError("sandbox.uid_range: expected [first, last] with 0 < first <= last, "
                          f"not root or nobody, got {list(sandbox.uid_range)!r}")
    ex_raw = raw.get("exercises")
    if not isinstance(ex_raw, dict) or not ex_raw:
        raise GraderError("exercises: expected a mapping of exercise ids to their settings")
    exercises = tuple(_exercise(str(k), v) for k, v in ex_raw.items())
    paths = {name: _folder(raw, name, root) for name in ("solutions", "assignments")}
    return Config(path=path, root=root, exercises=exercises, sandbox=sandbox, **paths, **top)


def _folder(raw: dict, key: str, root: Path) -> Path | None:
    if key not in raw or raw[key] is None:
        return None
    if not isinstance(raw[key], str):
        raise GraderError(f"{key}: expected a folder path, got {raw[key]!r}")
    folder = (root / raw[key]).resolve()
    if not folder.is_dir():
        raise GraderError(f"{key}: folder not found: {folder}")
    return folder


def _exercise(ex_id: str, raw: Any) -> ExerciseConfig:
    where = f"exercises.{ex_id}"
    if not ex_id.isidentifier():
        raise GraderError(f"{where}: an exercise id must be a Python identifier")
    if not (EXERCISES_DIR / ex_id).is_dir():
        raise GraderError(f"{where}: no checks for this exercise (expected folder "
                          f"grader/exercises/{ex_id}/)")
    if not isinstance(raw, dict):
        raise GraderError(f"{where}: expected a mapping with at least 'points'")
    if "points" not in raw:
        raise GraderError(f"{where}.points: missing (how many points the exercise is worth)")
    values = _fields(raw, ExerciseConfig, where + ".", skip={"id", "settings"}, extra={"settings"})
    for key in ("points", "time_limit", "call_timeout", "answer_limit_mb"):
        if (values.get(key) or 1.0) <= 0:
            raise GraderError(f"{where}.{key}: must be positive, got {values[key]!r}")
    hidden = values.get("hidden_points")
    if hidden is not None and not 0 <= hidden < values["points"]:
        raise GraderError(f"{where}.hidden_points: must be at least 0 and below points "
                          f"({values['points']:g}), got {hidden!r}")
    if "imports" in values:
        values["imports"] = _imports(values["imports"], where + ".imports")
    else:
        values["imports"] = exercise_imports(ex_id)
    settings_cls = exercise_settings_class(ex_id)
    settings_raw = raw.get("settings") or {}
    if settings_cls is None:
        if settings_raw:
            raise GraderError(f"{where}.settings: this exercise takes no settings")
        settings = None
    else:
        settings = settings_cls(**_fields(settings_raw, settings_cls, where + ".settings."))
    return ExerciseConfig(id=ex_id, settings=settings, **values)


def exercise_imports(ex_id: str) -> tuple[str, ...]:
    """``grader.exercises.<id>.IMPORTS`` (what the exercise's code may import), else
    :data:`DEFAULT_IMPORTS`."""
    module = importlib.import_module(f"{EXERCISES_PACKAGE}.{ex_id}")
    declared = getattr(module, "IMPORTS", None)
    if declared is None:
        return DEFAULT_IMPORTS
    return _imports(list(declared), f"grader.exercises.{ex_id}.IMPORTS")


def _imports(names: tuple[str, ...] | list[str], where: str) -> tuple[str, ...]:
    """Top-level package names, each installed for this interpreter (a module it can find, or
    a distribution of that name), numpy among them (the worker's codec needs it); the standard
    library is always available and needs no entry. Duplicates are dropped; the order is
    kept."""
    out: list[str] = []
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.isidentifier():
            raise GraderError(f"{where}[{i}]: expected the name of a package to import (such "
                              f"as numpy), got {name!r}")
        if name not in sys.stdlib_module_names and not _installed(name):
            raise GraderError(f"{where}[{i}]: no package {name!r} is installed for this Python "
                              f"({sys.executable}): install it, or fix the name (the name you "
                              "import, e.g. sklearn for scikit-learn)")
        if name not in out:
            out.append(name)
    if "numpy" not in out:
        raise GraderError(f"{where}: must include numpy: the worker itself sends and receives "
                          "arrays with it")
    return tuple(out)


def _installed(name: str) -> bool:
    try:
        if importlib.util.find_spec(name) is not None:
            return True
    except (ImportError, ValueError):
        pass
    try:
        importlib.metadata.distribution(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def exercise_settings_class(ex_id: str) -> type | None:
    """``grader.exercises.<id>.Settings`` if the exercise defines one."""
    module = importlib.import_module(f"{EXERCISES_PACKAGE}.{ex_id}")
    cls = getattr(module, "Settings", None)
    if cls is not None and not dataclasses.is_dataclass(cls):
        raise GraderError(f"grader.exercises.{ex_id}.Settings must be a dataclass")
    return cls


def _fields(raw: Any, cls: type, prefix: str, *, skip: set[str] = frozenset(),
            extra: set[str] = frozenset()) -> dict[str, Any]:
    """Validate the keys of ``raw`` against ``cls``'s fields; return the converted values."""
    if not isinstance(raw, dict):
        raise GraderError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)} - set(skip)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        key = str(key)
        if key in extra:
            continue
        if key not in known:
            options = ", ".join(sorted(known | set(extra)))
            raise GraderError(f"{prefix}{key}: unknown key (known keys: {options})")
        out[key] = _convert(value, hints[key], prefix + key)
    return out


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        if value not in args:
            raise GraderError(f"{where}: expected one of {', '.join(map(str, args))}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(value, arg, where)
            except GraderError as err:
                errors.append(str(err))
        raise GraderError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is tuple:
        if not isinstance(value, list):
            raise GraderError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise GraderError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GraderError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GraderError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise GraderError(f"{where}: expected a string, got {value!r}")
        return value
    if hint is Path:
        if not isinstance(value, str):
            raise GraderError(f"{where}: expected a path, got {value!r}")
        return Path(value)
    raise GraderError(f"{where}: unsupported setting type {hint!r}")
