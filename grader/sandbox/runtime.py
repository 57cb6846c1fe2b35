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
reason. **It fails closed**: where none of the three works, grading refuses with one message
saying what failed and how to fix it (:class:`~grader.errors.GraderError`, exit code 2), unless
the config says ``sandbox.isolation: none``, which every report then states.

Besides, every worker gets (where the kernel offers them) a syscall filter
(:mod:`grader.sandbox.seccomp`), a session keyring of its own (:mod:`grader.sandbox.keyring`),
and a memory cap: a cgroup v2 per worker where the judge can make one
(:mod:`grader.sandbox.cgroup`), else an address-space limit (``RLIMIT_AS``) on the CPU profile;
on CUDA (whose driver reserves tens of GB of address space) only ``RLIMIT_DATA``.
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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.config import DEFAULT_IMPORTS, EXERCISES_DIR, Config
from grader.errors import GraderError
from grader.probe_files import WORKER_FILES, probe_files
from grader.sandbox import cgroup, keyring, landlock, modes, reaper, seccomp, view
from grader.sandbox.view import View

# The engine the judge runs (the package's parent folder): the launcher comes from here.
ENGINE_ROOT = str(Path(__file__).resolve().parents[2])
# System folders a worker reads (the interpreter's prefixes are added).
SYSTEM_READ = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")


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
    seccomp: bool = False  # the syscall filter
    memory: str = "data"  # how memory is capped: "cgroup", "address space" or "data"
    none: bool = False  # sandbox.isolation: none (no isolation, on purpose)

    @property
    def dropped(self) -> bool:
        return self.uid_range is not None or self.uid is not None

    @property
    def enforced(self) -> bool:
        """At least one mechanism keeps the worker out of the judge's files and processes."""
        return bool(self.landlock or self.namespaces or self.dropped)

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

    def summary(self) -> str:
        """One line for a batch's console and summary page: what isolates each worker."""
        if self.none:
            return ("isolation: NONE (sandbox.isolation: none): submission code ran unconfined, "
                    "as the judge's user")
        parts = [p for p in (
            f"a uid of its own ({self.uid_range[0]}-{self.uid_range[1]})" if self.uid_range
            else f"uid {self.uid}" if self.uid is not None else "",
            ("user " if self.userns else "") + "namespaces" if self.namespaces else "",
            f"Landlock ABI {self.landlock}" if self.landlock else "",
            "seccomp" if self.seccomp else "") if p]
        memory = {"cgroup": "a cgroup per worker", "address space": "RLIMIT_AS",
                  "data": "RLIMIT_DATA only"}[self.memory]
        return f"isolation: {' + '.join(parts) or 'nothing'}; memory: {memory}"


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
    restore: tuple[str, ...] = ()  # paths narrowed for this run (grader.sandbox.modes)
    cgroup_parent: Path | None = None  # where each worker's cgroup is made (memory: cgroup)
    memory_mb: int = 0  # the workers' memory cap (sandbox.memory_mb)
    max_tasks: int = 512  # pids.max of a worker's cgroup

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
        own = self._own_view(name)
        if own is None:
            return View(imports=DEFAULT_IMPORTS, binds=self.binds, listable=self.listable)
        return own

    def import_rule(self, name: str) -> dict | None:
        """The worker's import hook for exercise ``name`` (JSON: the exercise, what it may
        import, what to refuse; see :class:`grader.sandbox.worker.ImportRule`), None for
        another name."""
        own = self._own_view(name)
        if own is None:
            return None
        return {"exercise": name, "imports": list(own.imports), "blocked": list(own.blocked)}

    def _own_view(self, name: str) -> View | None:
        for exercise, seen in self.views:
            if exercise == name:
                return seen
        return None

    def worker_argv(self) -> list[str]:
        return boot_argv(self.python, str(self.engine or ENGINE_ROOT), "grader.sandbox.worker")

    def close(self) -> None:
        """Restore narrowed modes; remove the private copy and the engine copy."""
        modes.restore(self.restore)
        for folder in self.private_dirs:
            reaper.remove_tree(folder)  # the engine copy is read-only: opened up first


