"""``dlgrade bundle student``: what students download.

The zip unpacks into one folder, named like the zip (``hw3.zip`` -> ``hw3/``) and named in its
README. It holds an allowlist (:func:`grader.delivery.files.select`): the stubs (``assignments/``),
the engine's student side, and per exercise its public checks, probes, golden data and the
helper modules its public checks import; an ``autograder.yml`` that names no references, a
``pyproject.toml`` so that ``pip install .`` gives the ``dlgrade`` command, a README for
students, and a ``MANIFEST`` (every file, and why it is there). No hidden check, no oracle, no
maintainer file, no instructor tool, nothing of ``solutions/``. Before it is written, every file
is scanned for the solution regions' lines (:func:`grader.leaks.textual_leaks`): a release that
would quote the reference is refused. Each exercise's config carries ``hidden_points`` so that
the public checks show the same points as in the final grade (e.g. 7.41 of 10).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from grader.config import Config
from grader.delivery.files import (TORCH_INDEX, Entry, builtin_config, config_text,
                                   engine_files, pinned, pyproject, stubs, write_zip)
from grader.errors import GraderError
from grader.runner import list_checks

HEADER = ("# dlgrade configuration for students: the public checks of each exercise.\n"
          "# hidden_points: the points of the checks that run only for the final grade.\n")
MANIFEST_HEADER = """dlgrade student release: every file in this zip, and why it is here.
What ships is an allowlist: the stubs, the public checks, their golden data (the public cases'
inputs and expected values) and helpers, the probes, and the engine's student side. No
reference solution, no hidden check, no oracle that computes an answer.
"""


def hidden_points(config: Config, exercises: Sequence[str]) -> dict[str, float]:
    """Per exercise, the points of its checks that are not visible."""
    out = {ex: 0.0 for ex in exercises}
    for meta in list_checks(config, exercises):
        if meta.visibility != "visible":
            out[meta.exercise] += meta.max_score
    return out


def build_student_zip(config: Config, out: Path, *, exercises: Sequence[str] | None = None,
                      scan: bool = True) -> Path:
    """Write the student release of ``exercises`` (default: all) to ``out``.

    Refused (``GraderError``) when a shipped file quotes a line of a solution region, and, with
    ``scan`` and the references at hand, when a shipped function returns the reference's output
    on a public case (:mod:`grader.leaks`; about half a minute for the six exercises)."""
    ids = tuple(exercises or config.ids)
    hidden = hidden_points(config, ids)
    student_config = config_text(config, ids, solutions=None, assignments="assignments",
                                 hidden_points=hidden, header=HEADER)
    entries = list(engine_files(hidden=False, exercises=ids))
    entries += [builtin_config(config, ids, hidden_points=hidden,
                               header=HEADER + "# Built in: used when no autograder.yml is "
                                               "found.\n",
                               why="engine: the built-in configuration (no autograder.yml "
                                   "found)"),
                Entry("autograder.yml", student_config.encode(), 0o644,
                      "the configuration: the exercises, their points, the public checks' share"),
                Entry("pyproject.toml", pyproject("dlgrade", "dlgrade: public checks for "
                                                  "students").encode(), 0o644,
                      "pip install . gives the dlgrade command"),
                Entry("README.md", student_readme(config, ids, hidden, top=top_folder(out),
                                                  zip_name=Path(out).name).encode(), 0o644,
                      "how to install, check your work and hand it in"),
                *stubs(config, ids)]
    refuse_leaks(config, entries, ids, behavioural=scan)
    return write_zip(out, entries, manifest=MANIFEST_HEADER, prefix=top_folder(out))


def refuse_leaks(config: Config, entries: list[Entry], ids: Sequence[str], *,
                 behavioural: bool) -> None:
    """Stop (``GraderError``) when a file of the release holds a line of a solution region (30
    characters or more, whitespace normalised: an allowlist keeps out whole files, this keeps
    out a quoted line, a comment, a docstring, an equivalent mutant's ``before:``), and with
    ``behavioural``, when a function of it returns the reference's output on a public case.
    Without the references (a config with no ``solutions``) there is nothing to compare with."""
    if config.solutions is None:
        return
    from grader import leaks

    found = leaks.textual_leaks({e.name: e.data for e in entries},
                                leaks.solution_lines(config.solutions))
    if found:
        shown = "; ".join(f"{name} quotes {line!r}" for name, line in found[:3])
        raise GraderError(f"the student release would quote the reference ({len(found)} "
                          f"line(s)): {shown}")
    if not behavioural:
        return
    with tempfile.TemporaryDirectory(prefix="dlgrade-release-scan-") as tmp:
        for entry in entries:
            path = Path(tmp) / entry.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(entry.data)
        result = leaks.behavioural_leaks(Path(tmp), leaks.recorded_calls(ids, config.solutions))
    if result["unimportable"]:
        raise GraderError("the student release has modules that cannot be imported: "
                          + "; ".join(result["unimportable"][:3]))
    if result["leaks"]:
        shown = "; ".join(leaks.describe(result["leaks"])[:3])
        raise GraderError(f"the student release would give answers away: {shown}")


def top_folder(out: Path) -> str:
    """The one folder the zip unpacks into: the zip's name without ``.zip``, made safe."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(out).name.removesuffix(".zip")).strip(".-")
    return name or "homework"


def student_readme(config: Config, ids: Sequence[str], hidden: dict[str, float], *,
                   top: str = "homework", zip_name: str = "homework.zip") -> str:
    torch = pinned(["torch"])[0]
    rows = "\n".join(
        f"| `{ex}` | `assignments/{ex}.py` | {config.exercise(ex).points:g} | "
        f"{config.exercise(ex).points - hidden[ex]:.2f} |" for ex in ids)
    return f"""# {config.assignment}

Fill in the stubs in `assignments/` and check your work with `dlgrade`, the course's grader.

## Install (once)

You need Python 3.11 or newer. `{zip_name}` unpacks into one folder, `{top}/`; go into it:

```sh
cd {top}
python3 -m venv .venv && . .venv/bin/activate
pip install "{torch}" --index-url {TORCH_INDEX} \\
  || pip install "{torch}"    # where the CPU index has no build for your machine
pip install .
```

`{torch}` is the torch the grader uses: the CPU build (small) from PyTorch's own index, or
the same version from PyPI where that index has none for your machine. A plain
`pip install .` works too, but may download a large CUDA build of another torch.

## Check an exercise

```sh
dlgrade check kfold                          # in {top}/: public checks on assignments/kfold.py
dlgrade check kfold --submission ~/mywork    # or on ~/mywork/kfold.py (a folder, a .zip, or kfold.ipynb)
```

Without `--submission`, `dlgrade check` looks at the folder you are in and its `assignments/`
(in `{top}/`: `assignments/kfold.py`), nothing else.

Each check prints PASS or FAIL with its points; a failure says what was given, what was
expected and where it differs. Your own `print` output appears below the table.

## What the points mean

| exercise | your file | points | public checks |
|---|---|---|---|
{rows}

`dlgrade check` runs the **public** checks only, so its total is out of the public share (e.g.
"4.07 / 7.41" for kfold). The final grade adds **hidden** checks on other inputs, worth the rest
of each exercise's points: code that passes the public checks for the right reasons usually
passes them too.

## Hand in

Upload your files named exactly as in `assignments/` (`kfold.py`, `conv.py`, ...), or a zip of
them. A notebook `kfold.ipynb` is accepted (its code cells are taken; `%` and `!` lines are
dropped), and so are names like `KFold.py` or `kfold (1).py`, with a notice in your results.
"""
