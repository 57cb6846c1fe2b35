"""The fixed cases of the public checks, shared with the framework's tests.

Kept out of ``test_public.py`` so that importing them does not import pytest markers.
"""

from __future__ import annotations

from grader.exercises.conv.oracle import ConvCase, PoolCase

# The lecture's worked example: a 5x5 binary image and the 3x3 "X" kernel, no padding, stride 1.
LECTURE_IMAGE = [[1, 1, 1, 0, 0],
                 [0, 1, 1, 1, 0],
                 [0, 0, 1, 1, 1],
                 [0, 0, 1, 1, 0],
                 [0, 1, 1, 0, 0]]
LECTURE_KERNEL = [[1, 0, 1],
                  [0, 1, 0],
                  [1, 0, 1]]
LECTURE_OUTPUT = [[4, 3, 4],
                  [2, 4, 3],
                  [2, 3, 4]]

# Strides 1, 2, 3; paddings 0, 1, 2; odd, even and non-square kernels; N = 1 and N > 1; C > 1.
# With stride > 1, the common wrong formulas for H' ((H + 2*padding - HH + 1) // stride, or
# rounding up) give another size than torch in cases 3, 4, 5 and 7.
FORWARD_CASES = [
    ConvCase(x=(1, 1, 5, 5), w=(1, 1, 3, 3)),
    ConvCase(x=(2, 3, 7, 7), w=(4, 3, 3, 3), stride=1, padding=1),
    ConvCase(x=(2, 3, 8, 8), w=(4, 3, 3, 3), stride=2, padding=1),
    ConvCase(x=(2, 2, 9, 9), w=(3, 2, 3, 3), stride=2, padding=1),
    ConvCase(x=(3, 2, 9, 7), w=(2, 2, 2, 4), stride=3, padding=2),
    ConvCase(x=(2, 3, 6, 6), w=(2, 3, 5, 5), stride=1, padding=2),
    ConvCase(x=(1, 4, 7, 9), w=(3, 4, 3, 1), stride=2, padding=0),
]

# Small enough for central differences (2 * size forward calls per input, one worker call).
BACKWARD_CASES = [
    ConvCase(x=(2, 3, 6, 6), w=(4, 3, 3, 3), stride=1, padding=1),
    ConvCase(x=(2, 2, 7, 6), w=(3, 2, 3, 2), stride=2, padding=2),
]

# Non-overlapping (stride = window, the default), overlapping, and sizes that leave a remainder.
POOL_CASES = [
    PoolCase(x=(2, 3, 6, 6), kernel_size=2),
    PoolCase(x=(2, 2, 6, 7), kernel_size=3, stride=1),
    PoolCase(x=(1, 3, 7, 8), kernel_size=3, stride=2),
]

SPEED_CASE = ConvCase(x=(8, 3, 32, 32), w=(16, 3, 3, 3), stride=1, padding=1)

# Max pooling on values in {0, 1, 2}: non-overlapping and overlapping windows.
TIE_CASES = [
    PoolCase(x=(2, 2, 6, 6), kernel_size=2),
    PoolCase(x=(1, 2, 6, 5), kernel_size=3, stride=1),
]
