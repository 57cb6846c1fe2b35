"""Convolution and pooling by hand: forward, backward, checked against torch (exercise `conv`).

Students write ``conv2d_forward/backward``, ``max_pool2d_forward/backward`` and
``avg_pool2d_forward/backward`` in numpy (float64, NCHW). The judge compares them with what
``torch.nn.functional`` and autograd compute (``ops.py``, numpy, held equal to torch by the tests)
and with central-difference gradients of the student's own forward; see ``README.md`` here.
"""

from __future__ import annotations

from dataclasses import dataclass

# What the submission may import besides the standard library (autograder.yml's `imports`
# overrides it): the loops and im2col by hand, so no torch.nn.functional.
IMPORTS = ("numpy",)


@dataclass(frozen=True)
class Settings:
    """``autograder.yml: exercises: conv: settings:``.

    ``speed_timeout``: seconds allowed for the one timed forward call on an (8, 3, 32, 32) batch
    (loop-based code is slow but correct, so this is generous; it is still capped by the exercise's
    ``time_limit``).
    """

    speed_timeout: float = 90.0
