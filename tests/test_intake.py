"""Submission intake: folders, zips, nested folders, near-miss names, notebooks, bad input."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.delivery import intake as intake_mod
from grader.delivery.intake import Intake, take_submission

CODE = "def kfold(n):\n    return n\n"


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return root


def make_zip(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return path


def notebook(*cells: tuple[str, str]) -> str:
    return json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [{"cell_type": kind, "id": f"c{i}", "metadata": {}, "source": src,
                   **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                  for i, (kind, src) in enumerate(cells)],
    })


def snapshot(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else b""
            for p in sorted(root.rglob("*")) if not p.is_symlink()}


def take(tmp_path: Path, sub: Path | str, ids=("kfold",)) -> Intake:
    """Run the intake and check what must hold for every submission."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    before = snapshot(Path(sub)) if Path(sub).exists() else None
    got = take_submission(sub, ids, workdir)
    assert set(got.found) | set(got.problems) == set(ids)
    assert not set(got.found) & set(got.problems)
    assert got.folder == workdir / "modules"
    assert sorted(p.name for p in got.folder.iterdir()) == sorted(f"{i}.py" for i in got.found)
    for p in got.folder.iterdir():
        st = os.lstat(p)
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o644
    messages = [*got.found.values(), *got.problems.values(), *got.general,
                *(n for ns in got.notices.values() for n in ns)]
    assert not any(str(tmp_path) in m for m in messages), messages
    if before is not None:
        assert snapshot(Path(sub)) == before  # the submission is never modified
    return got


def module(got: Intake, ex: str = "kfold") -> str:
    return (got.folder / f"{ex}.py").read_text()


def test_exact_folder(tmp_path):
    sub = write(tmp_path / "sub", {"kfold.py": CODE, "conv.py": "x = 1\n"})
    got = take(tmp_path, sub, ("kfold", "conv"))
    assert got.found == {"kfold": "kfold.py", "conv": "conv.py"}
    assert got.notices == {} and got.problems == {} and got.general == ()
    assert module(got) == CODE


def test_zip_path(tmp_path):
    sub = make_zip(tmp_path / "sub.zip", {"kfold.py": CODE})
    got = take(tmp_path, sub)
    assert got.found == {"kfold": "sub.zip:kfold.py"}
    assert got.notices == {}
    assert "unpacked sub.zip" in got.general
    assert module(got) == CODE


def test_folder_holding_a_zip(tmp_path):
    sub = tmp_path / "upload"
    sub.mkdir()
    make_zip(sub / "submission.zip", {"hw3/kfold.py": CODE, "hw3/notes.md": "hi"})
    got = take(tmp_path, sub)
    assert got.found == {"kfold": "submission.zip:hw3/kfold.py"}
    assert "unpacked submission.zip" in got.general
    assert module(got) == CODE


@pytest.mark.parametrize("rel", ["hw3/kfold.py", "hw3/week/kfold.py"])
def test_nested_one_and_two_levels(tmp_path, rel):
    sub = write(tmp_path / "mywork", {rel: CODE, "README.md": "x"})
    got = take(tmp_path, sub)
    assert got.found == {"kfold": rel}
    assert got.notices["kfold"] == (f"took {rel} as kfold.py (found in a subfolder)",)


def test_too_deep_is_not_searched(tmp_path):
    sub = write(tmp_path / "sub", {"a/b/c/d/kfold.py": CODE})
    got = take(tmp_path, sub)
    assert got.problems["kfold"].startswith("no kfold.py found")


@pytest.mark.parametrize("name", ["KFold.py", "kfold (1).py", "kfold(2).py", "kfold - Copy.py",
                                  "kfold copy.py", "kfold_copy.py", "kfold.py.txt", "kfold.txt",
                                  "KFOLD - Copy (2).py.txt"])
def test_near_miss_names(tmp_path, name):
    sub = write(tmp_path / "sub", {name: CODE})
    got = take(tmp_path, sub)
    assert got.found == {"kfold": name}
    assert got.notices["kfold"] == (f"took {name} as kfold.py (the file name should be kfold.py)",)
    assert module(got) == CODE


