"""The red-team harness: grade adversarial submissions with a real judge and check the damage.

A :class:`Session` is one mode (the judge as root or as an unprivileged user through
``setpriv``, with which ``sandbox.isolation``): a scratch clone of the repository with its
``.git`` (``git clone --no-hardlinks``: what is committed is what is graded), a venv of its own
(hard links to the main venv's packages, in folders the judge's user owns: a CI runner's venv is
its own), a config copied from the clone's with short time limits, and each exercise's stub
graded once (the baseline; it also writes the bytecode caches a judge writes anyway). A
:class:`Pool` runs a mode's attacks in two lanes (two sessions) side by side.

:meth:`Session.run` grades one attack with ``<venv python> -m grader --config ... grade``
started from outside the repository with ``cwd=<clone>`` (so the clone's ``grader`` is imported:
checked once per session), a fresh ``TMPDIR`` and a secret in its environment, under
:mod:`tests.redteam.reaper` (a child subreaper: every process the run leaves behind ends up in
its tree), and checks:

- the judge exited with code 0, in time (a ``stall`` attack: within that many seconds of the
  stub's grading), and was never stopped; an attack that expects a ``refusal`` (no mechanism
  works in its configuration) instead: exit code 2, one line saying why, no score;
- results.json parses and lists the stub's checks (names, max_scores); its score is at most the
  stub's (unless the attack says ``score: any``); junit.xml parses;
- the secret (``DLGRADE_REDTEAM_SECRET``), ``REDTEAM-LEAK`` / ``REDTEAM-BREACH`` (what an attack
  says it achieved) and the decoys' tokens appear nowhere in results.json, junit.xml or the
  judge's output; the judge's output carries no ESC;
- no process left: nothing in the reaper's tree and nothing carrying the attack's marker (in its
  command line or environment) when the judge exits, and again 2 s later when anything was there
  (when nothing was, nothing can come later: every orphan lands in the tree;
  ``DLGRADE_REDTEAM_LINGER=1`` looks again after every run all the same); new processes of
  the session's own uids (its workers' range and, in user mode, its judge's uid: a slot of
  uids from 63000 that no other run uses) fail the attack in strict mode (``CI`` or
  ``DLGRADE_REDTEAM_STRICT=1``) and are noted otherwise;
- no file left: the judge's ``TMPDIR`` is empty; no new entry of /tmp, /var/tmp, /dev/shm carries
  the marker (strict mode: nor belongs to the session's uids);
- no key left (``no_keys``): ``/proc/keys`` shows none of the attack's keys;
- the checkout unchanged: every entry of the clone, ``.git`` included (path, type, size, mtime,
  mode, owner, link count, sha256); the venv's site-packages unchanged (every folder's entries,
  mtime, owner and mode, and the files at its top: a worker is never root, and the files below
  are root's, so adding, removing or renaming is all it could do); the submission unchanged;
- the attack's own checks (attacks.yml): listeners, results stable after the judge exits, the
  next grading unharmed, the held-out split, a canary, decoys.

A changed clone is restored from a pristine copy (root only) and a changed venv is made again
before the next attack, so an attack never sees another's damage.
"""

from __future__ import annotations

import collections
import concurrent.futures
import fcntl
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import yaml

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
INTAKE_DIR = Path(__file__).resolve().parent / "intake"
ATTACKS_DIR = HERE / "attacks"
TABLE = HERE / "attacks.yml"
REAPER = HERE / "reaper.py"
LIB = ATTACKS_DIR / "_lib.py"
HIDDEN_KFOLD = ATTACKS_DIR / "_kfold_hidden.py"  # a tampering attack's hidden implementation

# Each session has uids of its own (a slot of SLOT_UIDS from SLOT_BASE, held with a lock file):
# its workers' range (sandbox.uid_range) and, in user mode, the judge's uid (no account needed:
# setpriv takes a number). A strict scan then watches only its own session's uids, so the red
# team runs beside other suites that grade with the engine's default range (61000-61999).
SLOT_BASE, SLOT_UIDS, SLOTS = 63000, 100, 20
SLOT_LOCKS = "/run/dlgrade-redteam-slots"
FIXED_UID = os.environ.get("DLGRADE_REDTEAM_UID")  # the judge's uid in user mode, if fixed
HOME_MB = 16  # sandbox.home_mb in the harness config
MEMORY_MB = 1024  # sandbox.memory_mb in the harness config (the memory hogs aim past it)
FORBIDDEN = ("REDTEAM" + "-LEAK", "REDTEAM" + "-BREACH")
SECRET_VAR = "DLGRADE_REDTEAM_SECRET"
KNOWN_CHECKS = {"tcp_listener", "udp_listener", "unix_listener", "results_stable", "next_correct",
                "next_stub", "heldout_differs", "canary_intact", "decoy_home", "decoy_process",
                "judge_keyring", "no_keys"}
SCRATCH = Path(os.environ.get("DLGRADE_REDTEAM_TMP", tempfile.gettempdir()))
UID_LOCK_DIRS = ("/run/dlgrade-uids", "/tmp/dlgrade-uids")  # the engine's uid leases
MARKERS: set[str] = set()  # every attack's marker in this process (lanes run side by side)


def jobs() -> int:
    """Lanes per mode: ``DLGRADE_REDTEAM_JOBS``, else 2 where there are 2 cores or more."""
    value = os.environ.get("DLGRADE_REDTEAM_JOBS")
    return max(1, int(value)) if value else (2 if (os.cpu_count() or 1) >= 2 else 1)


class HarnessError(RuntimeError):
    """The harness itself could not run (not a verdict on the engine)."""


def strict() -> bool:
    """``DLGRADE_REDTEAM_STRICT=1`` or ``0`` when set, else whether ``CI`` is set. Strict mode
    watches only the session's own uids, markers and files, so other suites may grade beside
    it (``make test`` runs it so)."""
    value = os.environ.get("DLGRADE_REDTEAM_STRICT")
    if value is not None:
        return value not in ("", "0")
    return bool(os.environ.get("CI"))


# -- attacks ------------------------------------------------------------------------------------

def own_markers(files: dict[str, bytes], fixed: tuple[str, ...], run: str) -> dict[str, bytes]:
    """``files`` with each ``fixed`` marker (a first-round source's, e.g. the escapee's
    ``dlgrade-escapee-marker``) made ``<fixed>-<run>``: processes of this run carry a marker
    no run beside it uses. A marker missing from every file is an error of the table."""
    for marker in fixed:
        if not any(marker.encode() in data for data in files.values()):
            raise HarnessError(f"marker {marker!r} is not in the source")
        own = f"{marker}-{run}".encode()
        files = {name: data.replace(marker.encode(), own) for name, data in files.items()}
    return files


