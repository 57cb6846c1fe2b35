"""A submission that reaches into the grader is graded all the same and paid nothing; the rule
is a detector (tests/redteam/attacks/tamper_* are the bypasses the third round found), and no
verdict rests on it: graded with the rule switched off, each bypass's forged answers still earn
no more than the stub."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader import tamper
from grader.tamper import findings, verdict
from tests.helpers import ASSIGNMENTS, REPO, SOLUTIONS, SUBMISSION_SOURCES, grade_dir

ATTACKS = REPO / "tests" / "redteam" / "attacks"
ROUTES = sorted(p.parent.name for p in ATTACKS.glob("tamper_*/kfold.py"))


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
    # the third round's bypasses, one mechanism each
    ("__import__ = __import__\nm = __import__('x')\n", "uses __import__"),
    ("eval = eval\n", "uses eval"),
    ("b = globals()['__builtins__']['exec']\n", "'__builtins__' in a string"),
    ("import sys\nm = sys.__dict__['modules']\n", "uses sys.__dict__"),
    ("import sys\nm = sys.__dict__['modules']\n", "'modules' in a string"),
    ("import os\nm = os.sys.modules\n", "uses sys.modules"),
    ("import operator\ng = operator.attrgetter('f_' + 'globals')\n", "'f_globals' in a string"),
    ("import operator\ng = operator.attrgetter('f_' + 'globals')\n", "uses .attrgetter"),
    ("from operator import attrgetter\n", "imports attrgetter from operator"),
    ("import sys\nf = getattr(sys, '_getframe')\n", "'_getframe' in a string"),
    ("def f(x):\n    return getattr(x, 'f_globals')\n", "'f_globals' in a string"),
    ("g = getattr(len, '__self__')\n", "'__self__' in a string"),
    ("g = len.__self__\n", ".__self__"),
    ("n = getattr(object, ''.join(['__subcl', 'asses__']))\n", "'__subclasses__' in a string"),
    ("n = f\"{'f_'}globals\"\n", "'f_globals' in a string"),
    ("import pydoc\n", "imports pydoc"),
    ("import pkgutil\n", "imports pkgutil"),
    ("from pkgutil import resolve_name\n", "imports from pkgutil"),
    ("import runpy\n", "imports runpy"),
    ("from unittest import mock\n", "imports from unittest"),
    ("import unittest.mock\n", "imports unittest.mock"),
    ("import traceback\nfor f, _ in traceback.walk_stack(None):\n    pass\n", ".walk_stack"),
    ("from traceback import walk_tb\n", "imports walk_tb from traceback"),
    ("name = ' grader.exercises.kfold.probes '.strip()\n", "names the grader"),
    ("name = 'gr' + 'ader.exercises'\n", "names the grader"),
    ("name = 'grader exercises kfold'.replace(' ', '.')\n", "names the grader"),
    ("data = b'cgrader.exercises'\n", "names the grader"),
    ("print('import grader', file=open('h.py', 'w'))\n", "names the grader"),
    ("import sys\nsys.path.insert(0, '.')\n", "uses sys.path"),
    ("import numpy as np\nnp.__path__.append('.')\n", ".__path__"),
    ("import numpy as np\nobject.__setattr__(np, 'allclose', None)\n", ".__setattr__"),
    ("import numpy as np\nd = vars(np)\n", "vars(np)"),
    ("import numpy as np\nnp.load('x.npy', allow_pickle=True)\n", "allow_pickle=True"),
    ("import torch\ntorch.load('x.pt', weights_only=False)\n", "weights_only=False"),
    ("import torch\nm = torch.hub.load('.', 'model', source='local')\n", "torch.hub"),
    ("import pickle\n", "imports pickle"),
    ("breakpoint()\n", "uses breakpoint"),
    ("help('modules')\n", "uses help"),
    ("try:\n    1 / 0\nexcept Exception as e:\n    t = e.__traceback__\n", ".__traceback__"),
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
    "raise ValueError(f'the grader says k={1} ' + 'is too small')\n",
    "print('the grader will call this with k = 3')\n",
    "import warnings\nwarnings.warn('the grader may time out')\n",
    "import torch\nclass M(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        for i in range(3):\n            setattr(self, f'fc{i}', torch.nn.Linear(2, 2))\n",
    "class C:\n    def __setattr__(self, k, v):\n        super().__setattr__(k, v)\n"
    "    def state(self):\n        return dict(self.__dict__)\n",
    "import functools, operator\nn = functools.reduce(operator.mul, (2, 3), 1)\n",
    "out = {'code': 1, 'recon': 2}\nc = out['code']\n",
    "def f(x, exec=None, help=None):\n    return exec or help or x\n",
    "import torch\nstate = torch.load('w.pt')\nmodel_eval = torch.nn.Linear(2, 2).eval()\n",
    "import numpy as np\nx = np.load('x.npy')\n",
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


@pytest.mark.parametrize("source, why", [
    ("x = " + "-" * 100_000 + "1\n", "MemoryError"),
    ("x = " + "not " * 100_000 + "1\n", "MemoryError"),
    ("x = " + "1+" * 500_000 + "1\n", "RecursionError"),
])
def test_a_source_the_parser_cannot_take_is_graded_as_unparseable(source, why):
    """The parser's own failures (not a syntax error: the import names that line) pay nothing
    with a clear message, instead of crashing the judge."""
    message = verdict("kfold", source.encode())
    assert message and "could not parse" in message and why in message and "kfold.py" in message


def test_long_constant_chains_are_folded_without_recursion():
    source = "name = " + " + ".join(["''"] * 900 + ["'f_'", "'globals'"]) + "\n"
    assert any("'f_globals' in a string" in f for f in flagged(source))
    assert flagged("x = " + " + ".join(["1"] * 900) + "\n") == []


def route_source(route: str, answer: str) -> bytes:
    """The stub with a red-team tampering attack appended, its hidden implementation replaced
    by ``answer`` (a module text defining ``_answer``, ``_HIDDEN`` and ``_forged_split``)."""
    text = (ATTACKS / route / "kfold.py").read_text().replace("# {{HIDDEN_KFOLD}}", answer)
    return ((ASSIGNMENTS / "kfold.py").read_text().rstrip() + "\n\n\n" + text).encode()


HIDDEN = (ATTACKS / "_kfold_hidden.py").read_text()
# Made-up folds of the right sizes (random indices), saying each time they are sent.
MADE_UP = textwrap.dedent("""
    import numpy as _np

    _HIDDEN = {"kfold_indices": None, "iterated_kfold_indices": None}


    def _answer(function, *args, **kwargs):
        print("FORGED-ANSWER", flush=True)
        n, k = int(args[0]), int(args[1])
        pairs = k * (int(args[2]) if function == "iterated_kfold_indices" else 1)
        rng = _np.random.default_rng(n * 1000 + k)
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        return [(rng.integers(0, n, size=n - sizes[i % k]), rng.integers(0, n, size=sizes[i % k]))
                for i in range(pairs)]


    def _forged_split(module, function, *args, **kwargs):
        return _answer(function, *args, **kwargs)
""")


@pytest.mark.parametrize("route", ROUTES)
def test_each_bypass_of_the_third_round_is_found(route):
    assert tamper.findings(route_source(route, HIDDEN)), route
    assert "reaches into the grader" in verdict("kfold", route_source(route, HIDDEN))


@pytest.mark.parametrize("route", ROUTES)
def test_with_the_rule_off_each_bypass_earns_no_more_than_the_stub(route, tmp_path, monkeypatch):
    """The verdicts stand on the judge's own verification: the route works (the forged probe
    answers, it says so in its output), and its made-up folds fail every check they reach."""
    (tmp_path / "kfold.py").write_bytes(route_source(route, MADE_UP))
    monkeypatch.setattr(tamper, "verdict", lambda exercise, source: None)
    report = grade_dir(tmp_path, "kfold")
    assert "FORGED-ANSWER" in report.student_output.get("kfold", ""), route
    assert report.score == 0 and len(report.checks) > 10
    assert not [c.name for c in report.checks if c.status == "error"]
