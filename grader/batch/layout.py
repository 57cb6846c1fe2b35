"""What is in a batch ROOT: one entry per submission, and who handed each one in.

Three layouts, told apart by what ROOT holds:

- **Gradescope export** ("Export Submissions"): ``submission_metadata.yml`` at the top (or in
  the one folder the export zip unpacks to), next to one folder per submission. The YAML maps
  each folder name to its record, written by Ruby, so the keys keep their colons::

      submission_123456:
        :submitters:
        - :name: Ada Lovelace
          :sid: '1815'
          :email: ada@example.edu
        :created_at: 2026-11-20 22:14:03.123456000 -08:00
        :score: 0.0

  A group submission lists several submitters. (Layout as read by otter-grader's
  ``GradescopeParser``, ucbds-infra/otter-grader ``otter/grade/metadata.py``: it iterates the
  top-level keys as folder names and reads ``metadata[folder][":submitters"][i][":name"]``;
  the ``:sid:`` and ``:email:`` keys as in export-processing scripts on GitHub that rename
  folders by ``record[':submitters'][0][':sid']``.)
- **Folders**: one folder per student (a GitHub Classroom clone folder, ``alice/``,
  ``hw3-bob/``), files at any depth the intake accepts.
- **Zips**: ``<student>.zip`` per student. Folders and zips may be mixed.

A submission's ``key`` is its folder name (a zip's name without ``.zip``): unique in ROOT,
the row's ``submission`` column, and the name of its results file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from grader.delivery.intake import IGNORED_DIRS
from grader.errors import GraderError

METADATA = "submission_metadata.yml"
EXERCISE_FILE = re.compile(r"\.(py|ipynb)(\.txt)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Student:
    name: str = ""
    email: str = ""
    sid: str = ""


@dataclass(frozen=True)
class Submission:
    key: str                       # folder or zip name (without .zip), unique in ROOT
    path: Path                     # what is graded: the folder or the zip
    students: tuple[Student, ...]  # from the export's metadata; () when ROOT does not say


@dataclass(frozen=True)
class Layout:
    kind: str                      # "gradescope" or "folders"
    root: Path                     # where the submissions are (the export's inner folder)
    submissions: tuple[Submission, ...]
    notices: tuple[str, ...]       # for the instructor: entries skipped, metadata problems


def find_submissions(root: Path | str) -> Layout:
    """The submissions in ``root``, sorted by key; ``GraderError`` when there are none."""
    root = Path(root)
    if not root.exists():
        raise GraderError(f"batch root not found: {root}")
    if not root.is_dir():
        hint = " (unzip the export first)" if root.suffix.lower() == ".zip" else ""
        raise GraderError(f"the batch root must be a folder of submissions{hint}: {root}")
    inner = _visible(root)
    if not (root / METADATA).is_file() and len(inner) == 1 and (inner[0] / METADATA).is_file():
        root = inner[0]  # the folder Gradescope's export zip unpacks to
    notices: list[str] = []
    metadata = _metadata(root / METADATA, notices) if (root / METADATA).is_file() else None
    entries: dict[str, Path] = {}
    skipped: list[str] = []
    zips: list[Path] = []
    for entry in _visible(root):
        if entry.is_symlink():
            skipped.append(entry.name)
        elif entry.is_dir():
            entries[entry.name] = entry
        elif entry.is_file() and entry.suffix.lower() == ".zip":
            zips.append(entry)
        elif entry.name != METADATA:
            skipped.append(entry.name)
    for z in zips:  # alice.zip is "alice", unless a folder alice/ is there too
        stem = z.name[: -len(".zip")]
        entries[stem if stem not in entries else z.name] = z
    if not entries and any(EXERCISE_FILE.search(n) for n in skipped):
        raise GraderError(f"{root} holds exercise files itself: it looks like one submission, "
                          "not a folder of submissions; grade it with `dlgrade grade`")
    if skipped:
        notices.append(f"skipped {len(skipped)} entr(ies) in the batch root that are neither a "
                       f"folder nor a zip file: {', '.join(sorted(skipped)[:5])}"
                       + (", ..." if len(skipped) > 5 else ""))
    students: dict[str, tuple[Student, ...]] = {}
    if metadata is not None:
        for key, record in metadata.items():
            students[key] = _submitters(record)
            if key not in entries:
                notices.append(f"{METADATA} lists {key}, which is not in the export; "
                               "graded as an empty submission")
                entries[key] = root / key
        unlisted = sorted(set(entries) - set(metadata))
        if unlisted:
            notices.append(f"not in {METADATA} (graded without a name): {', '.join(unlisted[:5])}"
                           + (", ..." if len(unlisted) > 5 else ""))
    if not entries:
        raise GraderError(f"no submissions in {root}: expected a Gradescope export (with "
                          f"{METADATA}), one folder per student, or one zip per student")
    subs = tuple(Submission(key, entries[key], students.get(key, ()))
                 for key in sorted(entries))
    return Layout("gradescope" if metadata is not None else "folders", root, subs,
                  tuple(notices))


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith(".") and p.name not in IGNORED_DIRS)


class _RubyTolerantLoader(yaml.SafeLoader):
    """Safe loading, with any tag Ruby wrote (``!ruby/object:BigDecimal 0.18e2``) read as the
    plain value under it, so that one odd field cannot hide every name."""


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_RubyTolerantLoader.add_multi_constructor("!", _untagged)
_RubyTolerantLoader.add_multi_constructor("tag:", _untagged)


def _metadata(path: Path, notices: list[str]) -> dict[str, dict] | None:
    """The export's records by folder name; None (with a notice) when it cannot be read."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8", errors="replace"),
                         Loader=_RubyTolerantLoader)
    except (OSError, yaml.YAMLError) as err:
        notices.append(f"could not read {METADATA} ({type(err).__name__}); "
                       "the submissions are graded without names")
        return None
    if not isinstance(data, dict):
        notices.append(f"{METADATA} is not a mapping of submission folders; "
                       "the submissions are graded without names")
        return None
    return {str(k): (v if isinstance(v, dict) else {}) for k, v in data.items()}


def _field(record: dict, name: str) -> str:
    """``record[':name']`` (as Ruby writes it) or ``record['name']``, as text."""
    value = record.get(f":{name}", record.get(name))
    return "" if value is None else str(value).strip()


def _submitters(record: dict) -> tuple[Student, ...]:
    people = record.get(":submitters", record.get("submitters")) or []
    if not isinstance(people, list):
        return ()
    return tuple(Student(_field(p, "name"), _field(p, "email"), _field(p, "sid"))
                 for p in people if isinstance(p, dict))
