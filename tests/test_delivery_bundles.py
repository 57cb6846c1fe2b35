"""The student zip and the Gradescope autograder, used the way their users get them: unpacked into
an empty folder, installed into a fresh virtual environment, run from outside the repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader.delivery.gradescope import build_gradescope_zip
from grader.delivery.student_zip import build_student_zip
from grader.release import BEGIN, END
from tests.helpers import ASSIGNMENTS, REPO, SOLUTIONS, repo_config

def _solution_bodies() -> dict[str, list[str]]:
    """Each reference's solution regions, as the text between the markers."""
    out = {}
    for path in SOLUTIONS.glob("*.py"):
        text = path.read_text()
        out[path.name] = [m.strip() for m in re.findall(
            rf"{re.escape(BEGIN)}\n(.*?)\n\s*{re.escape(END)}", text, flags=re.S) if m.strip()]
    return out


def _public_dir() -> Path:
    """A world-readable temporary folder (the sandbox's user must be able to read bundles)."""
    folder = Path(tempfile.mkdtemp(prefix="dlgrade-bundle-test-"))
    folder.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def student_zip(tmp_path_factory):
    # the release's own leak scan is tests/test_leaks.py's business
    return build_student_zip(repo_config(), tmp_path_factory.mktemp("student") / "student.zip",
                             scan=False)


def test_student_zip_holds_no_reference_no_hidden_check_and_no_solution_body(student_zip):
    with zipfile.ZipFile(student_zip) as zf:
        names = zf.namelist()
        texts = {n: zf.read(n).decode(errors="replace") for n in names}
    assert not [n for n in names if n.startswith("solutions/") or "test_hidden" in n
                or n.endswith(("calibrate.py", "equivalent_mutants.yml", "cases.py"))]
    assert "MANIFEST" in names
    for n in names:
        assert not n.startswith("/") and ".." not in n.split("/")
    for solution, bodies in _solution_bodies().items():
        for body in bodies:
            leaks = [n for n, t in texts.items() if body in t]
            assert leaks == [], f"a solution region of {solution} is in {leaks}"
    assert {"pyproject.toml", "README.md", "autograder.yml"} <= set(names)
    assert {f"assignments/{p.name}" for p in ASSIGNMENTS.glob("*.py")} <= set(names)
    assert "solutions" not in texts["autograder.yml"]
    for ex in repo_config().ids:
        assert f"grader/exercises/{ex}/test_public.py" in names
    readme = texts["README.md"]
    assert "pip install ." in readme and "dlgrade check kfold" in readme
    assert "hidden" in readme and "7.41" in readme  # what the public points mean


@pytest.fixture(scope="module")
def fresh_venv():
    """A new virtual environment with only torch and dlgrade's dependencies, as a student has
    after `pip install torch` (the project's packages come from its own install)."""
    folder = _public_dir()
    python = str(folder / "venv" / "bin" / "python")
    base = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    subprocess.run([base, "-m", "venv", str(folder / "venv")], check=True)
    torch = f"torch=={__import__('torch').__version__.split('+')[0]}"
    subprocess.run([python, "-m", "pip", "install", "-q", torch], check=True)
    yield python
    shutil.rmtree(folder, ignore_errors=True)


def _run(argv, cwd, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("DLGRADE_CONFIG", "PYTHONPATH")}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          **kw)


def _public_total(stdout: str) -> tuple[float, float]:
    m = re.search(r"Total: ([\d.]+) / ([\d.]+)", stdout)
    assert m, stdout
    return float(m.group(1)), float(m.group(2))


