"""The fixed cases of the public checks, shared with the framework's tests.

Kept out of ``test_public.py`` so that importing them does not import pytest markers.
"""

from __future__ import annotations

from grader.exercises.conv.oracle import ConvCase, PoolCase

# The lecture's worked example: a 5x5 binary image and a 3x3 "7"-shaped kernel, no padding,
# stride 1. The kernel is asymmetric on purpose: flipped (a true convolution), upside down,
# left-right or transposed it gives another output (in 7 of the 9 positions or more), so a kernel
# flip cannot pass this check. (The lecture's old "X" kernel was symmetric and let a flip pass.)
LECTURE_IMAGE = [[1, 1, 1, 0, 0],
                 [0, 1, 1, 1, 0],
                 [0, 0, 1, 1, 1],
                 [0, 0, 1, 1, 0],
                 [0, 1, 1, 0, 0]]
LECTURE_KERNEL = [[1, 1, 1],
                  [0, 0, 1],
                  [0, 0, 1]]
LECTURE_OUTPUT = [[5, 4, 2],
                  [4, 5, 3],
                  [3, 3, 3]]

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
# The last two are the edge cases public implementations get wrong: padding = 0 (cropping the
# padded gradient with [p:-p] leaves nothing when p = 0) and a stride that does not divide
# H + 2p - HH (here 8 = 9 + 2 - 3 and 8 = 8 + 2 - 2 with stride 3: the windows never reach the last
# 2 rows and columns of the padded input, one more than the padding, so a gradient sized from the
# output, (H' - 1) * stride + HH, misses a row and a column of x itself). Each case is its own
# check, so each of these slips costs its case.
BACKWARD_CASES = [
    ConvCase(x=(2, 3, 6, 6), w=(4, 3, 3, 3), stride=1, padding=1),
    ConvCase(x=(2, 2, 7, 6), w=(3, 2, 3, 2), stride=2, padding=2),
    ConvCase(x=(2, 3, 6, 5), w=(4, 3, 3, 2), stride=1, padding=0),
    ConvCase(x=(2, 2, 9, 8), w=(3, 2, 3, 2), stride=3, padding=1),
]

# A 1x1 kernel and no bias: out[n, f] = sum over c of w[f, c] * x[n, c]. It judges only that the
# forward computes with its inputs (not zeros, not its input), so it is robust to the common
# slips (flip, padding, stride, bias) and is the evidence that the shape and argument checks wait
# for (see their gated_by markers).
CHANNEL_CASE = ConvCase(x=(2, 3, 4, 5), w=(4, 3, 1, 1))

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
