"""Exceptions that carry a verdict's reason from the sandbox and the checks to the report.

Three families, kept apart on purpose (a student must be able to tell "my code is wrong" from
"the grader broke"):

- ``StudentError``: the submission failed to produce a usable value (missing, raised, timed out,
  crashed, returned something that cannot be decoded). The check fails with this message.
- ``CheckFailure``: the submission produced a value and the check judged it wrong.
- anything else raised inside a check is a grader error and is reported as such.
"""

from __future__ import annotations


class StudentError(Exception):
    """The submission could not produce a value; ``str(err)`` is the student-facing message."""

    category = "student"


class Missing(StudentError):
    """The module or the function the check needs is not in the submission."""

    category = "missing"


class ImportFailed(StudentError):
    """Importing the submitted module failed (syntax error, exception, exit at import)."""

    category = "import"


class Raised(StudentError):
    """A student function raised an exception.

    ``exc_type`` is the class name, ``exc_mro`` the names of its classes from most to least
    specific (so a subclass of ``ValueError`` still counts as a ``ValueError``).
    """

    category = "raised"

    def __init__(self, message: str, *, exc_type: str, exc_mro: tuple[str, ...],
                 exc_message: str, traceback: str = "") -> None:
        super().__init__(message)
        self.exc_type = exc_type
        self.exc_mro = exc_mro
        self.exc_message = exc_message
        self.traceback = traceback

    def is_a(self, name: str) -> bool:
        return name in self.exc_mro


class TimedOut(StudentError):
    """A call ran past its time limit; the worker was killed."""

    category = "timeout"


class Crashed(StudentError):
    """The worker process ended during a call (``os._exit``, a signal, out of memory)."""

    category = "crashed"


class BadOutput(StudentError):
    """The worker's answer could not be decoded as safe data."""

    category = "bad-output"


class CheckFailure(AssertionError):
    """A check's verdict: the value is wrong; ``str(err)`` says how and what to fix."""


class GraderError(Exception):
    """The grader itself cannot run (bad config, bad arguments, missing checks)."""
