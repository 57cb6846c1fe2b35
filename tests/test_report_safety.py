"""Reports stay well-formed and in the grader's hands whatever a submission does.

- Control characters in what a student controls (exception messages, printed output, file
  names) never reach a report: junit.xml parses, results.json and the table hold none.
- Artifacts and results are written without following links: a symlink planted where they go
  is replaced, and what it points to is left untouched.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from grader import runner
from grader.cli import main as dlgrade
from grader.plugin import Feedback
from grader.results import printable, write_atomic
from grader.runner import grade
from tests.test_bad_submissions import BAD, fast_config  # noqa: F401 - a fixture

# C0 but \t and \n, \r, DEL, C1, bidi controls, surrogates
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def test_printable_keeps_text_and_line_structure_only():
    assert printable("a\tb\nc\r\nd\re") == "a\tb\nc\nd\ne"
    assert printable("\x1b[2J\rTotal: 120 / 120\x00\x0b") == "[2J\nTotal: 120 / 120"
    assert printable("x\u202ey\u2066z\x85\x7f\ud800\ufffe\uffff") == "xyz"
    assert printable("café ✓ 日本 🙂") == "café ✓ 日本 🙂"


def test_control_characters_never_reach_a_report(fast_config, tmp_path, capsys):
    results, junit = tmp_path / "out" / "results.json", tmp_path / "junit.xml"
    code = dlgrade(["--config", str(fast_config.path), "grade", str(BAD / "control_characters"),
                    "--exercises", "kfold", "--results", str(results), "--junit", str(junit)])
    assert code == 0
    printed = capsys.readouterr().out
    # junit.xml parses and still says what the code raised
    root = ET.parse(junit).getroot()
    failures = [f.text for f in root.iter("failure")]
    assert any("raised Exception: [2J\nTotal: 120 / 120" in text for text in failures)
    # results.json: none of the characters, escaped or not
    data = json.loads(results.read_text())
    texts = [data["output"], *(t["output"] for t in data["tests"])]
    assert not any(CONTROL.search(text) for text in texts)
    assert "\\u001b" not in results.read_text()
    # the table and the student's output: no ESC, no CR; the fake total is marked as theirs
    assert "\x1b" not in printed and "\r" not in printed and not CONTROL.search(printed)
    assert "  | [2J" in printed and "  | Total: 120 / 120" in printed
    assert [line for line in printed.splitlines() if line.startswith("Total:")] == [
        line for line in printed.splitlines() if line.startswith("Total: 0 / 10")]


def test_file_names_a_student_chose_are_shown_printable(fast_config, tmp_path):
    (tmp_path / "notes\x1b[2J\rTotal: 120 \u202eof 120.py").write_text("x = 1\n")
    report = grade(fast_config, tmp_path, exercises=["kfold"])
    (note,) = report.exercise_notes["kfold"]
    assert "notes[2J\nTotal: 120 of 120.py" in note and not CONTROL.search(note)


# -- links planted where the judge writes -----------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n not really a picture"


@pytest.fixture
def victim(tmp_path):
    """A file and a folder that a planted link points to; both must stay as they are."""
    folder = tmp_path / "victim_dir"
    folder.mkdir()
    (folder / "keep.txt").write_text("folder content")
    file = tmp_path / "victim.txt"
    file.write_text("file content")
    yield {"file": file, "dir": folder}
    assert file.read_text() == "file content"
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    assert (folder / "keep.txt").read_text() == "folder content"


def plant(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target, target_is_directory=target.is_dir())


def regular(path: Path) -> bool:
    return not path.is_symlink() and path.is_file()


def test_write_atomic_replaces_a_link_instead_of_writing_through_it(tmp_path, victim):
    plant(tmp_path / "results.json", victim["file"])
    write_atomic(tmp_path / "results.json", '{"score": 0}')
    assert regular(tmp_path / "results.json")
    assert (tmp_path / "results.json").read_text() == '{"score": 0}'


@pytest.mark.parametrize("where", ["artifacts", "artifacts/kfold", "artifacts/kfold/picture.png"])
@pytest.mark.parametrize("kind", ["file", "dir"])
def test_feedback_images_never_follow_a_planted_link(where, kind, tmp_path, victim):
    plant(tmp_path / where, victim[kind])
    saved = Feedback(tmp_path / "artifacts" / "kfold").image(PNG, "picture", "a picture")
    assert saved == tmp_path / "artifacts" / "kfold" / "picture.png"
    assert regular(saved) and saved.read_bytes() == PNG
    assert not (tmp_path / "artifacts").is_symlink()
    assert not (tmp_path / "artifacts" / "kfold").is_symlink()


def test_a_folder_planted_at_an_image_name_is_replaced(tmp_path):
    (tmp_path / "artifacts" / "kfold" / "picture.png" / "inner").mkdir(parents=True)
    saved = Feedback(tmp_path / "artifacts" / "kfold").image(PNG, "picture", "a picture")
    assert regular(saved) and saved.read_bytes() == PNG


DRAWING_CHECK = """import pytest
@pytest.mark.points(1)
def test_draws(feedback):
    feedback.image(%r, "picture", "a picture")
""" % PNG


@pytest.mark.parametrize("where", ["results.json", "artifacts", "artifacts/kfold",
                                   "artifacts/kfold/picture.png"])
@pytest.mark.parametrize("kind", ["file", "dir"])
def test_grade_writes_results_and_artifacts_through_no_planted_link(where, kind, tmp_path, victim,
                                                                    monkeypatch):
    checks = tmp_path / "checks" / "kfold"
    checks.mkdir(parents=True)
    (checks / "test_draws.py").write_text(DRAWING_CHECK)
    monkeypatch.setattr(runner, "check_files", lambda ex: [checks / "test_draws.py"])
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "kfold.py").write_text("")
    out = tmp_path / "out"
    (out / "artifacts" / "kfold").mkdir(parents=True)
    (out / "artifacts" / "kfold" / "stale.png").write_bytes(b"from an earlier run")
    if (out / where).is_dir():
        os.rename(out / where, tmp_path / "moved")
    plant(out / where, victim[kind])
    assert dlgrade(["grade", str(submission), "--exercises", "kfold", "--quiet",
                    "--results", str(out / "results.json")]) == 0
    assert regular(out / "results.json") and json.loads((out / "results.json").read_text())
    assert not (out / "artifacts").is_symlink() and not (out / "artifacts" / "kfold").is_symlink()
    assert regular(out / "artifacts" / "kfold" / "picture.png")
    assert (out / "artifacts" / "kfold" / "picture.png").read_bytes() == PNG
    assert not (out / "artifacts" / "kfold" / "stale.png").exists()  # this run's artifacts only
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # nothing left over