@pytest.mark.parametrize("name", ["kfold-2.py", "kfoldx.py", "my kfold.py"])
def test_other_names_are_not_near_misses(tmp_path, name):
    got = take(tmp_path, write(tmp_path / "sub", {name: CODE}))
    assert "kfold" in got.problems and name in got.problems["kfold"]


def test_id_ending_in_copy_still_matches(tmp_path):
    got = take(tmp_path, write(tmp_path / "sub", {"deep_copy.py": "x = 1\n"}), ("deep_copy",))
    assert got.found == {"deep_copy": "deep_copy.py"}


def test_every_candidate_counts_wherever_it_sits(tmp_path):
    """One rule: an exact name at the top does not beat a near miss or a nested file."""
    sub = write(tmp_path / "sub", {"kfold.py": CODE, "KFold.py": "old = 1\n",
                                   "hw3/kfold.py": "older = 1\n"})
    got = take(tmp_path, sub)
    assert got.found == {}
    msg = got.problems["kfold"]
    assert msg.startswith("found 3 different files that could be kfold.py: kfold.py, ")
    assert "KFold.py" in msg and "hw3/kfold.py" in msg and "Keep only one" in msg


def test_a_stray_zip_beside_a_folder_is_ambiguous_not_preferred(tmp_path):
    """hw/kfold.py and an old.zip holding another kfold.py: neither wins (the zip's used to)."""
    sub = write(tmp_path / "sub", {"hw/kfold.py": CODE})
    make_zip(sub / "old.zip", {"kfold.py": "old = 1\n"})
    got = take(tmp_path, sub)
    msg = got.problems["kfold"]
    assert "hw/kfold.py" in msg and "old.zip:kfold.py" in msg and "2 different files" in msg


def test_the_same_code_in_a_zip_and_a_folder_is_one_candidate(tmp_path):
    sub = write(tmp_path / "sub", {"hw/kfold.py": CODE})
    make_zip(sub / "submission.zip", {"kfold.py": CODE})
    got = take(tmp_path, sub)
    assert got.found == {"kfold": "submission.zip:kfold.py"}
    assert any("the same code as submission.zip:kfold.py" in n for n in got.notices["kfold"])


def test_two_folders_with_the_exercise_are_ambiguous(tmp_path):
    got = take(tmp_path, write(tmp_path / "sub", {"a/kfold.py": CODE, "b/kfold.py": "x = 1\n"}))
    assert "a/kfold.py, b/kfold.py" in got.problems["kfold"]


def test_a_candidate_that_cannot_be_used_does_not_make_ambiguity(tmp_path):
    sub = write(tmp_path / "sub", {"hw/kfold.py": CODE, "real.txt": "x = 1\n"})
    (sub / "kfold.py").symlink_to(sub / "real.txt")
    got = take(tmp_path, sub)
    assert got.found == {"kfold": "hw/kfold.py"}
    assert any("ignored what could not be used: kfold.py (it is a symbolic link" in n
               for n in got.notices["kfold"])


def test_ambiguous_near_misses_are_a_problem(tmp_path):
    sub = write(tmp_path / "sub", {"kfold (1).py": CODE, "KFold.py": "other = 1\n"})
    got = take(tmp_path, sub)
    msg = got.problems["kfold"]
    assert "kfold (1).py" in msg and "KFold.py" in msg and "named kfold.py" in msg
    assert got.found == {}


def test_identical_copies_are_not_ambiguous(tmp_path):
    sub = write(tmp_path / "sub", {"hw3/kfold.py": CODE, "hw3/kfold (1).py": CODE})
    got = take(tmp_path, sub)
    assert got.found == {"kfold": "hw3/kfold.py"}
    assert any("the same code as hw3/kfold.py" in n for n in got.notices["kfold"])


def test_a_py_and_a_different_notebook_are_ambiguous(tmp_path):
    nb = notebook(("code", "x = 1"))
    got = take(tmp_path, write(tmp_path / "sub", {"hw3/kfold.py": CODE, "hw3/kfold.ipynb": nb}))
    assert "hw3/kfold.py" in got.problems["kfold"] and "hw3/kfold.ipynb" in got.problems["kfold"]


def test_a_notebook_and_its_own_code_as_py_are_one_candidate(tmp_path):
    nb = notebook(("code", CODE.rstrip("\n")))
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.py": CODE, "kfold.ipynb": nb}))
    assert got.found == {"kfold": "kfold.py"} and module(got) == CODE


