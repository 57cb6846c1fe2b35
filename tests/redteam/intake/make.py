"""Writes the intake's red-team submissions (tests/redteam/attacks.yml, group "intake"):
made in memory by :func:`files` when the harness grades them (``python -m
tests.redteam.intake.make`` writes them here, to look at). Each holds a kfold.py that is no answer (so the
submission can score no more than the stub) and a file the intake must bound before it parses
or shows it. The sizes are what a repository can hold; tests/test_intake.py builds each at the
size of the issue (400,000 zip entries, a 17 MB notebook of 300,000 cells) and times it."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_AN_ANSWER = "# kfold: not implemented; the attack is the other file of this submission\n"


def directory_entries(entries: int, name: bytes, extra: bytes = b"") -> bytes:
    """A zip of ``entries`` central-directory records (no data: the directory is what zipfile
    parses when it opens an archive)."""
    one = struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0,
                      len(name), len(extra), 0, 0, 0, 0, 0) + name + extra
    directory = one * entries
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(directory), 0, 0)
    return directory + end


def files(name: str) -> dict[str, bytes]:
    """The files of the submission ``name`` (a folder name in attacks.yml's ``source``), made in
    memory: the harness grades them without megabytes of them in the repository."""
    if name == "zip_directory":
        # 20,000 entries (1 MB) that zipfile would turn into 20,000 objects before any cap
        bomb = {"many.zip": directory_entries(20_000, b"a")}
    elif name == "zip_extra_fields":
        # 20 entries of 64 KiB extra fields: zipfile decodes each in quadratic time
        bomb = {"extra.zip": directory_entries(20, b"a", b"\0" * 65532)}
    elif name == "zip_long_names":
        # refused member names of 60,000 characters each, shown in the notices
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for i in range(6):
                zf.writestr("../" + f"{i}/a" * 20_000 + ".py", "x")
        bomb = {"names.zip": buffer.getvalue()}
    elif name == "notebook_cells":
        # a notebook of 20,000 cells (1.3 MB): nbformat validates each against its schema
        cell = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": []}
        notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell] * 20_000}
        bomb = {"kfold.ipynb": json.dumps(notebook, separators=(",", ":")).encode()}
    else:
        raise KeyError(f"no intake submission named {name!r}")
    return {"kfold.py": NOT_AN_ANSWER.encode(), **bomb}


def main() -> None:
    """Write every submission into its folder here (to look at them; the harness does not
    need them on disk)."""
    for name in ("zip_directory", "zip_extra_fields", "zip_long_names", "notebook_cells"):
        (HERE / name).mkdir(exist_ok=True)
        for file, data in files(name).items():
            (HERE / name / file).write_bytes(data)


if __name__ == "__main__":
    main()
