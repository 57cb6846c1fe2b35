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
from tests.helpers import REPO

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


def _passable(path: Path) -> bool:
    """Every folder down to ``path`` lets other users through (a worker's uid must reach the
    interpreter and the checkout: a clone under a 0700 folder, say mktemp -d, does not)."""
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


pytestmark = pytest.mark.skipif(not ROOT, reason="isolation modes are tested as root (CI)")
needs_worker_uids = pytest.mark.skipif(
    not (_passable(REPO) and _passable(Path(sys.prefix))),
    reason="the checkout or the venv sits in a folder other users cannot pass (mode 0700): "
           "workers could not run under their own uids")


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
