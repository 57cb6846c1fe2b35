"""``dlgrade bundle otter``: one self-contained otter-grader autograder zip per exercise.

Each ``<out>/<id>.zip`` is written by ``otter.generate.main`` (what ``otter generate`` runs) from
a staging folder. Besides otter's own files (``run_autograder``, ``run_otter.py``, ``setup.sh``,
``otter_config.json``, and ``environment.yml``, whose pip list is otter-grader and this
bundle's requirements: public packages only, pinned at the versions tested here, torch from
PyTorch's CPU index) it holds:

- ``tests/<id>.py``: an exception-based otter test file (``OK_FORMAT = False``) with one
  ``@test_case`` per check of the exercise, named like the check, with the check's points and
  ``hidden=`` from its visibility. It holds no check code: the first test case copies the
  submitted file alone into a temporary folder and runs the dlgrade engine shipped in the zip on
  it once, in a subprocess (``python -m grader --config .../autograder.yml grade ...
  --results ...`` with the zip's ``files/`` first on ``PYTHONPATH``); the engine runs the
  student's code in its sandboxed workers and judges it; every test case only reads its
  check's verdict (a failed check fails with the check's message).
- ``files/grader/``: the engine with this exercise's checks, public and hidden, and nothing of
  the other exercises (:func:`grader.delivery.files.engine_files`); its built-in config names
  this exercise only. Nothing of dlgrade comes from a package index: an exercise added in a
  course's checkout is graded by the engine that knows it.
- ``files/autograder.yml``: the config with this exercise only and ``solutions: solutions``;
  ``files/solutions/<id>.py``: the reference (hidden checks compare with it).

- ``files/dlgrade_stand_in.ipynb`` (:data:`STAND_IN`): a notebook of one comment. otter copies
  ``files/`` next to the submission and executes the one notebook it finds there (a notebook
  comes before a ``.py``) in the kernel where the tests then run: this one, never the student's
  file. So no student code runs in the process that runs the tests and reports, and none can
  tamper with them (the engine, which does run it, keeps it in its workers). An otter plugin
  did this before, but otter imports a plugin in its own process, where only installed
  packages are importable, and this bundle installs no dlgrade. (A submission that is itself a
  notebook is refused by otter as a second notebook: hand in ``<id>.py``.)

``otter_config.json`` sets ``points_possible`` to the exercise's points. Nothing is downloaded at
grading time; ``otter run`` needs the requirements installed where it runs (as ``setup.sh`` does
on Gradescope), never dlgrade itself.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.config import Config, load_config
from grader.delivery.files import (TORCH_INDEX, add_manifest, builtin_config, config_text,
                                   engine_files, pinned, references, requirements)
from grader.errors import GraderError

HEADER = "# dlgrade configuration of this otter autograder (made by dlgrade bundle otter)\n"
MANIFEST_HEADER = """dlgrade otter autograder: every file in this zip, and why it is here.
For the grading server only, never for students: it holds the reference solution and the hidden
checks (judge only). The engine under files/grader/ runs the checks on the submitted file in its
sandbox; nothing of dlgrade is installed from a package index.
"""
MANIFEST_WHY = {
    "files/autograder.yml": "the engine's configuration: this exercise, with the reference",
    "otter_config.json": "otter's configuration (points)",
    "requirements.txt": "the engine's public requirements, pinned",
    "run_autograder": "otter's entry point (Gradescope's, too)",
    "run_otter.py": "otter's runner", "setup.sh": "otter's environment set-up",
    "environment.yml": "otter's environment",
}
# What otter executes in its kernel instead of the submission (see the module docstring).
STAND_IN = "dlgrade_stand_in.ipynb"
SKIPPED_CELL = ("# dlgrade: the submission is not executed in this kernel; the dlgrade engine "
                "grades the submitted file in its sandbox\n")


def build_otter_bundles(config: Config, out: Path,
                        exercises: Sequence[str] | None = None) -> list[Path]:
    """Write ``out/<id>.zip``, an otter autograder for each of ``exercises`` (default: all);
    return their paths. Raises ``GraderError`` when otter is not installed, a reference is
    missing, or the checks cannot be listed."""
    try:
        from otter.generate import main as otter_generate
    except ImportError:
        raise GraderError("dlgrade bundle otter needs otter-grader: "
                          "pip install 'dlgrade[otter]'") from None
    ids = tuple(dict.fromkeys(exercises or config.ids))
    for ex in ids:
        config.exercise(ex)
    refs = {entry.name: entry.data for entry in references(config, ids)}
    checks = _checks(config, ids)
    out = Path(out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for ex in ids:
        if not checks.get(ex):
            raise GraderError(f"{ex}: no checks to put in an otter test file")
        written.append(_build_one(config, ex, checks[ex], refs[f"solutions/{ex}.py"],
                                  out / f"{ex}.zip", otter_generate))
    return written


def _checks(config: Config, ids: tuple[str, ...]) -> dict[str, list[Any]]:
    """Per exercise, its checks in grading order (``.name``, ``.max_score``, ``.visibility``)."""
    from grader.runner import list_checks  # collects the checks without running any

    grouped: dict[str, list[Any]] = {ex: [] for ex in ids}
    for meta in list_checks(config, ids):
        grouped.setdefault(meta.exercise, []).append(meta)
    return grouped


def _build_one(config: Config, ex: str, checks: list[Any], reference: bytes, zip_path: Path,
               otter_generate: Any) -> Path:
    ex_config = config.exercise(ex)
    total = round(sum(c.max_score for c in checks), 6)
    with tempfile.TemporaryDirectory(prefix=f"dlgrade-otter-{ex}-") as tmp:
        stage = Path(tmp).resolve()  # otter wants the files under the working directory
        (stage / "tests").mkdir()
        test_file = stage / "tests" / f"{ex}.py"
        test_file.write_text(test_source(ex, checks, timeout=max(300.0, 2 * ex_config.time_limit
                                                                  + 120.0)))
        _verify_test_file(test_file, checks)
        (stage / "solutions").mkdir()
        (stage / "solutions" / f"{ex}.py").write_bytes(reference)
        (stage / "autograder.yml").write_text(
            config_text(config, (ex,), solutions="solutions", assignments=None, header=HEADER))
        engine = [*engine_files(hidden=True, exercises=(ex,)),
                  builtin_config(config, (ex,), header=HEADER,
                                 why="engine: the built-in configuration (this exercise)")]
        for entry in engine:
            (stage / entry.name).parent.mkdir(parents=True, exist_ok=True)
            (stage / entry.name).write_bytes(entry.data)
        shipped = load_config(stage / "autograder.yml")  # the engine will load it: validate now
        if shipped.exercise(ex) != ex_config:
            raise GraderError(f"{ex}: the shipped config would not give this exercise's settings")
        otter_config = {"lang": "python", "points_possible": total}
        (stage / STAND_IN).write_text(stand_in_notebook())
        (stage / "otter_config.json").write_text(json.dumps(otter_config, indent=2))
        (stage / "requirements.txt").write_text(requirements_text())
        partial = zip_path.with_name(f".{zip_path.name}.partial")
        with contextlib.chdir(stage):
            otter_generate(tests_dir="tests", output_path=str(partial),
                           config="otter_config.json", requirements="requirements.txt",
                           no_environment=True, lang="python",
                           files=["autograder.yml", "solutions", "grader", STAND_IN],
                           python_version=f"{sys.version_info[0]}.{sys.version_info[1]}")
        why = {**MANIFEST_WHY, **{f"files/{e.name}": e.why for e in engine},
               f"tests/{ex}.py": "otter's test file: one test case per check, reading the "
                                 "engine's verdicts (no check code)",
               f"files/solutions/{ex}.py": f"judge only (grading server): {ex}: the reference "
                                           "solution"}
        add_manifest(partial, MANIFEST_HEADER, why, "otter's own file")
        partial.replace(zip_path)
    return zip_path


def requirements_text() -> str:
    """The engine's requirements, public packages only, pinned at the versions installed here
    (what was tested), torch's CPU build found on PyTorch's own index."""
    return f"--extra-index-url {TORCH_INDEX}\n" + "".join(f"{r}\n" for r in pinned(requirements()))


def _version() -> str:
    try:
        return importlib.metadata.version("dlgrade")
    except importlib.metadata.PackageNotFoundError:
        import grader

        return grader.__version__


def _verify_test_file(path: Path, checks: list[Any]) -> None:
    """Parse ``path`` as otter will and compare its test cases with ``checks``."""
    from otter.test_files.exception_test import ExceptionTestFile

    parsed = ExceptionTestFile.from_file(str(path))
    got = [(tc.name, tc.points, tc.hidden) for tc in parsed.test_cases]
    want = [(c.name, float(c.max_score), c.visibility != "visible") for c in checks]
    if got != want:
        raise GraderError(f"otter reads {path.name} differently than written: {got} != {want}")


def test_source(exercise: str, checks: Sequence[Any], *, timeout: float) -> str:
    """The otter test file of ``exercise``: one test case per check, no check code."""
    head = TEST_HEAD.replace("__EXERCISE__", exercise)
    consts = (f"name = {exercise!r}\n\n"
              f"_EXERCISE = {exercise!r}\n"
              f"_STAND_IN = {STAND_IN!r}  # what otter executes in place of the submission\n"
              f"_ENGINE_TIMEOUT = {float(timeout)!r}  # seconds for the whole engine run\n"
              f"_BUILT_WITH = {_version()!r}  # the dlgrade that wrote this file\n")
    cases = []
    for i, check in enumerate(checks, 1):
        cases.append(f"@test_case(name={check.name!r}, points={float(check.max_score)!r}, "
                     f"hidden={check.visibility != 'visible'!r})\n"
                     f"def check_{i:02d}():\n"
                     f"    _expect({check.name!r})\n")
    return head + consts + TEST_BODY + "\n\n" + "\n\n".join(cases)


TEST_HEAD = '''\
"""otter tests of the dlgrade exercise `__EXERCISE__` (written by `dlgrade bundle otter`).

