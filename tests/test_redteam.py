"""The red-team suite (issues 12 and 19): every adversarial submission of tests/redteam/attacks.yml,
graded by a real judge in each mode, must get no more than the stub, leave a valid report, no
process, no file, no key and an unchanged checkout (see tests/redteam/harness.py for every
check); an attack that expects a refusal must be refused.

The attacks run when ``DLGRADE_REDTEAM=1`` and the tests run as root (the judge runs as root,
and as an unprivileged user through setpriv): ``make test`` runs them all in a lane of their
own, strict, two at a time a mode; ``make redteam`` runs them alone; or

    DLGRADE_REDTEAM=1 .venv/bin/python -m pytest -q tests/test_redteam.py

``DLGRADE_REDTEAM=smoke`` runs the attacks marked ``smoke`` in attacks.yml only (one or two a
group, on kfold). ``DLGRADE_REDTEAM_MODES=root`` (or ``user``) runs one mode;
``DLGRADE_REDTEAM_WORKTREE=1`` grades the working tree instead of what is committed;
``DLGRADE_REDTEAM_KEEP=1`` keeps the scratch folders; ``DLGRADE_REDTEAM_STRICT=1`` (set when
``CI`` is) also fails on any new process or new entry of /tmp, /var/tmp, /dev/shm of the
session's own uids (each session has a slot of uids of its own, so other suites grading
meanwhile are not counted). docs/security.md's table comes from ``python -m tests.redteam.table``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.redteam import harness

ALL_ATTACKS = harness.load_attacks()
SMOKE = os.environ.get("DLGRADE_REDTEAM") == "smoke"
ATTACKS = [a for a in ALL_ATTACKS if a.smoke] if SMOKE else ALL_ATTACKS
MODES = [m.strip() for m in os.environ.get("DLGRADE_REDTEAM_MODES", "root,user").split(",")
         if m.strip()]


def test_the_attack_table_is_complete():
    names = [a.name for a in ALL_ATTACKS]
    assert len(names) >= 40 and len(set(names)) == len(names)
    folders = {p.name for p in harness.ATTACKS_DIR.iterdir() if p.is_dir()}
    assert folders == {a.name for a in ALL_ATTACKS if not a.source and not a.like}, (
        "every folder of tests/redteam/attacks/ is listed in attacks.yml and vice versa")
    smoke = [a for a in ALL_ATTACKS if a.smoke]
    assert {a.group for a in smoke} == {a.group for a in ALL_ATTACKS if a.exercise == "kfold"}, (
        "a smoke attack a group (of the groups with a kfold attack)")
    assert all(a.exercise == "kfold" for a in smoke), "the smoke set needs one stub baseline"
    exercises = {p.parent.name for p in (harness.REPO / "grader" / "exercises").glob("*/probes.py")}
    for a in ALL_ATTACKS:
        assert a.exercise in exercises, a.name
        assert a.threat and a.defence and a.group, a.name
        assert set(a.checks) <= harness.KNOWN_CHECKS, a.name
        assert a.score in ("stub", "any") and a.base in (None, "stub", "solution"), a.name
        if a.source and (harness.REPO / a.source).parent == harness.INTAKE_DIR:
            from tests.redteam.intake.make import files

            assert f"{a.exercise}.py" in files(Path(a.source).name), a.name
        elif a.source:
            assert (harness.REPO / a.source / f"{a.exercise}.py").is_file(), a.name
        else:
            text = a.file.read_text()
            keys = set(re.findall(r"\{\{([A-Z_]+)\}\}", text)) - {"LIB", "HIDDEN_KFOLD"}
            assert keys <= {"MARKER", "RESULTS_DIR", "SESSION_DIR", "TCP_PORT", "UDP_PORT",
                            "UNIX_NAME", "CANARY", "HOME_MB", "DECOY", "MEMORY_MB"}, a.name
        assert a.expect in ("graded", "refusal") and (a.like is None or a.like in folders)
    for path in [harness.LIB, harness.HIDDEN_KFOLD, *harness.ATTACKS_DIR.glob("*/*.py")]:
        text = path.read_text()
        # what an attack reports is assembled at run time: a traceback that quotes the source
        # must not look like a report
        assert not any(word in text for word in harness.FORBIDDEN), path


@pytest.fixture(scope="module")
def pools(request):
    """One :class:`harness.Pool` per mode, made when the mode's first test asks for it, grading
    the attacks of this session's selected tests (``-k`` works) in ``DLGRADE_REDTEAM_JOBS``
    lanes (2 on 2 cores) while the tests collect the outcomes in order."""
    reason = harness.skip_reason()
    if not os.environ.get("DLGRADE_REDTEAM"):
        pytest.skip("the red-team suite runs with DLGRADE_REDTEAM=1 (make redteam: about 3 min "
                    "a mode) or =smoke (make test)")
    if reason:
        pytest.skip(reason)
    made: dict[str, harness.Pool] = {}
    by_name = {a.name: a for a in ATTACKS}

    def get(mode: str) -> harness.Pool:
        if mode not in made:
            wanted = [by_name[item.callspec.params["attack"].name]
                      for item in request.session.items
                      if getattr(item, "callspec", None) and item.callspec.params.get("mode") == mode]
            made[mode] = harness.Pool(harness.MODES[mode], wanted)
        return made[mode]

    yield get
    for mode, pool in made.items():
        pool.close()
        print(f"\nred team, mode {mode}: {pool.seconds:.0f} s in {len(pool.sessions)} lane(s), "
              f"commit {pool.commit}; {pool.notices()}")


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
@pytest.mark.parametrize("mode", MODES)
def test_attack_is_contained(mode, attack, pools):
    outcome = pools(mode).outcome(attack)
    assert outcome.held, outcome.summary()


# -- strict mode beside other suites (issue 19): only the session's own uids, markers, files ------

def test_strict_mode_fails_on_the_sessions_own_leftovers_only(tmp_path, monkeypatch):
    """A new /tmp entry of the session's uids or with the attack's marker fails the attack in
    strict mode; one of another uid (another suite grading meanwhile) does not."""
    import types

    run = tmp_path / "run"
    (run / "tmp").mkdir(parents=True)
    fake = types.SimpleNamespace(watched_uids={63000, 63001})
    before = {"/tmp/old": 0}
    after = {"/tmp/old": 0, "/tmp/other-suite": 61005, "/tmp/pytest-of-root": 0,
             "/tmp/left-by-worker": 63001, "/var/tmp/x-rtmarker": 0}
    monkeypatch.setattr(harness, "list_shared_tmp", lambda: dict(after))
    monkeypatch.setenv("DLGRADE_REDTEAM_STRICT", "1")
    out = harness.Outcome("a", "root")
    harness.Session._file_checks(fake, run, [], before, "rtmarker", out)
    assert any("/tmp/left-by-worker" in f for f in out.failures)
    assert any("x-rtmarker" in f for f in out.failures)
    assert not any("other-suite" in f or "pytest-of-root" in f for f in out.failures + out.notes)
    monkeypatch.setenv("DLGRADE_REDTEAM_STRICT", "0")
    out = harness.Outcome("a", "root")
    harness.Session._file_checks(fake, run, [], before, "rtmarker", out)
    assert any("left-by-worker" in n for n in out.notes)
    assert [f for f in out.failures if "x-rtmarker" in f]


@pytest.mark.skipif(os.geteuid() != 0, reason="starts processes under other uids")
def test_the_reaper_counts_new_processes_of_the_watched_uids_only():
    import subprocess
    import time

    from tests.redteam import reaper

    before = reaper.processes()
    mine = subprocess.Popen(["sleep", "30"], user=63050, group=63050, extra_groups=[])
    other = subprocess.Popen(["sleep", "30"], user=61998, group=61998, extra_groups=[])
    try:
        time.sleep(0.2)
        found = reaper.by_uid([[63000, 63098]], before, set())
        assert str(mine.pid) in found and str(other.pid) not in found
    finally:
        for proc in (mine, other):
            proc.kill()
            proc.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="the slots' locks are root's")
def test_sessions_side_by_side_get_uid_slots_of_their_own():
    first, fd1 = harness.take_slot()
    second, fd2 = harness.take_slot()
    try:
        assert first != second and abs(first - second) >= harness.SLOT_UIDS
    finally:
        os.close(fd1)
    again, fd3 = harness.take_slot()
    os.close(fd2)
    os.close(fd3)
    assert again == first  # given back when its session closes
