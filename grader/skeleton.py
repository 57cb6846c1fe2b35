"""``dlgrade new EXERCISE``: the skeleton of a new exercise, written into the checkout.

One id names everything, and the skeleton writes each of its files with the house conventions
in place, so that ``dlgrade selftest EXERCISE`` passes at once (the reference full marks, the
stub zero, every check listed) and the framework's generic tests accept it:

- ``solutions/<id>.py``: the reference, its body between ``# BEGIN SOLUTION`` and
  ``# END SOLUTION``; ``assignments/<id>.py``: the stub ``dlgrade release`` writes from it;
- ``grader/exercises/<id>/``: ``__init__.py`` (the exercise's docs and ``PROBE_HELPERS``),
  ``probes.py`` (one probe), ``test_public.py`` (one public check: expected values written
  out, no code that computes an answer), ``test_hidden.py`` (one hidden check: hidden inputs,
  compared with the reference, through the probe), ``README.md``;
- ``tests/exercises/test_<id>.py`` (reference, stub, slips) and three slips,
  ``tests/submissions/<id>/*.mutation``, where the checkout has ``tests/``;
- its entry in the config in use (``autograder.yml``), appended under ``exercises:``.

The exercise it holds (``scale(x, factor)``) is a placeholder to replace: the contract, the
reference, the checks and the slips together. Nothing is overwritten: an id that any of these
already uses is refused.
"""

from __future__ import annotations

import keyword
from pathlib import Path

import yaml

from grader.config import CONFIG_NAME, EXERCISES_DIR, Config
from grader.errors import GraderError
from grader.release import strip_solutions

ENTRY = """\
  {id}:
    points: 10
    time_limit: 60        # seconds for all of this exercise's calls together
    call_timeout: 10      # seconds for one call
"""

REFERENCE = '''\
"""Exercise `{id}` (a skeleton made by `dlgrade new {id}`: replace it with yours).

Write the contract here: what each function takes and returns, shapes, dtypes, conventions and
the errors it raises. `dlgrade release` writes the stub, assignments/{id}.py, from this file:
each region between BEGIN SOLUTION and END SOLUTION becomes a `raise NotImplementedError`.
"""

from __future__ import annotations

import numpy as np


def scale(x: np.ndarray, factor: float) -> np.ndarray:
    """Return ``x * factor`` as a new float64 array of ``x``'s shape.

    x: an array of any shape (any numeric dtype); factor: a number.
    """
    # BEGIN SOLUTION
    return np.asarray(x, dtype=np.float64) * float(factor)
    # END SOLUTION
'''

INIT = '''\
"""The `{id}` exercise (made by `dlgrade new {id}`): see README.md.

A ``Settings`` dataclass here (every field with a default) would be filled from the exercise's
``settings:`` in autograder.yml and given to the checks as the ``settings`` fixture.
"""

from __future__ import annotations

# Modules of this folder that probes.py imports: they go into the worker's copy of the engine,
# where the submission can read them, so never an oracle or anything that computes an answer.
PROBE_HELPERS: tuple[str, ...] = ()
'''

PROBES = '''\
"""Probes for `{id}`: run inside the worker, with the submitted module as first argument.

What a probe returns is the submission's claim (the submission can rewrite this module): it
returns data on the judge's inputs, and the judge decides.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def scaled(module: ModuleType, x: list[float], factor: float) -> Any:
    """``module.scale`` on ``x`` (sent as a list), returned as it came."""
    return module.scale(np.asarray(x, dtype=np.float64), factor)
'''

PUBLIC = '''\
"""Public checks for `{id}`: the cases and their expected values written out (what a student
release holds), never code that computes an answer. Run them with ``dlgrade check {id}``."""

from __future__ import annotations

import numpy as np
import pytest

from grader.expect import expect_array

pytestmark = pytest.mark.visibility("visible")


@pytest.mark.points(1)
def test_scale_on_a_small_case(student):
    x = np.array([[1.0, -2.0], [0.5, 4.0]])
    expect_array(student.scale(x, 3.0), [[3.0, -6.0], [1.5, 12.0]], dtype="float",
                 what="scale([[1, -2], [0.5, 4]], 3.0)")
'''

HIDDEN = '''\
"""Hidden checks for `{id}`: inputs the student never saw, compared with the reference."""

from __future__ import annotations

import pytest

from grader.expect import expect_array

pytestmark = pytest.mark.visibility("hidden")


@pytest.mark.points(1)
def test_scale_on_hidden_inputs(student, reference, rng):
    x = rng.normal(size=(3, 4))
    factor = float(rng.uniform(-2.0, 2.0))
    what = f"scale(x of shape (3, 4), {{factor:.3f}})"
    got = student.probe("scaled", x.tolist(), factor, _what=what)
    expect_array(got, reference.scale(x, factor), dtype="float", what=what)
'''