def prepare_runtime(config: Config) -> Runtime:
    """How this run starts workers; raises ``GraderError`` (and leaves nothing behind) where
    no mechanism keeps the workers out (see the module docstring)."""
    sb = config.sandbox
    as_root = os.geteuid() == 0
    limits = {"data": sb.memory_mb * 1024 * 1024, "fsize": sb.home_mb * 1024 * 1024, "core": 0,
              "nproc": sb.max_processes}
    memory, parent, memory_note = _memory_cap(config)
    if memory == "address space":
        limits["as"] = sb.memory_mb * 1024 * 1024
    isolation, notes = detect_isolation(config, memory)
    made: dict = {"engine": _engine_copy(config.ids)}  # what to undo if anything below fails
    try:
        return _complete(config, made, isolation, (*notes, memory_note), limits, parent)
    except BaseException:  # an interrupt too: the folders made so far go, modes come back
        Runtime(**made).close()
        raise


def _complete(config: Config, made: dict, isolation: Isolation, notes: tuple[str, ...],
              limits: dict, parent: Path | None) -> Runtime:
    """:func:`prepare_runtime` once the engine copy exists; every folder it makes and mode it
    changes is recorded in ``made`` (Runtime's fields) as it goes."""
    sb = config.sandbox
    engine = made["engine"]
    viewer = worker_viewer(engine)
    views = exercise_views(config, viewer)
    default = viewer(DEFAULT_IMPORTS)
    base = Runtime(python=sys.executable, limits=limits, threads=sb.threads,
                   output_limit=sb.output_limit_kb * 1024,
                   home_mb=sb.home_mb,
                   engine=engine, binds=default.binds, listable=default.listable,
                   views=tuple(views.items()), devices=_gpu_devices(),
                   cgroup_parent=parent, memory_mb=sb.memory_mb, max_tasks=sb.max_processes)
    runtime = replace(base, isolation=isolation)
    dirs, files = _hidden_material(config)
    private = _private_copy(dirs, files)
    made["private"] = private
    restore: tuple[str, ...] = ()
    if isolation.dropped and not (isolation.namespaces or isolation.landlock):
        restore = modes.narrow([*dirs, *files, *_judge_only(config), *_git_dirs(config),
                                *_bytecode_dirs()])
        made["restore"] = restore
        notes = (*notes, "sandbox: neither namespaces nor Landlock hide the checkout: the "
                 "references, hidden checks, their oracles, bytecode caches and .git are made "
                 "readable by root only for this run (modes restored afterwards)")
    notes = (*notes, *_import_notes(views, isolation), *_exposed(config, runtime))
    return replace(runtime, private=private, restore=restore, notices=notes)


def detect_isolation(config: Config, memory: str | None = None) -> tuple[Isolation, tuple[str, ...]]:
    """The isolation this run's workers get and the notices saying so; raises ``GraderError``
    where no mechanism works and the config does not say ``sandbox.isolation: none`` (fail
    closed: one message, what failed and how to fix it)."""
    sb = config.sandbox
    as_root = os.geteuid() == 0
    if memory is None:
        memory = _memory_cap(config)[0]
    if "none" in sb.isolation:
        return Isolation(memory=memory, none=True), (NONE_NOTICE,)
    fixed = None
    if as_root and "uid" not in sb.isolation:
        try:
            user = pwd.getpwnam(sb.user)
            fixed = (user.pw_uid, user.pw_gid)
        except KeyError:
            pass
    isolation, notes = _detect(sys.executable, tuple(sb.isolation), as_root,
                               tuple(sb.uid_range), fixed, memory)
    if not isolation.enforced:
        raise GraderError(_refusal(notes, as_root))
    return isolation, notes


