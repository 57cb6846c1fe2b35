"""grade-batch --engine ray: the six-submission export on a local Ray cluster gives the local
engine's gradebook, cell for cell (each Ray task runs the same sandboxed grading process)."""

from __future__ import annotations

import importlib.util

import pytest

from grader.batch.driver import grade_batch
from grader.batch.gradebook import read_gradebook
from grader.config import load_config
from tests.test_batch import config_text, grader_errors, write_export

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray is not installed: pip install -e '.[ray]' (make installs it; CI runs this test)")


def test_ray_gradebook_equals_the_local_engines(tmp_path):
    config_path = tmp_path / "autograder.yml"
    config_path.write_text(config_text())
    config = load_config(config_path)
    root = write_export(tmp_path / "export", tmp_path / "out-ray")

    local = grade_batch(config, root, tmp_path / "out-local", jobs=2)
    on_ray = grade_batch(config, root, tmp_path / "out-ray", engine="ray", jobs=2)

    assert len(local.graded) == len(on_ray.graded) == 6
    table = read_gradebook(tmp_path / "out-ray" / "gradebook.csv")
    assert table == read_gradebook(tmp_path / "out-local" / "gradebook.csv"), \
        grader_errors(tmp_path / "out-ray") + grader_errors(tmp_path / "out-local")
    assert len(table) == 7 and table[0]["total"] == "20"
    assert not (tmp_path / "out-ray" / "forged.txt").exists()
    # resumable across engines: the local engine finds nothing to grade in Ray's output
    assert grade_batch(config, root, tmp_path / "out-ray", jobs=2).graded == ()
