"""The sandbox's mechanisms one by one: what each isolation mode lets a worker see, write,
reach and leave behind.

Each case starts a small script in a :class:`grader.sandbox.process.Sandbox` built by
:func:`prepare_runtime` from a config whose ``sandbox.isolation`` picks the mechanisms, and
reads what the script reports. The judge runs as root here (CI) and, through ``setpriv``, as
an unprivileged user. Network tests connect only to a listener the test starts on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from grader.config import load_config
from grader.sandbox import landlock, reaper
from grader.sandbox.process import Sandbox
from grader.sandbox.runtime import _detect, lease_uid, prepare_runtime
from tests.helpers import REPO, needs_worker_uids

ROOT = os.geteuid() == 0
MODES = {
    "all": "[landlock, namespaces, uid]",
    "landlock": "[landlock, uid]",
    "namespaces": "[namespaces, uid]",
    "neither": "[uid]",
}
SCRIPT = r"""
import json, os, socket, sys
report = {}
def attempt(name, fn):
    try:
        fn()
        report[name] = "ok"
    except Exception as err:
        report[name] = type(err).__name__
attempt("read_checkout", lambda: open(%(checkout)r, "rb").read(1))
attempt("write_home", lambda: open(os.path.join(os.environ["HOME"], "x"), "w").write("x"))
attempt("write_tmp", lambda: open("/tmp/dlgrade-isolation-test-%(tag)s", "w").write("x"))
attempt("tcp", lambda: socket.create_connection(("127.0.0.1", %(port)d), timeout=2).close())
attempt("signal_judge", lambda: os.kill(%(judge)d, 0))
report["uid"] = os.getuid()
if os.fork() == 0:  # a setsid + double fork with an empty environment: it must not survive
    os.setsid()
    if os.fork() == 0:
        os.execve("/bin/sleep", ["sleep", "%(sleep)s"], {})
    os._exit(0)