NONE_NOTICE = ("sandbox: WARNING: NO ISOLATION (sandbox.isolation: none): submission code runs "
               "as the judge's user and can read, change and reach everything the judge can; "
               "use this for trusted code only")


def _refusal(notes: tuple[str, ...], as_root: bool) -> str:
    why = "; ".join(n.removeprefix("sandbox: not enforced: ") for n in notes
                    if n.startswith("sandbox: not enforced: "))
    fix = ("make the virtual environment and the interpreter readable by other users (e.g. a "
           "venv made with the system python3 in a world-readable folder, not under a 0700 "
           "home), or run where Landlock or namespaces are allowed" if as_root else
           "run where Landlock (Linux 5.13+) or unprivileged user namespaces are allowed, or "
           "as root with a world-readable virtual environment")
    return (f"no sandbox mechanism works here, so submission code would run unconfined: {why}. "
            f"To fix it, {fix}; to grade trusted code without isolation, set "
            "sandbox.isolation: none")


def _memory_cap(config: Config) -> tuple[str, Path | None, str]:
    """How the workers' memory is capped: ("cgroup", the folder to make cgroups in, notice),
    ("address space", None, notice) on the CPU profile, ("data", None, notice) on CUDA."""
    mb = config.sandbox.memory_mb
    parent, why = cgroup.detect()
    if parent is not None:
        return ("cgroup", parent, f"sandbox: memory: each worker in a cgroup of its own, "
                f"memory.max {mb} MB with no swap, pids.max {config.sandbox.max_processes} "
                "(shared mappings and memfds count)")
    if _gpu_devices() and config.device != "cpu":
        return ("data", None, f"sandbox: memory: NOT capped as a whole: RLIMIT_DATA {mb} MB "
                "only (no cgroup: " + why + "; an address-space limit would break CUDA): "
                "shared mappings and memfds are not counted")
    return ("address space", None, f"sandbox: memory: each worker's address space is limited "
            f"to {mb} MB (RLIMIT_AS; no cgroup: {why}); memfds are refused")


@functools.lru_cache(maxsize=8)
def _detect(python: str, wanted: tuple[str, ...], as_root: bool, uid_range: tuple[int, int],
            fixed: tuple[int, int] | None,
            memory: str = "data") -> tuple[Isolation, tuple[str, ...]]:
    """The strongest isolation that starts the interpreter here, and notices saying what is in
    force and what is not (with the reason). Cached per judge process: the kernel does not
    change under it, and each try starts an interpreter."""
    engine = _engine_copy(())
    try:
        start = worker_view(DEFAULT_IMPORTS, engine)  # the narrowest view a worker gets
        return _strongest(python, wanted, as_root, uid_range, fixed, str(engine),
                          start.binds, memory, start.listable)
    finally:
        reaper.remove_tree(engine)


