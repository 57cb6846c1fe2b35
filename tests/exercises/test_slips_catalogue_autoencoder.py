"""The autoencoder's catalogued slips and correct submissions, as test_slips_catalogue.py does
for the other exercises (apart: each grading trains four small models, so this file belongs in
the autoencoder's test lane)."""

from __future__ import annotations

import pytest

from tests.exercises.test_slips_catalogue import (catalogued, check_catalogued, check_correct,
                                                  correct)
from tests.helpers import SUBMISSIONS


@pytest.mark.parametrize("exercise, slip, mutation", catalogued(["autoencoder"]))
def test_each_catalogued_autoencoder_slip_is_named(graded, exercise, slip, mutation):
    check_catalogued(graded(SUBMISSIONS / exercise / mutation, exercise), exercise, slip,
                     mutation)


@pytest.mark.parametrize("exercise, folder", correct(["autoencoder"]))
def test_no_hint_on_a_correct_autoencoder(graded, exercise, folder):
    check_correct(graded(folder, exercise), exercise)
