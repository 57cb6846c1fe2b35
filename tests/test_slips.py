"""The slip hint (grader/slips): failure signatures, the catalogue, matching, the three reports,
the instructor's commands and the benchmark's smoke run.

Grading every catalogued slip (the right hint on each, the signatures not stale) and the correct
submissions (no hint) is in tests/exercises/test_slips_catalogue*.py, beside the exercises'
own gradings.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch.summary import render
from grader.batch.task import outcome_of
from grader.config import EXERCISES_DIR
from grader.errors import GraderError, Raised
from grader.expect import counting_assertions, expect_array, expect_raises
from grader.results import CheckResult, Hint, Report, format_table, to_gradescope
from grader.runner import list_checks
from grader.slips import record
from grader.slips.catalogue import (CATALOGUE_FILE, PUBLIC_SIGNATURES_FILE, SIGNATURES_FILE,
                                    Catalogue, Slip, load_catalogue, load_descriptions,
                                    read_signatures)
from grader.slips.edits import apply_mutation
from grader.slips.match import NAME_AT, choose, hints_for, name_slips, similarity
from grader.slips.propose import candidates, mutation_blocks
from grader.slips.signature import locus, signature_of, visible_part
from tests.helpers import REPO, SOLUTIONS, SUBMISSION_SOURCES, SUBMISSIONS, grade_dir, repo_config

LEAD = "This pattern of failures usually means: "


# ---------------------------------------------------------------- the catalogue files

@pytest.fixture(scope="module")
def visible() -> dict[str, set[str]]:
    """Each exercise's visible checks (collected, not run)."""
    out: dict[str, set[str]] = {}
    for meta in list_checks(repo_config()):
        if meta.visibility == "visible":
            out.setdefault(meta.exercise, set()).add(meta.name)
    return out


@pytest.mark.parametrize("exercise", repo_config().ids)
def test_each_exercise_has_at_least_eight_described_slips_each_recorded(exercise, visible):
    slips = load_descriptions(exercise)
    assert len(slips) >= 8, f"{exercise}: {len(slips)} described slips"
    full = read_signatures(EXERCISES_DIR / exercise / SIGNATURES_FILE)
    public = read_signatures(EXERCISES_DIR / exercise / PUBLIC_SIGNATURES_FILE)
    described = {s.id: set(s.mutations) for s in slips}
    assert {s: set(edits) for s, edits in full.items()} == described, \
        f"run `dlgrade slips {exercise}`: slips.yml and the recorded signatures differ"
    assert public.keys() == full.keys()
    for slip in slips:
        assert 20 <= len(slip.hint) <= 400 and slip.hint[0].islower(), slip.id
        for mutation in slip.mutations:
            assert (SUBMISSION_SOURCES / exercise / f"{mutation}.mutation").is_file()
            assert full[slip.id][mutation], f"{slip.id}/{mutation} fails no check"
            # the public file is the visible part of the judge's, and names no hidden check
            assert public[slip.id][mutation] == visible_part(full[slip.id][mutation],
                                                             visible[exercise])


def test_a_bad_catalogue_entry_is_a_clear_error(tmp_path):
    (tmp_path / "kfold").mkdir()
    for text, message in (("x: {hint: ''}\n", "hint must say"),
                          ("x: {hint: a slip, mutation: [x]}\n", "expected the keys"),
                          ("x: {hint: a slip, mutations: x}\n", "list of .mutation"),
                          ("- x\n", "expected a mapping")):
        (tmp_path / "kfold" / CATALOGUE_FILE).write_text(text)
        with pytest.raises(GraderError, match=message):
            load_descriptions("kfold", tmp_path)
    assert load_descriptions("conv", tmp_path) == ()  # no file: no slips
    (tmp_path / "kfold" / CATALOGUE_FILE).write_text("x: {hint: a slip}\n")
    (tmp_path / "kfold" / PUBLIC_SIGNATURES_FILE).write_text("{}")
    with pytest.raises(GraderError, match="dlgrade slips"):
        load_catalogue("kfold", tmp_path)


# ---------------------------------------------------------------- signatures

def _raised(fn) -> BaseException:
    try:
        fn()
    except BaseException as err:  # noqa: BLE001 - what the plugin sees
        return err
    raise AssertionError("did not raise")


