"""Adding an exercise touches only its own files and autograder.yml.

A temporary clone of the working tree gets two exercises: ``activations``, written as an
instructor would (tests/added_exercise.py: its own files and one config entry; a helper module
its probes import, paired gates, slips), and ``scaled``, the skeleton of ``dlgrade new``. Then,
in the clone: ``dlgrade selftest`` passes on both, the suite's generic tests pass with them
(config, slips, mutants' equivalents, release, init-ci, the student zip, their own exercise
tests), and a probe whose helper is not declared is a grader error naming the module.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests import added_exercise
from tests.added_exercise import run
from tests.helpers import REPO

pytestmark = pytest.mark.slow

SKELETON = "scaled"
GENERIC = ["tests/test_config.py", "tests/test_mutations.py", "tests/test_release.py",
           "tests/test_mutants.py::test_every_listed_equivalent_still_matches_a_mutant",
           "tests/test_delivery_ci.py::test_init_ci_writes_a_workflow_and_one_classroom_test"
           "_per_exercise",
           "tests/test_delivery_bundles.py::test_student_zip_holds_no_reference_no_hidden_check"
           "_and_no_solution_body",
           f"tests/exercises/test_{added_exercise.EXERCISE}.py",
           f"tests/exercises/test_{SKELETON}.py"]


@pytest.fixture(scope="module")
def clone():
    base = Path(tempfile.mkdtemp(prefix="dlgrade-clone-"))
    base.chmod(0o755)  # workers run under uids of their own: they must reach the engine copy
    files = added_exercise.make_clone(REPO, base / "course")
    proc = run(base / "course", "-m", "grader", "new", SKELETON)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield base / "course", set(files)
    shutil.rmtree(base, ignore_errors=True)


def test_only_the_exercises_own_files_and_the_config_change(clone):
    folder, before = clone
    now = {p.relative_to(folder).as_posix() for p in folder.rglob("*")
           if (p.is_file() or p.is_symlink()) and "__pycache__" not in p.parts}
    changed = {rel for rel in before if rel in now and not os.path.islink(folder / rel)
               and (folder / rel).read_bytes() != (REPO / rel).read_bytes()}
    ex, sk = added_exercise.EXERCISE, SKELETON
    assert changed == {"autograder.yml"}
    own = {p for p in now - before
           if any(p in (f"solutions/{e}.py", f"assignments/{e}.py", f"tests/exercises/test_{e}.py")
                  or p.startswith((f"grader/exercises/{e}/", f"tests/submissions/{e}/"))
                  for e in (ex, sk))}
    assert now - before == own, sorted(now - before - own)
    assert (folder / "grader" / "default_config.yml").is_symlink()  # the built-in config follows


def test_selftest_passes_on_both(clone):
    folder, _ = clone
    proc = run(folder, "-m", "grader", "selftest", added_exercise.EXERCISE, SKELETON)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ok   {added_exercise.EXERCISE}" in proc.stdout and f"ok   {SKELETON}" in proc.stdout
    assert "reference 12/12  stub 0/12" in proc.stdout and "reference 10/10  stub 0/10" in proc.stdout


def test_the_suites_generic_tests_pass_with_them(clone):
    folder, _ = clone
    proc = run(folder, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *GENERIC,
               timeout=1500)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout.splitlines()[-1]


def test_the_builtin_config_knows_them(clone, tmp_path):
    folder, _ = clone
    env_config = run(folder, "-c", "from grader.config import DEFAULT_CONFIG, load_config; "
                               "print(' '.join(load_config(DEFAULT_CONFIG).ids))")
    assert env_config.returncode == 0, env_config.stderr
    assert env_config.stdout.split()[-2:] == [added_exercise.EXERCISE, SKELETON]


def test_a_probe_helper_that_is_not_declared_is_a_grader_error(clone, tmp_path):
    folder, _ = clone
    init = folder / "grader" / "exercises" / added_exercise.EXERCISE / "__init__.py"
    text = init.read_text()
    init.write_text(text.replace('("grid",)', "()"))
    try:
        results = tmp_path / "results.json"
        proc = run(folder, "-m", "grader", "grade", "solutions", "--exercises",
                   added_exercise.EXERCISE, "--results", str(results), "--quiet")
    finally:
        init.write_text(text)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    data = json.loads(results.read_text())
    assert data["output"].startswith("GRADER ERROR")
    assert all(t["status"] == "failed" and t["score"] == 0 for t in data["tests"])
    assert all("probes.py imports grader.exercises.activations.grid, which is not in the "
               "worker's copy of the engine" in t["output"]
               and "not a verdict on your code" in t["output"] for t in data["tests"])