Nothing is judged in this kernel. The first test case copies the submitted file alone into a
temporary folder and runs the dlgrade engine on it once (``python -m grader ... grade``): the
engine runs the student's code in its sandboxed workers and scores every check. Each test case
below only reports one check's verdict, with the check's points; a failed check fails with the
engine's message.
"""

OK_FORMAT = False

import html as _html
import json as _json
import os as _os
import re as _re
import shutil as _shutil
import subprocess as _subprocess
import sys as _sys
import tempfile as _tempfile

from otter.test_files import test_case

'''

TEST_BODY = '''
# otter runs this file with the working directory where the submission is (.../submission,
# next to .../source, the unpacked autograder): find both from this file's own path.
_THIS = _os.path.abspath(_sys._getframe(0).f_code.co_filename)
_SUBMISSION_DIR = (_os.path.dirname(_os.path.dirname(_THIS)) if _os.path.isfile(_THIS)
                   else _os.getcwd())
# The engine, config and references: otter's own copy in source/files (a submission cannot
# replace it), else the copy otter put next to the submission.
_FILES = _os.path.join(_os.path.dirname(_SUBMISSION_DIR), "source", "files")
if not _os.path.isfile(_os.path.join(_FILES, "autograder.yml")):
    _FILES = _SUBMISSION_DIR
_ENGINE = {}  # "checks": name -> results.json entry, or "error": why there are none


def _submitted_file():
    """The file to grade: <exercise>.py, else the only other .py, else the only notebook."""
    names = sorted(_os.listdir(_SUBMISSION_DIR))
    if _EXERCISE + ".py" in names:
        return _EXERCISE + ".py", ".py"
    for ext in (".py", ".ipynb"):
        found = [n for n in names if n.endswith(ext) and n not in ("__init__.py", _STAND_IN)
                 and _os.path.isfile(_os.path.join(_SUBMISSION_DIR, n))]
        if len(found) == 1:
            return found[0], ext
    raise AssertionError(f"no {_EXERCISE}.py in the submission (it holds: "
                         f"{', '.join(names) or 'nothing'}); submit your {_EXERCISE}.py")


def _run_engine():
    if _FILES != _SUBMISSION_DIR:
        # otter's copies of the references and of the engine (hidden checks included) next to
        # the submission: keep them from the workers too (they run as an unprivileged user when
        # the engine runs as root)
        for name in ("solutions", "grader"):
            try:
                _os.chmod(_os.path.join(_SUBMISSION_DIR, name), 0o700)
            except OSError:
                pass
    name, ext = _submitted_file()
    work = _tempfile.mkdtemp(prefix="dlgrade-otter-")
    try:
        folder = _os.path.join(work, "submission")
        _os.mkdir(folder)
        _shutil.copyfile(_os.path.join(_SUBMISSION_DIR, name),
                         _os.path.join(folder, _EXERCISE + ext))
        results = _os.path.join(work, "results.json")
        command = [_sys.executable, "-m", "grader",
                   "--config", _os.path.join(_FILES, "autograder.yml"),
                   "grade", folder, "--exercises", _EXERCISE, "--results", results, "--quiet"]
        # the engine shipped in this autograder, never another one installed here; not the
        # kernel's inline matplotlib backend (the engine draws figures with Agg)
        env = {**_os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": _os.pathsep.join([_FILES] + [p for p in _os.environ.get(
                   "PYTHONPATH", "").split(_os.pathsep) if p])}
        try:
            proc = _subprocess.run(command, cwd=work, env=env, stdin=_subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=_ENGINE_TIMEOUT)
        except _subprocess.TimeoutExpired:
            raise AssertionError(f"the dlgrade engine did not finish in {_ENGINE_TIMEOUT:g} s; "
                                 "this is not a verdict on your code: tell your instructor")
        if proc.returncode != 0 or not _os.path.isfile(results):
            tail = "\\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-10:])
            raise AssertionError(f"the dlgrade engine could not grade the submission (exit "
                                 f"code {proc.returncode}); this is not a verdict on your "
                                 f"code: tell your instructor\\n{tail}")
        with open(results, encoding="utf-8") as f:
            tests = _json.load(f).get("tests", [])
        return {t["name"]: t for t in tests if _EXERCISE in t.get("tags", [_EXERCISE])}
    finally:
        _shutil.rmtree(work, ignore_errors=True)


def _verdicts():
    """The engine's results for this submission: graded at the first call, then reused."""
    if not _ENGINE:
        try:
            _ENGINE["checks"] = _run_engine()
        except AssertionError as err:
            _ENGINE["error"] = str(err)
        except Exception as err:
            _ENGINE["error"] = (f"the dlgrade engine could not be run ({type(err).__name__}: "
                                f"{err}); this is not a verdict on your code: tell your "
                                "instructor")
    if "error" in _ENGINE:
        raise AssertionError(_ENGINE["error"])
    return _ENGINE["checks"]


def _message(entry):
    text = entry.get("output") or ""
    if entry.get("output_format") == "html":
        text = _re.sub(r"<figure>.*?</figure>", "", text, flags=_re.S)
        text = _html.unescape(_re.sub(r"<[^>]+>", "", text))
    return text.strip()


def _expect(check):
    """Fail unless the engine says ``check`` passed."""
    entry = _verdicts().get(check)
    if entry is None:
        raise AssertionError(f"the dlgrade engine reported no check named {check!r} (this "
                             f"autograder was made by dlgrade {_BUILT_WITH}); this is not a "
                             "verdict on your code: tell your instructor")
    if entry.get("status") != "passed":
        raise AssertionError(_message(entry) or f"{check}: failed")
'''


def stand_in_notebook() -> str:
    """The notebook otter executes in its kernel in place of the submission: one comment."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SKIPPED_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nbformat.writes(nb)
