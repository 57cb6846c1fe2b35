"""``dlgrade bundle otter``: self-contained zips, and ``otter run`` on them, in a fresh virtual
environment where dlgrade is not installed (torch, otter-grader and the bundle's public
requirements only, as its setup would install them), gives the same score as ``dlgrade grade``:
kfold and conv end to end (reference, stub, a slip, one that tampers with otter's tests from the
kernel), the references of the other exercises, and an exercise added in a test clone."""

from __future__ import annotations

import importlib.metadata
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from grader.config import load_config
from grader.delivery.otter import STAND_IN, build_otter_bundles
from tests import added_exercise
from tests.helpers import ASSIGNMENTS, REPO, SOLUTIONS, SUBMISSIONS, grade_dir, repo_config
from tests.mutations import apply_mutation

END_TO_END = ("kfold", "conv")
SLIP = {"kfold": "remainder_in_last_fold", "conv": "db_not_summed_over_batch"}

# Appended to a stub: run in otter's kernel, it would make every otter test case pass. The
# bundle keeps the submission out of the kernel, so it must change nothing.
TAMPER = '''

import sys as _sys
if "otter" in _sys.modules:  # only in otter's kernel, never in a dlgrade worker
    from otter.test_files.abstract_test import TestCaseResult as _Result
    from otter.test_files.exception_test import ExceptionTestFile as _TestFile

    def _all_pass(self, env):
        self.test_case_results = [_Result(test_case=tc, message="ok", passed=True)
                                  for tc in self.test_cases]

    _TestFile.run = _all_pass
'''


def _public_dir(prefix: str) -> Path:
    """A world-readable temporary folder (the workers' uids must reach what is graded)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def bundles():
    out = _public_dir("dlgrade-otter-bundles-")
    config = repo_config()
    written = build_otter_bundles(config, out)
    assert written == [out / f"{ex}.zip" for ex in config.ids]
    yield dict(zip(config.ids, written))
    shutil.rmtree(out, ignore_errors=True)


def public_requirements(bundle: Path) -> list[str]:
    """The pip packages of the bundle's environment.yml, less otter-grader and pip options."""
    with zipfile.ZipFile(bundle) as zf:
        env = yaml.safe_load(zf.read("environment.yml"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return [r for r in pip if not r.startswith(("-", "otter-grader"))]


@pytest.fixture(scope="module")
def otter_venv(bundles):
    """A fresh venv: torch first (the grader's, from the local wheel), otter-grader with its
    grading kernel, then the bundle's public requirements, as its setup installs them."""
    folder = _public_dir("dlgrade-otter-venv-")
    python = folder / "venv" / "bin" / "python"
    base = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    otter = importlib.metadata.version("otter-grader")
    torch = f"torch=={__import__('torch').__version__.split('+')[0]}"
    for argv in ([base, "-m", "venv", str(folder / "venv")],
                 [str(python), "-m", "pip", "install", "-q", torch],
                 [str(python), "-m", "pip", "install", "-q", f"otter-grader[grading]=={otter}"],
                 [str(python), "-m", "pip", "install", "-q",
                  *public_requirements(bundles["kfold"])]):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, proc.stderr[-3000:]
    missing = subprocess.run([str(python), "-c", "import grader"], capture_output=True,
                             text=True, cwd=folder)
    assert "No module named 'grader'" in missing.stderr  # dlgrade is not installed there
    yield python.with_name("otter")
    shutil.rmtree(folder, ignore_errors=True)


def submission(kind: str, exercise: str, folder: Path) -> Path:
    """``folder/<exercise>.py``: the reference, the stub, a slip, or a tampering stub."""
    folder.mkdir(parents=True)
    path = folder / f"{exercise}.py"
    if kind == "reference":
        shutil.copy(SOLUTIONS / path.name, path)
    elif kind in ("stub", "tamper"):
        text = (ASSIGNMENTS / path.name).read_text()
        path.write_text(text + (TAMPER if kind == "tamper" else ""))
    else:
        shutil.copy(SUBMISSIONS / exercise / SLIP[exercise] / path.name, path)
    return path


def otter_run(otter: Path, bundle: Path, file: Path, out: Path) -> dict:
    out.mkdir()
    proc = subprocess.run([str(otter), "run", "-a", str(bundle), str(file), "-o", str(out),
                           "--no-logo"], capture_output=True, text=True, timeout=900,
                          cwd=out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / "results.json").read_text())


def test_each_zip_carries_the_engine_its_checks_and_no_dlgrade_to_install(bundles, tmp_path):
    config = repo_config()
    for ex, bundle in bundles.items():
        with zipfile.ZipFile(bundle) as zf:
            names = set(zf.namelist())
            data = {name: zf.read(name) for name in names}
        assert {f"tests/{ex}.py", "otter_config.json", "files/autograder.yml",
                f"files/solutions/{ex}.py", f"files/{STAND_IN}", "environment.yml",
                "run_autograder", "setup.sh", "files/grader/__init__.py",
                "files/grader/sandbox/worker.py", f"files/grader/exercises/{ex}/test_public.py",
                f"files/grader/exercises/{ex}/test_hidden.py",
                f"files/grader/exercises/{ex}/probes.py"} <= names
        # this exercise's checks only, and one test file
        others = [n for n in names if n.startswith("files/grader/exercises/")
                  and n.split("/")[3] not in (ex, "__init__.py")]
        assert others == [] and [n for n in names if n.startswith("tests/")] == [f"tests/{ex}.py"]
        # nothing top-level in files/ that otter would take for a submitted .py
        assert not [n for n in names if re.fullmatch(r"files/[^/]+\.py", n)]
        for name, blob in data.items():  # nothing pickled (otter would unpickle it)
            assert not name.endswith((".pkl", ".pickle", ".dill")), name
            assert not blob.startswith(b"\x80"), f"{name} looks like a pickle"
            if name.endswith(".npz"):  # golden data: arrays only, read with allow_pickle=False
                with zipfile.ZipFile(io.BytesIO(blob)) as npz:
                    assert all(n.endswith((".npy", ".json")) for n in npz.namelist()), name
                    for member in npz.namelist():
                        if member.endswith(".npy"):
                            np.load(io.BytesIO(npz.read(member)), allow_pickle=False)
            else:
                blob.decode("utf-8")
        assert data[f"files/solutions/{ex}.py"] == (SOLUTIONS / f"{ex}.py").read_bytes()
        # nothing of dlgrade from an index: public packages only, pinned
        requirements = public_requirements(bundle)
        assert not [r for r in requirements if "dlgrade" in r]
        assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.]+", r) for r in requirements)
        assert "dlgrade" not in data["environment.yml"].decode()

        tests = data[f"tests/{ex}.py"].decode()
        assert "OK_FORMAT = False" in tests and "-m\", \"grader\"" in tests
        hidden_source = (REPO / "grader" / "exercises" / ex / "test_hidden.py").read_text()
        for line in hidden_source.splitlines():  # names and points, not the checks' code
            line = line.strip()
            if len(line) > 30 and not line.startswith(("#", "from ", "import ")):
                assert line not in tests, f"hidden check code in the otter tests: {line}"
        otter_config = json.loads(data["otter_config.json"])
        assert otter_config["points_possible"] == pytest.approx(config.exercise(ex).points)

        # the shipped configs are valid: this exercise only, the same settings
        unpacked = tmp_path / ex
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(unpacked)
        shipped = load_config(unpacked / "files" / "autograder.yml")
        assert shipped.ids == (ex,) and shipped.assignments is None
        assert shipped.solutions == (unpacked / "files" / "solutions").resolve()
        assert shipped.exercise(ex) == config.exercise(ex)
        assert load_config(unpacked / "files" / "grader" / "default_config.yml").ids == (ex,)


