"""What an exercise's code may import (issue 18): the ``imports`` key, the worker's view that
enforces it, the import hook's message, and the delegation submissions (conv on
torch.nn.functional and autograd, backprop on autograd, kfold on scikit-learn's KFold), graded
as root and as a normal user.

The view is checked on paths (no package folder in it but the allowed distributions'), then in
each isolation mode by a module that tries every spelling of ``import torch`` (``sys.path``,
``spec_from_file_location``, ``open``, ``ctypes.CDLL``, ``pydoc.locate``, ``__import__`` of a
built string, a ``.pth`` file, another Python's ``dist-packages``).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import grader.exercises.kfold
from grader.config import DEFAULT_IMPORTS, exercise_imports, load_config
from grader.errors import GraderError, StudentError
from grader.sandbox import reaper, view
from grader.sandbox.process import prepare_runtime
from grader.sandbox.runtime import _engine_copy, _read_paths, worker_view
from grader.sandbox.student import Student
from grader.sandbox.worker import refusal
from tests.helpers import (ASSIGNMENTS, REPO, SUBMISSIONS, grade_dir, needs_worker_uids,
                           repo_config)

ROOT = os.geteuid() == 0
NUMPY_ONLY = ("kfold", "backprop", "conv")
WITH_TORCH = ("param_count", "dropout", "autoencoder")
MESSAGE = {"conv": refusal("conv", ["numpy"], "torch"),
           "backprop": refusal("backprop", ["numpy"], "torch"),
           "kfold": refusal("kfold", ["numpy"], "sklearn")}
DELEGATES = {"conv": "delegates_to_torch", "backprop": "delegates_to_autograd",
             "kfold": "delegates_to_sklearn"}
# What each delegation submission hands to the forbidden package: every check of conv and kfold;
# for backprop every check but those of the three forward passes (numpy, written by hand: they
# pay 2.35 of 30).
HAND_WRITTEN = {"conv": (), "kfold": (),
                "backprop": ("affine forward", "relu forward", "sigmoid forward")}


def test_the_message_names_the_exercise_what_it_allows_and_what_it_refused():
    assert MESSAGE["conv"] == ("conv is written with numpy only: torch is not available to your "
                               "code here")
    assert refusal("dropout", ["numpy", "torch"], "sklearn") == (
        "dropout is written with numpy and torch only: sklearn is not available to your code "
        "here")


# -- the key ----------------------------------------------------------------------------------

def test_each_exercise_declares_what_its_code_may_import():
    config = repo_config()
    for ex in NUMPY_ONLY:
        assert config.exercise(ex).imports == ("numpy",) == exercise_imports(ex)
    for ex in WITH_TORCH:
        assert config.exercise(ex).imports == ("numpy", "torch") == exercise_imports(ex)


def test_an_exercise_that_declares_nothing_may_import_numpy_only(monkeypatch):
    monkeypatch.delattr(grader.exercises.kfold, "IMPORTS")
    assert exercise_imports("kfold") == DEFAULT_IMPORTS == ("numpy",)


GOOD = "exercises:\n  kfold: {points: 10, %s}\n"


@pytest.mark.parametrize("entry, message", [
    ("imports: [numpy, torhc]", "exercises.kfold.imports[1]: no package 'torhc' is installed"),
    ("imports: [numpy>=1]", "exercises.kfold.imports[0]: expected the name of a package"),
    ("imports: numpy", "exercises.kfold.imports: expected a list"),
    ("imports: [3]", "exercises.kfold.imports[0]: expected a string"),
    ("imports: []", "exercises.kfold.imports: must include numpy"),
])
def test_a_bad_imports_entry_names_the_key(tmp_path, entry, message):
    path = tmp_path / "autograder.yml"
    path.write_text(GOOD % entry)
    with pytest.raises(GraderError) as err:
        load_config(path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_autograder_yml_may_allow_more_and_the_standard_library_needs_no_entry(tmp_path):
    path = tmp_path / "autograder.yml"
    path.write_text(GOOD % "imports: [numpy, sklearn, json, numpy]")
    assert load_config(path).exercise("kfold").imports == ("numpy", "sklearn", "json")


# -- the view, on paths -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine():
    folder = _engine_copy(("conv", "dropout"))
    yield folder
    reaper.remove_tree(folder)


def _package_folders(engine: Path) -> list[str]:
    roots = tuple(os.path.realpath(r) for r in _read_paths(engine))
    found = set(view.package_folders(roots)) | set(view.worker_sites())
    for extra in ("/usr/lib/python3/dist-packages", "/usr/local/lib"):
        if os.path.isdir(extra):
            found.update(view.package_folders((extra,)))
    return sorted(found)


def _covered(path: str, binds: tuple[str, ...]) -> bool:
    """Whether ``path`` lies beneath a bind (a symlink bind counts as what it points at only
    when it is a top-level link such as /lib, which a private root recreates as a link)."""
    path = os.path.realpath(path)
    return any(path == b or path.startswith(b.rstrip("/") + "/")
               for b in binds if not os.path.islink(b))


def _distribution_dirs(name: str) -> list[str]:
    dist = importlib.metadata.distribution(name)
    top = {str(f).split("/")[0] for f in dist.files or () if not str(f).startswith("..")}
    return [str(dist.locate_file(t)) for t in top if t != "__pycache__"]


def test_the_numpy_view_holds_no_package_folder_but_numpys_entries(engine):
    binds = worker_view(("numpy",), engine).binds
    allowed = _distribution_dirs("numpy")
    folders = _package_folders(engine)
    assert folders, "no package folder found: the test would prove nothing"
    for folder in folders:
        assert not any(_covered(folder, (b,)) for b in binds), f"{folder} is in the view whole"
        for bind in binds:
            if _covered(bind, (folder,)):
                assert any(_covered(bind, (a,)) for a in allowed), f"{bind} is not numpy's"
    for entry in allowed:
        assert _covered(entry, binds), f"numpy's {entry} is missing"
    for name in ("torch", "sklearn", "scipy"):
        for entry in _distribution_dirs({"sklearn": "scikit-learn"}.get(name, name)):
            assert not _covered(entry, binds), entry
    assert _covered(sysconfig.get_path("stdlib"), binds)
    assert _covered(str(engine), binds)


def test_the_torch_view_holds_torch_and_every_distribution_it_requires(engine):
    seen = worker_view(("numpy", "torch"), engine)
    required = ["torch", "numpy"]
    for text in importlib.metadata.distribution("torch").requires or ():
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            required.append(req.name)
    for name in required:
        for entry in _distribution_dirs(name):
            assert _covered(entry, seen.binds), f"{name}: {entry} is missing"
    assert {"torch", "numpy", "typing_extensions", "sympy"} <= set(seen.available)
    assert "sklearn" in seen.blocked and "torch" not in seen.blocked
    assert "grader" not in seen.blocked  # the engine's own package is the worker's
    assert not _covered(_distribution_dirs("scikit-learn")[0], seen.binds)


def test_views_are_cached_so_a_judge_walks_the_system_once(engine):
    first = worker_view(("numpy",), engine)
    assert worker_view(("numpy",), engine) is first


# -- the view, in each isolation mode ---------------------------------------------------------

ATTEMPTS = r'''
import ctypes, importlib, importlib.util, os, pydoc, site, sys

def _try(fn):
    try:
        value = fn()
        return "ok" if value is not None else "none"
    except BaseException as err:
        return f"{type(err).__name__}: {err}"[:300]


def _site():
    import numpy
    return os.path.dirname(os.path.dirname(numpy.__file__))


def _spec():
    path = os.path.join(_site(), "torch", "__init__.py")
    spec = importlib.util.spec_from_file_location("torch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pth():
    home = os.environ["HOME"]
    with open(os.path.join(home, "zz.pth"), "w") as f:
        f.write(_site() + "\n/usr/lib/python3/dist-packages\n")
    site.addsitedir(home)
    return importlib.import_module("torch")


def attempts():
    return {
        "numpy": _try(lambda: __import__("numpy")),
        "import": _try(lambda: importlib.import_module("torch")),
        "built": _try(lambda: __import__("to" + "rch")),
        "sys_path": _try(lambda: (sys.path.append(_site()), importlib.import_module("torch"))[1]),
        "spec": _try(_spec),
        "open": _try(lambda: open(os.path.join(_site(), "torch", "__init__.py")).read(1)),
        "cdll": _try(lambda: ctypes.CDLL(os.path.join(_site(), "torch", "lib", "libtorch_cpu.so"))),
        "pydoc": _try(lambda: pydoc.locate("torch.nn.functional")),
        "pth": _try(_pth),
        "system": _try(lambda: os.listdir("/usr/lib/python3/dist-packages")),
        "sklearn": _try(lambda: __import__("sklearn")),
        "loaded": sorted({m.split(".")[0] for m in sys.modules}),
    }
'''
MODES = {"all": ("landlock", "namespaces", "uid"), "landlock": ("landlock", "uid"),
         "namespaces": ("namespaces", "uid"), "uid only": ("uid",)}


def _params(modes: dict[str, tuple[str, ...]]) -> list:
    """The modes as pytest parameters; one that keeps workers apart by a uid alone needs
    the checkout and the venv reachable by other users."""
    return [pytest.param(name, marks=needs_worker_uids) if iso == ("uid",) else name
            for name, iso in modes.items()]


def _attempts(folder: Path, isolation: tuple[str, ...]) -> tuple[dict, tuple[str, ...]]:
    config = repo_config()
    config = dataclasses.replace(config, sandbox=dataclasses.replace(config.sandbox,
                                                                     isolation=isolation))
    (folder / "conv.py").write_text(ATTEMPTS)
    folder.chmod(0o755)
    runtime = prepare_runtime(config)
    try:
        student = Student(runtime, config.exercise("conv"), folder)
        try:
            return student.attempts(), runtime.notices
        finally:
            student.close()
    finally:
        runtime.close()


@pytest.mark.skipif(not ROOT, reason="isolation modes are tested as root (CI)")
@pytest.mark.parametrize("mode", _params(MODES))
def test_torch_cannot_be_reached_from_conv_however_it_is_spelled(mode, tmp_path):
    got, notices = _attempts(tmp_path, MODES[mode])
    enforced = any(n.startswith("sandbox: each worker sees only the packages") for n in notices)
    assert got["numpy"] == "ok"
    assert got["sklearn"] == f"ModuleNotFoundError: {MESSAGE['kfold'].replace('kfold', 'conv')}"
    for key in ("import", "built", "sys_path"):  # the hook words it; the view enforces it
        assert got[key] == f"ModuleNotFoundError: {MESSAGE['conv']}", (key, got[key])
    if mode == "uid only":
        assert not enforced
        assert any("not enforced: the import rules (kfold, backprop, conv: numpy" in n
                   for n in notices), notices
        assert got["open"] == "ok"  # what "not enforced" means: the files are there
        return
    assert enforced, notices
    for key in ("spec", "open", "cdll", "system"):
        assert got[key].startswith(("FileNotFoundError", "PermissionError", "OSError")), (key, got)
    assert got["pth"].startswith("ModuleNotFoundError"), got["pth"]
    assert got["pydoc"] == "none"
    assert "torch" not in got["loaded"]


TORCH_WORKER = r"""
import importlib.util
import torch
import torch.utils.data


