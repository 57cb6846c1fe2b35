"""Single source: the stripper and the repository's assignments/, the golden data and its
staleness check."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from grader import golden
from grader.errors import GraderError
from grader.release import release, release_golden, strip_solutions
from tests.helpers import ASSIGNMENTS, SOLUTIONS

SOURCE = '''"""Module doc."""
import numpy as np


def area(w: float, h: float) -> float:
    """Area of a w x h rectangle."""
    # BEGIN SOLUTION
    return w * h
    # END SOLUTION


# BEGIN SOLUTION
def _helper():
    return 42
# END SOLUTION


class Box:
    def volume(self, d):
        """Volume."""
        if d > 0:
            # BEGIN SOLUTION
            return d ** 3
            # END SOLUTION
        return 0
'''


def test_regions_become_not_implemented_naming_the_function():
    stub = strip_solutions(SOURCE, "geo")
    assert 'raise NotImplementedError("geo: implement area")' in stub
    assert 'raise NotImplementedError("geo: implement Box.volume")' in stub
    assert "w * h" not in stub and "_helper" not in stub and "d ** 3" not in stub
    assert '"""Area of a w x h rectangle."""' in stub and "def area(w: float, h: float)" in stub
    compile(stub, "stub", "exec")


def test_stub_keeps_indentation_of_the_region():
    stub = strip_solutions(SOURCE, "geo")
    assert '            raise NotImplementedError("geo: implement Box.volume")' in stub


@pytest.mark.parametrize("source, message", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "without a matching"),
    ("def f():\n    return 1\n    # END SOLUTION\n", "without # BEGIN"),
    ("def f():\n    return 1\n", "no # BEGIN SOLUTION region"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION\n", "without a matching"),
    ("if True:\n    # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION\n", "outside any function"),
])
def test_bad_markers_are_errors(source, message):
    with pytest.raises(GraderError, match=message):
        strip_solutions(source, "x")


def test_release_writes_then_check_passes(tmp_path):
    (tmp_path / "sol").mkdir()
    (tmp_path / "sol" / "geo.py").write_text(SOURCE)
    assert release(tmp_path / "sol", tmp_path / "out") == ["geo.py"]
    assert release(tmp_path / "sol", tmp_path / "out", check=True) == []
    (tmp_path / "out" / "geo.py").write_text("edited")
    assert release(tmp_path / "sol", tmp_path / "out", check=True) == ["geo.py"]


def test_repository_assignments_are_the_released_solutions():
    stale = release(SOLUTIONS, ASSIGNMENTS, check=True)
    assert stale == [], f"run `dlgrade release`: {stale} differ from what it would write"


# -- golden data ---------------------------------------------------------------------------------

def test_repository_golden_data_is_what_the_references_give():
    from tests.helpers import repo_config

    stale = release_golden(SOLUTIONS, repo_config().ids, check=True)
    assert stale == [], f"run `dlgrade release`: {stale} differ from what it would write"


def test_golden_data_round_trips_in_the_same_bytes_without_pickle():
    cases = {"a": {"inputs": {"x": np.arange(6.0).reshape(2, 3) - 2.5, "k": 3, "none": None,
                              "pair": (1, [2, "three"]), "flag": True},
                   "expected": {"out": np.array([[1.0, -2.0], [3.0, 40000.0]]),
                                "ints": np.array([1, 2], dtype=np.int64),
                                "mask": np.array([True, False]), "nan": float("nan"),
                                "inf": float("-inf"), "loss": 0.125}}}
    data = golden.encode(cases)
    assert golden.encode(cases) == data  # same bytes every time
    back = golden.decode(data)
    assert not any(golden.differences(golden.decode(data), back))
    out = back["a"]["expected"]["out"]
    assert out.dtype == np.float64 and out.tolist() == [[1.0, -2.0], [3.0, 40000.0]]
    assert back["a"]["inputs"]["pair"] == (1, [2, "three"]) and back["a"]["inputs"]["none"] is None
    assert np.isnan(back["a"]["expected"]["nan"]) and back["a"]["expected"]["inf"] == -np.inf
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # every array a plain .npy member
        assert all(name == "index.json" or name.endswith(".npy") for name in zf.namelist())
    with pytest.raises(GraderError, match="dtype object"):
        golden.encode({"a": {"bad": np.array([object()], dtype=object)}})


def test_golden_differences_ignore_rounding_only():
    a = {"x": np.array([1.0, 2.0, 3.0]), "n": 3}
    assert not any(golden.differences(a, {"x": a["x"] * (1 + 1e-14), "n": 3}))
    assert list(golden.differences(a, {"x": a["x"] + 1e-6, "n": 3}))
    assert list(golden.differences(a, {"x": a["x"], "n": 4}))
    assert list(golden.differences(a, {"x": a["x"].astype(np.float32), "n": 3}))


def test_release_golden_writes_then_check_passes_and_a_changed_reference_is_stale(tmp_path):
    """Like the stubs: written once, then --check passes; a reference that now computes
    something else makes the golden data stale."""
    exercises = tmp_path / "exercises"
    (exercises / "kfold").mkdir(parents=True)
    assert release_golden(SOLUTIONS, ["kfold"], exercises_dir=exercises) == ["kfold/golden.npz"]
    written = (exercises / "kfold" / "golden.npz").read_bytes()
    assert release_golden(SOLUTIONS, ["kfold"], check=True, exercises_dir=exercises) == []
    assert release_golden(SOLUTIONS, ["kfold"], exercises_dir=exercises) == []  # left as it is
    assert (exercises / "kfold" / "golden.npz").read_bytes() == written
    changed = tmp_path / "solutions"
    changed.mkdir()
    source = (SOLUTIONS / "kfold.py").read_text()
    slip = "    sizes[: n % k] += 1\n"
    assert slip in source
    (changed / "kfold.py").write_text(source.replace(slip, "    sizes[k - n % k:] += 1\n"))
    assert release_golden(changed, ["kfold"], check=True,
                          exercises_dir=exercises) == ["kfold/golden.npz"]
    assert (exercises / "kfold" / "golden.npz").read_bytes() == written  # --check writes nothing
