"""The fixtures checks use; registered with :class:`grader.plugin.DlgradePlugin` for a grading run.

Per-exercise fixtures are module-scoped (one check module belongs to one exercise); the state of
the run is read from ``config.stash``, never from globals.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import zlib
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from grader.config import Config
from grader.errors import GraderError
from grader.plugin import (FEEDBACK, META, STATE, Feedback, GradingState, exercise_of,
                           resolve_device, student_for)
from grader.sandbox.student import Student


def _state(request: pytest.FixtureRequest) -> GradingState:
    return request.config.stash[STATE]


@pytest.fixture(scope="module")
def student(request: pytest.FixtureRequest) -> Student:
    """Proxy for this exercise's submitted module (runs in the sandboxed worker)."""
    return student_for(_state(request), exercise_of(request.path))


@pytest.fixture(scope="module")
def reference(request: pytest.FixtureRequest) -> ModuleType:
    """``solutions/<id>.py`` imported in the judge (hidden checks only)."""
    state, ex = _state(request), exercise_of(request.path)
    if ex not in state.references:
        path = state.config.solutions / f"{ex}.py" if state.config.solutions else None
        if path is None or not path.is_file():
            raise GraderError(f"the reference solution {ex}.py is not available to the judge")
        spec = importlib.util.spec_from_file_location(f"dlgrade_reference_{ex}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        state.references[ex] = module
    return state.references[ex]


@pytest.fixture(scope="module")
def settings(request: pytest.FixtureRequest) -> Any:
    """The exercise's ``Settings`` from autograder.yml (None if it defines none)."""
    return _state(request).config.exercise(exercise_of(request.path)).settings


@pytest.fixture(scope="module")
def device(request: pytest.FixtureRequest) -> str:
    """``cpu`` or ``cuda``, from the config's ``device: auto | cpu | cuda``."""
    state = _state(request)
    if state.device is None:
        state.device = resolve_device(state.config.device)
    if state.device == "cuda" and state.gpu_lock is None:
        state.gpu_lock = _gpu_lock()
    return state.device


def _gpu_lock() -> int:
    """Wait for the GPU: one exercise that trains on it at a time, across every judge on this
    machine (parallel exercises, batch grading), so trainings never share it. The lock is a
    ``flock`` on a file in the temporary folder, dropped when its descriptor is closed or the
    judge dies."""
    import fcntl
    import tempfile

    path = os.path.join(tempfile.gettempdir(), "dlgrade-gpu.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """An int stable per check: the config's seed and the check's name."""
    meta = request.node.stash[META]
    return zlib.crc32(f"{_state(request).config.seed}/{meta.name}".encode()) & 0x7FFFFFFF


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def course_secret(config: Config, exercise: str) -> int:
    """An int for ``exercise`` that a worker can neither know nor reproduce, and that is the same
    on every run and machine of a course: a hash of the config's seed, the exercise id and the
    bytes of the reference solution ``solutions/<id>.py``, which exist only where grading
    happens (the judge reads them; a worker never can). Where there is no reference (a student's
    release, ``dlgrade check``), the config's seed alone: reproducible, and not secret, which
    is fine on the student's own machine. For what the worker must not see in advance: the
    held-out images of the autoencoder, the held-out spirals of backprop."""
    digest = hashlib.sha256(f"dlgrade secret/{exercise}/{config.seed}".encode())
    path = config.solutions / f"{exercise}.py" if config.solutions else None
    if path is not None and path.is_file():
        digest.update(b"\0" + path.read_bytes())
    return int.from_bytes(digest.digest()[:8], "big") & 0x7FFFFFFFFFFFFFFF


@pytest.fixture(scope="module")
def secret_seed(request: pytest.FixtureRequest) -> int:
    """:func:`course_secret` of this exercise: seeds what the worker must not see (held-out
    data). Never send it, or anything it seeds except the training part, to the worker."""
    return course_secret(_state(request).config, exercise_of(request.path))


@pytest.fixture
def feedback(request: pytest.FixtureRequest) -> Feedback:
    """Information for the student (text, HTML, images), shown pass or fail."""
    state, meta = _state(request), request.node.stash[META]
    images = (state.artifacts_dir / meta.exercise) if state.artifacts_dir else None
    fb = Feedback(images)
    request.node.stash[FEEDBACK] = fb
    return fb
