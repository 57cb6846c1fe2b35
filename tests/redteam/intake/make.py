"""Writes the intake's red-team submissions (tests/redteam/attacks.yml, group "intake"):
``python -m tests.redteam.intake.make``. Each folder holds a kfold.py that is no answer (so the
submission can score no more than the stub) and a file the intake must bound before it parses
or shows it. The sizes are what a repository can hold; tests/test_intake.py builds each at the
size of the issue (400,000 zip entries, a 17 MB notebook of 300,000 cells) and times it."""

from __future__ import annotations

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


def write(folder: str, files: dict[str, bytes]) -> None:
    (HERE / folder).mkdir(exist_ok=True)
    (HERE / folder / "kfold.py").write_text(NOT_AN_ANSWER)
    for name, data in files.items():
        (HERE / folder / name).write_bytes(data)


def main() -> None:
    # 20,000 entries (1 MB) that zipfile would turn into 20,000 objects before any cap
    write("zip_directory", {"many.zip": directory_entries(20_000, b"a")})
    # 20 entries of 64 KiB extra fields: zipfile decodes each in quadratic time
    write("zip_extra_fields", {"extra.zip": directory_entries(20, b"a", b"\0" * 65532)})
    # refused member names of 60,000 characters each, shown in the notices
    long_names = HERE / "zip_long_names"
    long_names.mkdir(exist_ok=True)
    with zipfile.ZipFile(long_names / "names.zip", "w") as zf:
        for i in range(6):
            zf.writestr("../" + f"{i}/a" * 20_000 + ".py", "x")
    (long_names / "kfold.py").write_text(NOT_AN_ANSWER)
    # a notebook of 20,000 cells (1.3 MB): nbformat validates each against its schema
    cell = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": []}
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell] * 20_000}
    write("notebook_cells", {"kfold.ipynb": json.dumps(notebook, separators=(",", ":")).encode()})


if __name__ == "__main__":
    main()