def _strongest(python: str, wanted: tuple[str, ...], as_root: bool, uid_range: tuple[int, int],
               fixed: tuple[int, int] | None, engine: str, binds: tuple[str, ...],
               memory: str = "data", listable: tuple[str, ...] = ()
               ) -> tuple[Isolation, tuple[str, ...]]:
    """Try the wanted mechanisms together, then fewer of them, until the interpreter starts:
    each failure is put down to a mechanism by seeing which subset works (a uid that cannot
    read a 0700 venv is the uid's failure, not Landlock's)."""
    missing = [f"{name} (left out by sandbox.isolation)"
               for name, key in (("Landlock", "landlock"), ("namespaces", "namespaces"))
               if key not in wanted]
    offered: dict[str, dict] = {}
    if "namespaces" in wanted:
        offered["namespaces"] = {"namespaces": True, "userns": not as_root}
    if "landlock" in wanted:
        abi = landlock.abi_version()
        if abi:
            offered["landlock"] = {"landlock": abi}
        else:
            missing.append("Landlock (not offered by this kernel, or filtered)")
    if as_root:
        if "uid" in wanted:
            offered["uid"] = {"uid_range": (uid_range[0], uid_range[1])}
        elif fixed is not None:
            offered["uid"] = {"uid": fixed[0], "gid": fixed[1]}
    filter_missing = seccomp.available()
    base = {"seccomp": not filter_missing, "memory": memory}
    # the most mechanisms first; among as many, the strongest kept: namespaces (they hold
    # every attack of the red team alone), then a uid of its own, then Landlock
    names = [n for n in ("namespaces", "uid", "landlock") if n in offered]
    subsets = sorted((tuple(n for i, n in enumerate(names) if mask >> i & 1)
                      for mask in range(1 << len(names))),
                     key=lambda sub: (-len(sub), [n not in sub for n in names]))
    failures: dict[str, str] = {}
    candidate = Isolation(**base)
    for subset in subsets:
        candidate = Isolation(**base, **{k: v for n in subset for k, v in offered[n].items()})
        failure = _try(python, candidate, engine, binds, listable)
        if failure and base["seccomp"] and subset == tuple(names):
            alone = replace(candidate, seccomp=False)
            if not _try(python, alone, engine, binds, listable):  # the filter is what fails here
                filter_missing = f"the worker could not start with it: {failure}"
                base["seccomp"] = False
                candidate, failure = alone, ""
        if not failure:
            break
        for n in subset:
            failures.setdefault(n, failure)
    else:
        candidate = Isolation(**{**base, "seccomp": False})
    for n in names:
        if not _has(candidate, n):
            missing.append(_missing_text(n, failures.get(n, "")))
    notes = []
    what = candidate.describe()
    if what:
        notes.append(f"sandbox: workers run {what}")
    if candidate.seccomp:
        notes.append(f"sandbox: each worker has {seccomp.describe(deny_memfd=memory == 'address space')} "
                     "and a session keyring of its own")
    else:
        notes.append(f"sandbox: WARNING: no syscall filter ({filter_missing}): workers may use "
                     "the keyrings, bpf, ptrace, mounts and namespaces as far as the other "
                     "mechanisms allow")
    if as_root and not candidate.dropped and candidate.enforced:
        notes.append("sandbox: WARNING: workers run as uid 0 (the drop to a uid of their own "
                     "failed), without any capability")
    if not as_root:
        missing.append("a uid of the worker's own (the judge is not root: workers run as the "
                       "judge's user)")
    if missing:
        notes.append("sandbox: not enforced: " + "; ".join(missing))
    return candidate, tuple(notes)


def _has(isolation: Isolation, name: str) -> bool:
    return {"namespaces": isolation.namespaces, "landlock": bool(isolation.landlock),
            "uid": isolation.dropped}[name]


def _missing_text(name: str, failure: str) -> str:
    if name == "uid":
        return (f"a uid of the worker's own ({failure}; use a virtual environment that other "
                "users can read, e.g. made with the system python3 in a world-readable folder)")
    return f"{'Landlock' if name == 'landlock' else name} ({failure})"


