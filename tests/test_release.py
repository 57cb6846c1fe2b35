"""Single-source stubs: the stripper and the repository's assignments/."""

from __future__ import annotations

import pytest

from grader.errors import GraderError
from grader.release import release, strip_solutions
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