def test_near_miss_notebook_and_py_is_ambiguous(tmp_path):
    nb = notebook(("code", "x = 1"))
    got = take(tmp_path, write(tmp_path / "sub", {"hw3/kfold.py": CODE, "hw3/KFold.ipynb": nb}))
    assert "hw3/kfold.py" in got.problems["kfold"] and "hw3/KFold.ipynb" in got.problems["kfold"]


def test_notebook_magics_and_shell_lines_are_dropped(tmp_path):
    nb = notebook(("markdown", "# KFold\n%not code"),
                  ("code", "%matplotlib inline\nimport math"),
                  ("code", "!pip install torch\ndef kfold(n):\n    !ls\n    return math.floor(n)"),
                  ("code", "%%time\nslow = 1"),
                  ("code", "  %load_ext autoreload\nresult = kfold(2.5)"))
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.ipynb": nb}))
    assert got.found == {"kfold": "kfold.ipynb"}
    src = module(got)
    compile(src, "kfold.py", "exec")
    assert "%" not in src and "!" not in src and "slow" not in src and "KFold" not in src
    assert "import math" in src and "result = kfold(2.5)" in src
    ns: dict = {}
    exec(src, ns)
    assert ns["result"] == 2
    (note,) = got.notices["kfold"]
    assert note.startswith("kfold.ipynb: took its 3 code cell(s); dropped 4 IPython magic/shell")
    assert "`%matplotlib inline`" in note and "`!pip install torch`" in note
    assert "`!ls`" in note and "load_ext" not in note and "and 1 more" in note  # first 3 shown
    assert "dropped 1 cell(s) starting with %%" in note and "`%%time`" in note


def test_notebook_syntax_error_stays(tmp_path):
    nb = notebook(("code", "def kfold(:\n    pass"), ("code", "y = 2"))
    got = take(tmp_path, write(tmp_path / "sub", {"KFold (1).ipynb": nb}))
    assert got.found == {"kfold": "KFold (1).ipynb"}
    assert "def kfold(:" in module(got) and "y = 2" in module(got)
    assert any("should be kfold.ipynb" in n for n in got.notices["kfold"])


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00junk", b'{"cells": 3}'])
def test_unreadable_notebook_is_a_problem(tmp_path, content):
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.ipynb": content}))
    assert "kfold.ipynb was not accepted as kfold.py" in got.problems["kfold"]
    assert "could not be read as a notebook" in got.problems["kfold"]


def test_corrupt_zip_path(tmp_path):
    sub = write(tmp_path, {"sub.zip": b"PK\x03\x04 this is not a zip"}) / "sub.zip"
    got = take(tmp_path, sub, ("kfold", "conv"))
    assert set(got.problems) == {"kfold", "conv"}
    assert "sub.zip could not be unpacked" in got.problems["kfold"]
    assert any("not a readable zip" in g for g in got.general)


def test_corrupt_zip_in_folder_does_not_hide_the_rest(tmp_path):
    sub = write(tmp_path / "sub", {"broken.zip": b"junk", "kfold.py": CODE})
    got = take(tmp_path, sub, ("kfold", "conv"))
    assert got.found == {"kfold": "kfold.py"}
    assert "broken.zip" in got.problems["conv"]
    assert any("could not unpack broken.zip" in g for g in got.general)


def test_zip_with_unsafe_names_is_refused(tmp_path):
    sub = make_zip(tmp_path / "sub.zip", {"../evil.py": "x", "/abs.py": "x",
                                          "a/../../evil2.py": "x", "kfold.py": CODE})
    got = take(tmp_path, sub)
    assert got.found == {"kfold": "sub.zip:kfold.py"}
    names = [p.name for p in tmp_path.rglob("*")]
    assert not {"evil.py", "abs.py", "evil2.py"} & set(names)
    (note,) = [g for g in got.general if "refused" in g]
    assert "../evil.py" in note and "/abs.py" in note


def test_zip_symlink_member_is_skipped(tmp_path):
    sub = tmp_path / "sub.zip"
    with zipfile.ZipFile(sub, "w") as zf:
        info = zipfile.ZipInfo("kfold.py")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    got = take(tmp_path, sub)
    assert "kfold" in got.problems
    assert not any(p.is_symlink() for p in (tmp_path / "work").rglob("*"))
    assert any("symbolic link" in g and "kfold.py" in g for g in got.general)


