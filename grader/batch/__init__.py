"""Grading a whole class: ``dlgrade grade-batch ROOT --out DIR`` (see :mod:`grader.batch.driver`).

One engine, many packagings: every submission is graded by the same :func:`grader.runner.grade`
in a fresh judge process (:mod:`grader.batch.task`); the local and Ray engines only schedule.
"""