def _same_score(results: dict, report, exercise: str) -> float:
    ours, _ = report.exercise_score(exercise)
    assert round(results["score"], 2) == round(ours, 2)
    exact = sum(c.score for c in report.checks if c.exercise == exercise)  # before rounding
    assert results["score"] == pytest.approx(exact, abs=1e-6)
    return ours


@pytest.mark.slow
@pytest.mark.parametrize("exercise, kind", [(ex, kind) for ex in END_TO_END
                                            for kind in ("reference", "stub", "wrong")]
                         + [("kfold", "tamper")])
def test_otter_run_without_dlgrade_scores_as_dlgrade_grade(otter_venv, bundles, exercise, kind,
                                                           tmp_path):
    file = submission(kind, exercise, tmp_path / "submission")
    results = otter_run(otter_venv, bundles[exercise], file, tmp_path / "otter-out")
    report = grade_dir(file.parent, exercise)
    ours = _same_score(results, report, exercise)
    top = repo_config().exercise(exercise).points
    expected = {"reference": top, "stub": 0.0, "tamper": 0.0}
    if kind in expected:
        assert ours == pytest.approx(expected[kind])
    else:  # the slip loses some checks, not all
        assert 0 < ours < top
        summary = next(t for t in results["tests"] if t.get("score") is not None)["output"]
        assert "Test case failed" in summary and "AssertionError" in summary


@pytest.mark.slow
@pytest.mark.parametrize("exercise", [ex for ex in repo_config().ids if ex not in END_TO_END])
def test_otter_run_gives_the_references_full_marks(otter_venv, bundles, exercise, tmp_path):
    file = submission("reference", exercise, tmp_path / "submission")
    results = otter_run(otter_venv, bundles[exercise], file, tmp_path / "otter-out")
    assert results["score"] == pytest.approx(repo_config().exercise(exercise).points)


@pytest.mark.slow
def test_an_exercise_added_in_a_clone_is_graded_by_its_own_bundle(otter_venv, tmp_path):
    base = _public_dir("dlgrade-otter-clone-")
    try:
        clone = base / "course"
        added_exercise.make_clone(REPO, clone)
        ex = added_exercise.EXERCISE
        proc = added_exercise.run(clone, "-m", "grader", "bundle", "otter", "--exercises", ex,
                                  "--out", str(base / "otter"))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        reference = (clone / "solutions" / f"{ex}.py").read_text()
        slip = apply_mutation(reference, added_exercise.FILES[
            f"tests/submissions/{ex}/relu_leaky.mutation"])
        for kind, text in (("reference", reference), ("relu_leaky", slip)):
            folder = base / kind
            folder.mkdir()
            (folder / f"{ex}.py").write_text(text)
            folder.chmod(0o755)
            results = otter_run(otter_venv, base / "otter" / f"{ex}.zip", folder / f"{ex}.py",
                                base / f"{kind}-out")
            graded = added_exercise.run(clone, "-m", "grader", "grade", str(folder),
                                        "--exercises", ex, "--quiet")
            assert graded.returncode == 0, graded.stderr
            ours = float(graded.stdout.split("/")[0])
            assert round(results["score"], 2) == ours
            assert (ours == 12) == (kind == "reference")
    finally:
        shutil.rmtree(base, ignore_errors=True)