def test_nested_zip_is_not_unpacked(tmp_path):
    inner = make_zip(tmp_path / "inner.zip", {"kfold.py": CODE}).read_bytes()
    got = take(tmp_path, make_zip(tmp_path / "sub.zip", {"inner.zip": inner}))
    assert "sub.zip:inner.zip" in got.problems["kfold"]


def test_zip_member_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(intake_mod, "MAX_ZIP_MEMBERS", 2)
    got = take(tmp_path, make_zip(tmp_path / "sub.zip", {"a.py": "", "b.py": "", "kfold.py": CODE}))
    assert "kfold" in got.problems and any("3 entries" in g for g in got.general)


def test_zip_size_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(intake_mod, "MAX_ZIP_TOTAL", 1000)
    got = take(tmp_path, make_zip(tmp_path / "sub.zip", {"kfold.py": CODE + "#" * 2000}))
    assert "kfold" in got.problems and any("uncompressed" in g for g in got.general)


def test_missing_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    got = take(tmp_path, "nope", ("kfold", "conv"))
    assert got.problems == dict.fromkeys(
        ("kfold", "conv"), "no submission was found: the folder nope does not exist")
    assert got.general == ("the submission folder does not exist",)


def test_a_single_file_is_a_submission_of_that_file(tmp_path):
    got = take(tmp_path, write(tmp_path, {"KFold.py": CODE}) / "KFold.py")
    assert got.found == {"kfold": "KFold.py"}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%matplotlib inline\n" + CODE)])
    path = tmp_path / "nb" / "kfold.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, str(path))
    (tmp_path / "two").mkdir()
    got = take(tmp_path / "two", path)
    assert got.found == {"kfold": "kfold.ipynb"}
    assert "%matplotlib" not in (got.folder / "kfold.py").read_text()


