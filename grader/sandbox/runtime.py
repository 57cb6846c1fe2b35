"""How this grading run starts workers: what the kernel offers, decided once, said once.

:func:`prepare_runtime` looks at the platform and the config's ``sandbox.isolation`` and
builds a :class:`Runtime`:

- **Landlock** (any user, Linux 5.13+): the worker reads only the interpreter, its packages,
  the system libraries and a clean copy of the engine, writes only its home, has no TCP, and
  cannot signal or ptrace anything outside its domain.
- **Namespaces** (root, or any user where unprivileged user namespaces are allowed): a private
  root holding only those same files, a size-limited home, no network, and a pid namespace whose
  processes all die with the worker.
- **A uid per worker** (root): each worker runs under a uid of its own from
  ``sandbox.uid_range`` (a lock file per uid keeps concurrent judges apart), so it can touch no
  file and no process of the judge or of another worker, and every process of that uid is
  killed when the worker ends.

It uses every one that works here (each is tried by starting the interpreter in the sandbox once
per judge process), and the report's notices say which are in force and which are not, with the
reason. On a platform with none of them grading still works.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.config import DEFAULT_IMPORTS, EXERCISES_DIR, Config
from grader.sandbox import landlock, reaper, view
from grader.sandbox.view import View

# The engine the judge runs (the package's parent folder): the launcher comes from here.
ENGINE_ROOT = str(Path(__file__).resolve().parents[2])
# What a worker needs of the engine: the worker, the codec and each exercise's probes.
WORKER_FILES = ("grader/__init__.py", "grader/sandbox/__init__.py", "grader/sandbox/worker.py",
                "grader/sandbox/codec.py", "grader/exercises/__init__.py")
PROBE_FILES = ("__init__.py", "probes.py")
# System folders a worker reads (the interpreter's prefixes are added).
SYSTEM_READ = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
UID_LOCKS = ("/run/dlgrade-uids", "/tmp/dlgrade-uids")


def worker_tmp() -> str:
    """Where the folders a worker must reach (its home, the engine copy) are made: the judge's
    temporary folder, which as root must let every user pass through, else ``/tmp``. A root
    judge run with a private ``TMPDIR`` (mode 0700) would otherwise make homes no worker uid can
    enter; a judge that is not root runs its workers as its own user, so its own private
    ``TMPDIR`` suits them (and what it leaves there stays its own)."""
    if os.geteuid() != 0:
        return tempfile.gettempdir()
    for folder in (tempfile.gettempdir(), "/tmp"):
        path = os.path.realpath(folder)
        parts = [path, *(str(p) for p in Path(path).parents)]
        try:
            if all(os.stat(p).st_mode & 0o001 for p in parts):
                return path
        except OSError:
            continue
    return tempfile.gettempdir()


def boot_argv(python: str, engine: str, module: str, *args: str) -> list[str]:
    """``python -I`` running ``module``'s ``main(argv)`` from the engine in folder ``engine``
    (``-I`` ignores PYTHONPATH, so the engine's folder goes first on ``sys.path``)."""
    boot = (f"import sys; sys.path.insert(0, {engine!r}); "
            f"from {module} import main; sys.exit(main(sys.argv[1:]))")
    return [python, "-I", "-c", boot, *args]


@dataclass(frozen=True)
class Isolation:
    """The mechanisms in force for this run's workers."""

    landlock: int = 0  # Landlock ABI applied (0: none)
    namespaces: bool = False
    userns: bool = False  # the namespaces include a user namespace (the judge is not root)
    uid_range: tuple[int, int] | None = None  # as root: a uid of its own per worker
    uid: int | None = None  # as root without a range: this one uid for every worker
    gid: int | None = None

    @property
    def dropped(self) -> bool:
        return self.uid_range is not None or self.uid is not None

    def describe(self) -> str:
        parts = []
        if self.uid_range:
            parts.append(f"each under a uid of its own ({self.uid_range[0]}-{self.uid_range[1]})")
        elif self.uid is not None:
            parts.append(f"as uid {self.uid}")
        if self.namespaces:
            kinds = "user, mount, pid, network" if self.userns else "mount, pid, network"
            parts.append(f"in {kinds} namespaces with a private root")
        if self.landlock:
            parts.append(f"under {landlock.describe(self.landlock)}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Runtime:
    """How this grading run starts workers (see the module docstring).

    ``engine`` is the clean copy of the engine workers import; ``binds`` what they may read
    and ``listable`` the package folders they may list, unless ``views`` gives their exercise a
    view of its own (:meth:`view`: only the packages the exercise may import).
    The judge reads the references and hidden checks from ``private``, a copy made before any
    worker started that workers cannot reach. Where workers run under another uid but neither
    namespaces nor Landlock hide the checkout, the hidden material's modes are narrowed for the
    run and ``restore``d by :meth:`close`.
    """

    python: str = sys.executable
    isolation: Isolation = field(default_factory=Isolation)
    notices: tuple[str, ...] = ()
    limits: dict = field(default_factory=dict)
    threads: int = 1
    output_limit: int = 0
    home_mb: int = 512
    engine: Path | None = None
    binds: tuple[str, ...] = ()
    listable: tuple[str, ...] = ()
    views: tuple[tuple[str, View], ...] = ()  # (exercise, its view)
    devices: tuple[str, ...] = ()
    private: Path | None = None
    restore: tuple[tuple[str, int], ...] = ()

    @property
    def dropped(self) -> bool:
        return self.isolation.dropped

    @property
    def private_dirs(self) -> tuple[Path, ...]:
        return tuple(p for p in (self.private, self.engine) if p is not None)

    def hidden_copy(self, check_file: Path) -> Path:
        """The file the judge collects for ``check_file``: its private copy if there is one."""
        if self.private is None:
            return check_file
        copy = self.private / "exercises" / check_file.parent.name / check_file.name
        return copy if copy.is_file() else check_file

    def judge_config(self, config: Config) -> Config:
        """``config`` with ``solutions`` pointing at the private copy when there is one."""
        if self.private is None or config.solutions is None:
            return config
        return replace(config, solutions=self.private / "solutions")

    def view(self, name: str) -> View:
        """What a worker of exercise ``name`` may read (``binds``/``listable`` for another
        name, such as the runtime's own start test)."""
        for exercise, seen in self.views:
            if exercise == name:
                return seen
        return View(imports=DEFAULT_IMPORTS, binds=self.binds, listable=self.listable)

    def import_rule(self, name: str) -> dict | None:
        """The worker's import hook for exercise ``name`` (JSON), None for another name."""
        for exercise, seen in self.views:
            if exercise == name:
                return view.ImportRule(exercise, seen.imports, seen.blocked).to_json()
        return None

    def worker_argv(self) -> list[str]:
        return boot_argv(self.python, str(self.engine or ENGINE_ROOT), "grader.sandbox.worker")

    def close(self) -> None:
        """Restore narrowed modes; remove the private copy and the engine copy."""
        for path, mode in self.restore:
            try:
                os.chmod(path, mode)
            except OSError:
                pass
        for folder in self.private_dirs:
            reaper.remove_tree(folder)  # the engine copy is read-only: opened up first


def prepare_runtime(config: Config) -> Runtime:
    sb = config.sandbox
    as_root = os.geteuid() == 0
    limits = {"data": sb.memory_mb * 1024 * 1024, "fsize": sb.home_mb * 1024 * 1024, "core": 0,
              "nproc": sb.max_processes}
    engine = _engine_copy(config.ids)
    views = exercise_views(config, engine)
    default = worker_view(DEFAULT_IMPORTS, engine)
    base = Runtime(python=sys.executable, limits=limits, threads=sb.threads,
                   output_limit=sb.output_limit_kb * 1024,
                   home_mb=sb.home_mb,
                   engine=engine, binds=default.binds, listable=default.listable,
                   views=tuple(views.items()), devices=_gpu_devices())
    fixed = None
    if as_root and "uid" not in sb.isolation:
        try:
            user = pwd.getpwnam(sb.user)
            fixed = (user.pw_uid, user.pw_gid)
        except KeyError:
            pass
    isolation, notes = _detect(sys.executable, tuple(sb.isolation), as_root,
                               tuple(sb.uid_range), fixed)
    runtime = replace(base, isolation=isolation)
    dirs, files = _hidden_material(config)
    private = _private_copy(dirs, files)
    restore: tuple[tuple[str, int], ...] = ()
    if isolation.dropped and not (isolation.namespaces or isolation.landlock):
        restore = _narrow_modes([*dirs, *files, *_git_dirs(config), *_bytecode_dirs()])
        notes = (*notes, "sandbox: neither namespaces nor Landlock hide the checkout: the "
                 "references, hidden checks, bytecode caches and .git are made readable by "
                 "root only for this run (modes restored afterwards)")
    notes = (*notes, *_import_notes(views, isolation), *_exposed(config, runtime))
    return replace(runtime, private=private, restore=restore, notices=notes)


@functools.lru_cache(maxsize=8)
def _detect(python: str, wanted: tuple[str, ...], as_root: bool, uid_range: tuple[int, int],
            fixed: tuple[int, int] | None) -> tuple[Isolation, tuple[str, ...]]:
    """The strongest isolation that starts the interpreter here, and notices saying what is in
    force and what is not (with the reason). Cached per judge process: the kernel does not
    change under it, and each try starts an interpreter."""
    engine = _engine_copy(())
    try:
        start = worker_view(DEFAULT_IMPORTS, engine)  # the narrowest view a worker gets
        return _strongest(python, wanted, as_root, uid_range, fixed, str(engine),
                          start.binds, start.listable)
    finally:
        reaper.remove_tree(engine)


def _strongest(python: str, wanted: tuple[str, ...], as_root: bool, uid_range: tuple[int, int],
               fixed: tuple[int, int] | None, engine: str, binds: tuple[str, ...],
               listable: tuple[str, ...] = ()) -> tuple[Isolation, tuple[str, ...]]:
    missing = [f"{name} (left out by sandbox.isolation)"
               for name, key in (("Landlock", "landlock"), ("namespaces", "namespaces"))
               if key not in wanted]
    abi = 0
    if "landlock" in wanted:
        abi = landlock.abi_version()
        if not abi:
            missing.append("Landlock (not offered by this kernel, or filtered)")
    namespaces = "namespaces" in wanted
    drop: dict = {}
    if as_root:
        if "uid" in wanted:
            drop = {"uid_range": (uid_range[0], uid_range[1])}
        elif fixed is not None:
            drop = {"uid": fixed[0], "gid": fixed[1]}
    userns = namespaces and not as_root
    while True:
        candidate = Isolation(landlock=abi, namespaces=namespaces, userns=userns, **drop)
        failure = _try(python, candidate, engine, binds, listable)
        if not failure:
            break
        if candidate.namespaces:
            missing.append(f"namespaces ({failure})")
            namespaces = userns = False
        elif candidate.landlock:
            missing.append(f"Landlock ({failure})")
            abi = 0
        elif candidate.dropped:
            missing.append(f"a uid of the worker's own ({failure}; use a virtual environment "
                           "that other users can read, e.g. made with the system python3 in a "
                           "world-readable folder)")
            drop = {}
        else:
            break  # nothing left to leave out: the workers' own start will say what fails
    notes = []
    what = candidate.describe()
    if what:
        notes.append(f"sandbox: workers run {what}")
    if as_root and not candidate.dropped:
        notes.append("sandbox: WARNING: workers run as root (privilege drop NOT enforced)")
    if not as_root:
        missing.append("a uid of the worker's own (the judge is not root: workers run as the "
                       "judge's user)")
    if missing:
        notes.append("sandbox: not enforced: " + "; ".join(missing))
    return candidate, tuple(notes)


def _try(python: str, isolation: Isolation, engine: str, binds: tuple[str, ...],
         listable: tuple[str, ...] = ()) -> str:
    """Start the interpreter in a sandbox like a worker's and import what a worker imports;
    '' when that works, else why not."""
    from grader.sandbox.process import Sandbox  # the same code path as a real worker

    probe = ("import sys, numpy; sys.path.insert(0, %r); import grader.sandbox.worker; "
             "print('dlgrade-ok')" % engine)
    runtime = Runtime(python=python, isolation=isolation, engine=Path(engine), binds=binds,
                      listable=listable, limits={"core": 0}, home_mb=16)
    try:
        with Sandbox(runtime, "probe", b"") as box:
            proc = box.run([python, "-I", "-c", probe], timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        return str(err)
    if b"dlgrade-ok" in proc.stdout:
        return ""
    text = (proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()
    return (text[-1] if text else f"exit code {proc.returncode}")[:300]


def _engine_copy(ids: tuple[str, ...]) -> Path:
    """A fresh folder holding only what workers import (never the checkout, never hidden
    checks or references), readable by every user, writable by none but the judge."""
    folder = Path(tempfile.mkdtemp(prefix="dlgrade-engine-", dir=worker_tmp()))
    package = Path(ENGINE_ROOT)
    files = [*WORKER_FILES, *(f"grader/exercises/{ex}/{name}" for ex in ids
                              for name in PROBE_FILES)]
    for rel in files:
        source = package / rel
        if not source.is_file():
            continue
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(0o444)
    for path in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        path.chmod(0o555)
    return folder


def exercise_views(config: Config, engine: Path) -> dict[str, View]:
    """Each exercise's view: what its workers may read (:mod:`grader.sandbox.view`: the
    system folders and the interpreter's prefixes without any package folder, the packages of
    its ``imports`` and the distributions they need, the engine copy)."""
    return {ex.id: worker_view(ex.imports, engine) for ex in config.exercises}


def worker_view(imports: tuple[str, ...], engine: Path) -> View:
    """The view of a worker whose code may import ``imports``."""
    return view.exercise_view(tuple(imports), _read_paths(engine))


def _import_notes(views: dict[str, View], isolation: Isolation) -> tuple[str, ...]:
    """What each exercise may import, and whether the view enforces it."""
    if not views:
        return ()
    what = view.describe(views)
    if isolation.namespaces or isolation.landlock:
        return (f"sandbox: each worker sees only the packages its exercise may import ({what})",)
    return (f"sandbox: not enforced: the import rules ({what}): without Landlock or namespaces a "
            "worker can read every installed package; an import hook refuses the others, and "
            "code can switch it off",)


def _read_paths(engine: Path) -> tuple[str, ...]:
    """The roots of a worker's view: the system folders, the interpreter's prefixes, the
    engine copy (a path beneath another one in the list is covered by it)."""
    paths = {*SYSTEM_READ, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), str(engine)}
    paths = {os.path.abspath(p) for p in paths if os.path.lexists(p)}
    keep = [p for p in paths
            if os.path.islink(p) or not any(_beneath(p, q) and q != p and not os.path.islink(q)
                                            for q in paths)]
    return tuple(sorted(keep))


def _beneath(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _gpu_devices() -> tuple[str, ...]:
    return tuple(sorted(str(p) for p in Path("/dev").glob("nvidia*") if p.exists()))


def _exposed(config: Config, runtime: Runtime) -> tuple[str, ...]:
    """A notice when a folder workers may read holds the references or the checkout."""
    if not (runtime.isolation.namespaces or runtime.isolation.landlock):
        return ()
    secret = [p for p in (config.solutions, config.root, Path(ENGINE_ROOT)) if p is not None]
    binds = {b for b in runtime.binds} | {b for _, seen in runtime.views for b in seen.binds}
    shown = sorted({b for b in binds for p in secret if _beneath(str(p.resolve()), b)})
    if not shown:
        return ()
    return (f"sandbox: WARNING: workers may read {', '.join(shown)}, which holds the checkout "
            "or the references (the interpreter is installed there): move the checkout out of "
            "it",)


def _hidden_material(config: Config) -> tuple[list[Path], list[Path]]:
    """The folders and files a worker must not read: references and hidden checks."""
    dirs = [config.solutions] if config.solutions is not None else []
    return dirs, sorted(EXERCISES_DIR.glob("*/test_hidden*.py"))


def _bytecode_dirs() -> list[Path]:
    """The engine's ``__pycache__`` folders: one left by an earlier import of the hidden checks
    (a plain pytest run, say) holds their inputs, and a worker can unmarshal them."""
    return sorted(Path(ENGINE_ROOT).glob("grader/**/__pycache__"))


def _git_dirs(config: Config) -> list[Path]:
    return [p for p in {config.root / ".git", Path(ENGINE_ROOT) / ".git"} if p.exists()]


def _private_copy(dirs: list[Path], files: list[Path]) -> Path:
    """A folder only the judge's user can enter, holding ``solutions/`` and
    ``exercises/<id>/test_hidden*.py`` as they were before any worker started."""
    private = Path(tempfile.mkdtemp(prefix="dlgrade-judge-"))  # mode 0700
    for folder in dirs:
        shutil.copytree(folder, private / "solutions", symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for path in files:
        dest = private / "exercises" / path.parent.name / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    return private


def _narrow_modes(paths: list[Path]) -> tuple[tuple[str, int], ...]:
    """Make ``paths`` root-only; return their former modes to restore."""
    restore = []
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode & ~0o077)
        restore.append((str(path), mode))
    return tuple(restore)


@dataclass
class UidLease:
    """A uid held by one worker: the lock file stays open (and locked) while it runs."""

    uid: int
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1


def lease_uid(first: int, last: int) -> UidLease:
    """A uid in ``[first, last]`` that no other worker holds (of this judge or another one on
    the machine), with no account in the password database and no process left."""
    locks = _lock_dir()
    span = last - first + 1
    start = int.from_bytes(os.urandom(4), "big") % span
    for i in range(span):
        uid = first + (start + i) % span
        try:
            pwd.getpwuid(uid)
            continue  # a real account: never ours to use or to kill
        except KeyError:
            pass
        fd = os.open(os.path.join(locks, str(uid)), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if not reaper.kill_uid(uid):  # leftovers of a judge that died: ours, by the lock
            os.close(fd)
            continue
        return UidLease(uid, fd)
    raise OSError(f"all {span} uids of sandbox.uid_range are in use")


def _lock_dir() -> str:
    """A root-only folder for the uid locks, shared by every judge on this machine."""
    for folder in UID_LOCKS:
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except OSError:
            continue
        info = os.lstat(folder)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o700:
            return folder
    raise OSError("no root-only folder for the uid locks (" + ", ".join(UID_LOCKS) + ")")


def describe_spec(runtime: Runtime) -> str:
    """The isolation as one line of JSON (tests and the red-team table read it)."""
    iso = runtime.isolation
    return json.dumps({"landlock": iso.landlock, "namespaces": iso.namespaces,
                       "userns": iso.userns, "uid_range": iso.uid_range, "uid": iso.uid})
