"""An exercise an instructor adds, as files of its own (for tests/test_added_exercise.py).

``activations``: ``activation(name, x)`` for relu, sigmoid and tanh. It uses what a new
exercise may need beyond the skeleton: a helper module its probes import (``grid.py``,
declared in ``PROBE_HELPERS``), parametrised checks whose cases are paid in pairs
(``gated_by(..., paired=True)``), a hidden check against the reference, and slips. FILES maps
each path (relative to the checkout) to its text; ENTRY is its one config entry. Nothing else
of the checkout changes: the stub comes from ``dlgrade release``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXERCISE = "activations"

ENTRY = """\
  activations:
    points: 12
    time_limit: 60
    call_timeout: 10
"""

FILES = {
    "solutions/activations.py": '''\
"""Exercise `activations`: elementwise activation functions in numpy."""

from __future__ import annotations

import numpy as np


def activation(name: str, x: np.ndarray) -> np.ndarray:
    """``name`` is "relu", "sigmoid" or "tanh": that function of each element of ``x``, as a
    new float64 array of ``x``'s shape. Any other name raises ValueError."""
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    raise ValueError(f"unknown activation {name!r}")
    # END SOLUTION
''',
    "grader/exercises/activations/__init__.py": '''\
"""The `activations` exercise: relu, sigmoid and tanh, elementwise."""

from __future__ import annotations

# grid.py goes into the worker's copy of the engine: the probes import it.
PROBE_HELPERS: tuple[str, ...] = ("grid",)
''',
    "grader/exercises/activations/grid.py": '''\
"""The inputs of the public cases, shared by the probes and the checks (no answer here)."""

from __future__ import annotations

import numpy as np


def grid(n: int) -> np.ndarray:
    """``n`` evenly spaced points in [-3, 3]."""
    return np.linspace(-3.0, 3.0, n)
''',
    "grader/exercises/activations/probes.py": '''\