def test_neither_folder_nor_zip(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = take(tmp_path, fifo)
    assert "neither a folder nor a zip" in got.problems["kfold"]


def test_empty_folder(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    got = take(tmp_path, sub)
    assert "the submission is empty" in got.general
    assert got.problems["kfold"].startswith("no kfold.py found. Expected a file named kfold.py")


def test_not_found_lists_what_is_there(tmp_path):
    sub = write(tmp_path / "sub", {"a.py": "", "notes.txt": "", "hw3/x.py": "", "hw3/y.py": "",
                                   "hw3/z/w.py": ""})
    got = take(tmp_path, sub)
    assert got.problems["kfold"] == (
        "no kfold.py found. Expected a file named kfold.py (or kfold.ipynb); "
        "the submission holds: a.py, hw3/ (3 files), notes.txt")


def test_not_found_opens_a_lone_folder_and_caps_the_list(tmp_path):
    sub = write(tmp_path / "sub", {f"mywork/f{i:02}.py": "" for i in range(20)})
    msg = take(tmp_path, sub).problems["kfold"]
    assert "mywork/f00.py" in msg and "mywork/f14.py" in msg and "f15" not in msg
    assert msg.endswith("and 5 more")


def test_large_file_is_a_problem(tmp_path):
    sub = write(tmp_path / "sub", {"kfold.py": b"#" * (2 * 1024 * 1024 + 1)})
    msg = take(tmp_path, sub).problems["kfold"]
    assert "kfold.py was not accepted" in msg and "MiB" in msg and "limit" in msg


def test_symlink_file_is_a_problem(tmp_path):
    sub = write(tmp_path / "sub", {"real.txt": CODE})
    (sub / "kfold.py").symlink_to(sub / "real.txt")
    msg = take(tmp_path, sub).problems["kfold"]
    assert "symbolic link" in msg


def test_junk_is_ignored(tmp_path):
    sub = write(tmp_path / "sub", {"hw3/kfold.py": CODE, "__MACOSX/hw3/._kfold.py": b"\x00\x05",
                                   "hw3/._kfold.py": b"\x00", ".git/kfold.py": "x",
                                   ".ipynb_checkpoints/kfold-checkpoint.ipynb": "{}",
                                   "hw3/__pycache__/kfold.py": "x"})
    got = take(tmp_path, sub)
    assert got.found == {"kfold": "hw3/kfold.py"}
    assert len(got.notices["kfold"]) == 1


def test_macosx_zip_junk_is_ignored(tmp_path):
    got = take(tmp_path, make_zip(tmp_path / "sub.zip", {"__MACOSX/._kfold.py": b"\x00\x05",
                                                         "kfold.py": CODE}))
    assert got.found == {"kfold": "sub.zip:kfold.py"} and got.notices == {}


def test_non_utf8_py_is_copied_as_is(tmp_path):
    raw = b"# caf\xe9\nx = 1\n\x00\xff"
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.py": raw}))
    assert (got.folder / "kfold.py").read_bytes() == raw


def test_fifo_does_not_hang(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    os.mkfifo(sub / "kfold.py")
    assert "not a regular file" in take(tmp_path, sub).problems["kfold"]


def test_only_junk_is_empty(tmp_path):
    sub = write(tmp_path / "sub", {"__MACOSX/._kfold.py": b"\x00", ".DS_Store": b"\x00"})
    got = take(tmp_path, sub)
    assert "the submission is empty" in got.general and "kfold" in got.problems


# -- dlgrade check without --submission: the folder and its assignments/, nothing else -------------

def test_scope_here_looks_at_the_folder_and_its_assignments_only(tmp_path):
    home = write(tmp_path / "home", {"assignments/kfold.py": CODE, "old/kfold.py": "x = 1\n",
                                     "notes.txt": ""})
    make_zip(home / "download.zip", {"kfold.py": "y = 2\n"})
    workdir = tmp_path / "work"
    workdir.mkdir()
    got = take_submission(home, ["kfold"], workdir, scope="here")
    assert got.found == {"kfold": "assignments/kfold.py"}
    assert got.notices == {}  # assignments/ is where the file belongs: no notice
    assert not (workdir / "unpacked").exists()  # no zip around it was opened
    assert not any("unpacked" in g for g in got.general)


def test_scope_here_takes_a_file_of_the_folder_itself(tmp_path):
    home = write(tmp_path / "home", {"KFold.py": CODE, "deep/er/kfold.py": "x = 1\n"})
    (tmp_path / "work").mkdir()
    got = take_submission(home, ["kfold"], tmp_path / "work", scope="here")
    assert got.found == {"kfold": "KFold.py"}


# -- notebooks as Jupyter runs them ---------------------------------------------------------------

STUB_CELL = ('"""My kfold."""\nfrom __future__ import annotations\n\nimport numpy as np\n\n\n'
             'def kfold(n: int) -> int:\n    return n\n')


def test_future_imports_of_any_cell_go_first(tmp_path):
    nb = notebook(("markdown", "# Exercise"), ("code", "x = 1\nprint(x)"), ("code", STUB_CELL))
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.ipynb": nb}))
    src = module(got)
    assert src.startswith("from __future__ import annotations\n")
    assert src.count("__future__") == 1
    ns: dict = {}
    exec(compile(src, "kfold.py", "exec"), ns)
    assert ns["kfold"](3) == 3
    assert any("put its 1 `from __future__` line(s) first" in n for n in got.notices["kfold"])


def test_messages_name_the_cell_and_the_line_in_it(tmp_path):
    nb = notebook(("code", "import math\n\n"), ("code", "%matplotlib inline\nx = 1\n"),
                  ("code", "def kfold(n):\n    return n +\n"))
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.ipynb": nb}))
    src = module(got)
    with pytest.raises(SyntaxError) as err:
        compile(src, "kfold.py", "exec")
    text = f"kfold.py has a syntax error on line {err.value.lineno}: invalid syntax"
    assert got.locate("kfold", text) == ("kfold.ipynb has a syntax error in code cell 3, "
                                         "line 2: invalid syntax")
    x_line = src.splitlines().index("x = 1") + 1
    trace = f"  kfold.py, line {x_line}, in <module>: x = 1"
    assert got.locate("kfold", trace) == "  kfold.ipynb, code cell 2, line 2, in <module>: x = 1"
    assert got.locate("conv", trace) == trace  # another exercise: untouched
    assert got.locate("kfold", "kfold.py, line 999, in f") == (
        "kfold.ipynb, line 999 of the joined cells, in f")


def test_v4_notebooks_are_read_without_nbformat(tmp_path, monkeypatch):
    import nbformat

    def refuse(*args, **kwargs):
        raise AssertionError("nbformat must not parse a v4 notebook")

    monkeypatch.setattr(nbformat, "read", refuse)
    monkeypatch.setattr(nbformat, "reads", refuse)
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.ipynb": notebook(("code", CODE))}))
    assert module(got) == CODE


def test_old_notebooks_are_converted(tmp_path):
    v3 = json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "code", "input": CODE, "language": "python", "outputs": [],
                    "metadata": {}}], "metadata": {}}]})
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.ipynb": v3}))
    assert module(got) == CODE