@pytest.mark.slow
def test_student_zip_installs_in_a_fresh_venv_and_checks_kfold(student_zip, fresh_venv):
    folder = _public_dir()
    try:
        with zipfile.ZipFile(student_zip) as zf:
            zf.extractall(folder / "hw")
        hw = folder / "hw"
        pip = _run([fresh_venv, "-m", "pip", "install", "-q", "."], cwd=hw)
        assert pip.returncode == 0, pip.stderr[-2000:]
        dlgrade = str(Path(fresh_venv).parent / "dlgrade")
        stub = _run([dlgrade, "check", "kfold"], cwd=hw)
        assert stub.returncode == 0, stub.stderr
        score, public = _public_total(stub.stdout)
        assert score == 0 and 0 < public < 10
        assert f"worth {public:g} of the exercise's 10 points" in stub.stdout
        shutil.copy(SOLUTIONS / "kfold.py", hw / "assignments" / "kfold.py")
        ref = _run([dlgrade, "check", "kfold"], cwd=hw)
        assert _public_total(ref.stdout) == (public, public), ref.stdout
        # from an empty folder, on a folder of the student's: the installed built-in config
        empty, mine = folder / "empty", folder / "mine"
        empty.mkdir()
        mine.mkdir()
        shutil.copy(SOLUTIONS / "kfold.py", mine / "KFold.py")
        away = _run([dlgrade, "check", "kfold", "--submission", str(mine)], cwd=empty)
        assert _public_total(away.stdout) == (public, public), away.stdout + away.stderr
        assert "took KFold.py as kfold.py" in away.stdout
        # conv's public checks read their golden data from the installed package: the stub
        # scores 0 and the reference full public marks, from outside the folder
        stubs = _run([dlgrade, "check", "conv", "--submission", str(hw / "assignments")],
                     cwd=empty)
        score, public = _public_total(stubs.stdout)
        assert score == 0 and 0 < public < 25, stubs.stdout + stubs.stderr
        shutil.copy(SOLUTIONS / "conv.py", mine / "conv.py")
        ref = _run([dlgrade, "check", "conv", "--submission", str(mine)], cwd=empty)
        assert _public_total(ref.stdout) == (public, public), ref.stdout + ref.stderr
        # the instructor commands are not in the student release, and say so
        refused = _run([dlgrade, "bundle", "student", "--out", str(folder / "x.zip")], cwd=hw)
        assert refused.returncode == 2 and "instructor command" in refused.stderr, refused.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_the_package_works_from_an_empty_folder_after_pip_install(fresh_venv):
    folder = _public_dir()
    try:
        clone = folder / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        for path in ("grader", "pyproject.toml"):  # the working tree, committed or not
            target = clone / path
            shutil.rmtree(target) if target.is_dir() else target.unlink()
            (shutil.copytree if (REPO / path).is_dir() else shutil.copy)(REPO / path, target)
        pip = _run([fresh_venv, "-m", "pip", "install", "-q", str(clone)], cwd=folder)
        assert pip.returncode == 0, pip.stderr[-2000:]
        empty, mine = folder / "empty", folder / "mine"
        empty.mkdir()
        mine.mkdir()
        shutil.copy(SOLUTIONS / "kfold.py", mine / "kfold.py")
        dlgrade = str(Path(fresh_venv).parent / "dlgrade")
        out = _run([dlgrade, "check", "kfold", "--submission", str(mine)], cwd=empty)
        assert out.returncode == 0, out.stderr
        score, public = _public_total(out.stdout)
        assert score == public > 0
        here = _run([dlgrade, "check", "kfold"], cwd=mine)  # the current folder by default
        assert _public_total(here.stdout) == (public, public), here.stdout + here.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- Gradescope ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gradescope_source():
    """Two unpacked autograders (all six exercises; kfold + param_count), as /autograder/source."""
    folder = _public_dir()
    out = {}
    for name, ids in (("all", None), ("two", ("kfold", "param_count"))):
        zpath = build_gradescope_zip(repo_config(), folder / f"{name}.zip", exercises=ids)
        with zipfile.ZipFile(zpath) as zf:
            zf.extractall(folder / name)
        for path in (folder / name).rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        out[name] = folder / name
    yield out
    shutil.rmtree(folder, ignore_errors=True)


def _run_autograder(source: Path, fill) -> dict:
    """Run ``run_autograder`` on a temporary root whose submission ``fill(folder)`` lays out."""
    root = _public_dir()
    try:
        (root / "submission").mkdir()
        fill(root / "submission")
        env = {**{k: v for k, v in os.environ.items() if k != "DLGRADE_CONFIG"},
               "DLGRADE_AUTOGRADER_ROOT": str(root), "DLGRADE_PYTHON": sys.executable}
        proc = subprocess.run(["bash", str(source / "run_autograder")], cwd=root, env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        text = (root / "results" / "results.json").read_text()
        everything = text + proc.stdout + proc.stderr
        for machine_path in (str(root), str(source), str(REPO), sys.prefix, tempfile.gettempdir()
                             + "/"):
            assert machine_path not in everything, f"{machine_path} appears in the output"
        return json.loads(text)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _copy(names, source=SOLUTIONS, sub=""):
    def fill(folder: Path) -> None:
        (folder / sub).mkdir(parents=True, exist_ok=True)
        for n in names:
            shutil.copy(source / f"{n}.py", folder / sub / f"{n}.py")
    return fill


def _check_spec(results: dict) -> None:
    assert results["tests"] and isinstance(results["score"], (int, float))
    for i, t in enumerate(results["tests"], 1):
        assert {"name", "score", "max_score", "output", "visibility", "number",
                "output_format"} <= set(t)
        assert t["number"] == str(i) and t["visibility"] in (
            "visible", "hidden", "after_due_date", "after_published")
        assert t["output_format"] in ("text", "html")


@pytest.mark.slow
def test_gradescope_reference_gets_full_marks(gradescope_source):
    ids = repo_config().ids
    results = _run_autograder(gradescope_source["all"], _copy(ids))
    _check_spec(results)
    assert results["score"] == sum(repo_config().exercise(e).points for e in ids) == 120
    assert all(t["score"] == t["max_score"] for t in results["tests"])


@pytest.mark.slow
@pytest.mark.parametrize("case", ["stubs", "zip", "nested", "empty"])
def test_gradescope_submissions_as_handed_in(gradescope_source, case):
    two = ("kfold", "param_count")
    if case == "stubs":
        fill = _copy(two, source=ASSIGNMENTS)
    elif case == "nested":
        fill = _copy(two, sub="mywork/hw3")
    elif case == "zip":
        def fill(folder):
            with zipfile.ZipFile(folder / "my submission.zip", "w") as zf:
                for n in two:
                    zf.write(SOLUTIONS / f"{n}.py", f"hw/{n}.py")
    else:
        def fill(folder):
            pass
    results = _run_autograder(gradescope_source["two"], fill)
    _check_spec(results)
    assert len(results["tests"]) >= 30 and {t["tags"][0] for t in results["tests"]} == set(two)
    if case in ("zip", "nested"):
        assert results["score"] == 20
    else:
        assert results["score"] == 0
        assert all(t["score"] == 0 and t["max_score"] > 0 for t in results["tests"])
    if case == "empty":
        assert "no kfold.py" in results["output"] and "no param_count.py" in results["output"]
        assert results["output"].count("kfold.py") <= 3  # once per exercise, not per check