def test_a_locus_names_the_case_the_helper_and_the_kind():
    import numpy as np

    with counting_assertions() as box:
        expect_array(np.zeros(3), np.zeros(3), what="ok")
        err = _raised(lambda: expect_array(np.zeros(2), np.zeros(3), what="x"))
    assert box[0] == 2
    where = locus(3, "conv2d_forward", box[0], err)
    assert re.fullmatch(r"3 conv2d_forward #2 \| expect\.expect_array\+\d+ \| wrong", where)
    raised = Raised("f raised ValueError: no", exc_type="ValueError", exc_mro=("ValueError",),
                    exc_message="no")
    assert locus(1, "f", 0, raised).endswith("| raised ValueError")
    assert locus(0, "", 0, ValueError("the grader broke")).startswith("0 #0 |")
    assert locus(0, "", 0, ValueError("x")).endswith("| grader error")

    def check():
        with expect_raises("ValueError", what="f(1)"):
            pass
    assert " | expect.expect_raises+" in locus(1, "f", 1, _raised(check))


def test_only_a_checks_own_failed_verdict_is_in_the_signature():
    report = grade_dir(SUBMISSIONS / "kfold" / "zero_empty_arrays", "kfold")
    gated = report.check("kfold: k below two raises")  # raises as asked, but is not paid
    assert gated.score == 0 and gated.failed_at == ""
    failed = report.check("kfold: validation folds do not overlap")
    assert re.fullmatch(r"\d+ \w+ #\d+ \| [\w.]+\+\d+ \| wrong", failed.failed_at)
    signature = signature_of(report.checks, "kfold")
    assert gated.name not in signature and failed.name in signature
    assert all(c.failed_at == "" for c in grade_dir(SOLUTIONS, "kfold").checks)


# ---------------------------------------------------------------- matching

def _catalogue(**slips: dict[str, str]) -> Catalogue:
    return Catalogue("ex", tuple(Slip(name, f"the {name} slip", (name,), {name: sig})
                                 for name, sig in slips.items()))


def test_similarity_gives_half_credit_to_a_check_failed_elsewhere():
    a = {"c1": "1 f #0 | x+1 | wrong", "c2": "1 f #0 | y+1 | wrong"}
    assert similarity(a, a) == 1.0
    assert similarity(a, {}) == 0.0 and similarity({}, {}) == 0.0
    assert similarity(a, {"c1": a["c1"]}) == 0.5
    assert similarity(a, {"c1": a["c1"], "c2": "2 f #0 | y+1 | wrong"}) == 0.75
    assert similarity(a, {"c3": "x"}) == 0.0


def test_one_or_two_close_slips_are_named_never_three():
    sig = {"c1": "a", "c2": "b", "c3": "c", "c4": "d", "c5": "e"}
    near = dict(sig, c5="other place")  # 4.5 / 5 = 0.9
    catalogue = _catalogue(exact=sig, near=near, far={"c1": "a"})
    assert [m.slip for m in name_slips(sig, catalogue)] == ["exact"]
    assert [m.slip for m in name_slips(near, catalogue)] == ["near"]
    twins = _catalogue(a=sig, b=dict(sig))
    assert [m.slip for m in name_slips(sig, twins)] == ["a", "b"]
    assert name_slips(sig, _catalogue(a=sig, b=dict(sig), c=dict(sig))) == ()
    below = {c: w for c, w in list(sig.items())[:3]}  # 3 / 5 = 0.6
    assert similarity(below, sig) < NAME_AT and name_slips(below, _catalogue(x=sig)) == ()


def test_two_slips_made_at_once_are_named_together():
    a = {"c1": "a", "c2": "b", "c3": "c"}
    b = {"c4": "d", "c5": "e"}
    catalogue = _catalogue(a=a, b=b, c={"c6": "f"})
    both = {**a, **b}
    assert name_slips(both, catalogue) == ()  # neither alone: 3 / 5 and 2 / 5
    named, together = choose(both, catalogue)
    assert together and [m.slip for m in named] == ["a", "b"]
    assert choose(a, catalogue)[1] is False  # one slip is named as one
    # a pair must match closely, and each of its slips explain a failure of its own
    assert choose({**a, "c4": "d"}, catalogue) == ((), False)
    assert choose(both, _catalogue(a=a, a2=dict(a), b2={"c1": "a"})) == ((), False)
    hint = Hint(("a", "b"), ("the a slip", "the b slip"), together=True)
    assert hint.line == LEAD + "two slips at once: the a slip; and: the b slip"


def _check(name, status="failed", failed_at="1 f #0 | x+1 | wrong", visibility="visible"):
    score = 1.0 if status == "passed" else 0.0
    return CheckResult("ex", f"ex: {name}", score, 1.0, visibility, status,
                       failed_at="" if status == "passed" else failed_at)