def test_a_notebook_of_many_cells_is_refused_before_it_is_read(tmp_path):
    cells = [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": []}] * 300_000
    nb = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells},
                    separators=(",", ":"))
    assert 17_000_000 < len(nb) < intake_mod.MAX_NOTEBOOK  # the size that took nbformat 28 s
    import time

    started = time.monotonic()
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.ipynb": nb}))
    seconds = time.monotonic() - started
    assert "holds 300000 cells, more than the limit of 5000" in got.problems["kfold"]
    assert seconds < 2, seconds  # counted before parsing: 0.1 s here; nbformat took 28 s


def test_a_notebook_of_many_json_objects_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("json must not parse it")

    nb = '{"nbformat": 4, "cells": [], "metadata": {"x": [' + ",".join(["{}"] * 600_000) + "]}}"
    monkeypatch.setattr(intake_mod.json, "loads", refuse)
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.ipynb": nb}))
    assert "more than 500000 JSON objects and arrays" in got.problems["kfold"]


def test_notebook_code_over_the_module_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(intake_mod, "MAX_PY", 100)
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.ipynb": notebook(("code", "#" * 200))}))
    assert "more than the 0 MiB limit" in got.problems["kfold"] or "MiB" in got.problems["kfold"]


@pytest.mark.parametrize("content", [b'{"nbformat": 4, "cells": [3]}',
                                     b'{"nbformat": 4, "cells": [{"cell_type": "code", '
                                     b'"source": 5}]}', b'[' * 100_000, b'{"nbformat": 9}'])
def test_malformed_notebooks_are_a_problem(tmp_path, content):
    got = take(tmp_path, write(tmp_path / "sub", {"kfold.ipynb": content}))
    assert "could not be read as a notebook" in got.problems["kfold"]


# -- bounded: zip directories, names, entries, time -----------------------------------------------

def directory_bomb(path: Path, entries: int, name: bytes = b"a", extra: bytes = b"") -> Path:
    """A zip whose central directory lists ``entries`` members (all ``name``, no data: the
    directory is what zipfile parses first), with the zip64 end records it then needs."""
    import struct

    one = struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0,
                      len(name), len(extra), 0, 0, 0, 0, 0) + name + extra
    directory = one * entries
    end64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries,
                        len(directory), 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, len(directory), 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
                      0)
    path.write_bytes(directory + end64 + locator + end)
    return path


def test_a_zip_directory_is_sized_before_zipfile_parses_it(tmp_path, monkeypatch):
    bomb = directory_bomb(tmp_path / "sub.zip", 400_000)
    assert intake_mod.zip_directory(bomb) == (400_000, 400_000 * 47)

    def refuse(*args, **kwargs):
        raise AssertionError("zipfile must not parse an oversized directory")

    monkeypatch.setattr(intake_mod.zipfile, "ZipFile", refuse)
    import time

    started = time.monotonic()
    got = take(tmp_path, bomb)
    assert time.monotonic() - started < 1  # unbounded: 6.5 s and 285 MB in zipfile
    assert any("holds 400000 entries" in g and "more than the limits of 2000 entries" in g
               for g in got.general)
    assert "could not be unpacked" in got.problems["kfold"]


def test_a_directory_of_few_but_huge_entries_is_refused_too(tmp_path):
    bomb = directory_bomb(tmp_path / "sub.zip", 100, name=b"n" * 60_000)
    got = take(tmp_path, bomb)
    assert any("MiB of directory" in g for g in got.general)


