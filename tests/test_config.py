"""autograder.yml: every mistake is one line naming the key, and nothing runs."""

from __future__ import annotations

import pytest

from grader.cli import main as dlgrade
from grader.config import load_config
from grader.errors import GraderError
from tests.helpers import REPO

GOOD = """
seed: 3
exercises:
  kfold: {points: 10, time_limit: 30, call_timeout: 5}
"""


def write(tmp_path, text):
    path = tmp_path / "autograder.yml"
    path.write_text(text)
    return path


def test_the_repository_config_loads():
    config = load_config(REPO / "autograder.yml")
    assert "kfold" in config.ids and config.solutions == REPO / "solutions"


def test_a_good_config_becomes_typed_values(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    ex = config.exercise("kfold")
    assert (config.seed, ex.points, ex.time_limit, ex.call_timeout) == (3, 10.0, 30.0, 5.0)
    assert config.device == "auto" and config.sandbox.user == "nobody"


@pytest.mark.parametrize("text, message", [
    ("seeed: 3\n" + GOOD.replace("seed: 3", ""), "seeed: unknown key"),
    (GOOD.replace("time_limit: 30", "time_limit: ten"), "exercises.kfold.time_limit: expected a number"),
    (GOOD.replace("time_limit: 30", "timelimit: 30"), "exercises.kfold.timelimit: unknown key"),
    (GOOD.replace("kfold:", "nosuch:"), "exercises.nosuch: no checks for this exercise"),
    (GOOD.replace("points: 10, ", ""), "exercises.kfold.points: missing"),
    (GOOD.replace("points: 10", "points: -1"), "exercises.kfold.points: must be positive"),
    (GOOD + "device: gpu\n", "device: expected one of auto, cpu, cuda"),
    (GOOD + "sandbox: {memory: 3}\n", "sandbox.memory: unknown key"),
    (GOOD + "sandbox: {memory_mb: 0}\n", "sandbox.memory_mb: must be positive"),
    (GOOD + "visibility: secret\n", "visibility: expected one of"),
    (GOOD + "solutions: nowhere\n", "solutions: folder not found"),
    (GOOD.replace("call_timeout: 5", "call_timeout: 5, settings: {x: 1}"),
     "exercises.kfold.settings: this exercise takes no settings"),
    ("exercises: []\n", "exercises: expected a mapping"),
    ("seed: [1\n", "not valid YAML"),
    ("- 1\n", "expected a mapping at the top level"),
])
def test_bad_configs_name_the_key(tmp_path, text, message):
    with pytest.raises(GraderError) as err:
        load_config(write(tmp_path, text))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(GraderError, match="config file not found"):
        load_config(tmp_path / "nope.yml")


def test_cli_stops_with_code_2_and_one_line_on_a_bad_config(tmp_path, capsys):
    path = write(tmp_path, GOOD.replace("time_limit", "time_limt"))
    code = dlgrade(["--config", str(path), "grade", str(REPO / "solutions")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("dlgrade: error: exercises.kfold.time_limt: unknown key (known keys: "
                           "call_timeout, points, settings, time_limit, visibility)")