@dataclass(frozen=True)
class Attack:
    name: str
    exercise: str
    group: str
    threat: str
    defence: str
    source: str | None = None
    base: str | None = None
    score: str = "stub"
    checks: tuple[str, ...] = ()
    must_lose: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    timeout: float = 120.0
    smoke: bool = False  # in the subset `make test` runs
    isolation: tuple[str, ...] | None = None  # sandbox.isolation for this attack only
    private: bool = False  # as root: the session's folder (checkout, venv) mode 0700 meanwhile
    expect: str = "graded"  # or "refusal": the judge must refuse to grade (fail closed)
    stall: float | None = None  # the judge may take at most this many seconds more than the stub
    like: str | None = None  # grade the file of that attack (another configuration of it)

    @property
    def file(self) -> Path | None:
        return None if self.source else ATTACKS_DIR / (self.like or self.name) / f"{self.exercise}.py"


def load_attacks(path: Path = TABLE) -> list[Attack]:
    raw = yaml.safe_load(path.read_text())["attacks"]
    attacks = []
    for entry in raw:
        entry = dict(entry)
        for key in ("checks", "must_lose", "markers"):
            entry[key] = tuple(entry.get(key, ()))
        if entry.get("isolation") is not None:
            entry["isolation"] = tuple(entry["isolation"])
        if "source" not in entry:
            entry.setdefault("base", "stub")
        attacks.append(Attack(**entry))
    return attacks


# -- modes --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mode:
    """How the judge runs: as root or as the unprivileged user, with which isolation."""

    name: str
    user: bool  # the judge as the unprivileged user (setpriv)
    isolation: tuple[str, ...] | None = None  # None: the engine's default
    label: str = ""


MODES = {m.name: m for m in (
    Mode("root", False, None, "root, all mechanisms"),
    Mode("user", True, None, "normal user, all mechanisms"),
    Mode("root-uid", False, ("uid",), "root, uid only (Docker without namespaces)"),
    Mode("user-landlock-namespaces", True, ("landlock", "namespaces"),
         "normal user, Landlock + namespaces"),
    Mode("user-landlock", True, ("landlock",), "normal user, Landlock only"),
    Mode("user-namespaces", True, ("namespaces",), "normal user, namespaces only"),
    Mode("user-none", True, ("none",), "normal user, sandbox.isolation: none"),
    Mode("root-landlock-uid", False, ("landlock", "uid"), "root, uid + Landlock (a container)"),
)}


def skip_reason() -> str | None:
    """Why the red-team suite cannot run here (None: it can)."""
    if os.geteuid() != 0:
        return ("the red-team suite runs judges as root and as an unprivileged user "
                "(setpriv): run it as root (CI does)")
    if not shutil.which("git") or not shutil.which("setpriv"):
        return "git and setpriv are needed"
    if not Path("/usr/bin/python3").exists():
        return "the overlay venv of user mode is made with /usr/bin/python3"
    return None


# -- outcome ------------------------------------------------------------------------------------

@dataclass
class Outcome:
    attack: str
    mode: str
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    score: float | None = None
    stub_score: float | None = None
    notices: str = ""
    run_dir: str = ""

    @property
    def held(self) -> bool:
        return not self.failures

    def fail(self, text: str) -> None:
        self.failures.append(text)

    def summary(self) -> str:
        lines = [f"{self.attack} [{self.mode}]: {'held' if self.held else 'FAILED'} "
                 f"(score {self.score} vs stub {self.stub_score}, {self.seconds:.1f} s)"]
        lines += [f"  - {f}" for f in self.failures]
        lines += [f"  . {n}" for n in self.notes]
        if self.notices:
            lines.append("  notices: " + self.notices.replace("\n", " | ")[:600])
        return "\n".join(lines)


@dataclass(frozen=True)
class Graded:
    """What one judge run produced (parsed)."""

    run_dir: Path
    returncode: int | None
    timed_out: bool
    stopped: bool
    seconds: float
    results: dict | None
    results_error: str
    junit_error: str
    stdout: bytes
    stderr: bytes
    report: dict  # the reaper's entry for this run

    @property
    def score(self) -> float | None:
        if not isinstance(self.results, dict):
            return None
        try:
            return float(self.results.get("score", 0))
        except (TypeError, ValueError):
            return None

    @property
    def tests(self) -> list[dict]:
        tests = (self.results or {}).get("tests") if isinstance(self.results, dict) else None
        return [t for t in tests if isinstance(t, dict)] if isinstance(tests, list) else []

    def checks(self) -> list[tuple[str, float]]:
        return sorted((str(t.get("name")), round(float(t.get("max_score", 0)), 4))
                      for t in self.tests)

    def text(self) -> str:
        parts = [self.stdout.decode(errors="replace"), self.stderr.decode(errors="replace")]
        for name in ("results.json", "junit.xml"):
            try:
                parts.append((self.run_dir / "results" / name).read_text(errors="replace"))
            except OSError:
                pass
        return "\n".join(parts)


# -- snapshots ------------------------------------------------------------------------------------

def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def snapshot_tree(root: Path, *, hashes: bool = True, skip: tuple[str, ...] = ()) -> dict[str, tuple]:
    """Every entry under ``root`` but the top-level ``skip`` ones: path -> (type, size,
    mtime_ns, mode, owner, links, sha256 | link target)."""
    out: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        if folder == str(root):
            dirs[:] = [d for d in dirs if d not in skip]
            files = [f for f in files if f not in skip]
        for name in dirs + files:
            path = Path(folder) / name
            try:
                st = path.lstat()
            except OSError:
                continue
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_uid)
            elif stat.S_ISREG(st.st_mode):
                digest = _sha(path) if hashes else ""
                out[rel] = ("file", st.st_size, st.st_mtime_ns, stat.S_IMODE(st.st_mode),
                            st.st_uid, st.st_nlink, digest)
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode))
    return out


def snapshot_site(root: Path) -> dict[str, tuple]:
    """site-packages, fast: each folder's (mtime, owner, mode, names) and each top-level file's
    (size, mtime, mode, owner). Every file below belongs to root, and a worker is never root:
    what it can do there is add, remove or rename entries, which moves its folder's mtime and
    names. An added ``.pth``, module, plugin or ``__pycache__`` entry shows up by name."""
    out: dict[str, tuple] = {}
    top = str(root)
    cut = len(top) + 1  # relative paths by slicing: os.path.relpath made this 2x slower
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            st = os.lstat(folder)
            names = []
            with os.scandir(folder) as entries:
                for entry in entries:
                    names.append(entry.name)
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif folder == top:
                        est = entry.stat(follow_symlinks=False)
                        out[entry.name] = (est.st_size, est.st_mtime_ns,
                                           stat.S_IMODE(est.st_mode), est.st_uid)
        except OSError:
            continue
        rel = "." if folder == top else folder[cut:]
        out[rel + "/"] = (st.st_mtime_ns, st.st_uid, stat.S_IMODE(st.st_mode), tuple(sorted(names)))
    return out