README = '''\
# `{id}`

A skeleton made by `dlgrade new {id}`: replace the exercise (`scale(x, factor)`), its checks
and its slips with yours; `dlgrade selftest {id}` passes at each step that keeps them in step.

| what | where |
|---|---|
| reference (single source) | `solutions/{id}.py` |
| stub (`dlgrade release`) | `assignments/{id}.py` |
| public checks | `grader/exercises/{id}/test_public.py` |
| hidden checks | `grader/exercises/{id}/test_hidden.py` |
| probes | `grader/exercises/{id}/probes.py` |
| points, time limits, settings | `autograder.yml`, `exercises: {id}:` |
| framework tests, slips | `tests/exercises/test_{id}.py`, `tests/submissions/{id}/*.mutation` |

To have a report name a likely slip ("This pattern of failures usually means: ..."), describe
the slips in `slips.yml` here (docs/grader-strength.md) and record them: `dlgrade slips {id}`.

## Checks

| check | visibility | points | what it judges |
|---|---|---|---|
| scale on a small case | visible | 5 | values on a case written out |
| scale on hidden inputs | hidden | 5 | values on random inputs, against the reference |

## Probes

`scaled(module, x, factor)` returns what the submitted `scale` returns on the judge's input;
the judge compares it with the reference's output on the same input (a probe's answer is the
submission's claim, judged against the judge's own computation).
'''

TESTS = '''\
"""Framework tests for `{id}` (made by `dlgrade new {id}`): the reference scores full marks, the
stub zero with every check listed, and each slip loses points."""

from __future__ import annotations

import pytest

from tests.helpers import ASSIGNMENTS, SOLUTIONS, SUBMISSIONS, full_marks, lost_points

EX = "{id}"


@pytest.fixture(scope="module")
def reports(graded):
    """Each folder graded once per session (tests/conftest.py)."""
    return lambda folder: graded(folder, EX)


def test_reference_scores_full_marks(reports):
    report = reports(SOLUTIONS)
    assert full_marks(report), [(c.name, c.output) for c in report.checks if not c.passed]


def test_stub_scores_zero_with_every_check_listed(reports):
    stub, ref = reports(ASSIGNMENTS), reports(SOLUTIONS)
    assert stub.score == 0
    assert [c.name for c in stub.checks] == [c.name for c in ref.checks]


@pytest.mark.parametrize("slip", {slips!r})
def test_each_slip_loses_points(reports, slip):
    assert lost_points(reports(SUBMISSIONS / EX / slip))
'''

LINE = "    return np.asarray(x, dtype=np.float64) * float(factor)\n"
SLIPS = {
    "returns_input": ("the factor is never applied", "    return np.asarray(x, dtype=np.float64)\n"),
    "adds_factor": ("adds the factor instead of multiplying",
                    "    return np.asarray(x, dtype=np.float64) + float(factor)\n"),
    "integer_result": ("converts to integers first, so 0.5 * 3 gives 0",
                       "    return np.asarray(x, dtype=np.int64) * int(factor)\n"),
}


def write_skeleton(config: Config, exercise: str) -> list[Path]:
    """Write the skeleton of ``exercise`` (see the module docstring); return the paths written.
    Raises ``GraderError``, writing nothing, when it cannot be written whole."""
    if not exercise.isidentifier() or keyword.iskeyword(exercise) or exercise != exercise.lower():
        raise GraderError(f"{exercise!r} cannot be an exercise id: use a lower-case Python "
                          "identifier (it names the module students write, e.g. activations)")
    if config.builtin:
        raise GraderError(f"dlgrade new adds the exercise to the course's {CONFIG_NAME}: none "
                          "was found here or above; run it in the checkout (or pass --config)")
    if config.solutions is None or config.assignments is None:
        raise GraderError(f"dlgrade new needs 'solutions' and 'assignments' in {config.path.name}")
    root = config.root.resolve()
    exercises = EXERCISES_DIR.resolve()
    if not exercises.is_relative_to(root):
        raise GraderError(f"dlgrade new writes the checks into grader/exercises/ of the checkout "
                          f"that holds {config.path.name}, but the dlgrade in use is installed "
                          f"elsewhere ({exercises.parent}); install the checkout with "
                          "`pip install -e .` (make does)")
    if exercise in config.ids:
        raise GraderError(f"{exercise} is already an exercise of {config.path.name}")
    tests = root / "tests"
    files = {config.solutions / f"{exercise}.py": REFERENCE,
             config.assignments / f"{exercise}.py": strip_solutions(
                 REFERENCE.format(id=exercise), exercise),
             exercises / exercise / "__init__.py": INIT,
             exercises / exercise / "probes.py": PROBES,
             exercises / exercise / "test_public.py": PUBLIC,
             exercises / exercise / "test_hidden.py": HIDDEN,
             exercises / exercise / "README.md": README}
    if tests.is_dir():
        files[tests / "exercises" / f"test_{exercise}.py"] = TESTS.format(
            id=exercise, slips=tuple(SLIPS))
        for name, (why, slip) in SLIPS.items():
            files[tests / "submissions" / exercise / f"{name}.mutation"] = (
                f"# {why}\n@@ reference\n{LINE}@@ slip\n{slip}")
    taken = [p for p in (*files, exercises / exercise) if p.exists()]
    if taken:
        raise GraderError(f"{exercise} is taken: {', '.join(str(p) for p in taken[:3])} "
                          "already exist(s)")
    text = config.path.read_text()
    entry = ENTRY.format(id=exercise)
    merged = text + ("" if text.endswith("\n") else "\n") + entry
    if (yaml.safe_load(merged) or {}).get("exercises", {}).get(exercise) != {
            "points": 10, "time_limit": 60, "call_timeout": 10}:
        raise GraderError(f"cannot append {exercise}'s entry to {config.path.name}: its "
                          "'exercises:' mapping is not its last block (indented by two spaces); "
                          f"add it yourself:\n{entry}")
    written = []
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(id=exercise) if "{id}" in template else template)
        written.append(path)
    config.path.write_text(merged)
    written.append(config.path)
    return written
