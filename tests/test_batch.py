"""grade-batch: a Gradescope export of six graded into a gradebook, cell by cell; resume; layouts.

The export (written by the test, as Gradescope's "Export Submissions" lays it out): the reference
handed in by a pair, the stubs, two wrong kfold.py, a malicious kfold.py (an infinite loop that
also tries to forge the batch's files) and a broken zip. A fast config (kfold's calls cut at 2 s)
keeps the whole file near two minutes on two loaded cores.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from grader.batch import engines, gradebook, layout, resume
from grader.batch.driver import grade_batch
from grader.batch.gradebook import read_gradebook
from grader.batch.progress import LineProgress, make_progress
from grader.batch.task import grade_in_subprocess, make_task
from grader.cli import main as dlgrade
from grader.config import load_config
from grader.errors import GraderError
from grader.runner import grade
from tests.helpers import ASSIGNMENTS, REPO, SOLUTIONS, SUBMISSIONS

EXERCISES = ("kfold", "param_count")
WRONG = ("remainder_dropped", "train_val_overlap")  # kfold slips, tests/submissions/kfold/
FORMULA_NAME = "=HYPERLINK(\"http://x\")"

METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1815'
    :email: ada@example.edu
  - :name: Charles Babbage
    :sid: '1791'
    :email: charles@example.edu
  :created_at: 2026-11-20 22:14:03.123456000 -08:00
  :score: !ruby/object:BigDecimal 18:0.0
submission_1002:
  :submitters:
  - :name: Grace Hopper
    :sid: '1906'
    :email: grace@example.edu
submission_1003:
  :submitters:
  - :name: Alan Turing
    :sid: '1912'
    :email: alan@example.edu
submission_1004:
  :submitters:
  - :name: Edsger Dijkstra
    :sid: '1930'
    :email: edsger@example.edu
submission_1005:
  :submitters:
  - :name: '=HYPERLINK("http://x")'
    :sid: '666'
    :email: mallory@example.edu
submission_1006:
  :submitters:
  - :name: Barbara Liskov
    :sid: '1939'
    :email: barbara@example.edu
"""


def config_text() -> str:
    return f"""\
assignment: Batch test
solutions: {SOLUTIONS}
exercises:
  kfold: {{points: 10, time_limit: 4, call_timeout: 2}}
  param_count: {{points: 10, time_limit: 60, call_timeout: 20}}
"""


def malicious_kfold(out: Path) -> str:
    """Loops forever; at import, tries to forge the batch's gradebook and another's results."""
    return f'''
import os
for target in [{str(out / "gradebook.csv")!r}, {str(out / "results" / "submission_1001.json")!r},
               {str(out / "forged.txt")!r}]:
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            f.write("forged")
    except OSError:
        pass


def kfold_indices(n_samples, k, *, shuffle=False, seed=None):
    while True:
        pass


def iterated_kfold_indices(n_samples, k, repeats, *, seed=None):
    while True:
        pass
'''


def write_export(root: Path, out: Path) -> Path:
    """The six submissions as Gradescope exports them (inside the export zip's top folder)."""
    export = root / "assignment_4242_export"
    export.mkdir(parents=True)
    (export / "submission_metadata.yml").write_text(METADATA)
    folders = {key: export / key for key in
               (f"submission_100{i}" for i in range(1, 7))}
    for folder in folders.values():
        folder.mkdir()
    for ex in EXERCISES:
        shutil.copy(SOLUTIONS / f"{ex}.py", folders["submission_1001"])
        shutil.copy(ASSIGNMENTS / f"{ex}.py", folders["submission_1002"])
    for key, slip in zip(("submission_1003", "submission_1004"), WRONG):
        shutil.copy(SUBMISSIONS / "kfold" / slip / "kfold.py", folders[key])
    (folders["submission_1005"] / "kfold.py").write_text(malicious_kfold(out))
    (folders["submission_1006"] / "homework.zip").write_bytes(b"PK\x03\x04 not really a zip")
    return root