def facts():
    absent = ("dill", "sklearn")  # installed here, refused to param_count: torch looks for dill
    return {"tensor": float(torch.ones(3).sum()),
            "absent": [importlib.util.find_spec(name) is None for name in absent],
            "numpy": importlib.util.find_spec("numpy") is not None}
"""


@pytest.mark.skipif(not ROOT, reason="isolation modes are tested as root (CI)")
@pytest.mark.parametrize("mode", _params(MODES))
def test_a_torch_exercise_imports_torch_in_every_mode(mode, tmp_path):
    """Where the view is Landlock's or the hook's alone, refused packages stay listed in
    site-packages; torch asks ``find_spec("dill")`` and imports what it finds, so a refused
    package must look absent to ``find_spec`` too (every torch exercise scored 0 there before)."""
    (tmp_path / "param_count.py").write_text(TORCH_WORKER)
    tmp_path.chmod(0o755)
    config = repo_config()
    config = dataclasses.replace(config, sandbox=dataclasses.replace(config.sandbox,
                                                                     isolation=MODES[mode]))
    runtime = prepare_runtime(config)
    try:
        student = Student(runtime, config.exercise("param_count"), tmp_path)
        try:
            got = student.facts()
        finally:
            student.close()
    finally:
        runtime.close()
    assert got == {"tensor": 3.0, "absent": [True, True], "numpy": True}, got


@pytest.mark.skipif(not ROOT, reason="isolation modes are tested as root (CI)")
def test_a_numpy_only_worker_never_loads_torch(tmp_path):
    """The worker, the codec and conv's probes need numpy only: after a probe ran, torch is not
    in the worker's modules (it could not be: the view has no torch)."""
    (tmp_path / "conv.py").write_text(
        (REPO / "solutions" / "conv.py").read_text()
        + "\n\ndef loaded():\n    import sys\n    return sorted({m.split('.')[0] for m in sys.modules})\n")
    tmp_path.chmod(0o755)
    config = repo_config()
    runtime = prepare_runtime(config)
    try:
        student = Student(runtime, config.exercise("conv"), tmp_path)
        try:
            import numpy as np

            x = np.ones((1, 1, 4, 4))
            answer = student.probe("forward", "conv2d", {"x": x, "w": np.ones((1, 1, 3, 3)),
                                                         "b": np.zeros(1)}, {})
            assert answer["out"].shape == (1, 1, 2, 2)
            loaded = student.loaded()
        finally:
            student.close()
    finally:
        runtime.close()
    assert "numpy" in loaded and "torch" not in loaded


