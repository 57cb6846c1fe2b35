"""What ships to students holds no answer (issue 18): the leak tests, on the bundles as their users
get them (built here, unpacked into an empty folder), for every exercise of the config and for an
exercise added in a test.

- textual: no line of a solution region (30 characters or more, whitespace normalised) appears
  in any file of the bundle (grader.leaks.textual_leaks);
- behavioural: no function or class of the bundle's exercise packages (or of the engine's pure
  helpers), called on the inputs of a public case's call of a contract function, returns the
  reference's output (grader.leaks.behavioural_leaks, run inside the unpacked bundle).

Each scan is also shown to fail: on a planted leaky helper, on a quoted line, and the bundle
command refuses a release whose public checks import a helper that computes the answer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import yaml

from grader import leaks
from grader.delivery.files import MAINTAINER_FILES
from grader.delivery.gradescope import build_gradescope_zip
from grader.delivery.student_zip import build_student_zip
from tests.helpers import REPO, SOLUTIONS, repo_config

# Modules that implement an exercise for the hidden checks (judge side): never in a release.
ORACLES = ["grader/exercises/conv/ops.py", "grader/exercises/kfold/oracle.py",
           "grader/exercises/backprop/oracle.py", "grader/exercises/param_count/counts.py"]


def _unpack(zpath: Path, folder: Path) -> Path:
    """Unpack into an empty folder, as a student does; the release's one folder inside it."""
    folder.mkdir(parents=True)
    assert not any(folder.iterdir())
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(folder)
    return folder


def _unpack_release(zpath: Path, folder: Path) -> Path:
    """The student release unpacked: the one folder it unpacks into."""
    (top,) = _unpack(zpath, folder).iterdir()
    return top