print(json.dumps(report), flush=True)
"""


def config_for(tmp_path: Path, isolation: str) -> Path:
    text = (REPO / "autograder.yml").read_text().replace(
        "sandbox:\n", f"sandbox:\n  isolation: {isolation}\n", 1)
    text = text.replace("solutions: solutions", f"solutions: {REPO / 'solutions'}")
    text = text.replace("assignments: assignments", f"assignments: {REPO / 'assignments'}")
    path = tmp_path / "autograder.yml"
    path.write_text(text)
    path.chmod(0o644)
    return path


@pytest.fixture
def shared_tmp():
    """A folder other users can read (pytest's own tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="dlgrade-test-isolation-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def listener():
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def run_in_sandbox(config_path: Path, port: int, tag: str) -> tuple[dict, str]:
    """The script's report and the runtime's notices, with this process as the judge."""
    runtime = prepare_runtime(load_config(config_path))
    source = SCRIPT % {"checkout": str(REPO / "solutions" / "kfold.py"), "tag": tag,
                       "port": port, "judge": os.getpid(), "sleep": f"91.{tag}"}
    try:
        with Sandbox(runtime, "probe", source.encode()) as box:
            home = box.home
            proc = box.run([runtime.python, "-I", str(box.module_path)], timeout=60)
        assert not home.exists()
    finally:
        runtime.close()
    lines = proc.stdout.decode().strip().splitlines()
    assert lines, proc.stderr.decode()
    return json.loads(lines[-1]), " | ".join(runtime.notices)


def survivors(tag: str) -> list[str]:
    return alive_with(f"91.{tag}")


def alive_with(marker: str) -> list[str]:
    """Processes, zombies aside, whose command line carries ``marker``."""
    found = []
    for entry in os.scandir("/proc"):
        try:
            if marker.encode() in Path(f"/proc/{entry.name}/cmdline").read_bytes():
                state = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(entry.name)
        except OSError:
            continue
    return found


pytestmark = pytest.mark.skipif(not ROOT, reason="isolation modes are tested as root (CI)")


@needs_worker_uids
@pytest.mark.parametrize("mode", list(MODES))
def test_each_mode_keeps_the_worker_in(mode, tmp_path, listener):
    port, accepted = listener
    tag = f"{os.getpid()}{list(MODES).index(mode)}"  # digits: sleep must accept it
    report, notices = run_in_sandbox(config_for(tmp_path, MODES[mode]), port, tag)
    assert report["write_home"] == "ok"
    assert report["read_checkout"] != "ok"  # root-only for the run, absent, or refused
    assert report["signal_judge"] != "ok"
    assert 61000 <= report["uid"] <= 61999
    if mode in ("all", "landlock", "namespaces"):
        assert report["write_tmp"] != "ok"
        assert report["tcp"] != "ok" and not accepted
    assert not Path(f"/tmp/dlgrade-isolation-test-{tag}").exists()  # removed if written
    time.sleep(0.3)
    assert survivors(tag) == []
    if mode == "all":
        assert "namespaces" in notices and "Landlock" in notices and "uid of its own" in notices


@needs_worker_uids
def test_as_an_unprivileged_user_landlock_and_namespaces_hold(shared_tmp, listener):
    """The judge as nobody: no uid of its own, but the same walls."""
    port, accepted = listener
    tag = f"{os.getpid()}7"
    config = config_for(shared_tmp, "[landlock, namespaces]")
    code = (f"import sys, json; sys.path.insert(0, {str(REPO)!r}); "
            f"from tests.test_sandbox_isolation import run_in_sandbox; from pathlib import Path; "
            f"print(json.dumps(run_in_sandbox(Path({str(config)!r}), {port}, {tag!r})))")
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           sys.executable, "-c", code], capture_output=True, text=True,
                          cwd="/", env={"PATH": os.environ["PATH"], "HOME": "/tmp"}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report, notices = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["uid"] == 65534 and report["write_home"] == "ok"
    assert report["read_checkout"] != "ok" and report["write_tmp"] != "ok"
    assert report["tcp"] != "ok" and not accepted
    assert "user, mount, pid, network namespaces" in notices and "Landlock" in notices
    time.sleep(0.3)
    assert survivors(tag) == []


def test_isolation_none_grades_and_says_so_in_every_report(tmp_path):
    """No isolation at all only when the config says so, and every report says it."""
    from grader.results import format_table, to_gradescope
    from grader.runner import grade

    config = load_config(config_for(tmp_path, "none"))
    report = grade(config, REPO / "solutions", exercises=["kfold"])
    assert report.score == report.max_score == 10
    assert any("NO ISOLATION (sandbox.isolation: none)" in n for n in report.notices)
    assert "NO ISOLATION" in format_table(report) or "NO ISOLATION" in report.notes_text()
    assert "NO ISOLATION" in to_gradescope(report)["output"]


def test_an_empty_isolation_list_is_a_config_error(tmp_path):
    from grader.errors import GraderError

    with pytest.raises(GraderError, match="isolation: none"):
        load_config(config_for(tmp_path, "[]"))


def test_landlock_is_offered_here():
    """This project's machines offer Landlock ABI 7 (docs/security.md's table was measured there);
    a kernel without it makes the runtime say so instead."""
    abi = landlock.abi_version()
    if abi == 0:
        pytest.skip("this kernel has no Landlock")
    assert abi >= 1
    _detect.cache_clear()


def _free_uid_pair() -> tuple[int, int]:
    """Two uids with no account, outside sandbox.uid_range (61000-61999): judges of the other
    lanes lease from that range while this test runs, and a uid they hold is not ours to take."""
    for first in range(62000, 62998, 2):
        try:
            pwd.getpwuid(first)
            continue
        except KeyError:
            pass
        try:
            pwd.getpwuid(first + 1)
        except KeyError:
            return first, first + 1
    pytest.skip("no two free uids in 62000-62999")


