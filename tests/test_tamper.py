"""A submission that reaches into the grader is graded all the same and paid nothing."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from grader.tamper import findings
from tests.helpers import ASSIGNMENTS, REPO, SOLUTIONS, SUBMISSION_SOURCES, grade_dir


def flagged(code: str) -> list[str]:
    return [f.what for f in findings(textwrap.dedent(code).encode())]


@pytest.mark.parametrize("code, what", [
    ("import grader.exercises.kfold.probes as p\np.split = None\n", "imports grader"),
    ("from grader.exercises.kfold import probes\n", "imports from grader"),
    ("import sys\nsys.modules['grader.exercises.kfold.probes'].split = 1\n", "sys.modules"),
    ("import sys\nf = sys._getframe(1)\n", "sys._getframe"),
    ("def f():\n    return f.__globals__\n", "__globals__"),
    ("import gc\n", "imports gc"),
    ("import inspect\n", "imports inspect"),
    ("import importlib\n", "imports importlib"),
    ("m = __import__('gr' + 'ader')\n", "__import__"),
    ("exec(open('x').read())\n", "exec"),
    ("import numpy as np\nnp.allclose = lambda *a, **k: True\n", "replaces np.allclose"),
    ("import numpy as np\nname = 'allclose'\nsetattr(np, name, None)\n", "setattr() on the module"),
    ("import torch\nx = getattr(torch, 'drop' + 'out')\n", "getattr() on the module"),
    ("x = object.__subclasses__()\n", "__subclasses__"),
])
def test_ways_into_the_grader_are_found_with_their_line(code, what):
    found = flagged(code)
    assert any(what in f for f in found), found


@pytest.mark.parametrize("code", [
    '"""Uses the grader\'s probes? No: this docstring only talks about grader.exercises."""\n',
    "# import grader\nx = 1\n",
    "import torch\nimport torch.nn as nn\nmodel = nn.Linear(2, 2)\nmodel.eval()\n"
    "torch.backends.cudnn.benchmark = False\n",
    "def run(eval=False, compile=True):\n    return eval and compile\n",
    "import torch\nact = getattr(torch, 'relu')\n",
    "class Net:\n    def __init__(self):\n        setattr(self, 'layer', 1)\n",
    "raise ValueError('the grader says k must be at least 2')\n",
])
def test_ordinary_code_is_not_flagged(code):
    assert flagged(code) == []


def test_the_references_and_the_correct_variants_are_not_flagged():
    files = [*SOLUTIONS.glob("*.py"), *ASSIGNMENTS.glob("*.py"),
             *SUBMISSION_SOURCES.glob("*/ok_*/*.py")]
    assert files
    for path in files:
        assert findings(path.read_bytes()) == [], path


def test_a_hidden_implementation_behind_patched_probes_earns_nothing(tmp_path):
    """The probe computes real folds, but the contract's functions only raise."""
    stub = (ASSIGNMENTS / "kfold.py").read_text()
    reference = (SOLUTIONS / "kfold.py").read_text().replace("def kfold_indices(",
                                                             "def _hidden_kfold(")
    patch = textwrap.dedent("""
        import grader.exercises.kfold.probes as _probes

        def _split(module, function, *args, **kwargs):
            return _probes._plain(_hidden_kfold(*args, **kwargs), 0)

        _probes.split = _split
    """)
    (tmp_path / "kfold.py").write_text(reference + "\n" + stub.split('"""', 2)[2] + patch)
    report = grade_dir(tmp_path, "kfold")
    assert report.score == 0 and len(report.checks) > 10
    assert all(c.status == "failed" and c.max_score > 0 for c in report.checks)
    (note,) = report.exercise_notes["kfold"]
    assert "reaches into the grader" in note and "imports grader.exercises.kfold.probes" in note
    assert "line" in note