def diff_site(before: dict, after: dict, limit: int = 8) -> list[tuple[str, str]]:
    """(what, path) for each entry added, removed or changed between two :func:`snapshot_site`."""
    changes: list[tuple[str, str]] = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key.endswith("/"):
            if not (old and new):
                continue  # a folder added or removed whole is reported by its parent
            base = "" if key == "./" else key.rstrip("/")
            added = sorted(set(new[3]) - set(old[3]))
            removed = sorted(set(old[3]) - set(new[3]))
            changes += [("new", os.path.join(base, n)) for n in added]
            changes += [("removed", os.path.join(base, n)) for n in removed]
            if not added and not removed and old[:3] != new[:3]:
                changes.append(("changed", key))
        else:
            changes.append(("new" if old is None else "removed" if new is None else "changed", key))
    return list(dict.fromkeys(changes))


def diff(before: dict, after: dict, limit: int = 8) -> list[str]:
    changes = [f"new {p}" for p in sorted(after.keys() - before.keys())]
    changes += [f"removed {p}" for p in sorted(before.keys() - after.keys())]
    changes += [f"changed {p}" for p in sorted(before.keys() & after.keys())
                if before[p] != after[p]]
    if len(changes) > limit:
        changes = changes[:limit] + [f"... {len(changes) - limit} more"]
    return changes


SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")


def list_shared_tmp() -> dict[str, int]:
    out = {}
    for folder in SHARED_TMP:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            try:
                out[os.path.join(folder, name)] = os.lstat(os.path.join(folder, name)).st_uid
            except OSError:
                pass
    return out


# -- listeners --------------------------------------------------------------------------------------

class Listeners:
    """TCP, UDP and abstract unix listeners on 127.0.0.1 / the abstract namespace; they record
    every connection or datagram (and answer UDP, so that a sender can tell it got through)."""

    def __init__(self, marker: str) -> None:
        self.events: list[str] = []
        self._stop = threading.Event()
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix_name = f"dlgrade-redteam-{marker}"
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind("\0" + self.unix_name)
        self.unix.listen(8)
        self.tcp_port = self.tcp.getsockname()[1]
        self.udp_port = self.udp.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept, args=(s, k), daemon=True)
                         for s, k in ((self.tcp, "tcp"), (self.unix, "unix"))]
        self._threads.append(threading.Thread(target=self._datagrams, daemon=True))
        for t in self._threads:
            t.start()

    def _accept(self, sock: socket.socket, kind: str) -> None:
        sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            self.events.append(f"{kind} connection")
            conn.close()

    def _datagrams(self) -> None:
        self.udp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                _, addr = self.udp.recvfrom(4096)
            except OSError:
                continue
            self.events.append("udp datagram")
            try:
                self.udp.sendto(b"pong", addr)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        for s in (self.tcp, self.udp, self.unix):
            s.close()

    def got(self, kind: str) -> list[str]:
        return [e for e in self.events if e.startswith(kind)]


# -- the session ------------------------------------------------------------------------------------

def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.lchown(root, uid, gid)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, gid)