def _try(python: str, isolation: Isolation, engine: str, binds: tuple[str, ...],
         listable: tuple[str, ...] = ()) -> str:
    """Start the interpreter in a sandbox like a worker's and import what a worker imports;
    '' when that works (and the worker runs as the uid it should), else why not."""
    from grader.sandbox.process import Sandbox  # the same code path as a real worker

    probe = ("import os, sys, numpy; sys.path.insert(0, %r); import grader.sandbox.worker; "
             "print('dlgrade-ok', os.getuid())" % engine)
    runtime = Runtime(python=python, isolation=isolation, engine=Path(engine), binds=binds,
                      listable=listable, limits={"core": 0}, home_mb=16)
    try:
        with Sandbox(runtime, "probe", b"") as box:
            proc = box.run([python, "-I", "-c", probe], timeout=60)
            expected = box.uid if box.uid is not None else os.geteuid()
    except (OSError, subprocess.SubprocessError) as err:
        return str(err)
    if f"dlgrade-ok {expected}".encode() in proc.stdout:
        return ""
    if b"dlgrade-ok" in proc.stdout:
        return f"the worker ran as {proc.stdout.split()[-1].decode(errors='replace')}, not {expected}"
    text = (proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()
    return (text[-1] if text else f"exit code {proc.returncode}")[:300]


def _engine_copy(ids: tuple[str, ...]) -> Path:
    """A fresh folder holding only what workers import (:mod:`grader.probe_files`: the worker,
    the codec, each exercise's probes and the helpers they declare; never the checkout, never
    hidden checks or references), readable by every user, writable by none but the judge."""
    folder = Path(tempfile.mkdtemp(prefix="dlgrade-engine-", dir=worker_tmp()))
    package = Path(ENGINE_ROOT)
    files = [*WORKER_FILES, *(f"grader/exercises/{ex}/{name}" for ex in ids
                              for name in probe_files(ex))]
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


def exercise_views(config: Config, viewer: Callable[[tuple[str, ...]], View]) -> dict[str, View]:
    """Each exercise's view, from ``viewer`` (:func:`worker_viewer`): what its workers may read
    (:mod:`grader.sandbox.view`: the system folders and the interpreter's prefixes without any
    package folder, the packages of its ``imports`` and the distributions they need, the engine
    copy)."""
    return {ex.id: viewer(ex.imports) for ex in config.exercises}


def worker_viewer(engine: Path) -> Callable[[tuple[str, ...]], View]:
    """The view of a worker whose code may import ``imports``, as a function of ``imports``:
    the roots of the view and the worker's package folders are read once, here."""
    roots, sites = _read_paths(engine), view.worker_sites()
    return lambda imports: view.exercise_view(tuple(imports), roots, sites)


def worker_view(imports: tuple[str, ...], engine: Path) -> View:
    """The view of a worker whose code may import ``imports``."""
    return worker_viewer(engine)(imports)


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
    """The folders and files a worker must not read: references and hidden checks (each
    exercise's other judge-only files, its oracles among them, are :func:`_judge_only`)."""
    dirs = [config.solutions] if config.solutions is not None else []
    return dirs, sorted(EXERCISES_DIR.glob("*/test_hidden*.py"))


def _judge_only(config: Config) -> list[Path]:
    """The exercises' folders: their oracles, golden cases and calibration never ship to
    students, and a worker under another uid that nothing else hides the checkout from must not
    read them either. Workers import the engine from their own copy, never from these folders,
    so the whole folder of each graded exercise goes root-only for the run."""
    return [EXERCISES_DIR / ex for ex in config.ids if (EXERCISES_DIR / ex).is_dir()]


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


@dataclass
class UidLease:
    """A uid held by one worker: the lock file stays open (and locked) while it runs."""

    uid: int
    fd: int

    def release(self) -> None:
        """Give the uid back, its keyrings emptied (a key left there is a channel to the next
        worker of that uid)."""
        if self.fd >= 0:
            keyring.clear_uid(self.uid)
            os.close(self.fd)  # closing drops the flock
            self.fd = -1


def lease_uid(first: int, last: int) -> UidLease:
    """A uid in ``[first, last]`` that no other worker holds (of this judge or another one on
    the machine), with no account in the password database and no process left."""
    locks = modes.shared_dir()
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
        keyring.clear_uid(uid)  # and its keys
        return UidLease(uid, fd)
    raise OSError(f"all {span} uids of sandbox.uid_range are in use")


def describe_spec(runtime: Runtime) -> str:
    """The isolation as one line of JSON (tests and the red-team table read it)."""
    iso = runtime.isolation
    return json.dumps({"landlock": iso.landlock, "namespaces": iso.namespaces,
                       "userns": iso.userns, "uid_range": iso.uid_range, "uid": iso.uid,
                       "seccomp": iso.seccomp, "memory": iso.memory, "none": iso.none})