def test_uid_leases_are_exclusive_and_given_back():
    low, high = _free_uid_pair()
    first = lease_uid(low, high)
    second = lease_uid(low, high)
    assert {first.uid, second.uid} == {low, high}
    with pytest.raises(OSError, match="in use"):
        lease_uid(low, high)
    first.release()
    again = lease_uid(low, high)
    assert again.uid == first.uid
    second.release()
    again.release()


def test_remove_tree_removes_what_a_worker_locked_and_nested(tmp_path):
    top = tmp_path / "home"
    deep = top
    for i in range(300):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "f").write_text("x")
    locked = top / "locked"
    (locked / "inner").mkdir(parents=True)
    (locked / "inner" / "f").write_text("x")
    (locked / "inner").chmod(0)
    locked.chmod(0)
    target = tmp_path / "outside"
    target.write_text("keep")
    (top / "link").symlink_to(target)
    reaper.remove_tree(top)
    assert not top.exists() and target.read_text() == "keep"


def test_kill_tree_finds_a_double_forked_orphan_under_a_subreaper():
    """Without namespaces the launcher is a child subreaper: an orphan stays in its tree."""
    sleep = f"92.{os.getpid()}"  # seconds, and this run's marker
    code = ("import ctypes, os, time\n"
            "ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            f"        os.execve('/bin/sleep', ['sleep', '{sleep}'], {{}})\n"
            "    os._exit(0)\n"
            "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        for _ in range(100):
            if any(reaper.descendants(proc.pid)):
                break
            time.sleep(0.02)
        time.sleep(0.2)
        assert reaper.descendants(proc.pid)
        reaper.kill_tree(proc.pid)
        proc.wait(timeout=5)
        time.sleep(0.2)
        assert alive_with(sleep) == []
    finally:
        proc.kill()


def test_the_engine_copy_holds_no_hidden_checks_and_is_read_only(tmp_path):
    runtime = prepare_runtime(load_config(config_for(tmp_path, "none")))
    try:
        files = {p.relative_to(runtime.engine).as_posix() for p in runtime.engine.rglob("*")
                 if p.is_file()}
        assert "grader/sandbox/worker.py" in files and "grader/exercises/kfold/probes.py" in files
        assert not any("test_" in f or "calibrate" in f or "oracle" in f for f in files)
        assert all(not stat.S_IMODE(p.stat().st_mode) & 0o222 for p in runtime.engine.rglob("*"))
    finally:
        runtime.close()
    assert not runtime.engine.exists()


def test_worker_folders_go_where_the_workers_can_reach_them(tmp_path, monkeypatch):
    """A root judge with a private TMPDIR (0700) puts worker homes where every uid can pass
    (/tmp): its workers run under uids of their own. A judge that is not root keeps them in its
    own TMPDIR, private or not: its workers run as its user."""
    from grader.sandbox import runtime

    private = tmp_path / "private-tmp"
    private.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert runtime.worker_tmp() == str(private)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert runtime.worker_tmp() == os.path.realpath("/tmp")
    private.chmod(0o711)
    tmp_path.chmod(0o711)
    passable = all(os.stat(p).st_mode & 0o001 for p in [private, *private.parents])
    assert runtime.worker_tmp() == (str(private) if passable else os.path.realpath("/tmp"))


# -- issue 19: a syscall filter, keyrings, memory, fail closed ------------------------------------

SYSCALLS = r"""
import ctypes, errno, json, mmap, os, threading
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
table = %(table)r
def call(name, *args):
    result = libc.syscall(ctypes.c_long(table[name]), *[ctypes.c_long(a) for a in args])
    return "ok" if result >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
report = {
    "keyctl": call("keyctl", 0, -3, 0),  # KEYCTL_GET_KEYRING_ID of the session keyring
    "add_key": call("add_key", 0, 0, 0, 0, -3),
    "unshare": call("unshare", 0x10000000),  # a user namespace
    "ptrace": call("ptrace", 0, 0, 0, 0),  # PTRACE_TRACEME
    "io_uring_setup": call("io_uring_setup", 1, 0),
    "bpf": call("bpf", 0, 0, 0),
    "shmget": call("shmget", 0, 4096, 0o1000),
    "clone3": call("clone3", 0, 0),
    "clone_newns": call("clone", 0x00020000 | 17, 0, 0, 0, 0),
}
pid = os.fork()
if pid == 0:
    os._exit(7)
report["fork"] = os.waitpid(pid, 0)[1] >> 8
box = []
thread = threading.Thread(target=lambda: box.append(1))
thread.start(); thread.join()
report["thread"] = box == [1]
print(json.dumps(report), flush=True)
"""


def sandbox_run(config_path: Path, source: str, *, timeout: float = 60) -> tuple[str, str, str]:
    """Run ``source`` in one worker sandbox of ``config_path``'s runtime: (stdout, stderr,
    notices)."""
    runtime = prepare_runtime(load_config(config_path))
    try:
        with Sandbox(runtime, "probe", source.encode()) as box:
            proc = box.run([runtime.python, "-I", str(box.module_path)], timeout=timeout)
    finally:
        runtime.close()
    return proc.stdout.decode(), proc.stderr.decode(), " | ".join(runtime.notices)


def test_the_syscall_filter_refuses_what_a_worker_never_needs(tmp_path):
    from grader.sandbox import seccomp

    if seccomp.available():
        pytest.skip(f"no seccomp filter here: {seccomp.available()}")
    import platform

    out, err, notices = sandbox_run(config_for(tmp_path, MODES["all"]), SYSCALLS % {
        "table": seccomp.SYSCALLS[platform.machine()]})
    report = json.loads(out.strip().splitlines()[-1])
    for name in ("keyctl", "add_key", "unshare", "ptrace", "io_uring_setup", "bpf", "shmget",
                 "clone_newns"):
        assert report[name] == "EPERM", (name, report)
    assert report["clone3"] == "ENOSYS"  # glibc falls back to clone, whose flags are checked
    assert report["fork"] == 7 and report["thread"] is True
    assert "syscall filter (seccomp" in notices and "session keyring of its own" in notices


KEYRING_PROBE = r"""
import ctypes, json
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
session = libc.syscall(ctypes.c_long(%(keyctl)d), ctypes.c_long(0), ctypes.c_long(-3),
                       ctypes.c_long(0))
found = libc.syscall(ctypes.c_long(%(keyctl)d), ctypes.c_long(10), ctypes.c_long(-3),
                     b"user", %(name)r.encode(), ctypes.c_long(0))  # KEYCTL_SEARCH
print(json.dumps({"session": session, "found": found}), flush=True)
"""


def keyring_probe(config: str, name: str, secret: str) -> dict:
    """In this process: join a session keyring holding a key (a judge under ssh or systemd),
    then let a worker look for it, the syscall filter left out so that only the keyring of
    its own keeps it away. Returns the judge's keyring id and what the worker saw."""
    import dataclasses
    import os as _os

    from grader.sandbox import keyring as kr

    keyctl = kr._keyctl()
    assert keyctl(kr.KEYCTL_JOIN_SESSION_KEYRING, None) >= 0
    libc = __import__("ctypes").CDLL(None, use_errno=True)
    libc.syscall.restype = __import__("ctypes").c_long
    number = kr.SYS_KEYCTL[_os.uname().machine] - 2  # add_key precedes keyctl by two
    key = libc.syscall(number, b"user", name.encode(), secret.encode(), len(secret), -3)
    assert key > 0
    judge = keyctl(kr.KEYCTL_GET_KEYRING_ID, kr.KEY_SPEC_SESSION_KEYRING, 0)
    runtime = prepare_runtime(load_config(Path(config)))
    runtime = dataclasses.replace(runtime, isolation=dataclasses.replace(runtime.isolation,
                                                                         seccomp=False))
    source = KEYRING_PROBE % {"keyctl": kr.SYS_KEYCTL[_os.uname().machine], "name": name}
    try:
        with Sandbox(runtime, "probe", source.encode()) as box:
            proc = box.run([runtime.python, "-I", str(box.module_path)], timeout=60)
    finally:
        runtime.close()
    return {"judge": judge, **json.loads(proc.stdout.decode().strip().splitlines()[-1])}


@needs_worker_uids
@pytest.mark.parametrize("user", [False, True], ids=["root", "user"])
def test_a_worker_has_a_session_keyring_of_its_own(shared_tmp, user):
    """Even without the syscall filter, the judge's session keyring (where ssh or systemd keep
    credentials) is not the worker's: the worker cannot find the judge's key."""
    if os.uname().machine not in ("x86_64", "aarch64"):
        pytest.skip("keyctl's number is known for x86_64 and aarch64")
    name = f"dlgrade-test-{os.getpid()}"
    config = config_for(shared_tmp, MODES["all"] if not user else "[landlock, namespaces]")
    code = (f"import sys, json; sys.path.insert(0, {str(REPO)!r}); "
            "from tests.test_sandbox_isolation import keyring_probe; "
            f"print(json.dumps(keyring_probe({str(config)!r}, {name!r}, 'the-secret')))")
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if user else []
    proc = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True,
                          cwd="/", env={"PATH": os.environ["PATH"], "HOME": "/tmp"}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["session"] != seen["judge"] and seen["found"] < 0, seen


def _keys_of(uid: int, name: str) -> int:
    """Look for a key named ``name`` in ``uid``'s user keyring (as that uid): its id, or -1."""
    from grader.sandbox import keyring as kr

    keyctl = kr._keyctl()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            keyctl(kr.KEYCTL_JOIN_SESSION_KEYRING, None)
            os.setgid(uid)
            os.setuid(uid)
            found = keyctl(10, kr.KEY_SPEC_USER_KEYRING, b"user", name.encode(), 0)
            os.write(write, str(found).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as f:
        return int(f.read() or -1)


def _add_key_as(uid: int, name: str) -> None:
    from grader.sandbox import keyring as kr

    pid = os.fork()
    if pid == 0:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
            kr._keyctl()(kr.KEYCTL_JOIN_SESSION_KEYRING, None)
            os.setgid(uid)
            os.setuid(uid)
            libc.syscall(kr.SYS_KEYCTL[os.uname().machine] - 2, b"user", name.encode(), b"x",
                         1, kr.KEY_SPEC_USER_KEYRING)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def test_a_uid_lease_clears_the_uids_keyrings():
    """A key a worker left in its uid's user keyring is gone when the lease ends (where the
    syscall filter is missing, that key was a channel to the next worker of the uid)."""
    if os.uname().machine not in ("x86_64", "aarch64"):
        pytest.skip("keyctl's number is known for x86_64 and aarch64")
    low, high = _free_uid_pair()
    lease = lease_uid(low, low)
    name = f"dlgrade-left-{os.getpid()}"
    try:
        _add_key_as(lease.uid, name)
        if _keys_of(lease.uid, name) < 0:
            pytest.skip("this kernel keeps no user keyrings")
    finally:
        lease.release()
    assert _keys_of(low, name) < 0


def test_memory_beyond_the_cap_is_the_students_failure(tmp_path):
    """A shared anonymous mapping over the cap (which RLIMIT_DATA never counted) fails in the
    worker, the check says what the limit is, and the judge goes on."""
    from grader.runner import grade
    from grader.sandbox import cgroup

    if cgroup.detect()[0] is not None:
        pytest.skip("a cgroup caps memory here (the OOM killer ends the worker instead)")
    text = re.sub(r"(?m)^(\s*)memory_mb: \d+", r"\1memory_mb: 1024",
                  (REPO / "autograder.yml").read_text())
    text = text.replace("solutions: solutions", f"solutions: {REPO / 'solutions'}")
    text = text.replace("assignments: assignments", f"assignments: {REPO / 'assignments'}")
    (tmp_path / "autograder.yml").write_text(text)
    submission = tmp_path / "submission"
    submission.mkdir()
    hog = ("import mmap, os\n\n\ndef kfold_indices(n_samples, k, *, shuffle=False, seed=None):\n"
           "    block = mmap.mmap(-1, 1536 << 20, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)\n"
           "    block.write(b'x' * 10)\n    return []\n\n\n"
           "def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):\n"
           "    return os.memfd_create('hog')\n")
    (submission / "kfold.py").write_text(hog)
    report = grade(load_config(tmp_path / "autograder.yml"), submission, exercises=["kfold"])
    assert report.score == 0
    outputs = "\n".join(c.output for c in report.checks)
    assert "memory is limited to 1024 MB" in outputs
    assert "Operation not permitted" in outputs  # memfd_create, refused under RLIMIT_AS
    assert any("address space is limited to 1024 MB" in n for n in report.notices)


def test_cgroup_detection_and_a_workers_cgroup(tmp_path):
    """The judge makes a cgroup per worker only where the controllers are there for it; the
    files it writes (a fake hierarchy here: this machine's v2 hierarchy has no controllers)."""
    from grader.sandbox import cgroup

    mountinfo = tmp_path / "mountinfo"
    own = tmp_path / "cgroup"
    mountinfo.write_text("30 1 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
    own.write_text("0::/\n")
    assert cgroup.detect(mountinfo=str(tmp_path / "none"), cgroup_file=str(own))[0] is None
    fs = tmp_path / "fs"
    mountinfo.write_text(f"30 1 0:26 / {fs} rw - cgroup2 cgroup2 rw\n")
    own.write_text("0::/judge\n")
    (fs / "judge").mkdir(parents=True)
    (fs / "judge" / "cgroup.controllers").write_text("cpu io\n")
    (fs / "judge" / "cgroup.subtree_control").write_text("")
    folder, why = cgroup.detect(mountinfo=str(mountinfo), cgroup_file=str(own))
    assert folder is None and "memory and pids" in why
    (fs / "judge" / "cgroup.controllers").write_text("cpu io memory pids\n")
    (fs / "judge" / "cgroup.subtree_control").write_text("memory pids\n")
    folder, why = cgroup.detect(mountinfo=str(mountinfo), cgroup_file=str(own))
    assert folder == fs / "judge" and why == ""
    worker = cgroup.WorkerCgroup(folder, "dlgrade-x", memory_bytes=1 << 30, max_tasks=64)
    assert (folder / "dlgrade-x" / "memory.max").read_text() == str(1 << 30)
    assert (folder / "dlgrade-x" / "pids.max").read_text() == "64"
    (folder / "dlgrade-x" / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert worker.oom_kills() == 1
    print("this machine:", cgroup.detect())


# -- the fail-open of issue 19, reproduced: a venv other users cannot enter, as root ----------

@pytest.fixture(scope="module")
def private_venv(tmp_path_factory):
    """A venv in a folder of mode 0700 (an instructor's home): the interpreter's packages as
    hard links to this venv's, so that a worker uid cannot start it."""
    import sysconfig

    if not ROOT or not Path("/usr/bin/python3").exists():
        pytest.skip("as root, with /usr/bin/python3")
    home = Path(tempfile.mkdtemp(prefix="dlgrade-test-private-"))
    home.chmod(0o700)
    venv = home / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True,
                   capture_output=True, timeout=120)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"], check=True,
                               capture_output=True, text=True).stdout.strip())
    main = Path(sysconfig.get_paths()["purelib"])
    same = os.stat(main).st_dev == os.stat(site).st_dev
    for entry in os.scandir(main):
        if not entry.name.startswith(("__editable__", "dlgrade-")):
            subprocess.run(["cp", "-al" if same else "-a", entry.path, str(site / entry.name)],
                           check=True)
    yield venv / "bin" / "python"
    shutil.rmtree(home, ignore_errors=True)


def grade_with(python: Path, config: Path, submission: Path, results: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-m", "grader", "--config", str(config), "grade",
                           str(submission), "--exercises", "kfold", "--results", str(results)],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={"PATH": os.environ["PATH"], "HOME": "/tmp",
                               "TMPDIR": tempfile.gettempdir()})