class Registry:
    """The reapers and decoy processes running now (a few per lane at most), in a file each
    reaper reads: in strict mode a reaper does not count another lane's processes as its own
    run's leftovers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pids: set[int] = set()
        fd, name = tempfile.mkstemp(prefix="redteam-reapers-", dir=SCRATCH)
        os.close(fd)
        self.path = Path(name)

    def _write(self) -> None:
        self.path.write_text("".join(f"{p}\n" for p in sorted(self._pids)))

    def add(self, pid: int) -> None:
        with self._lock:
            self._pids.add(pid)
            self._write()

    def remove(self, pid: int) -> None:
        with self._lock:
            self._pids.discard(pid)
            self._write()

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


class Session:
    """Everything one mode needs: a clone, a config, an interpreter, the stubs' baselines."""

    def __init__(self, mode: Mode, *, keep: bool = False, template: Session | None = None,
                 registry: Registry | None = None) -> None:
        """A new session; with ``template`` (a warmed session of the same mode), another lane:
        a copy of its pristine clone (bytecode caches and all) sharing its stub baselines."""
        self.mode = mode
        self.keep = keep or bool(os.environ.get("DLGRADE_REDTEAM_KEEP"))
        base, self._slot_fd = take_slot()
        self.worker_uids = (base, base + SLOT_UIDS - 2)  # this session's sandbox.uid_range
        judge = int(FIXED_UID) if FIXED_UID else base + SLOT_UIDS - 1
        self.uid = judge if mode.user else 0
        self.gid = judge if mode.user else 0
        self.dir = Path(tempfile.mkdtemp(prefix=f"redteam-{mode.name}-", dir=SCRATCH))
        self.dir.chmod(0o711)  # the judge user may pass through, nobody may list it
        self.private = self.dir / "private"  # root only: pristine copies
        self.private.mkdir(mode=0o700)
        self.clone = self.dir / "clone"
        self.pristine = self.private / "clone"
        self.main_python = Path(sys.executable)
        self.main_site = Path(sysconfig.get_paths()["purelib"])
        self.venv = self.clone / ".venv"  # where `make` puts it: inside the checkout
        self.secret = secrets.token_hex(16)
        self.stubs: dict[str, Graded] = template.stubs if template else {}
        self._own_registry = registry is None and template is None
        self.registry = registry or (template.registry if template else Registry())
        self.runs = 0
        self.setup_seconds = 0.0
        self.last_clone: dict | None = None  # the last run's "after" snapshots (see _tree_checks)
        self.last_site: dict | None = None
        started = time.monotonic()
        try:
            if template is None:
                self._make_clone()
            else:
                subprocess.run(["cp", "-a", str(template.pristine), str(self.clone)], check=True)
                if mode.user:  # this session's judge owns its checkout
                    _chown_tree(self.clone, self.uid, self.gid)
                self.commit = template.commit
            self._make_venv()
            self._write_config()
            self._check_engine()
            if template is None:
                self._compile()
            self._save_pristine()
        except BaseException:
            self.close()
            raise
        self.setup_seconds = time.monotonic() - started

    # set-up --------------------------------------------------------------------------------
    def _make_clone(self) -> None:
        proc = subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(self.clone)],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise HarnessError(f"git clone failed: {proc.stderr.strip()}")
        if os.environ.get("DLGRADE_REDTEAM_WORKTREE"):
            self._overlay_worktree()
        self.commit = subprocess.run(["git", "-C", str(self.clone), "rev-parse", "--short", "HEAD"],
                                     capture_output=True, text=True).stdout.strip()
        # world-readable whatever the umask (the judge user, a worker uid must read it)
        for folder, dirs, files in os.walk(self.clone):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)
            for name in files:
                p = os.path.join(folder, name)
                os.chmod(p, os.stat(p).st_mode | 0o444 | (0o111 if os.access(p, os.X_OK) else 0))
        if self.mode.user:  # a CI runner's user owns its checkout; so does a student
            _chown_tree(self.clone, self.uid, self.gid)

    def _overlay_worktree(self) -> None:
        """``DLGRADE_REDTEAM_WORKTREE=1``: grade the working tree's engine, references and stubs
        (uncommitted changes included), committed in the clone so that its .git holds them too.
        For developing the engine; CI grades what is committed."""
        paths = ["grader", "solutions", "assignments", "autograder.yml", "pyproject.toml"]
        git = ["git", "-C", str(REPO), "ls-files", "-z", "--exclude-standard"]
        changed = subprocess.run([*git, "-m", "-o", "--", *paths], capture_output=True,
                                 check=True).stdout.split(b"\0")
        deleted = subprocess.run([*git, "-d", "--", *paths], capture_output=True,
                                 check=True).stdout.split(b"\0")
        for rel in filter(None, (p.decode() for p in deleted)):
            (self.clone / rel).unlink(missing_ok=True)
        for rel in filter(None, (p.decode() for p in changed)):
            if "__pycache__" in rel or not (REPO / rel).is_file():
                continue
            (self.clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, self.clone / rel)
        subprocess.run(["git", "-C", str(self.clone), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(self.clone), "-c", "user.name=redteam", "-c",
                        "user.email=redteam@localhost", "commit", "-q", "--allow-empty", "-m",
                        "the working tree of " + str(REPO)], check=True)

    def _make_venv(self) -> None:
        """The session's venv: its site-packages holds the main venv's packages as hard links
        (root's files) in folders of its own. As a normal user those folders are the user's,
        as a CI runner's or a student's venv is: it can add and replace files there. As root it
        keeps attacks away from the main venv, should a worker ever run as root. The editable
        install of dlgrade is left out: the judge imports the clone's grader from its cwd."""
        shutil.rmtree(self.venv, ignore_errors=True)
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(self.venv)],
                       check=True, capture_output=True, timeout=120)
        site = Path(subprocess.run([str(self.venv / "bin" / "python"), "-c",
                                    "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip())
        link = os.stat(self.main_site).st_dev == os.stat(site).st_dev
        for entry in os.scandir(self.main_site):
            if entry.name.startswith(("__editable__", "dlgrade-")):
                continue  # (another file system: a full copy, slower)
            subprocess.run(["cp", "-al" if link else "-a", entry.path, str(site / entry.name)],
                           check=True)
        self.site = site
        if self.mode.user:
            os.lchown(self.venv, self.uid, self.gid)
            for folder, dirs, _ in os.walk(self.venv):
                for name in dirs:  # folders only: the files are the main venv's inodes
                    os.lchown(os.path.join(folder, name), self.uid, self.gid)

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def site_dirs(self) -> list[Path]:
        """The packages the judge imports (the session's venv), and the main venv's as root: a
        worker that ends up running as root (an engine that cannot drop privileges) must not
        reach them, and if it does the test says so."""
        return [self.site] if self.mode.user else [self.site, self.main_site]

    def _write_config(self) -> None:
        raw = yaml.safe_load((self.clone / "autograder.yml").read_text())
        raw["solutions"] = str(self.clone / "solutions")
        raw["assignments"] = str(self.clone / "assignments")
        sandbox = raw.setdefault("sandbox", {}) or {}
        raw["sandbox"] = sandbox
        sandbox["home_mb"] = HOME_MB
        sandbox["memory_mb"] = MEMORY_MB
        sandbox["uid_range"] = list(self.worker_uids)
        if self.mode.isolation is not None:
            sandbox["isolation"] = list(self.mode.isolation)
        ex = raw["exercises"]
        fast = {"kfold": {"time_limit": 8, "call_timeout": 2},
                "param_count": {"time_limit": 30, "call_timeout": 10}}
        for name, values in fast.items():
            if name in ex:
                ex[name].update(values)
        ae = (ex.get("autoencoder") or {}).get("settings")
        if isinstance(ae, dict) and "cpu_epochs" in ae:
            ae["cpu_epochs"] = 10  # the autoencoder attacks need a trained model, not a good one
        folder = self.dir / "config"
        folder.mkdir(mode=0o755)
        self.config = folder / "autograder.yml"
        self.config.write_text(yaml.safe_dump(raw, sort_keys=False))
        self.config.chmod(0o644)
        self.config_raw = raw

    def attack_config(self, attack: Attack, run: Path) -> Path:
        """The config an attack is graded with: the session's, or with its own isolation."""
        if attack.isolation is None:
            return self.config
        raw = {**self.config_raw, "sandbox": {**self.config_raw["sandbox"],
                                              "isolation": list(attack.isolation)}}
        path = run / "autograder.yml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        path.chmod(0o644)
        return path

    def judge_prefix(self) -> list[str]:
        if not self.mode.user:
            return []
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", "--"]

    def _as_judge(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.dir)}
        return subprocess.run([*self.judge_prefix(), *argv], cwd=self.clone, env=env,
                              capture_output=True, text=True, **kwargs)

    def _check_engine(self) -> None:
        """The clone's grader is the one the judge imports."""
        proc = self._as_judge([str(self.python), "-c", "import grader; print(grader.__file__)"],
                              timeout=120)
        where = proc.stdout.strip()
        if proc.returncode != 0 or not where.startswith(str(self.clone) + "/"):
            raise HarnessError(f"the judge would not import the clone's grader: {where!r} "
                               f"{proc.stderr.strip()[-500:]}")
        self.engine_file = where

    def _compile(self) -> None:
        """Write the bytecode caches the judge would write anyway (as the judge's user), so that
        the checkout's snapshot only moves when an attack moves it."""
        # not the checks: pytest writes their caches (rewritten, named *-pytest-*.pyc) itself
        self._as_judge([str(self.python), "-m", "compileall", "-q", "-x", r"/test_[^/]*\.py$",
                        str(self.clone / "grader")], timeout=300)

    def _save_pristine(self) -> None:
        """A root-only copy of the clone (its .venv aside: the venv has its own snapshot)."""
        shutil.rmtree(self.pristine, ignore_errors=True)
        self.pristine.mkdir()
        shutil.copystat(self.clone, self.pristine)
        os.chown(self.pristine, self.clone.stat().st_uid, self.clone.stat().st_gid)
        entries = [str(p) for p in self.clone.iterdir() if p.name != ".venv"]
        subprocess.run(["cp", "-a", *entries, str(self.pristine)], check=True)

    def restore_clone(self) -> None:
        for path in self.clone.iterdir():
            if path.name != ".venv":
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        entries = [str(p) for p in self.pristine.iterdir()]
        subprocess.run(["cp", "-a", *entries, str(self.clone)], check=True)
        shutil.copystat(self.pristine, self.clone)

    def close(self) -> None:
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self._own_registry:
            self.registry.close()
        if getattr(self, "_slot_fd", None) is not None:
            os.close(self._slot_fd)
            self._slot_fd = None

    @property
    def watched_uids(self) -> set[int]:
        """The uids only this session's judges and workers use."""
        uids = set(range(self.worker_uids[0], self.worker_uids[1] + 1))
        return uids | ({self.uid} if self.mode.user else set())

    # runs ------------------------------------------------------------------------------------
    def _run_dir(self, label: str) -> Path:
        self.runs += 1
        run = self.dir / "runs" / f"{self.runs:03d}-{label}"
        run.mkdir(parents=True)
        run.chmod(0o755)
        for sub in ("results", "tmp"):
            (run / sub).mkdir()
            os.chown(run / sub, self.uid, self.gid)
        # as root, the folders of a Gradescope-like machine: results 0755, TMPDIR like /tmp
        (run / "results").chmod(0o700 if self.mode.user else 0o755)
        (run / "tmp").chmod(0o700 if self.mode.user else 0o1777)
        (run / "submission").mkdir(mode=0o755)
        return run

    def judge_env(self, run: Path) -> dict[str, str]:
        home = self.dir / "judge-home"
        if not home.exists():
            home.mkdir(mode=0o700)
            os.chown(home, self.uid, self.gid)
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(home),
                "TMPDIR": str(run / "tmp"), SECRET_VAR: self.secret}

    def judge_run(self, run: Path, exercise: str, timeout: float,
                  config: Path | None = None) -> dict:
        results = run / "results"
        argv = [*self.judge_prefix(), str(self.python), "-m", "grader", "--config",
                str(config or self.config),
                "grade", str(run / "submission"), "--exercises", exercise,
                "--results", str(results / "results.json"), "--junit", str(results / "junit.xml")]
        return {"argv": argv, "cwd": str(self.clone), "env": self.judge_env(run),
                "stdout": str(run / "stdout.txt"), "stderr": str(run / "stderr.txt"),
                "timeout": timeout,
                "files": [str(results / "results.json"), str(results / "junit.xml")]}

    def reap(self, spec: dict, budget: float) -> dict:
        spec = {**spec, "others_file": str(self.registry.path)}
        proc = subprocess.Popen([str(self.main_python), str(REAPER)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.registry.add(proc.pid)
        try:
            stdout, stderr = proc.communicate(json.dumps(spec), timeout=budget + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise HarnessError("the reaper did not finish") from None
        finally:
            self.registry.remove(proc.pid)
        if proc.returncode != 0:
            raise HarnessError(f"the reaper failed: {stderr[-2000:]}")
        return json.loads(stdout)

    def parse(self, run: Path, report: dict) -> Graded:
        results, results_error = None, ""
        try:
            results = json.loads((run / "results" / "results.json").read_text())
            if not isinstance(results, dict) or not isinstance(results.get("tests"), list):
                results_error = "results.json has no list of tests"
        except FileNotFoundError:
            results_error = "no results.json"
        except (OSError, ValueError) as err:
            results_error = f"results.json does not parse: {err}"
        junit_error = ""
        try:
            ET.parse(run / "results" / "junit.xml")
        except FileNotFoundError:
            junit_error = "no junit.xml"
        except (OSError, ET.ParseError) as err:
            junit_error = f"junit.xml does not parse: {err}"
        read = lambda p: p.read_bytes() if p.exists() else b""  # noqa: E731
        return Graded(run, report.get("returncode"), bool(report.get("timed_out")),
                      bool(report.get("stopped")), float(report.get("seconds", 0)), results,
                      results_error, junit_error, read(run / "stdout.txt"),
                      read(run / "stderr.txt"), report)

    def stub(self, exercise: str) -> Graded:
        """The stub's grading in this mode (once per exercise; it also warms the caches)."""
        if exercise not in self.stubs:
            run = self._run_dir(f"stub-{exercise}")
            shutil.copy(self.clone / "assignments" / f"{exercise}.py", run / "submission")
            report = self.reap({"runs": [self.judge_run(run, exercise, 300)]}, 300)
            graded = self.parse(run, report["runs"][0])
            if graded.returncode != 0 or graded.results_error or not graded.tests:
                raise HarnessError(f"the stub of {exercise} does not grade in mode "
                                   f"{self.mode.name}: exit {graded.returncode}, "
                                   f"{graded.results_error}; {graded.stderr[-1500:]!r}")
            self.stubs[exercise] = graded
            self._save_pristine()  # with the caches this run wrote
            self.last_clone, self.last_site = None, None
        return self.stubs[exercise]

    def source_text(self, attack: Attack, values: dict[str, str]) -> dict[str, bytes]:
        """The submission's files: ``{name: bytes}``."""
        if attack.source:
            # a first-round source names its processes with a fixed marker: made this run's own,
            # so a run beside it (another lane, tests/test_bad_submissions.py) is not taken for
            # this attack's leftover, nor this attack's for theirs
            folder = REPO / attack.source
            if folder.parent == INTAKE_DIR:  # the intake's bombs are made, not kept
                from tests.redteam.intake.make import files as intake_files

                files = intake_files(folder.name)
            else:
                files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
            return own_markers(files, attack.markers, values["MARKER"])
        text = attack.file.read_text()
        text = text.replace("# {{LIB}}", LIB.read_text())
        text = text.replace("# {{HIDDEN_KFOLD}}", HIDDEN_KFOLD.read_text())
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        # {{REPEAT:text:count}}: a long text without a long file in the repository
        text = re.sub(r"\{\{REPEAT:([^:}]*):(\d+)\}\}", lambda m: m.group(1) * int(m.group(2)),
                      text)
        leftover = re.findall(r"\{\{[A-Z_]+\}\}", text)
        if leftover:
            raise HarnessError(f"{attack.name}: unknown template keys {sorted(set(leftover))}")
        if attack.base:
            folder = "assignments" if attack.base == "stub" else "solutions"
            base = (self.clone / folder / f"{attack.exercise}.py").read_text()
            text = base.rstrip() + "\n\n\n" + text
        return {f"{attack.exercise}.py": text.encode()}

    # one attack ------------------------------------------------------------------------------
    def run(self, attack: Attack) -> Outcome:
        started = time.monotonic()
        out = Outcome(attack.name, self.mode.name)
        unknown = set(attack.checks) - KNOWN_CHECKS
        if unknown:
            raise HarnessError(f"{attack.name}: unknown checks {sorted(unknown)}")
        stub = self.stub(attack.exercise)
        out.stub_score = stub.score
        marker = "rt" + secrets.token_hex(6)
        decoy = "dc" + secrets.token_hex(6)  # another worker's: not the attack's marker
        MARKERS.update((marker, decoy))
        run = self._run_dir(attack.name)
        out.run_dir = str(run)
        canary = run / "canary.txt"
        canary_text = f"canary {marker}\n"
        canary.write_text(canary_text)
        os.chown(canary, self.uid, self.gid)  # the judge could overwrite it: it must not
        listeners = Listeners(marker)
        decoys: list[Path] = []
        decoy_tokens: list[str] = []
        decoy_proc = None
        leases: list[int | None] = []
        try:
            values = {"MARKER": marker, "RESULTS_DIR": str(run / "results"),
                      "SESSION_DIR": str(self.dir), "TCP_PORT": str(listeners.tcp_port),
                      "UDP_PORT": str(listeners.udp_port), "UNIX_NAME": listeners.unix_name,
                      "CANARY": str(canary), "HOME_MB": str(HOME_MB), "DECOY": decoy,
                      "MEMORY_MB": str(MEMORY_MB)}
            for name, data in self.source_text(attack, values).items():
                (run / "submission" / name).write_bytes(data)
                (run / "submission" / name).chmod(0o644)
            if "decoy_home" in attack.checks or "decoy_process" in attack.checks:
                other_uid, lease = ((self.uid, None) if self.mode.user
                                    else lease_decoy_uid(self.worker_uids))
                leases.append(lease)
                for parent in (run / "tmp", Path("/tmp")):
                    home = parent / f"dlgrade-{attack.exercise}-decoy{decoy}"
                    home.mkdir(mode=0o700)
                    token = "DECOY" + secrets.token_hex(8)
                    (home / f"{attack.exercise}.py").write_text(
                        f"# another student's submission {token}\n")
                    _chown_tree(home, other_uid, other_uid)
                    decoys.append(home)
                    decoy_tokens.append(token)
            if "decoy_process" in attack.checks:
                decoy_proc = subprocess.Popen(
                    ["/usr/bin/python3", "-c", "import time; time.sleep(600)",
                     "grader.sandbox.worker", f"dlgrade-redteam-decoy-{decoy}"],
                    cwd=decoys[0], user=other_uid, group=other_uid, extra_groups=[],
                    env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                self.registry.add(decoy_proc.pid)  # another lane's strict scan must skip it

            clone_before = self.last_clone or snapshot_tree(self.clone, skip=(".venv",))
            site_before = self.last_site or {str(d): snapshot_site(d) for d in self.site_dirs}
            self.last_clone, self.last_site = None, None  # until this run's are checked
            sub_before = snapshot_tree(run / "submission")
            tmp_before = list_shared_tmp()

            runs = [self.judge_run(run, attack.exercise, attack.timeout,
                                   self.attack_config(attack, run))]
            follow: list[tuple[str, Path]] = []
            for check, source in (("next_correct", self.clone / "solutions" / "kfold.py"),
                                  ("next_stub", self.clone / "assignments" / "kfold.py")):
                if check in attack.checks:
                    nrun = self._run_dir(f"{attack.name}-{check}")
                    shutil.copy(source, nrun / "submission" / "kfold.py")
                    runs.append(self.judge_run(nrun, "kfold", 120))
                    follow.append((check, nrun))
            ranges = [list(self.worker_uids)] + ([[self.uid, self.uid]] if self.mode.user else [])
            spec = {"runs": runs, "markers": [marker],  # a source's markers now contain it
                    "watch_s": 3 if "results_stable" in attack.checks else 0, "linger_s": 2,
                    "always_linger": bool(os.environ.get("DLGRADE_REDTEAM_LINGER")),
                    "scan_uids": ranges,
                    "ignore_pids": [decoy_proc.pid] if decoy_proc else []}
            if "judge_keyring" in attack.checks:  # the judge's session holds a secret key
                spec["keyring"] = {"name": f"dlgrade-redteam-{marker}", "payload": self.secret,
                                   "owner": self.uid}
            private = attack.private and not self.mode.user
            if private:  # an instructor's home: no worker uid can enter the checkout or venv
                self.dir.chmod(0o700)
            try:
                report = self.reap(spec, sum(r["timeout"] for r in runs) + 10)
            finally:
                if private:
                    self.dir.chmod(0o711)
            graded = self.parse(run, report["runs"][0])
            out.score = graded.score
            out.notices = str((graded.results or {}).get("output", ""))[:2000] \
                if isinstance(graded.results, dict) else ""
            if attack.expect == "refusal":
                self._refusal_checks(graded, out, [self.secret, *decoy_tokens])
            else:
                self._judge_checks(attack, graded, stub, out, [self.secret, *decoy_tokens])
            self._leftover_checks(graded.report, out)
            if "no_keys" in attack.checks:
                self._key_checks(marker, out)
            for i, (check, nrun) in enumerate(follow, start=1):
                self._follow_check(check, self.parse(nrun, report["runs"][i]), out)
            if decoys:
                for home in decoys:
                    shutil.rmtree(home, ignore_errors=True)
            self._file_checks(run, follow, tmp_before, marker, out)
            self._extra_checks(attack, graded, listeners, canary, canary_text, decoy_proc, out)
            self._tree_checks(clone_before, site_before, sub_before, run, out)
        finally:
            listeners.close()
            if decoy_proc is not None:
                decoy_proc.kill()
                decoy_proc.wait()
                self.registry.remove(decoy_proc.pid)
            for home in decoys:
                shutil.rmtree(home, ignore_errors=True)
            for fd in leases:
                if fd is not None:
                    os.close(fd)
            shutil.rmtree(run / "submission", ignore_errors=True)
            run.chmod(0o700)
        out.seconds = time.monotonic() - started
        return out

    # the checks ----------------------------------------------------------------------------
    def _refusal_checks(self, graded: Graded, out: Outcome, secrets_: list[str]) -> None:
        """Fail closed: no mechanism works in this configuration, so the judge must refuse to
        grade (exit 2, one line saying why and how to fix it), and the results file it writes
        says it could not run and pays nothing."""
        stderr = graded.stderr.decode(errors="replace").strip().splitlines()
        if graded.timed_out or graded.returncode != 2:
            out.fail(f"the judge did not refuse: exit {graded.returncode} "
                     f"({' | '.join(stderr[-2:])[:300]})")
        elif len(stderr) != 1 or "no sandbox mechanism works here" not in stderr[0]:
            out.fail(f"the refusal is not one line saying why: {stderr[-3:]!r}"[:500])
        if isinstance(graded.results, dict) and (graded.score or graded.tests
                                                 or "could not run" not in
                                                 str(graded.results.get("output"))):
            out.fail(f"results.json after a refusal: {str(graded.results)[:300]}")
        text = graded.text()
        for needle in (*FORBIDDEN, *secrets_):
            if needle and needle in text:
                out.fail("the attack ran: its report reached the judge's output")

    def _key_checks(self, marker: str, out: Outcome) -> None:
        """No key the attack made is left in the kernel (``/proc/keys``: the attack opens its
        keys' permissions, so that root sees them there as any later worker would)."""
        try:
            with open("/proc/keys") as f:
                left = [line.strip() for line in f if marker in line]
        except OSError:
            return
        if left:
            out.fail(f"{len(left)} key(s) left in the kernel's keyrings: {left[:2]}")
            sys.path.insert(0, str(REPO))
            from grader.sandbox import keyring  # remove them for the next attack

            for uid in self.watched_uids:
                keyring.clear_uid(uid)

    def _judge_checks(self, attack: Attack, graded: Graded, stub: Graded, out: Outcome,
                      secrets_: list[str]) -> None:
        if graded.timed_out:
            out.fail(f"the judge did not finish within {attack.timeout:g} s")
        if graded.stopped:
            out.fail("the judge was stopped (SIGSTOP or a tracer) during grading")
        if attack.stall is not None and graded.seconds > stub.seconds + attack.stall:
            out.fail(f"the judge took {graded.seconds:.1f} s, the stub {stub.seconds:.1f} s: "
                     f"more than {attack.stall:g} s over (a stall)")
        if graded.returncode != 0:
            tail = graded.stderr.decode(errors="replace").strip().splitlines()[-3:]
            out.fail(f"the judge exited with code {graded.returncode}: " + " | ".join(tail)[:400])
        if graded.results_error:
            out.fail(graded.results_error)
        if graded.junit_error:
            out.fail(graded.junit_error)
        if not graded.results_error:
            if graded.checks() != stub.checks():
                missing = sorted(set(stub.checks()) - set(graded.checks()))[:3]
                extra = sorted(set(graded.checks()) - set(stub.checks()))[:3]
                out.fail(f"results.json does not list the stub's checks (missing {missing}, "
                         f"unexpected {extra})")
            total = sum(float(t.get("score", 0) or 0) for t in graded.tests)
            if attack.score == "stub":
                limit = (stub.score or 0) + 1e-6
                if (graded.score or 0) > limit or total > limit:
                    out.fail(f"scored {graded.score} (tests add up to {round(total, 2)}), more than "
                             f"the stub's {stub.score}")
            for part in attack.must_lose:
                hit = [t for t in graded.tests if part in str(t.get("name"))]
                if not hit:
                    out.fail(f"no check named like {part!r} in results.json")
                for t in hit:
                    if float(t.get("score", 0) or 0) > 0:
                        out.fail(f"{t.get('name')!r} paid {t.get('score')} (must score 0)")
        text = graded.text()
        for needle in (*FORBIDDEN, *secrets_):
            if needle and needle in text:
                where = text[max(0, text.index(needle) - 80):text.index(needle) + 160]
                label = "the judge's secret" if needle == self.secret else needle
                out.fail(f"{label} reached the reports or the judge's output: "
                         f"...{where!r}..."[:500])
        if b"\x1b" in graded.stdout + graded.stderr:
            out.fail("ESC (a terminal escape) in the judge's output")

    def _leftover_checks(self, report: dict, out: Outcome) -> None:
        for when, key in (("at the judge's exit", "left_at_exit"), ("2 s later", "left_later")):
            groups = report.get(key) or {}
            for group in ("tree", "marked"):
                procs = groups.get(group) or []
                if procs:
                    out.fail(f"{len(procs)} process(es) left {when} ({group}): " + "; ".join(
                        f"pid {p['pid']} uid {p['uid']} {p['cmdline'][:80]!r}" for p in procs[:3]))
            procs = groups.get("uid") or []
            if procs:
                text = (f"{len(procs)} new process(es) of this session's worker uids or judge "
                        f"{when}: " + "; ".join(f"pid {p['pid']} uid {p['uid']} "
                                                f"{p['cmdline'][:60]!r}" for p in procs[:3]))
                (out.fail if strict() else out.notes.append)(text)

    def _follow_check(self, check: str, graded: Graded, out: Outcome) -> None:
        if graded.results_error or graded.returncode != 0:
            out.fail(f"{check}: the next grading failed: exit {graded.returncode}, "
                     f"{graded.results_error}")
            return
        if check == "next_correct":
            # the report's total is rounded to 2 decimals; each test's max_score to 6, whose
            # sum can pass the total by a few 1e-6 (kfold's 28 weights: 10.000004)
            top = round(sum(float(t.get("max_score", 0)) for t in graded.tests), 2)
            if graded.score is None or graded.score < top - 1e-6:
                out.fail(f"next_correct: a correct kfold graded right after scored {graded.score} "
                         f"of {round(top, 2)}")
        elif check == "next_stub":
            stub = self.stubs["kfold"]
            if graded.score != stub.score or graded.checks() != stub.checks():
                out.fail(f"next_stub: the stub graded right after scored {graded.score} "
                         f"(its own score is {stub.score})")

    def _file_checks(self, run: Path, follow: list, tmp_before: dict[str, int], marker: str,
                     out: Outcome) -> None:
        for folder in [run / "tmp", *(n / "tmp" for _, n in follow)]:
            left = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
            if left:
                out.fail(f"the judge's TMPDIR is not empty after the run: {left[:5]}")
        after = list_shared_tmp()
        new = {p: uid for p, uid in after.items() if p not in tmp_before}
        watched = self.watched_uids  # this session's own: no other run uses them
        others = MARKERS - {marker}
        for path, uid in sorted(new.items()):
            if marker in path:
                out.fail(f"left behind: {path} (uid {uid})")
            elif any(m in path for m in others):
                continue  # another lane's attack: its own test says so
            elif uid in watched:
                text = f"new in {os.path.dirname(path)}: {path} (uid {uid})"
                (out.fail if strict() else out.notes.append)(text)
        for path in new:  # remove what the attack left (never what others made)
            if marker in path:
                p = Path(path)
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)

    def _extra_checks(self, attack: Attack, graded: Graded, listeners: Listeners, canary: Path,
                      canary_text: str, decoy_proc: subprocess.Popen | None, out: Outcome) -> None:
        for kind in ("tcp", "udp", "unix"):
            if f"{kind}_listener" in attack.checks and listeners.got(kind):
                out.fail(f"the {kind} listener the test started got {listeners.got(kind)}")
        if "results_stable" in attack.checks:
            at_exit = graded.report.get("files_at_exit") or {}
            later = graded.report.get("files_later") or {}
            changed = [os.path.basename(p) for p in at_exit if at_exit.get(p) != later.get(p)]
            if changed:
                out.fail(f"changed after the judge exited: {changed}")
        if "canary_intact" in attack.checks:
            try:
                now = canary.read_text(errors="replace")
            except OSError as err:
                now = f"<{err}>"
            if now != canary_text:
                out.fail(f"the judge wrote through a planted symlink: the canary now holds "
                         f"{now[:40]!r}")
        if "decoy_process" in attack.checks and decoy_proc is not None:
            if decoy_proc.poll() is not None:
                out.fail(f"the decoy worker (another student's) was killed "
                         f"(exit {decoy_proc.returncode})")
        if "heldout_differs" in attack.checks:
            self._heldout_check(graded, out)

    def _heldout_check(self, graded: Graded, out: Outcome) -> None:
        """The PCA error the judge reports for its held-out digits must not be the one of the
        split a worker rebuilds from the public seed."""
        seen = None
        for t in graded.tests:
            m = re.search(r"PCA with (\d+) component(?:s|\(s\))?: ([0-9.]+)",
                          str(t.get("output", "")))
            if m:
                seen = (int(m.group(1)), m.group(2))
                break
        if seen is None:
            out.fail("heldout_differs: the judge reported no PCA error on its held-out digits "
                     "(did the training fail?)")
            return
        k, reported = seen
        code = ("import sys; from grader.data import load_digits_split as s; "
                "from grader.exercises.autoencoder import Settings; "
                "from grader.exercises.autoencoder.judge import pca_mse; c = Settings(); "
                "a, _, b, _ = s(test_fraction=getattr(c, 'test_fraction', 0.25), "
                "seed=getattr(c, 'split_seed', 0)); "
                f"print(f'{{pca_mse(a, b, {k}):.5f}}')")
        proc = subprocess.run([str(self.main_python), "-c", code], cwd=self.clone,
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise HarnessError(f"cannot compute the guessed split: {proc.stderr[-800:]}")
        guess = proc.stdout.strip()
        if guess == reported:
            out.fail(f"the judge's held-out digits are the public-seed split a worker rebuilds "
                     f"(PCA error with {k} components {reported} both)")

    def _tree_checks(self, clone_before: dict, site_before: dict, sub_before: dict, run: Path,
                     out: Outcome) -> None:
        # What is seen here, unchanged, is the next attack's "before" (nothing else writes
        # there between two runs; if something did, the next attack would be blamed: still
        # caught). Halves the time the snapshots take (about 1 s an attack).
        self.last_clone, self.last_site = None, None
        after = snapshot_tree(self.clone, skip=(".venv",))
        changes = diff(clone_before, after)
        if changes:
            out.fail("the checkout changed: " + "; ".join(changes))
            self.restore_clone()
        else:
            self.last_clone = after
        sites, restored = {}, False
        for folder, before in site_before.items():
            sites[folder] = snapshot_site(Path(folder))
            changes = diff_site(before, sites[folder])
            if not self.mode.user:  # a root judge caching bytecode of packages is no attack
                changes = [(what, rel) for what, rel in changes
                           if not (what == "new" and rel.endswith(".pyc") and "__pycache__" in rel
                                   and self._owner(Path(folder), rel) == 0)]
            if changes:
                text = "; ".join(f"{what} {rel}" for what, rel in changes[:8])
                out.fail(f"site-packages changed ({folder}): {text}")
                self._restore_site(Path(folder), [rel for what, rel in changes if what == "new"])
                restored = True
        if not restored:
            self.last_site = sites
        changes = diff(sub_before, snapshot_tree(run / "submission"))
        if changes:
            out.fail("the submission folder changed: " + "; ".join(changes))

    @staticmethod
    def _owner(root: Path, rel: str) -> int | None:
        try:
            return (root / rel).lstat().st_uid
        except OSError:
            return None

    def _restore_site(self, folder: Path, added: list[str]) -> None:
        if folder == self.site:
            self._make_venv()
            return
        for rel in added:  # remove what appeared
            path = folder / rel
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def take_slot() -> tuple[int, int]:
    """A slot of uids no other session on this machine holds: (its first uid, the lock's fd)."""
    os.makedirs(SLOT_LOCKS, mode=0o700, exist_ok=True)
    for slot in range(SLOTS):
        fd = os.open(os.path.join(SLOT_LOCKS, str(slot)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return SLOT_BASE + slot * SLOT_UIDS, fd
    raise HarnessError(f"all {SLOTS} red-team uid slots are taken")


def lease_decoy_uid(uids: tuple[int, int]) -> tuple[int, int | None]:
    """A uid of the range for "another worker" (as root), leased the way the engine leases its
    workers' uids (an flock'ed file per uid in its root-only folder), so that the judge under
    test neither uses it nor sweeps its processes, as with a concurrent judge's worker."""
    folder = next((d for d in UID_LOCK_DIRS if os.path.isdir(d)), None)
    if folder is None:
        return uids[1], None
    for uid in range(uids[1], uids[0] - 1, -1):
        fd = os.open(os.path.join(folder, str(uid)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return uid, fd
    raise HarnessError("no free uid in the worker range for a decoy")


class Pool:
    """The attacks of one mode, graded by ``jobs`` lanes side by side: the first lane clones and
    warms up (a stub grading per exercise), the others copy its pristine clone and share its
    baselines. Each lane has its own clone, venv, scratch folders and decoys, and an attack only
    ever aims at its own run (its results folder, its lane's folder, its marker), so lanes do not
    see each other's attacks; in strict mode the reapers skip each other's process trees."""

    def __init__(self, mode: Mode, attacks: list[Attack], *, lanes: int | None = None,
                 keep: bool = False) -> None:
        self.mode = mode
        self.started = time.monotonic()
        self.sessions: list[Session] = []
        first = Session(mode, keep=keep)
        self.sessions.append(first)
        try:
            needed = dict.fromkeys(a.exercise for a in attacks)
            if any({"next_correct", "next_stub"} & set(a.checks) for a in attacks):
                needed["kfold"] = None
            for exercise in needed:
                first.stub(exercise)
            for _ in range(max(1, min(lanes or jobs(), len(attacks))) - 1):
                self.sessions.append(Session(mode, keep=keep, template=first))
        except BaseException:
            self.close()
            raise
        self.commit = first.commit
        self.futures: dict[str, concurrent.futures.Future] = {
            a.name: concurrent.futures.Future() for a in attacks}
        self._queue = collections.deque(attacks)
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._lane, args=(s,), daemon=True)
                         for s in self.sessions]
        for t in self._threads:
            t.start()

    def _lane(self, session: Session) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    return
                attack = self._queue.popleft()
            future = self.futures[attack.name]
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(session.run(attack))
            except BaseException as err:  # noqa: BLE001 - handed to whoever waits for it
                future.set_exception(err)

    def outcome(self, attack: Attack) -> Outcome:
        return self.futures[attack.name].result()

    def notices(self) -> str:
        return "; ".join(sorted({str((g.results or {}).get("output", "")).strip()
                                 for g in self.sessions[0].stubs.values()} - {""}))

    def close(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            for name in [a.name for a in getattr(self, "_queue", [])]:
                self.futures[name].cancel()
            if hasattr(self, "_queue"):
                self._queue.clear()
        for t in getattr(self, "_threads", []):
            t.join()
        for s in reversed(self.sessions):  # the first lane's registry last
            s.close()
        self.seconds = time.monotonic() - self.started


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
