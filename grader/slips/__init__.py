"""Name the likely slip: failure signatures, the catalogue of described slips, and matching.

- :mod:`grader.slips.signature`: where a check's own verdict failed (which case, where in the
  check, how), and an exercise's signature: its failed checks with those places;
- :mod:`grader.slips.catalogue`: each exercise's described slips (``slips.yml``) and their
  signatures recorded by grading them (generated files, see :mod:`grader.slips.record`);
- :mod:`grader.slips.match`: after grading, the one or two catalogued slips a signature
  matches closely, as a hint; a hint never changes a score.
"""