def test_hints_follow_the_failures_never_full_marks():
    catalogue = _catalogue(slip={"ex: a": "1 f #0 | x+1 | wrong"})
    load = lambda ex: catalogue  # noqa: E731
    failing = [_check("a"), _check("b", "passed")]
    hints = hints_for(failing, ["ex"], public_only=False, load=load)
    assert hints["ex"] == Hint(("slip",), ("the slip slip",), public=True)
    assert hints["ex"].line == LEAD + "the slip slip"
    assert hints_for([_check("a", "passed")], ["ex"], public_only=False, load=load) == {}
    assert hints_for(failing, ["ex"], public_only=False, skip=["ex"], load=load) == {}
    # a check paid nothing for missing evidence (its own verdict passed) is no failure
    gated = [_check("a", failed_at=""), _check("b", "passed")]
    assert hints_for(gated, ["ex"], public_only=False, load=load) == {}


def test_a_hint_that_needs_the_hidden_checks_is_not_public():
    pattern = {"ex: a": "1 f #0 | x+1 | wrong", "ex: h": "1 f #0 | y+1 | wrong"}
    catalogue = _catalogue(slip=pattern, other={"ex: a": "1 f #0 | x+1 | wrong"})
    checks = [_check("a"), _check("h", failed_at=pattern["ex: h"], visibility="hidden")]
    hint = hints_for(checks, ["ex"], public_only=False, load=lambda ex: catalogue)["ex"]
    assert hint.slips == ("slip",) and not hint.public
    # dlgrade check: the visible checks only, matched on the catalogue's visible part
    public = hints_for(checks[:1], ["ex"], public_only=True, load=lambda ex: catalogue)["ex"]
    assert public.slips == ("other", "slip") and public.public  # tied: in id order


# ---------------------------------------------------------------- the three reports

def _report(hint: Hint) -> Report:
    checks = (CheckResult("kfold", "kfold: a", 1, 1, "visible", "passed"),
              CheckResult("kfold", "kfold: b", 0, 1, "visible", "failed", "b is wrong"),
              CheckResult("kfold", "kfold: h", 0, 1, "hidden", "failed", "h is wrong"),
              CheckResult("conv", "conv: c", 0, 1, "visible", "failed", "<p>c</p>", "html"))
    return Report(checks=checks, exercises=("kfold", "conv"), points={"kfold": 3, "conv": 1},
                  hints={"kfold": hint})


def test_the_text_report_has_one_line_under_the_exercise():
    text = format_table(_report(Hint(("s",), ("the last samples are in no fold",))))
    lines = text.splitlines()
    assert lines[0].startswith("kfold (3 points)")
    assert lines[1] == f"  HINT  {LEAD}the last samples are in no fold"
    assert text.count(LEAD) == 1


def test_results_json_has_the_hint_on_top_and_in_the_exercise():
    data = to_gradescope(_report(Hint(("s", "t"), ("one thing", "another"))))
    line = LEAD + "one thing; or: another"
    assert data["output"] == f"kfold: {line}"
    outputs = {t["name"]: t["output"] for t in data["tests"]}
    assert outputs["kfold: b"] == f"{line}\n\nb is wrong"  # the first failed visible check
    assert outputs["kfold: h"] == "h is wrong" and outputs["conv: c"] == "<p>c</p>"
    assert all(t["score"] == s for t, s in zip(data["tests"], (1, 0, 0, 0)))  # no score moves


def test_a_hint_that_needs_hidden_checks_shows_with_them():
    data = to_gradescope(_report(Hint(("s",), ("one thing",), public=False)))
    assert LEAD not in data["output"]
    outputs = {t["name"]: t["output"] for t in data["tests"]}
    assert outputs["kfold: h"] == f"{LEAD}one thing\n\nh is wrong"
    assert outputs["kfold: b"] == "b is wrong"