def test_fail_open_as_root_with_uid_only_now_refuses(private_venv, shared_tmp):
    """``sandbox.isolation: [uid]`` with a venv no worker uid can enter: the drop fails and
    nothing else is left, so grading refuses (exit 2, one message), where it graded as root."""
    results = shared_tmp / "results" / "results.json"
    proc = grade_with(private_venv, config_for(shared_tmp, MODES["neither"]),
                      REPO / "tests" / "submissions" / "bad" / "reads_solutions", results)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlgrade: error: no sandbox mechanism works")
    assert "readable by other users" in lines[0] and "sandbox.isolation: none" in lines[0]
    shown = json.loads(results.read_text())
    assert shown["score"] == 0 and "could not run" in shown["output"]
    assert str(private_venv.parent.parent) not in shown["output"]  # no path of this machine


def test_fail_open_as_root_with_landlock_and_uid_keeps_landlock(private_venv, shared_tmp):
    """``[landlock, uid]`` there: the uid's failure no longer takes Landlock with it; the worker
    runs as uid 0 without any capability, under Landlock, and reads nothing of the checkout."""
    results = shared_tmp / "results" / "results.json"
    proc = grade_with(private_venv, config_for(shared_tmp, MODES["landlock"]),
                      REPO / "tests" / "submissions" / "bad" / "reads_solutions", results)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown = json.loads(results.read_text())
    assert shown["score"] == 0
    notices = shown["output"]
    assert "under Landlock" in notices and "without any capability" in notices, notices
    assert "a uid of the worker's own (dlgrade launcher: cannot start the worker: [Errno 13] " \
        "Permission denied" in notices, notices
    code = (f"import sys, json; sys.path.insert(0, {str(REPO)!r}); "
            "from tests.test_sandbox_isolation import sandbox_run; from pathlib import Path; "
            f"print(json.dumps(sandbox_run(Path({str(config_for(shared_tmp, MODES['landlock']))!r}), "
            "'import os; print(os.getuid(), open(\"/proc/self/status\").read().split(\"CapEff:\")"
            "[1].split()[0]); print(len(open(%r).read()))' % "
            f"{str(REPO / 'solutions' / 'kfold.py')!r})))")
    run = subprocess.run([str(private_venv), "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=120, env={"PATH": os.environ["PATH"], "HOME": "/tmp"})
    assert run.returncode == 0, run.stderr[-2000:]
    out, err, _ = json.loads(run.stdout.strip().splitlines()[-1])
    assert out.split()[:2] == ["0", "0000000000000000"], (out, err)
    assert "PermissionError" in err  # the reference, refused by Landlock


def test_a_batch_says_its_isolation_on_the_console_and_in_the_summary(tmp_path):
    """The isolation in force is on grade-batch's console and summary page; without any
    (``isolation: none``) both say so, and so does every submission's report."""
    from grader.batch.driver import grade_batch, isolation_line

    line = isolation_line(load_config(config_for(tmp_path, MODES["all"])))
    assert line.startswith("sandbox isolation: ") and "seccomp" in line and "memory:" in line
    root = tmp_path / "class"
    (root / "alice").mkdir(parents=True)
    shutil.copy(REPO / "solutions" / "kfold.py", root / "alice" / "kfold.py")
    result = grade_batch(load_config(config_for(tmp_path, "none")), root, tmp_path / "out",
                         exercises=["kfold"], jobs=1)
    assert "isolation: NONE" in result.text()
    assert "isolation: NONE" in (tmp_path / "out" / "summary.html").read_text()
    shown = json.loads(next((tmp_path / "out" / "results").glob("*.json")).read_text())
    assert "NO ISOLATION" in shown["results"]["output"]
