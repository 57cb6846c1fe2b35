"""``unittest.mock.patch`` imports its target by name and replaces it."""
# {{HIDDEN_KFOLD}}
from unittest import mock

mock.patch("gr" + "ader.exercises.kfold.probes.split", _forged_split).start()