def grader_errors(out: Path) -> str:
    """For a failed assertion: the checks that crashed in the grader, with their output."""
    lines = []
    for path in sorted((out / "results").glob("*.json")):
        state = resume.load_state(path) or {}
        tests = state.get("results", {}).get("tests", [])
        for check, test in zip(state.get("checks", []), tests):
            if check["status"] == "error":
                lines.append(f"{path.stem}: {check['name']}: {test['output'][:400]}")
        if not state.get("ok"):
            lines.append(f"{path.stem}: not graded: {str(state.get('error'))[:400]}")
    return "\n".join(lines)


def row(sid, name, email, sub, kfold, param_count, total, flags=""):
    return {"id": sid, "name": name, "email": email, "submission": sub, "kfold": kfold,
            "param_count": param_count, "total": total, "flags": flags}


@pytest.fixture(scope="module")
def config_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("batch-config") / "autograder.yml"
    path.write_text(config_text())
    return path


@pytest.fixture(scope="module")
def export(tmp_path_factory, config_path):
    """The export graded once at --jobs 2: (root, out, result)."""
    base = tmp_path_factory.mktemp("batch")
    root, out = write_export(base / "export", base / "out"), base / "out"
    progress = io.StringIO()
    result = grade_batch(load_config(config_path), root, out, jobs=2,
                         progress=LineProgress(progress))
    return root, out, result, progress.getvalue()


@pytest.fixture(scope="module")
def wrong_kfold_points(config_path) -> dict[str, str]:
    """What `dlgrade grade` gives the two slips: the batch must give the same."""
    config = load_config(config_path)
    return {slip: gradebook.points(grade(config, SUBMISSIONS / "kfold" / slip,
                                         exercises=["kfold"]).score) for slip in WRONG}


def test_gradescope_export_gradebook_cell_by_cell(export, wrong_kfold_points):
    root, out, result, _ = export
    one, two = (wrong_kfold_points[s] for s in WRONG)
    assert 0 < float(one) < 10 and 0 < float(two) < 10
    assert read_gradebook(out / "gradebook.csv") == [  # the diff first; then grader errors
        row("1815", "Ada Lovelace", "ada@example.edu", "submission_1001", "10", "10", "20"),
        row("1791", "Charles Babbage", "charles@example.edu", "submission_1001", "10", "10", "20"),
        row("1906", "Grace Hopper", "grace@example.edu", "submission_1002", "0", "0", "0"),
        row("1912", "Alan Turing", "alan@example.edu", "submission_1003", one, "0", one,
            "missing param_count.py"),
        row("1930", "Edsger Dijkstra", "edsger@example.edu", "submission_1004", two, "0", two,
            "missing param_count.py"),
        row("666", "'" + FORMULA_NAME, "mallory@example.edu", "submission_1005", "0", "0", "0",
            "timed out (kfold); missing param_count.py"),
        row("1939", "Barbara Liskov", "barbara@example.edu", "submission_1006", "0", "0", "0",
            "missing kfold.py; missing param_count.py"),
    ], grader_errors(out)
    assert result.layout.kind == "gradescope" and result.layout.root.name == "assignment_4242_export"
    assert len(result.graded) == 6 and not result.unchanged and not result.failed


def test_the_malicious_submission_forged_nothing(export):
    root, out, result, _ = export
    assert not (out / "forged.txt").exists()
    state = resume.load_state(out / "results" / "submission_1001.json")
    assert state["ok"] and state["score"] == 20 and state["results"]["score"] == 20
    assert "forged" not in (out / "gradebook.csv").read_text()


def test_results_files_hold_gradescope_results(export):
    root, out, result, _ = export
    files = sorted(p.name for p in (out / "results").iterdir())
    assert files == [f"submission_100{i}.json" for i in range(1, 7)]
    state = resume.load_state(out / "results" / "submission_1006.json")
    results = state["results"]
    assert results["score"] == 0 and results["tests"] and "homework.zip" in results["output"]
    assert str(root) not in (out / "results" / "submission_1006.json").read_text()
    assert [s["name"] for s in state["students"]] == ["Barbara Liskov"]


