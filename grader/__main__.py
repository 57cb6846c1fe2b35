"""``python -m grader`` is the ``dlgrade`` command."""

from grader.cli import run

run()