# -- the delegation submissions -----------------------------------------------------------------

@pytest.fixture(scope="module")
def reports(graded):
    return lambda folder, ex: graded(folder, ex)


def _allowing(exercise: str, *extra: str):
    config = repo_config()
    return dataclasses.replace(config, exercises=tuple(
        dataclasses.replace(e, imports=(*e.imports, *extra)) if e.id == exercise else e
        for e in config.exercises))


def _delegated(exercise: str, check_name: str) -> bool:
    short = check_name.removeprefix(f"{exercise}: ")
    return not short.startswith(HAND_WRITTEN[exercise])


def _expect_stub_score_where_delegated(exercise: str, checks: list[dict], stub: dict) -> None:
    """``checks``: [{name, score, max_score, output}]; each delegated check scores what the
    stub's does, and says why (a gated check says what it waits for instead)."""
    delegated = [c for c in checks if _delegated(exercise, c["name"])]
    assert delegated
    for check in delegated:
        assert check["score"] == stub[check["name"]], (check["name"], check["output"])
        # the message itself, or (an import failure is shown once) a pointer to the check
        # that shows it, or what a gated check waits for
        assert (MESSAGE[exercise] in check["output"] or "paid together with" in check["output"]
                or "could not be imported (the reason is shown once" in check["output"]), (
            check["name"], check["output"])
    assert any(MESSAGE[exercise] in c["output"] for c in delegated)


