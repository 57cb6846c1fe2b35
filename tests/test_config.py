"""autograder.yml: every mistake is one line naming the key, and nothing runs."""

from __future__ import annotations

import pytest

from grader.cli import main as dlgrade
import os

from grader.config import CONFIG_ENV, DEFAULT_CONFIG, find_config, load_config
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
    (GOOD.replace("call_timeout: 5", "call_timeout: 5, hidden_points: 10"),
     "exercises.kfold.hidden_points: must be at least 0 and below points"),
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
                           "answer_limit_mb, call_timeout, hidden_points, imports, points, settings, "
                           "time_limit, visibility)")


# -- where the config is found -------------------------------------------------------------------

def test_config_is_found_in_the_current_folder_or_a_parent(tmp_path):
    path = write(tmp_path, GOOD)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(cwd=deep, environ={}) == path
    assert find_config(cwd=tmp_path, environ={}) == path


def test_explicit_config_beats_the_variable_which_beats_the_folder(tmp_path):
    folder_cfg = write(tmp_path, GOOD)
    other = tmp_path / "other.yml"
    other.write_text(GOOD)
    env = {CONFIG_ENV: str(other)}
    assert find_config(cwd=tmp_path, environ=env) == other
    assert find_config(folder_cfg, cwd=tmp_path, environ=env) == folder_cfg


def test_a_named_config_that_is_not_there_says_where_it_looked(tmp_path):
    with pytest.raises(GraderError, match=r"nope.yml \(given with --config\)"):
        find_config(tmp_path / "nope.yml", environ={})
    with pytest.raises(GraderError, match=r"given by \$DLGRADE_CONFIG"):
        find_config(cwd=tmp_path, environ={CONFIG_ENV: str(tmp_path / "gone.yml")})


def test_without_any_config_the_builtin_one_is_used(tmp_path):
    assert find_config(cwd=tmp_path, environ={}) == DEFAULT_CONFIG
    config = load_config(DEFAULT_CONFIG)
    assert config.solutions is None and config.assignments is None


def test_the_builtin_config_is_the_repository_config_less_its_folders():
    """One set of settings: the packaged default is a link to autograder.yml (an exercise added
    there is built in too), read without the checkout's folders."""
    import dataclasses

    assert DEFAULT_CONFIG.is_symlink() and DEFAULT_CONFIG.resolve() == REPO / "autograder.yml"
    repo, builtin = load_config(REPO / "autograder.yml"), load_config(DEFAULT_CONFIG)
    assert builtin.builtin and not repo.builtin
    assert builtin.solutions is None and builtin.assignments is None
    assert builtin.path == DEFAULT_CONFIG and builtin.root == DEFAULT_CONFIG.parent
    strip = dict(path=None, root=None, solutions=None, assignments=None)
    assert dataclasses.replace(repo, **strip) == dataclasses.replace(builtin, **strip)


def test_the_builtin_config_says_so_once_and_advises_a_file_of_ones_own(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    (tmp_path / "kfold.py").write_text((REPO / "assignments" / "kfold.py").read_text())
    assert dlgrade(["check", "kfold"]) == 0
    err = capsys.readouterr().err
    ids = load_config(DEFAULT_CONFIG).ids
    assert err.count("no autograder.yml here or in a parent folder: using the built-in config "
                     f"of the {len(ids)} exercise(s) {', '.join(ids[:2])}") == 1
    assert "create autograder.yml in this folder (or a parent) or pass --config PATH" in err
    # an error names what to do, never the package's own file
    assert dlgrade(["grade", str(tmp_path), "--exercises", "conv"]) == 2
    err = capsys.readouterr().err
    assert "create autograder.yml (no config file was found here or above" in err
    assert "with 'solutions:', or pass --config PATH" in err and "default_config" not in err
    assert dlgrade(["selftest"]) == 2
    assert "default_config" not in capsys.readouterr().err


def test_config_goes_before_or_after_the_command(tmp_path, capsys):
    path = write(tmp_path, GOOD.replace("time_limit", "time_limt"))
    for argv in (["--config", str(path), "check", "kfold"], ["check", "kfold", "--config", str(path)]):
        assert dlgrade(argv) == 2
        assert "time_limt: unknown key" in capsys.readouterr().err


def test_help_of_each_command_shows_config(capsys):
    for command in ("check", "grade", "bundle", "init-ci", "selftest"):
        with pytest.raises(SystemExit):
            dlgrade([command, "--help"])
        assert "--config PATH" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        dlgrade(["grade", "--help"])
    assert "points, not a percentage" in " ".join(capsys.readouterr().out.split())


def test_grading_without_references_says_hidden_checks_need_them(tmp_path, capsys):
    cfg = write(tmp_path, GOOD.replace("kfold:", "conv:"))  # no solutions for conv's hidden checks
    code = dlgrade(["grade", str(REPO / "solutions"), "--config", str(cfg)])
    assert code == 2
    assert "the hidden checks of conv need the reference solutions" in capsys.readouterr().err