def _manifest(folder: Path) -> dict[str, str]:
    lines = (folder / "MANIFEST").read_text().splitlines()
    return dict(line.split("\t", 1) for line in lines if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """The student release of the repository's six exercises, unpacked into an empty folder
    (built without the bundle's own behavioural scan: the tests here run it)."""
    tmp = tmp_path_factory.mktemp("release")
    zpath = build_student_zip(repo_config(), tmp / "student.zip", scan=False)
    return _unpack_release(zpath, tmp / "unpacked")


@pytest.fixture(scope="module")
def calls() -> list[dict]:
    """The reference's calls on every exercise's public cases."""
    return leaks.recorded_calls(repo_config().ids, SOLUTIONS)


# ---------------------------------------------------------------- what ships

def test_the_manifest_lists_every_file_and_why(release):
    manifest = _manifest(release)
    assert set(manifest) == set(leaks.files_of(release))
    assert all(why.strip() for why in manifest.values())
    for name in manifest:
        assert not name.startswith("solutions/") and "test_hidden" not in name, name
        if name.startswith("grader/exercises/"):
            assert Path(name).name not in MAINTAINER_FILES, name
        assert not manifest[name].startswith("judge only"), name
    for name in ORACLES:
        assert name not in manifest
    for ex in ("conv", "kfold", "backprop", "param_count"):
        assert manifest[f"grader/exercises/{ex}/golden.npz"].startswith(f"{ex}: golden data")
    for ex in repo_config().ids:
        assert f"grader/exercises/{ex}/test_public.py" in manifest
    for tool in ("release.py", "mutants.py", "selftest.py", "leaks.py", "delivery/files.py"):
        assert f"grader/{tool}" not in manifest


# ---------------------------------------------------------------- textual

def test_no_solution_line_appears_in_the_student_release(release):
    lines = leaks.solution_lines(SOLUTIONS)
    assert len(lines) > 100
    assert leaks.textual_leaks(leaks.files_of(release), lines) == []


def test_the_textual_scan_finds_a_quoted_line(release, tmp_path):
    """What it is for: every exercise's equivalent_mutants.yml quotes solution lines (and the
    old release shipped them); planted into a copy of the release, each is found."""
    planted = tmp_path / "planted"
    shutil.copytree(release, planted)
    for ex in repo_config().ids:
        shutil.copy(REPO / "grader" / "exercises" / ex / "equivalent_mutants.yml",
                    planted / "grader" / "exercises" / ex / "equivalent_mutants.yml")
    found = leaks.textual_leaks(leaks.files_of(planted), leaks.solution_lines(SOLUTIONS))
    assert {Path(name).parent.name for name, _ in found} >= {"kfold", "dropout", "autoencoder"}
    assert all(name.endswith("equivalent_mutants.yml") for name, _ in found)


# ---------------------------------------------------------------- behavioural

def test_no_shipped_function_returns_a_reference_output(release, calls):
    assert {c["exercise"] for c in calls} == set(repo_config().ids)
    result = leaks.behavioural_leaks(release, calls)
    assert result["unimportable"] == []
    assert result["leaks"] == [], leaks.describe(result["leaks"])
    assert result["callables"] > 200 and result["calls"] > 2000  # it did call them


def test_the_behavioural_scan_finds_a_planted_oracle(release, calls, tmp_path):
    """The judge-only oracles, planted into a copy of the release, are found: conv's numpy
    layers, kfold's KFold rule, backprop's torch autograd, param_count's torch counts."""
    planted = tmp_path / "planted"
    shutil.copytree(release, planted)
    for name in ORACLES:
        shutil.copy(REPO / name, planted / name)
    result = leaks.behavioural_leaks(planted, calls)
    found = {leak["callable"] for leak in result["leaks"]}
    assert {"grader.exercises.conv.ops.conv2d", "grader.exercises.conv.ops.conv2d_gradients",
            "grader.exercises.backprop.oracle.torch_affine",
            "grader.exercises.param_count.counts.torch_dense_count",
            "grader.exercises.param_count.counts.torch_output_shape"} <= found, found
    assert any(name.startswith("grader.exercises.kfold.oracle.") for name in found), found


# ---------------------------------------------------------------- the grading servers' bundles

def test_gradescope_bundle_marks_what_no_worker_may_read_and_the_rest_passes(calls, tmp_path):
    """The Gradescope autograder must hold the references and hidden checks (the manifest says
    so: judge only, made root-only by setup.sh). What remains readable by a worker's uid, as
    setup.sh leaves it, passes both scans."""
    folder = _unpack(build_gradescope_zip(repo_config(), tmp_path / "gs.zip"), tmp_path / "gs")
    manifest = _manifest(folder)
    assert set(manifest) == set(leaks.files_of(folder))
    judge = {name for name, why in manifest.items() if why.startswith("judge only")}
    assert {f"solutions/{ex}.py" for ex in repo_config().ids} <= judge
    assert {n for n in manifest if "test_hidden" in n} <= judge
    assert set(ORACLES) <= judge
    assert "judge only" in (folder / "setup.sh").read_text()
    for name in judge:
        (folder / name).unlink()
    assert leaks.textual_leaks(leaks.files_of(folder), leaks.solution_lines(SOLUTIONS)) == []
    result = leaks.behavioural_leaks(folder, calls)
    assert result["leaks"] == [] and result["unimportable"] == [], result


def test_otter_bundle_marks_the_reference_and_the_rest_passes(tmp_path):
    from grader.delivery.otter import build_otter_bundles

    (zpath,) = build_otter_bundles(repo_config(), tmp_path / "otter", exercises=("kfold",))
    folder = _unpack(zpath, tmp_path / "kfold")
    manifest = _manifest(folder)
    assert set(manifest) == set(leaks.files_of(folder))
    assert manifest["files/solutions/kfold.py"].startswith("judge only")
    (folder / "files" / "solutions" / "kfold.py").unlink()
    assert leaks.textual_leaks(leaks.files_of(folder), leaks.solution_lines(SOLUTIONS)) == []


# ---------------------------------------------------------------- an exercise added here

SCALE_SOLUTION = '''\
"""Standardise the columns of a matrix (exercise `scale`)."""

from __future__ import annotations

import numpy as np


def standardise(x: np.ndarray) -> np.ndarray:
    """Each column of ``x`` (N, D) shifted to mean 0 and scaled to standard deviation 1."""
    # BEGIN SOLUTION
    centred = x - x.mean(axis=0, keepdims=True)
    return centred / centred.std(axis=0, keepdims=True)
    # END SOLUTION
'''

SCALE_FILES = {
    "__init__.py": '"""Exercise `scale`: standardise the columns of a matrix."""\n',
    "cases.py": '''\
        import numpy as np

        from grader.golden import Case


        def _standardise(ref, inputs):
            return {"out": ref.standardise(inputs["x"])}


        def golden_cases():
            rng = np.random.default_rng(0)
            return [Case("standardise/5x3", {"x": 3.0 * rng.normal(size=(5, 3)) + 1.0},
                         _standardise)]
        ''',
    "test_public.py": '''\
        import pytest

        from grader import golden
        from grader.expect import expect_array

        pytestmark = pytest.mark.visibility("visible")
        GOLDEN = golden.load("scale")


        @pytest.mark.points(1)
        def test_standardise_matches_the_expected_values(student):
            case = GOLDEN["standardise/5x3"]
            expect_array(student.standardise(case.inputs["x"]), case.expected["out"],
                         what="standardise(x)")
        ''',
    "oracle.py": '''\
        def standardise(x):
            return (x - x.mean(axis=0)) / x.std(axis=0)
        ''',
    "test_hidden.py": '''\
        import pytest

        from grader.exercises.scale.oracle import standardise
        from grader.expect import expect_array

        pytestmark = pytest.mark.visibility("hidden")


        @pytest.mark.points(1)
        def test_standardise_on_hidden_inputs(student, rng):
            x = rng.normal(size=(7, 4))
            expect_array(student.standardise(x), standardise(x), what="standardise(x)")
        ''',
}
# A helper that computes the answer in words of its own (the textual scan cannot see it) and a
# note that quotes a solution line (no function: the behavioural scan cannot see it).
LEAKY_HELPER = '''\
def column_scores(x):
    mu, sd = x.mean(axis=0), x.std(axis=0)
    return (x - mu) / sd
'''
QUOTING_NOTE = "# the reference: return centred / centred.std(axis=0, keepdims=True)\n"

SCAN = '''\
import json, sys
from pathlib import Path
from grader import leaks

root, ids = Path(sys.argv[1]), sys.argv[2].split(",")
textual = leaks.textual_leaks(leaks.files_of(root), leaks.solution_lines(Path("solutions")))
result = leaks.behavioural_leaks(root, leaks.recorded_calls(ids, Path("solutions")))
print(json.dumps({"textual": textual, **result}))
'''


def _in_copy(copy: Path, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    """``python argv`` with the copy's engine (never this checkout's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DLGRADE_CONFIG", "PYTHONPATH")}
    env["PYTHONPATH"] = str(copy)
    proc = subprocess.run([sys.executable, *argv], cwd=copy, env=env, capture_output=True,
                          text=True, timeout=900)
    if check:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def copy_with_scale(tmp_path_factory) -> Path:
    """A copy of the repository with one more exercise, `scale`, made of its own files only
    (reference, checks, declared public cases, a judge-only oracle) and a config entry: no
    change to the engine. `dlgrade release` writes its stub and golden data."""
    copy = tmp_path_factory.mktemp("repo") / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("grader", "solutions", "assignments"):
        shutil.copytree(REPO / name, copy / name, ignore=ignore)
    (copy / "solutions" / "scale.py").write_text(SCALE_SOLUTION)
    folder = copy / "grader" / "exercises" / "scale"
    folder.mkdir()
    for name, text in SCALE_FILES.items():
        (folder / name).write_text(textwrap.dedent(text))
    config = yaml.safe_load((REPO / "autograder.yml").read_text())
    config["exercises"]["scale"] = {"points": 5}
    (copy / "autograder.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    out = _in_copy(copy, "-m", "grader", "release").stdout
    assert "scale.py" in out and "scale/golden.npz" in out, out
    return copy


def test_an_added_exercise_ships_its_public_side_only_and_passes_both_scans(copy_with_scale):
    copy = copy_with_scale
    _in_copy(copy, "-m", "grader", "bundle", "student", "--out", "student.zip",
             "--exercises", "scale,kfold")  # the bundle's own scans pass too
    folder = _unpack_release(copy / "student.zip", copy / "unpacked")
    manifest = _manifest(folder)
    scale = {n for n in manifest if n.startswith("grader/exercises/scale/")}
    assert scale == {f"grader/exercises/scale/{n}" for n in
                     ("__init__.py", "test_public.py", "golden.npz")}
    assert "assignments/scale.py" in manifest
    result = json.loads(_in_copy(copy, "-c", SCAN, str(folder), "scale,kfold").stdout)
    assert result["textual"] == [] and result["leaks"] == [] and not result["unimportable"]
    # each scan catches its plant in the unpacked release
    (folder / "grader/exercises/scale/helpers.py").write_text(LEAKY_HELPER)
    (folder / "grader/exercises/scale/notes.py").write_text(QUOTING_NOTE)
    result = json.loads(_in_copy(copy, "-c", SCAN, str(folder), "scale,kfold").stdout)
    assert [name for name, _ in result["textual"]] == ["grader/exercises/scale/notes.py"]
    assert {leak["callable"] for leak in result["leaks"]} == {
        "grader.exercises.scale.helpers.column_scores"}


def test_the_bundle_refuses_a_public_check_that_imports_an_implementation(copy_with_scale):
    copy = copy_with_scale
    folder = copy / "grader" / "exercises" / "scale"
    public = (folder / "test_public.py").read_text()
    try:
        (folder / "helpers.py").write_text(LEAKY_HELPER)
        (folder / "test_public.py").write_text("from grader.exercises.scale import helpers\n"
                                               + public)
        proc = _in_copy(copy, "-m", "grader", "bundle", "student", "--out", "refused.zip",
                        "--exercises", "scale", check=False)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "would give answers away" in proc.stderr and "column_scores" in proc.stderr
        (folder / "test_public.py").write_text("from grader.exercises.scale import oracle\n"
                                               + public)
        proc = _in_copy(copy, "-m", "grader", "bundle", "student", "--out", "refused.zip",
                        "--exercises", "scale", check=False)
        assert proc.returncode == 2 and "would give answers away" in proc.stderr, proc.stderr
        (folder / "test_public.py").write_text("from grader.exercises.scale import cases\n"
                                               + public)
        proc = _in_copy(copy, "-m", "grader", "bundle", "student", "--out", "refused.zip",
                        "--exercises", "scale", check=False)
        assert proc.returncode == 2 and "maintainer file" in proc.stderr, proc.stderr
        assert not (copy / "refused.zip").exists()
    finally:
        (folder / "test_public.py").write_text(public)
        (folder / "helpers.py").unlink(missing_ok=True)