def test_extra_fields_zipfile_would_decode_in_quadratic_time_are_refused(tmp_path, monkeypatch):
    """A 64 KiB extra field of empty records costs zipfile 0.05 s an entry (50 of them: 2 s)."""
    bomb = directory_bomb(tmp_path / "sub.zip", 12, extra=b"\x00" * 65532)

    def refuse(*args, **kwargs):
        raise AssertionError("zipfile must not parse these extra fields")

    monkeypatch.setattr(intake_mod.zipfile, "ZipFile", refuse)
    got = take(tmp_path, bomb)
    assert any("carries a 65532-byte extra field" in g for g in got.general)


def test_an_ordinary_zip_passes_the_directory_scan(tmp_path):
    sub = tmp_path / "sub.zip"
    with zipfile.ZipFile(sub, "w") as zf:
        zf.writestr("notes/readme.txt", "x")
        zf.writestr("kfold.py", CODE)
        zf.comment = b"a comment"
    prefixed = tmp_path / "prefixed.zip"  # data before the zip (a self-extractor): offsets move
    prefixed.write_bytes(b"#!/bin/sh\nexit 0\n" + sub.read_bytes())
    for path in (sub, prefixed):
        (tmp_path / path.stem).mkdir()
        got = take(tmp_path / path.stem, path)
        assert got.found == {"kfold": f"{path.name}:kfold.py"}, got.general


def test_names_from_the_submission_are_cut_where_they_are_read(tmp_path):
    long = "../" + "x" * 60_000 + ".py"
    sub = make_zip(tmp_path / "sub.zip", {long: "x", "kfold.py": CODE})
    got = take(tmp_path, sub)
    assert got.found == {"kfold": "sub.zip:kfold.py"}
    (note,) = [g for g in got.general if "refused" in g]
    assert len(note) < 2 * intake_mod.MAX_NAME
    (tmp_path / "other").mkdir()
    folder = write(tmp_path / "folder", {"d" * 250 + "/" + "e" * 250 + ".py": "x"})
    msg = take(tmp_path / "other", folder).problems["kfold"]
    assert len(msg) < 600


def test_a_folder_is_walked_for_a_bounded_number_of_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(intake_mod, "MAX_ENTRIES", 50)
    sub = write(tmp_path / "sub", {f"junk{i:03}.txt": "" for i in range(200)})
    got = take(tmp_path, sub)
    assert any("looked at the first 50 files and folders only" in g for g in got.general)


def test_intake_time_counts_against_a_budget(tmp_path):
    sub = write(tmp_path / "sub", {"kfold.py": CODE, "hw/conv.py": "x = 1\n"})
    (tmp_path / "work").mkdir()
    got = take_submission(sub, ["kfold", "conv"], tmp_path / "work", budget_s=0)
    assert set(got.problems) == {"kfold", "conv"}
    assert "could not be read within 0 s" in got.problems["kfold"]
    assert any("took more than 0 s" in g for g in got.general)


# -- graded: a notebook as a student writes it ------------------------------------------------------

def test_a_reference_pasted_into_a_later_cell_grades_like_the_file(tmp_path):
    from tests.helpers import SOLUTIONS, grade_dir

    nb = notebook(("markdown", "# K-fold"), ("code", "import numpy as np\nprint('hello')"),
                  ("code", "%matplotlib inline\nx = 1"),
                  ("code", (SOLUTIONS / "kfold.py").read_text()))
    sub = write(tmp_path / "sub", {"kfold.ipynb": nb})
    report = grade_dir(sub, "kfold")
    assert report.score == report.max_score == 10, [c.output for c in report.checks][:2]


def test_a_broken_notebook_gets_one_message_naming_its_cell(tmp_path):
    from tests.helpers import ASSIGNMENTS, grade_dir

    nb = notebook(("code", "import numpy as np"), ("code", "def helper(:\n    pass"),
                  ("code", (ASSIGNMENTS / "kfold.py").read_text()))
    report = grade_dir(write(tmp_path / "sub", {"kfold.ipynb": nb}), "kfold")
    first, *rest = [c.output for c in report.checks]
    assert first.startswith("kfold.ipynb has a syntax error in code cell 2, line 1")
    assert rest and all(o.startswith("not run: kfold.py could not be imported (the reason is "
                                     "shown once, in the check") for o in rest)
    assert report.score == 0