"""Probes for `activations`: the submitted function on the public grid, as it returns it."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from grader.exercises.activations.grid import grid


def on_grid(module: ModuleType, name: str, n: int) -> Any:
    return module.activation(name, grid(n))
''',
    "grader/exercises/activations/test_public.py": '''\
"""Public checks for `activations`: the expected values are written out."""

from __future__ import annotations

import numpy as np
import pytest

from grader.expect import expect_array, expect_raises

pytestmark = pytest.mark.visibility("visible")

ON_GRID = {  # the activations at linspace(-3, 3, 5)
    "relu": [0.0, 0.0, 0.0, 1.5, 3.0],
    "sigmoid": [0.04742587317756678, 0.18242552380635635, 0.5, 0.8175744761936437,
                0.9525741268224334],
    "tanh": [-0.9950547536867305, -0.9051482536448665, 0.0, 0.9051482536448665,
             0.9950547536867305],
}


@pytest.mark.points(2)
@pytest.mark.parametrize("name", list(ON_GRID))
def test_values_on_a_grid(student, name):
    what = f"activation({name!r}, linspace(-3, 3, 5))"
    expect_array(student.probe("on_grid", name, 5, _what=what), ON_GRID[name], dtype="float",
                 rtol=1e-9, what=what)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", list(ON_GRID))
@pytest.mark.gated_by("test_values_on_a_grid", paired=True)
def test_keeps_the_shape(student, name):
    expect_array(student.activation(name, np.zeros((2, 3))), None, shape=(2, 3), dtype="float",
                 what=f"activation({name!r}, zeros of shape (2, 3))")


@pytest.mark.points(1)
@pytest.mark.gated_by("test_values_on_a_grid")
def test_an_unknown_name_raises(student):
    with expect_raises("ValueError", what="activation('swish', [0.0])"):
        student.activation("swish", np.zeros(1))
''',
    "grader/exercises/activations/test_hidden.py": '''\
"""Hidden checks for `activations`: random inputs, against the reference."""

from __future__ import annotations

import pytest

from grader.expect import expect_array

pytestmark = pytest.mark.visibility("hidden")


@pytest.mark.points(2)
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_values_on_hidden_inputs(student, reference, rng, name):
    x = rng.normal(scale=4.0, size=(4, 5))
    expect_array(student.activation(name, x), reference.activation(name, x), dtype="float",
                 rtol=1e-9, what=f"activation({name!r}, x of shape (4, 5))")
''',
    "grader/exercises/activations/README.md": '''\
# `activations`

`activation(name, x)` for relu, sigmoid and tanh. The probe `on_grid` returns the submitted
function's output on the public grid (`grid.py`, declared in `PROBE_HELPERS`); the judge
compares it with the values written in `test_public.py`. "keeps the shape" of each function
pays with that function's values (`gated_by(..., paired=True)`).
''',
    "tests/exercises/test_activations.py": '''\
"""Framework tests for the added `activations` exercise."""

from __future__ import annotations

import pytest

from tests.helpers import ASSIGNMENTS, SOLUTIONS, SUBMISSIONS, full_marks, lost_points

EX = "activations"


@pytest.fixture(scope="module")
def reports(graded):
    return lambda folder: graded(folder, EX)


def test_reference_scores_full_marks(reports):
    report = reports(SOLUTIONS)
    assert full_marks(report), [(c.name, c.output) for c in report.checks if not c.passed]
    assert report.max_score == pytest.approx(12)


def test_stub_scores_zero_with_every_check_listed(reports):
    stub, ref = reports(ASSIGNMENTS), reports(SOLUTIONS)
    assert stub.score == 0 and [c.name for c in stub.checks] == [c.name for c in ref.checks]


def test_a_leaky_relu_loses_relu_only_and_its_pair(reports):
    lost = lost_points(reports(SUBMISSIONS / EX / "relu_leaky"))
    assert lost == {"activations: values on a grid [relu]", "activations: keeps the shape [relu]",
                    "activations: values on hidden inputs [relu]",
                    "activations: an unknown name raises"}


@pytest.mark.parametrize("slip", ["sigmoid_sign", "no_error"])
def test_each_slip_loses_points(reports, slip):
    assert lost_points(reports(SUBMISSIONS / EX / slip))
''',
    "tests/submissions/activations/relu_leaky.mutation": '''\
# a leaky relu: negative inputs keep a hundredth of their value
@@ reference
        return np.maximum(x, 0.0)
@@ slip
        return np.maximum(x, 0.01 * x)
''',
    "tests/submissions/activations/sigmoid_sign.mutation": '''\
# exp(x) for exp(-x): the sigmoid of -x
@@ reference
        return 1.0 / (1.0 + np.exp(-x))
@@ slip
        return 1.0 / (1.0 + np.exp(x))
''',
    "tests/submissions/activations/no_error.mutation": '''\
# an unknown name returns the input instead of raising
@@ reference
    raise ValueError(f"unknown activation {name!r}")
@@ slip
    return x
''',
}


def working_tree(repo: Path) -> list[str]:
    """The files of the working tree, committed or not (what the suite tests)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=repo, capture_output=True, check=True).stdout
    return [p for p in out.decode().split("\0") if p and os.path.lexists(repo / p)]


def run(clone: Path, *argv: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """``python ARGV`` in ``clone``, its own grader and tests first on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("DLGRADE_CONFIG", "PYTHONPATH")}
    env["PYTHONPATH"] = str(clone)
    return subprocess.run([sys.executable, *argv], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=timeout)


def make_clone(repo: Path, clone: Path) -> list[str]:
    """Copy ``repo``'s working tree to ``clone`` (links kept), add this exercise (its files, its
    config entry, then ``dlgrade release`` for its stub); return the files copied."""
    files = working_tree(repo)
    for rel in files:
        target = clone / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.path.islink(repo / rel):
            target.symlink_to(os.readlink(repo / rel))
        else:
            shutil.copy2(repo / rel, target)
    for rel, text in FILES.items():
        path = clone / rel
        if path.exists():
            raise FileExistsError(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    with open(clone / "autograder.yml", "a") as f:
        f.write(ENTRY)
    proc = run(clone, "-m", "grader", "release")
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout + proc.stderr)
    return files