def test_the_batch_summary_counts_the_class_slips():
    states = {}
    for key, hints in (("a", {"kfold": {"slips": ["s"], "texts": ["the s slip"]}}),
                       ("b", {"kfold": {"slips": ["s", "t"], "texts": ["the s slip", "t <b>"]}}),
                       ("c", {})):
        states[key] = {"ok": True, "score": 1, "exercises": {"kfold": [1, 2]}, "checks": [],
                       "flags": [], "hints": hints}
    subs = [type("S", (), {"key": k, "students": []})() for k in states]
    page = render(title="t", submissions=subs, states=states, exercises=["kfold"],
                  exercise_points={"kfold": 2}, grader_version="v")
    assert "<h2>Likely slips</h2>" in page
    rows = re.findall(r"<tr><td>kfold</td><td>(\w+)</td><td class='n'>(\d+)</td>", page)
    assert rows == [("s", "2"), ("t", "1")]
    assert "t &lt;b&gt;" in page
    states["a"]["hints"] = states["b"]["hints"] = {}
    assert "Likely slips" not in render(title="t", submissions=subs, states=states,
                                        exercises=["kfold"], exercise_points={"kfold": 2},
                                        grader_version="v")


def test_a_graded_slip_gets_its_hint_in_every_report(tmp_path):
    folder = SUBMISSIONS / "kfold" / "remainder_dropped"
    report = grade_dir(folder, "kfold")
    assert report.hints["kfold"].slips == ("remainder_dropped",) and report.hints["kfold"].public
    assert "  HINT  " + LEAD + "every fold gets" in format_table(report)
    data = to_gradescope(report)
    assert any(line.startswith("kfold: " + LEAD) for line in data["output"].splitlines())
    first_failed = next(t for t in data["tests"] if t["status"] == "failed")
    assert first_failed["output"].startswith(LEAD)
    assert data["score"] == report.score  # the hint moves no points
    outcome = outcome_of(report)
    hint = outcome["hints"]["kfold"]
    assert set(outcome["hints"]) == {"kfold"}
    assert (hint["slips"], hint["texts"], hint["together"], hint["public"]) == (
        ["remainder_dropped"], list(report.hints["kfold"].texts), False, True)
    # the batch's own results file (rebuilt from each exercise's part) keeps the hint's line
    assert hint["line"] in outcome["results"]["output"].splitlines()
    json.dumps(outcome)
    # a student's `dlgrade check`, run from outside the repository: the visible checks only
    out = subprocess.run([str(Path(sys.executable).parent / "dlgrade"), "check", "kfold",
                          "--submission", str(folder)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "HINT  " + LEAD + "every fold gets" in out.stdout


# ---------------------------------------------------------------- instructor tools

def test_stale_files_are_found(tmp_path):
    recorded = record.Recorded("kfold", {"s": {"s": {"kfold: a": "1 f #0 | x+1 | wrong",
                                                     "kfold: h": "1 f #0 | y+1 | wrong"}}},
                               frozenset({"kfold: a"}), 0.0)
    (tmp_path / "kfold").mkdir()
    assert record.stale(recorded, tmp_path) == [SIGNATURES_FILE, PUBLIC_SIGNATURES_FILE]
    assert len(record.write(recorded, tmp_path)) == 2 and record.write(recorded, tmp_path) == []
    assert record.stale(recorded, tmp_path) == []
    public = read_signatures(tmp_path / "kfold" / PUBLIC_SIGNATURES_FILE)
    assert public == {"s": {"s": {"kfold: a": "1 f #0 | x+1 | wrong"}}}
    changed = record.Recorded("kfold", {"s": {"s": {"kfold: a": "2 f #0 | x+1 | wrong"}}},
                              frozenset({"kfold: a"}), 0.0)
    assert record.stale(changed, tmp_path) == [SIGNATURES_FILE, PUBLIC_SIGNATURES_FILE]


def test_slips_check_grades_the_catalogue_and_says_it_is_current(tmp_path):
    out = subprocess.run([str(Path(sys.executable).parent / "dlgrade"), "--config",
                          str(REPO / "autograder.yml"), "slips", "kfold", "--check", "--jobs", "1"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"kfold: \d+ slips, \d+ edits graded in .*: up to date", out.stdout)


def test_a_proposed_slip_comes_as_a_mutation_that_applies():
    reference = ("def f(x):\n    y = x + 1\n    return y\n\n\n"
                 "def g(x):\n    y = x + 1\n    return y\n")
    mutated = reference.replace("    y = x + 1\n    return y\n\n\ndef g",
                                "    y = x - 1\n    return y\n\n\ndef g")
    assert apply_mutation(reference, mutation_blocks(reference, mutated)) == mutated

    class M:  # what grader.mutants.Mutant has that a proposal uses
        def __init__(self, key):
            self.key, self.line, self.after, self.before = key, 2, "y = x - 1", "y = x + 1"
            self.function, self.operator, self.source = "f", "op", mutated

    def outcome(key, *killed):
        return type("O", (), {"mutant": M(key), "killed_by": killed})()

    catalogued = next(iter(load_catalogue("kfold").slip("seed_ignored").signatures.values()))
    strength = type("S", (), {"exercise": "kfold", "killed": [
        outcome("a", "kfold: x", "kfold: y (grader error)"), outcome("b", "kfold: x", "kfold: y"),
        outcome("c", *catalogued), outcome("d", *[f"kfold: {i}" for i in range(9)])]})()
    found = candidates([strength], {"kfold": 16})
    assert [(c.checks, [m.key for m in c.mutants]) for c in found] == [
        (("kfold: x", "kfold: y"), ["a", "b"])]  # the catalogued and the too-broad sets are not
    assert found[0].mutation(reference).startswith("# f: y = x + 1 -> y = x - 1 (mutant a, op)\n")


def test_the_benchmark_smoke_run(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "slip_hints.py"), "--smoke",
                          "--jobs", "1", "--json", str(tmp_path / "figures.json")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "leave-one-out" in out.stdout and "correct submissions with a hint: 0/1" in out.stdout
    figures = json.loads((tmp_path / "figures.json").read_text())
    kfold = figures["exercises"]["kfold"]
    assert kfold["loo"].get("wrong", 0) == 0 and kfold["single"] == {"right": 1}
    assert kfold["uncatalogued"] == {"none": 1}


# ---------------------------------------------------------------- what ships

def _world_readable_dir() -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="dlgrade-slips-test-"))
    folder.chmod(0o755)  # the sandbox's user reads the bundle and the submission
    return folder


def _unpack(zpath: Path, dest: Path) -> set[str]:
    import zipfile

    with zipfile.ZipFile(zpath) as zf:
        names = set(zf.namelist())
        zf.extractall(dest)
    for path in dest.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return names


def test_the_student_release_names_the_slip_from_its_public_signatures():
    import shutil

    from grader.delivery.student_zip import build_student_zip

    folder = _world_readable_dir()
    try:
        names = _unpack(build_student_zip(repo_config(), folder / "s.zip", exercises=("kfold",)),
                        folder / "hw")
        base = next(n.split("grader/")[0] for n in names if n.endswith("grader/cli.py"))
        shipped = {n.removeprefix(base) for n in names}
        # shipped, so tests/test_leaks.py scans them for quoted solution lines
        assert {f"grader/exercises/kfold/{CATALOGUE_FILE}",
                f"grader/exercises/kfold/{PUBLIC_SIGNATURES_FILE}"} <= shipped
        assert f"grader/exercises/kfold/{SIGNATURES_FILE}" not in shipped
        hw = folder / "hw" / base
        mine = folder / "mine"
        shutil.copytree(SUBMISSIONS / "kfold" / "remainder_dropped", mine)
        mine.chmod(0o755)
        env = {k: v for k, v in __import__("os").environ.items() if k != "DLGRADE_CONFIG"}
        out = subprocess.run([sys.executable, "-m", "grader", "check", "kfold", "--submission",
                              str(mine)], cwd=hw, env={**env, "PYTHONPATH": str(hw)},
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert "HINT  " + LEAD + "every fold gets" in out.stdout
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_gradescope_autograder_puts_the_hint_in_results_json():
    import os
    import shutil

    from grader.delivery.gradescope import build_gradescope_zip

    folder = _world_readable_dir()
    try:
        names = _unpack(build_gradescope_zip(repo_config(), folder / "g.zip",
                                             exercises=("kfold",)), folder / "source")
        assert {f"grader/exercises/kfold/{n}" for n in (CATALOGUE_FILE, SIGNATURES_FILE,
                                                        PUBLIC_SIGNATURES_FILE)} <= names
        root = folder / "root"
        (root / "submission").mkdir(parents=True)
        shutil.copy(SUBMISSIONS / "kfold" / "remainder_dropped" / "kfold.py",
                    root / "submission" / "kfold.py")
        env = {**{k: v for k, v in os.environ.items() if k != "DLGRADE_CONFIG"},
               "DLGRADE_AUTOGRADER_ROOT": str(root), "DLGRADE_PYTHON": sys.executable}
        proc = subprocess.run(["bash", str(folder / "source" / "run_autograder")], cwd=root,
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        results = json.loads((root / "results" / "results.json").read_text())
        assert f"kfold: {LEAD}every fold gets" in results["output"]
        first_failed = next(t for t in results["tests"] if t["score"] < t["max_score"])
        assert first_failed["output"].startswith(LEAD)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
