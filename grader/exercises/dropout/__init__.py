"""Inverted dropout by hand: numpy forward/backward and a torch module (exercise `dropout`).

``p`` is the probability of dropping (torch's convention). The statistical checks derive their
bounds from a false-failure probability of at most 1e-9 for a whole grading run (see
``stats.py`` and ``README.md``), so a correct submission never fails by chance.
"""

from __future__ import annotations

from dataclasses import dataclass

# What the submission may import besides the standard library (autograder.yml's `imports`
# overrides it): the module part is a torch.nn.Module.
IMPORTS = ("numpy", "torch")


@dataclass(frozen=True)
class Settings:
    """Sizes and settings of the dropout checks (``autograder.yml``: ``exercises: dropout:
    settings:``).

    The statistical inputs have ``rows * cols`` elements; with the default 200,000 the bounds are
    about +/-0.008 on the fraction dropped and +/-0.012 on a mean of about 1 (README.md), far
    tighter than what the slips they catch change (0.4 for p taken as the keep probability at
    p = 0.3, 0.3 for a missing rescaling).
    """

    rows: int = 200
    cols: int = 1000
    p: float = 0.3  # public statistical checks; != 0.5 so that "p is the keep probability" shows
    hidden_p: float = 0.8  # hidden statistical checks
    demo_p: float = 0.5  # the overfitting demonstration (information, not points)
    demo_seed: int = 2
    demo_width: int = 256
    demo_steps: int = 200
    demo_every: int = 40
    demo_train: int = 32
    demo_val: int = 512
    # With the student's Dropout in the network, the final training loss must be at most this
    # fraction of the initial one. Reference: 0.0166 at demo_seed 2; 0.0064-0.0453 over seeds
    # 0-19 (benchmarks/dropout_stats.py --demo 20): margin 5.5x at the worst seed.
    demo_loss_ratio: float = 0.25