def _plain(report) -> list[dict]:
    return [{"name": c.name, "score": c.score, "max_score": c.max_score, "output": c.output}
            for c in report.checks]


@pytest.mark.parametrize("exercise", sorted(DELEGATES))
def test_a_delegation_scores_what_the_stub_scores_where_it_delegates(reports, exercise):
    report = reports(SUBMISSIONS / exercise / DELEGATES[exercise], exercise)
    stub = {c.name: c.score for c in reports(ASSIGNMENTS, exercise).checks}
    _expect_stub_score_where_delegated(exercise, _plain(report), stub)
    if not HAND_WRITTEN[exercise]:
        assert report.score == sum(stub.values()) == 0


@pytest.mark.parametrize("exercise, package", [("conv", "torch"), ("backprop", "torch"),
                                               ("kfold", "sklearn")])
def test_the_same_delegation_scores_full_marks_where_the_package_is_allowed(exercise, package,
                                                                            tmp_path):
    """The zero above is the rule's, not a broken submission's."""
    report = grade_dir(SUBMISSIONS / exercise / DELEGATES[exercise], exercise,
                       config=_allowing(exercise, package), artifacts_dir=tmp_path)
    assert report.score == report.max_score, [(c.name, c.output[:300]) for c in report.checks
                                              if c.score < c.max_score]


