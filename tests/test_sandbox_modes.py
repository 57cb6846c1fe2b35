"""Root-only modes shared by judges that run at once (grader/sandbox/modes.py): the first judge
narrows, the last one out restores, and a judge that died gives its hold back."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from grader.sandbox import modes


@pytest.fixture
def state(tmp_path, monkeypatch):
    folder = tmp_path / "run"  # the judges' shared folder: made by modes.shared_dir, mode 0700
    monkeypatch.setattr(modes, "SHARED_DIRS", (str(folder),))
    secret = tmp_path / "solutions"
    secret.mkdir(mode=0o755)
    secret.chmod(0o755)
    return secret


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_last_judge_out_restores(state):
    held = modes.narrow([state])
    assert _mode(state) == 0o700
    # a second judge (another process) joins while the first still grades
    other = subprocess.Popen([sys.executable, "-c", (
        "import sys; from grader.sandbox import modes; "
        f"modes.SHARED_DIRS = ({str(modes.SHARED_DIRS[0])!r},); "
        f"modes.narrow([__import__('pathlib').Path({str(state)!r})]); "
        "sys.stdout.write('held\\n'); sys.stdout.flush(); sys.stdin.readline(); "
        f"modes.restore(({str(state)!r},))")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert other.stdout.readline() == "held\n"
    modes.restore(held)  # the first judge ends: the other still grades, the folder stays closed
    assert _mode(state) == 0o700
    other.communicate("\n")
    assert other.returncode == 0
    assert _mode(state) == 0o755  # the last one out restored the mode it found first


def test_a_judge_that_died_gives_its_hold_back(state):
    dead = subprocess.run([sys.executable, "-c", (
        "from grader.sandbox import modes; "
        f"modes.SHARED_DIRS = ({str(modes.SHARED_DIRS[0])!r},); "
        f"modes.narrow([__import__('pathlib').Path({str(state)!r})])")], check=True)
    assert dead.returncode == 0 and _mode(state) == 0o700  # killed before it restored
    held = modes.narrow([state])  # the next judge finds the dead holder and drops it
    assert _mode(state) == 0o700
    modes.restore(held)
    assert _mode(state) == 0o755
    assert os.path.getsize(os.path.join(modes.SHARED_DIRS[0], modes.STATE_NAME)) <= 2  # "{}"


def test_the_shared_folder_must_be_the_judges_own_and_closed(tmp_path, monkeypatch):
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    open_folder.chmod(0o755)
    monkeypatch.setattr(modes, "SHARED_DIRS", (str(open_folder),))
    with pytest.raises(OSError):
        modes.narrow([tmp_path])  # no state file in a folder others may enter
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    monkeypatch.setattr(modes, "SHARED_DIRS", (str(link), str(tmp_path / "closed")))
    assert modes.shared_dir() == str(tmp_path / "closed")  # a link is passed over
