"""Failure signatures: which checks failed, and on which of their cases.

A check that loops over cases stops at the first one that fails; the judge knows which it was
without the check saying so: the number of calls the check made to the student's code so far
(``student.f(...)`` and ``student.probe(...)``, counted by the proxy) and of assertions it made
(the ``grader.expect`` helpers, counted per check) name the case; the innermost frame of the
grader's own code that raised names the property judged there (a helper of ``grader.expect`` or
an exercise's validator, or the line of the check); and the exception's class says how it failed
(wrong value, raised, timed out, missing). Nothing here depends on a check's oracle or on its
message text, which a submission partly controls.

A *locus* is that triple as one string; an exercise's *signature* maps each of its failed
checks to its locus. A check that passed but was not paid (``gated_by``: its evidence failed)
has no locus: its own verdict did not fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

from grader.errors import (BadOutput, Crashed, ImportFailed, Missing, Raised, StudentError,
                           TimedOut)

Signature = Mapping[str, str]  # failed check name -> locus

GRADER_DIR = Path(__file__).resolve().parents[1]
_SKIPPED_DIRS = ("sandbox",)  # the proxy raises a student's failure there; the caller is the case
_MAX_TYPE = 60


def locus(calls: int, last_call: str, assertions: int, err: BaseException) -> str:
    """``"<calls> <last call> #<assertions> | <where> | <how>"``, e.g. ``"2 split #3 |
    numgrad.expect_gradient+16 | wrong"``: the check's calls to student code (the last one's
    name) and its assertions (``grader.expect.counted``) when it failed, the innermost frame of
    the grader's code that raised, and the kind of failure."""
    case = f"{calls} {last_call}".strip() if calls > 0 else "0"
    return f"{case} #{assertions} | {_site(err.__traceback__)} | {_kind(err)}"


def _kind(err: BaseException) -> str:
    if isinstance(err, Raised):
        return f"raised {str(err.exc_type)[:_MAX_TYPE]}"
    for cls, name in ((Missing, "missing"), (ImportFailed, "import failed"),
                      (TimedOut, "timed out"), (Crashed, "crashed"), (BadOutput, "bad output")):
        if isinstance(err, cls):
            return name
    if isinstance(err, (StudentError, AssertionError)):  # CheckFailure is an AssertionError
        return "wrong"
    return "grader error"


def _site(tb: TracebackType | None) -> str:
    """The innermost frame of the grader's checks and helpers: ``module.function+line``, the line
    counted from the function's first, so that edits elsewhere in the file leave it alone."""
    site = "?"
    while tb is not None:
        code = tb.tb_frame.f_code
        path = Path(code.co_filename)
        if _is_check_code(path) and not (path.name == "expect.py" and code.co_name == "fail"):
            site = f"{path.stem}.{code.co_name}+{tb.tb_lineno - code.co_firstlineno}"
        tb = tb.tb_next
    return site


def _is_check_code(path: Path) -> bool:
    """The grader's own modules but the sandbox's, and an exercise's checks wherever the judge
    collected them from (hidden checks run from a private copy: ``.../exercises/<id>/``)."""
    if path.parent.parent.name == "exercises":
        return True
    try:
        rel = path.resolve().relative_to(GRADER_DIR)
    except (ValueError, OSError):
        return False
    return rel.parts[0] not in _SKIPPED_DIRS and path.name != "errors.py"


def signature_of(checks: Iterable[object], exercise: str) -> dict[str, str]:
    """The signature of ``exercise`` in a report's checks (``CheckResult``-like: ``exercise``,
    ``name``, ``failed_at``)."""
    return {c.name: c.failed_at for c in checks if c.exercise == exercise and c.failed_at}


def visible_part(signature: Signature, visible: Iterable[str]) -> dict[str, str]:
    """Only the checks named in ``visible`` (what a student's ``dlgrade check`` runs)."""
    names = set(visible)
    return {name: where for name, where in signature.items() if name in names}