def test_summary_page_has_pictures_and_pass_rates(export):
    root, out, result, _ = export
    page = (out / "summary.html").read_text()
    assert page.count("data:image/png;base64,") == 3  # histograms, one pass-rate chart each
    assert "Batch test" in page and "6 submission(s), 7 student(s)" in page
    assert "timed out (kfold)" in page and "missing param_count.py" in page


def test_progress_lines_without_a_terminal(export):
    *_, lines = export
    lines = lines.splitlines()
    assert lines[0] == "grading 6 submission(s) with the local engine, 2 at a time"
    assert len(lines) == 7 and lines[-1].startswith("[6/6] ") and lines[-1].endswith("ETA -")
    assert any(l.startswith("[") and "submission_1001 (Ada Lovelace, Charles Babbage): 20/20"
               in l for l in lines)


def test_second_run_grades_none_and_a_changed_file_is_graded_alone(export, config_path,
                                                                   tmp_path):
    root, out, first, _ = export
    # a copy, so the module's export stays as graded (results are keyed by name and content)
    root2, out2 = tmp_path / "export", tmp_path / "out"
    shutil.copytree(root, root2)
    shutil.copytree(out, out2)
    config = load_config(config_path)
    before = {p.name: p.stat().st_mtime_ns for p in (out2 / "results").iterdir()}

    again = grade_batch(config, root2, out2, jobs=2)
    assert again.graded == () and len(again.unchanged) == 6
    assert {p.name: p.stat().st_mtime_ns for p in (out2 / "results").iterdir()} == before
    assert (out2 / "gradebook.csv").read_text() == (out / "gradebook.csv").read_text()

    fixed = root2 / "assignment_4242_export" / "submission_1003" / "kfold.py"
    shutil.copy(SOLUTIONS / "kfold.py", fixed)
    third = grade_batch(config, root2, out2, jobs=2)
    assert third.graded == ("submission_1003",) and len(third.unchanged) == 5
    after = read_gradebook(out2 / "gradebook.csv")
    expected = read_gradebook(out / "gradebook.csv")
    expected[3].update(kfold="10", total="10")
    assert after == expected