GRADE_AS_USER = r"""
import json, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from grader.config import load_config
from grader.runner import grade
config = load_config(Path({repo!r}) / "autograder.yml")
out = {{}}
for exercise, folder in {folders!r}.items():
    report = grade(config, Path(folder), exercises=[exercise])
    out[exercise] = {{"notices": list(report.notices), "checks": [
        {{"name": c.name, "score": c.score, "max_score": c.max_score, "output": c.output}}
        for c in report.checks]}}
print(json.dumps(out))
"""


@pytest.mark.skipif(not ROOT, reason="the judge is run as a normal user through setpriv, as root")
@needs_worker_uids
def test_as_a_normal_user_the_delegations_score_the_same(reports):
    folders = {ex: str(SUBMISSIONS / ex / DELEGATES[ex]) for ex in DELEGATES}
    code = GRADE_AS_USER.format(repo=str(REPO), folders=folders)
    with tempfile.TemporaryDirectory(prefix="dlgrade-test-imports-") as tmp:
        os.chmod(tmp, 0o777)
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               sys.executable, "-c", code], capture_output=True, text=True,
                              cwd="/", env={"PATH": os.environ["PATH"], "HOME": tmp,
                                            "TMPDIR": tmp}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    graded = json.loads(proc.stdout.strip().splitlines()[-1])
    for exercise, result in graded.items():
        assert any("sees only the packages" in n for n in result["notices"]), result["notices"]
        stub = {c.name: c.score for c in reports(ASSIGNMENTS, exercise).checks}
        _expect_stub_score_where_delegated(exercise, result["checks"], stub)


def test_a_student_error_for_a_refused_import_is_the_students(tmp_path):
    """The refusal is the submission's ImportFailed (a clear failed check), never a grader
    error."""
    (tmp_path / "kfold.py").write_text("import sklearn\n")
    config = repo_config()
    runtime = prepare_runtime(config)
    try:
        student = Student(runtime, config.exercise("kfold"), tmp_path)
        try:
            with pytest.raises(StudentError) as err:
                student.kfold_indices(4, 2)
        finally:
            student.close()
    finally:
        runtime.close()
    assert MESSAGE["kfold"] in str(err.value) and "kfold.py, line 1" in str(err.value)


CONTAINER_MODES = {"uid + Landlock": ("landlock", "uid"), "uid only": ("uid",)}


@pytest.mark.skipif(not ROOT, reason="isolation modes are tested as root (CI)")
@pytest.mark.parametrize("mode", _params(CONTAINER_MODES))
def test_the_references_score_full_marks_where_a_container_gives_no_namespaces(mode):
    """What Gradescope's or a CI's container often gives: no namespaces. Each exercise's view
    (or hook) then leaves the refused packages listed; the references must not notice."""
    config = repo_config()
    config = dataclasses.replace(config, sandbox=dataclasses.replace(
        config.sandbox, isolation=CONTAINER_MODES[mode]))
    report = grade_dir(REPO / "solutions", config=config)
    assert report.score == report.max_score, [(c.name, c.output[:300]) for c in report.checks
                                              if not c.passed]
