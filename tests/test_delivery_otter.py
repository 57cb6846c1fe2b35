"""``dlgrade bundle otter``: the zips otter's API writes, and ``otter run`` on them gives the
same score as ``dlgrade grade`` (reference, stub, wrong submissions, and one that tampers with
otter's tests from the kernel)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.config import load_config
from grader.delivery.otter import PLUGIN, build_otter_bundles
from tests.helpers import ASSIGNMENTS, SOLUTIONS, grade_dir, repo_config

EXERCISES = ("kfold", "param_count")
OTTER = Path(sys.executable).with_name("otter")

# One wrong line per exercise: (what the reference says, what the wrong submission says).
BREAK = {
    # the remainder of n / k all goes to the last fold instead of one to each of the first ones
    "kfold": ("    sizes[: n % k] += 1\n", "    sizes[-1] += n % k\n"),
    # dense layers always counted with their bias
    "param_count": ("(n_out if bias else 0)", "n_out"),
}

# Appended to a stub: run in otter's kernel, it would make every otter test case pass. The
# bundle's plugin keeps the submission out of the kernel, so it must change nothing.
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


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("otter-bundles")
    written = build_otter_bundles(repo_config(), out, exercises=EXERCISES)
    assert written == [out / f"{ex}.zip" for ex in EXERCISES]
    return dict(zip(EXERCISES, written))


@pytest.fixture(scope="module")
def checks() -> dict[str, list]:
    """The checks ``dlgrade grade`` lists for each exercise (grading the stub)."""
    report = grade_dir(ASSIGNMENTS, *EXERCISES)
    return {ex: [c for c in report.checks if c.exercise == ex] for ex in EXERCISES}


def submission(kind: str, exercise: str, folder: Path) -> Path:
    """``folder/<exercise>.py``: the reference, the stub, a wrong one, or a tampering stub."""
    folder.mkdir(parents=True)
    path = folder / f"{exercise}.py"
    if kind == "reference":
        shutil.copy(SOLUTIONS / path.name, path)
    elif kind in ("stub", "tamper"):
        text = (ASSIGNMENTS / path.name).read_text()
        path.write_text(text + (TAMPER if kind == "tamper" else ""))
    else:
        good, bad = BREAK[exercise]
        text = (SOLUTIONS / path.name).read_text()
        assert text.count(good) == 1, f"the reference {path.name} changed: fix BREAK"
        path.write_text(text.replace(good, bad))
    return path


def otter_run(bundle: Path, file: Path, out: Path) -> dict:
    out.mkdir()
    proc = subprocess.run([str(OTTER), "run", "-a", str(bundle), str(file), "-o", str(out),
                           "--no-logo"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / "results.json").read_text())


def test_zip_holds_otter_tests_config_and_reference_only(bundles, checks, tmp_path):
    config = repo_config()
    for ex, bundle in bundles.items():
        with zipfile.ZipFile(bundle) as zf:
            names = set(zf.namelist())
            data = {name: zf.read(name) for name in names}
        assert {f"tests/{ex}.py", "otter_config.json", "files/autograder.yml",
                f"files/solutions/{ex}.py", "environment.yml", "run_autograder",
                "setup.sh"} <= names
        # one test file, no engine, no check module, no other exercise, nothing top-level in
        # files/ that otter would take for a second submitted .py
        assert [n for n in names if n.startswith("tests/")] == [f"tests/{ex}.py"]
        assert not [n for n in names if "grader/" in n or "test_hidden" in n or "test_public" in n]
        assert {n for n in names if n.startswith("files/")} == {
            "files/autograder.yml", f"files/solutions/{ex}.py"}
        # nothing pickled (otter would unpickle it): every file is UTF-8 text
        for name, blob in data.items():
            assert not name.endswith((".pkl", ".pickle", ".dill")), name
            assert not blob.startswith(b"\x80"), f"{name} looks like a pickle"
            blob.decode("utf-8")
        assert data[f"files/solutions/{ex}.py"] == (SOLUTIONS / f"{ex}.py").read_bytes()

        tests = data[f"tests/{ex}.py"].decode()
        assert "OK_FORMAT = False" in tests and "-m\", \"grader\"" in tests
        # the test file holds the checks' names and points, not their code
        hidden_source = (Path(__file__).parents[1] / "grader" / "exercises" / ex /
                         "test_hidden.py").read_text()
        for line in hidden_source.splitlines():
            line = line.strip()
            if len(line) > 30 and not line.startswith(("#", "from ", "import ")):
                assert line not in tests, f"hidden check code in the otter tests: {line}"
        from otter.test_files.exception_test import ExceptionTestFile

        parsed = ExceptionTestFile.from_string(tests, path=f"tests/{ex}.py")
        assert [(tc.name, round(tc.points, 9), tc.hidden) for tc in parsed.test_cases] == [
            (c.name, round(c.max_score, 9), c.visibility != "visible") for c in checks[ex]]
        assert any(tc.hidden for tc in parsed.test_cases)  # the hidden checks are graded too

        otter_config = json.loads(data["otter_config.json"])
        assert otter_config["points_possible"] == pytest.approx(config.exercise(ex).points)
        assert otter_config["plugins"] == [{PLUGIN: {"exercise": ex}}]
        assert "dlgrade==" in data["environment.yml"].decode()

        # the shipped config is valid, names the shipped references, and has the same settings
        unpacked = tmp_path / ex
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(unpacked)
        shipped = load_config(unpacked / "files" / "autograder.yml")
        assert shipped.ids == (ex,)
        assert shipped.solutions == (unpacked / "files" / "solutions").resolve()
        assert shipped.assignments is None
        assert shipped.exercise(ex) == config.exercise(ex)


@pytest.mark.slow
@pytest.mark.parametrize("exercise, kind", [(ex, kind) for ex in EXERCISES
                                            for kind in ("reference", "stub", "wrong")]
                         + [("kfold", "tamper")])
def test_otter_run_scores_as_dlgrade_grade(bundles, exercise, kind, tmp_path):
    file = submission(kind, exercise, tmp_path / "submission")
    results = otter_run(bundles[exercise], file, tmp_path / "otter-out")
    report = grade_dir(file.parent, exercise)
    ours, top = report.exercise_score(exercise)
    assert round(results["score"], 2) == round(ours, 2)
    exact = sum(c.score for c in report.checks if c.exercise == exercise)  # before any rounding
    assert results["score"] == pytest.approx(exact, abs=1e-6)
    expected = {"reference": top, "stub": 0.0, "tamper": 0.0}
    if kind in expected:
        assert ours == pytest.approx(expected[kind])
    else:  # the wrong line loses some checks, not all
        assert 0 < ours < top
        summary = next(t for t in results["tests"] if t.get("score") is not None)["output"]
        assert "Test case failed" in summary and "AssertionError" in summary