def test_folders_and_zips_at_jobs_1_and_2(config_path, tmp_path, capsys):
    """A GitHub Classroom clone folder (a .git inside, files a level deeper), a zip, a folder
    with a slip: the command at --jobs 1 and the same batch at --jobs 2 give one gradebook."""
    root = tmp_path / "hw3-submissions"
    (root / "hw3-bob" / ".git").mkdir(parents=True)
    (root / "hw3-bob" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "hw3-bob" / "assignments").mkdir()
    shutil.copy(ASSIGNMENTS / "kfold.py", root / "hw3-bob" / "assignments")
    with zipfile.ZipFile(root / "alice.zip", "w") as zf:
        zf.write(SOLUTIONS / "kfold.py", "kfold.py")
    (root / "carol").mkdir()
    shutil.copy(SUBMISSIONS / "kfold" / WRONG[0] / "kfold.py", root / "carol")
    (root / "README.txt").write_text("grades due Friday")

    code = dlgrade(["grade-batch", str(root), "--out", str(tmp_path / "out1"), "--jobs", "1",
                    "--exercises", "kfold", "--config", str(config_path)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "graded 3 submission(s)" in printed.out and "(3 student(s))" in printed.out
    assert "skipped 1 entr(ies) in the batch root that are neither a folder nor a zip file: " \
           "README.txt" in printed.out
    assert "with the local engine, 1 at a time" in printed.err
    carol = read_gradebook(tmp_path / "out1" / "gradebook.csv")[1]["kfold"]
    assert 0 < float(carol) < 10
    assert (tmp_path / "out1" / "gradebook.csv").read_text() == (
        "id,name,email,submission,kfold,total,flags\n"
        "alice,,,alice,10,10,\n"
        f"carol,,,carol,{carol},{carol},\n"
        "hw3-bob,,,hw3-bob,0,0,\n")

    two = grade_batch(load_config(config_path), root, tmp_path / "out2", exercises=["kfold"],
                      jobs=2)
    assert two.layout.kind == "folders" and len(two.graded) == 3
    assert (tmp_path / "out2" / "gradebook.csv").read_text() == \
        (tmp_path / "out1" / "gradebook.csv").read_text()
    # a new commit in .git is not a new submission
    (root / "hw3-bob" / ".git" / "HEAD").write_text("ref: refs/heads/other\n")
    assert grade_batch(load_config(config_path), root, tmp_path / "out2",
                       exercises=["kfold"]).graded == ()


def test_a_grading_past_the_batch_limit_is_stopped_and_flagged(tmp_path):
    sub = tmp_path / "loop"
    sub.mkdir()
    (sub / "kfold.py").write_text(malicious_kfold(tmp_path / "out"))
    started = []
    task = make_task(key="loop", submission=sub, config=REPO / "autograder.yml",
                     exercises=["kfold"], timeout=4)  # kfold's own budget there is 60 s
    outcome = grade_in_subprocess(task, on_start=started.append)
    assert outcome["ok"] is False and outcome["flags"] == ["grading failed", "timed out"]
    assert "longer than the batch limit of 4 s" in outcome["error"]
    with pytest.raises(ProcessLookupError):
        os.killpg(started[0].pid, 0)  # nothing left of its process group


def test_a_grader_that_cannot_run_fails_its_row_only(tmp_path):
    task = make_task(key="x", submission=SOLUTIONS, config=tmp_path / "missing.yml",
                     exercises=["kfold"], timeout=60)
    outcome = grade_in_subprocess(task)
    assert outcome["ok"] is False and outcome["flags"] == ["grading failed", "grader error"]
    assert "the grader could not run: config file not found" in outcome["error"]


# ---- fast: no grading -------------------------------------------------------------------

def test_layout_reads_the_metadata_and_tolerates_ruby_tags(tmp_path):
    write_export(tmp_path, tmp_path / "out")
    found = layout.find_submissions(tmp_path)
    assert [s.key for s in found.submissions] == [f"submission_100{i}" for i in range(1, 7)]
    assert found.submissions[0].students == (
        layout.Student("Ada Lovelace", "ada@example.edu", "1815"),
        layout.Student("Charles Babbage", "charles@example.edu", "1791"))
    assert found.notices == ()


def test_layout_notices_and_errors(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :name: Gone\nsubmission_2: {}\n")
    (export / "submission_2").mkdir()
    (export / "submission_3").mkdir()
    found = layout.find_submissions(export)
    assert [s.key for s in found.submissions] == ["submission_1", "submission_2", "submission_3"]
    assert found.notices == (
        "submission_metadata.yml lists submission_1, which is not in the export; graded as an "
        "empty submission",
        "not in submission_metadata.yml (graded without a name): submission_3")
    (export / "submission_metadata.yml").write_text(":\n  - [unclosed")
    assert "could not read submission_metadata.yml" in layout.find_submissions(export).notices[0]

    one = tmp_path / "one"
    one.mkdir()
    (one / "kfold.py").write_text("x = 1\n")
    with pytest.raises(GraderError, match="looks like one submission"):
        layout.find_submissions(one)
    with pytest.raises(GraderError, match="not found"):
        layout.find_submissions(tmp_path / "nothing")
    (tmp_path / "export.zip").write_bytes(b"PK")
    with pytest.raises(GraderError, match="unzip the export first"):
        layout.find_submissions(tmp_path / "export.zip")
    with pytest.raises(GraderError, match="must not be inside the batch root"):
        grade_batch(load_config(REPO / "autograder.yml"), export,
                    export / "grades", exercises=["kfold"])


def test_zip_and_folder_of_the_same_name_keep_both(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice.zip").write_bytes(b"PK")
    (tmp_path / "bob.zip").write_bytes(b"PK")
    keys = [s.key for s in layout.find_submissions(tmp_path).submissions]
    assert keys == ["alice", "alice.zip", "bob"]


def test_submission_hash_sees_content_not_hidden_files(tmp_path):
    sub = tmp_path / "sub"
    (sub / "hw").mkdir(parents=True)
    (sub / "hw" / "kfold.py").write_text("a = 1\n")
    first = resume.submission_hash(sub)
    (sub / ".DS_Store").write_text("junk")
    (sub / "__pycache__").mkdir()
    assert resume.submission_hash(sub) == first
    (sub / "hw" / "kfold.py").write_text("a = 2\n")
    assert resume.submission_hash(sub) != first
    (sub / "hw" / "kfold.py").rename(sub / "kfold.py")  # same bytes, another place
    assert resume.submission_hash(sub) != first


def test_grader_hash_follows_config_and_exercises(tmp_path, config_path):
    config = load_config(config_path)
    base = resume.grader_hash(config, EXERCISES)
    assert resume.grader_hash(config, EXERCISES) == base
    assert resume.grader_hash(config, ("kfold",)) != base
    changed = tmp_path / "autograder.yml"
    changed.write_text(config_text().replace("call_timeout: 2}", "call_timeout: 3}"))
    assert changed.read_text() != config_text()
    assert resume.grader_hash(load_config(changed), EXERCISES) != base
    # an exercise's own hash follows its own settings only
    assert resume.exercise_hash(load_config(changed), "param_count") == resume.exercise_hash(
        config, "param_count")
    assert resume.exercise_hash(load_config(changed), "kfold") != resume.exercise_hash(
        config, "kfold")


def test_results_names_are_safe_and_unique():
    names = resume.results_names(["alice", "Alice", "a b", "a_b", "../x", "submission_1"])
    assert names["alice"] == "alice.json" and names["submission_1"] == "submission_1.json"
    assert len(set(n.lower() for n in names.values())) == 6
    assert all("/" not in n and not n.startswith(".") for n in names.values())


def test_gradebook_cells_a_spreadsheet_would_run_are_quoted():
    text = gradebook.to_csv([row("1", "@SUM(A1)", "-x@y", "s", "1", "2", "3", "+flag")],
                            EXERCISES)
    assert text.splitlines()[1] == "1,'@SUM(A1),'-x@y,s,1,2,3,'+flag"


def test_gpu_rule():
    class Cfg:
        def __init__(self, device):
            self.device = device

    assert engines.uses_device("autoencoder") and not engines.uses_device("kfold")
    assert engines.gpus_per_task(Cfg("cuda"), ["kfold", "autoencoder"], 0) == 1
    assert engines.gpus_per_task(Cfg("cuda"), ["kfold"], 4) == 0
    assert engines.gpus_per_task(Cfg("auto"), ["autoencoder"], 4) == 1
    assert engines.gpus_per_task(Cfg("auto"), ["autoencoder"], 0) == 0
    assert engines.gpus_per_task(Cfg("cpu"), ["autoencoder"], 4) == 0


def test_progress_bar_on_a_terminal_and_lines_elsewhere():
    assert isinstance(make_progress(io.StringIO(), interactive=False), LineProgress)
    out = io.StringIO()
    bar = make_progress(out, interactive=True)
    bar.start(2, 1, 2, "local")
    bar.advance("a [red]b[/red]", {"ok": True, "score": 5, "max_score": 10, "flags": []})
    bar.advance("c", {"ok": False, "flags": ["grading failed", "timed out"]})
    bar.close()
    text = out.getvalue()
    assert "1 submission(s) unchanged" in text and "2/2" in text and "ETA" in text
    assert "c: not graded (grading failed; timed out)" in text


# -- a subset into an existing --out; loud failures; interrupts -----------------------------------

def test_a_subset_keeps_the_other_columns_and_grades_only_what_changed(export, config_path,
                                                                       tmp_path):
    root, out, first, _ = export
    root2, out2 = tmp_path / "export", tmp_path / "out"
    shutil.copytree(root, root2)
    shutil.copytree(out, out2)
    book = (out / "gradebook.csv").read_text()
    kept = {p.name: resume.load_state(p)["parts"]["param_count"]
            for p in (out2 / "results").iterdir()}

    same = grade_batch(load_config(config_path), root2, out2, exercises=["kfold"], jobs=2)
    assert same.graded == () and len(same.unchanged) == 6
    assert (out2 / "gradebook.csv").read_text() == book  # param_count's column is still there

    # kfold's grader changes: kfold is graded again, param_count's results stay as they were
    changed = tmp_path / "autograder.yml"
    changed.write_text(config_text().replace("call_timeout: 2}", "call_timeout: 3}"))
    again = grade_batch(load_config(changed), root2, out2, exercises=["kfold"], jobs=2)
    assert len(again.graded) == 6
    for path in (out2 / "results").iterdir():
        state = resume.load_state(path)
        assert state["parts"]["param_count"] == kept[path.name]
        assert list(state["exercises"]) == ["kfold", "param_count"]
    assert read_gradebook(out2 / "gradebook.csv") == read_gradebook(out / "gradebook.csv")

    # a submission's files change: its param_count result is dropped, and the row says so
    shutil.copy(SOLUTIONS / "kfold.py", root2 / "assignment_4242_export" / "submission_1003")
    third = grade_batch(load_config(changed), root2, out2, exercises=["kfold"], jobs=2)
    assert third.graded == ("submission_1003",)
    alan = read_gradebook(out2 / "gradebook.csv")[3]
    assert (alan["kfold"], alan["param_count"], alan["total"]) == ("10", "", "10")
    assert alan["flags"] == "not graded (param_count)"
    fourth = grade_batch(load_config(changed), root2, out2, jobs=2)  # all: param_count only
    assert fourth.graded == ("submission_1003",)
    alan = read_gradebook(out2 / "gradebook.csv")[3]
    assert (alan["param_count"], alan["total"], alan["flags"]) == (
        "0", "10", "missing param_count.py")


def test_the_summary_names_the_submissions_of_each_flag(export):
    root, out, result, _ = export
    page = (out / "summary.html").read_text()
    flags = page[page.index("<h2>Flags</h2>"):]
    row = flags[flags.index("<td>timed out (kfold)</td>"):].split("</tr>", 1)[0]
    assert "submission_1005" in row and "submission_1001" not in row
    assert "GRADER ERROR" not in page and not result.grader_failed


def test_a_grader_error_in_a_batch_exits_3_and_is_on_the_summary(tmp_path, capsys):
    (tmp_path / "sol").mkdir()  # conv's reference is missing: its hidden checks cannot run
    config = tmp_path / "autograder.yml"
    config.write_text("solutions: sol\nexercises:\n  conv: {points: 25}\n")
    root = tmp_path / "root"
    (root / "alice").mkdir(parents=True)
    shutil.copy(SOLUTIONS / "conv.py", root / "alice")
    code = dlgrade(["grade-batch", str(root), "--out", str(tmp_path / "out"), "--jobs", "1",
                    "--config", str(config)])
    printed = capsys.readouterr()
    assert code == 3, printed.err
    assert "GRADER ERROR: the grader itself failed in checks of 1 submission(s): alice" \
           in printed.out
    assert "exit code 3" in printed.err
    page = (tmp_path / "out" / "summary.html").read_text()
    assert "<strong>GRADER ERROR</strong>: the grader itself failed in checks of 1" in page
    state = resume.load_state(tmp_path / "out" / "results" / "alice.json")
    assert state["results"]["output"].startswith("GRADER ERROR")
    assert read_gradebook(tmp_path / "out" / "gradebook.csv")[0]["flags"] == "grader error (conv)"


def test_an_interrupt_names_what_exists(tmp_path, monkeypatch, capsys):
    import grader.batch.driver as driver

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(driver, "grade_batch", interrupted)
    root = tmp_path / "root"
    (root / "alice").mkdir(parents=True)
    argv = ["grade-batch", str(root), "--out", str(tmp_path / "out"), "--config",
            str(REPO / "autograder.yml")]
    assert dlgrade(argv) == 130
    err = capsys.readouterr().err
    assert "no submission was graded, and nothing is in" in err and "kept" not in err
    (tmp_path / "out" / "results").mkdir(parents=True)
    (tmp_path / "out" / "results" / "alice.json").write_text("{}")
    assert dlgrade(argv) == 130
    err = capsys.readouterr().err
    assert "holds the results of 1 submission(s), kept" in err
    assert "the gradebook and summary are written when a batch ends" in err
