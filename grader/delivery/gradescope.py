"""``dlgrade bundle gradescope``: the ``autograder.zip`` an instructor uploads to Gradescope.

At the zip's root: ``setup.sh`` (run once when Gradescope builds the image: a Python 3.11+
virtual environment with pinned packages and the CPU build of torch, pip only), ``run_autograder``
(run per submission), ``requirements.txt``, ``autograder.yml``, the engine (``grader/``, hidden
checks included) and the references (``solutions/``). ``setup.sh`` makes the references and
hidden checks readable by root only; at grading time each worker runs under a uid of its own
and, where the kernel or the container allows, in namespaces with a private root and under
Landlock (the grading notice in ``results.json`` says which are in force).

``run_autograder`` reads ``$ROOT/submission`` and writes ``$ROOT/results/results.json`` with
``ROOT=${DLGRADE_AUTOGRADER_ROOT:-/autograder}`` and the interpreter
``${DLGRADE_PYTHON:-/opt/dlgrade-venv/bin/python}``, so a test can run the unpacked bundle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from grader.config import Config
from grader.delivery.files import (TORCH_INDEX, Entry, builtin_config, config_text,
                                   engine_files, pinned, references, requirements, write_zip)

VENV = "/opt/dlgrade-venv"
HEADER = "# dlgrade configuration of this Gradescope autograder (made by dlgrade bundle gradescope)\n"
MANIFEST_HEADER = """dlgrade Gradescope autograder: every file in this zip, and why it is here.
For the grading server only, never for students: it holds the reference solutions, the hidden
checks and their oracles (marked "judge only"), which setup.sh makes readable by root only.
"""

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# Made for Gradescope's Ubuntu 22.04 and 24.04 base images: it uses python3.13/3.12/3.11 when
# the image has one, else installs Debian/Ubuntu's python3.11 with apt. No conda, no browser,
# nothing downloaded at grading time.
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${DLGRADE_VENV:-__VENV__}"

# The system's interpreters first: workers run under uids of their own, which cannot start one
# kept in a private home folder (pyenv under /root, say).
PY=""
for candidate in /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11 /usr/bin/python3 \
                 python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY="$(command -v "$candidate")"; break
  fi
done
if [ -z "$PY" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q python3.11 python3.11-venv
  PY="$(command -v python3.11)"
fi
if ! "$PY" -c 'import ensurepip' 2>/dev/null; then
  apt-get update -q && apt-get install -y -q "$(basename "$PY")-venv"
fi

"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
# torch first, the CPU build, pinned: an unpinned torch pulls gigabytes of CUDA packages
"$VENV/bin/pip" install -q --index-url "${DLGRADE_TORCH_INDEX:-__TORCH_INDEX__}" "__TORCH__"
"$VENV/bin/pip" install -q -r "$SOURCE/requirements.txt"

# Workers run under uids of their own (like nobody, "others" to every file): they need the
# interpreter, never the references or the hidden checks (they get a clean copy of the probes).
chmod -R a+rX "$VENV" "$SOURCE/grader"
chmod 755 "$SOURCE"
chmod -R go-rwx "$SOURCE/solutions"
find "$SOURCE/grader/exercises" -name 'test_hidden*.py' -exec chmod 600 {} +
# and every other file the MANIFEST marks "judge only" (the hidden checks' oracles)
awk -F'\t' '$2 ~ /^judge only/ {print $1}' "$SOURCE/MANIFEST" | while IFS= read -r f; do
  chmod 600 "$SOURCE/$f"
done
"$VENV/bin/python" -c 'import torch, numpy, sklearn, yaml, pytest; print("dlgrade: ready, torch", torch.__version__)'
if command -v setpriv >/dev/null &&
   ! setpriv --reuid=nobody --regid=nogroup --clear-groups "$VENV/bin/python" -c 'import numpy' 2>/dev/null; then
  echo "dlgrade: WARNING: other users cannot start $VENV/bin/python: workers will not drop privileges" >&2
fi
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission, as root. dlgrade grades $ROOT/submission (files, a
# zip, a folder a level deeper, notebooks, near-miss names) in sandboxed workers and writes
# $ROOT/results/results.json; a submission with nothing usable still gets every check at 0.
# Its console output (what Gradescope's stdout_visibility shows) is the total and dlgrade's own
# error lines only (--quiet): the checks' messages are in results.json, each under its check's
# visibility, and the printed output of the student's code, which can carry a hidden check's
# inputs or seed, is not shown. The exit code is dlgrade's: 0 graded; 2 the grader could not run;
# 3 graded, but the grader failed in a check (results.json says so at the top).
set -uo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${DLGRADE_AUTOGRADER_ROOT:-/autograder}"
PY="${DLGRADE_PYTHON:-__VENV__/bin/python}"
mkdir -p "$ROOT/results"
cd "$SOURCE"
# One exercise at a time by default: Gradescope's default container has about 768 MB and half a
# CPU, and each parallel judge holds its own torch (DLGRADE_JOBS=2 on a bigger machine).
PYTHONPATH="$SOURCE" PYTHONDONTWRITEBYTECODE=1 "$PY" -m grader --config "$SOURCE/autograder.yml" \
  grade "$ROOT/submission" --results "$ROOT/results/results.json" --jobs "${DLGRADE_JOBS:-1}" \
  --quiet
code=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  # the grader itself could not run: say so rather than leave a blank score
  printf '{"score": 0, "output": "The autograder could not run (exit code %s); please tell your instructor.", "tests": []}\n' "$code" > "$ROOT/results/results.json"
fi
exit "$code"
"""


def build_gradescope_zip(config: Config, out: Path, *,
                         exercises: Sequence[str] | None = None) -> Path:
    ids = tuple(exercises or config.ids)
    reqs = pinned(requirements())
    torch = next(r for r in reqs if r.startswith("torch=="))
    fill = {"__VENV__": VENV, "__TORCH_INDEX__": TORCH_INDEX, "__TORCH__": torch}
    setup, run = SETUP_SH, RUN_AUTOGRADER
    for key, value in fill.items():
        setup, run = setup.replace(key, value), run.replace(key, value)
    bundle_config = config_text(config, ids, solutions="solutions", assignments=None,
                                header=HEADER)
    entries = list(engine_files(hidden=True, exercises=ids))
    entries += [builtin_config(config, ids, header=HEADER,
                               why="engine: the built-in configuration"),
                Entry("setup.sh", setup.encode(), 0o755,
                      "Gradescope runs it once: the virtual environment, file modes"),
                Entry("run_autograder", run.encode(), 0o755,
                      "Gradescope runs it per submission: dlgrade grade"),
                Entry("requirements.txt",
                      "".join(f"{r}\n" for r in reqs if not r.startswith("torch==")).encode(),
                      0o644, "the engine's requirements, pinned"),
                Entry("autograder.yml", bundle_config.encode(), 0o644,
                      "the configuration (with the references' folder)"),
                *references(config, ids)]
    return write_zip(out, entries, manifest=MANIFEST_HEADER)
