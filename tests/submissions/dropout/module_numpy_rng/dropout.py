"""Inverted dropout, by hand (exercise `dropout`).

Convention (torch's, Keras's and the course's): ``p`` is the probability of **dropping** an
element. In training each element is zeroed independently with probability ``p`` and the
survivors are multiplied by ``1 / (1 - p)``, so the expected output equals the input and nothing
needs rescaling at test time ("inverted" dropout). At test time (``train=False``, or ``eval()``
mode for the module) dropout is the identity.

You implement three things:

- :func:`dropout_forward` and :func:`dropout_backward` with numpy;
- :class:`Dropout`, a ``torch.nn.Module`` whose forward pass you write by hand with torch's random
  generator (``torch.rand``); autograd computes its backward pass. Do not call
  ``torch.nn.functional.dropout``, ``torch.dropout`` or ``torch.nn.Dropout``: the grader notices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def dropout_forward(x: np.ndarray, p: float, *, train: bool = True,
                    seed: int | None = None) -> tuple[np.ndarray, Any]:
    """Inverted dropout on a numpy array.

    Args:
        x: float array of any shape (float32 or float64).
        p: probability of **dropping** each element, a number in ``[0, 1]``.
        train: ``True``: drop and rescale; ``False``: return ``x`` unchanged (the identity).
        seed: seed for ``np.random.default_rng``; the same seed gives the same mask, ``None``
            gives a fresh mask on every call.

    Returns:
        ``(out, cache)``: ``out`` has the shape and dtype of ``x``; each element is ``0`` with
        probability ``p`` and ``x / (1 - p)`` otherwise, independently of the others. With
        ``p == 1`` every element is ``0`` (no NaN, no warning); with ``p == 0`` ``out`` equals
        ``x``. ``cache`` is whatever :func:`dropout_backward` needs (it stays in your code).

    Raises:
        ValueError: if ``p`` is not in ``[0, 1]``.
    """
    # BEGIN SOLUTION
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if not train:
        return x.copy(), np.ones_like(x)
    if p == 1.0:
        # 1 / (1 - p) is infinite: every element is dropped, so the multiplier is 0 everywhere.
        mask = np.zeros_like(x)
    else:
        rng = np.random.default_rng(seed)
        keep = rng.random(x.shape) >= p
        mask = keep.astype(x.dtype) / x.dtype.type(1.0 - p)
    return x * mask, mask
    # END SOLUTION


def dropout_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Gradient of the loss with respect to ``x`` for :func:`dropout_forward`.

    Args:
        dout: upstream gradient, the shape of ``out``.
        cache: the second value :func:`dropout_forward` returned.

    Returns:
        ``dx``, the shape of ``dout``: ``dout`` where the element was kept, times ``1 / (1 - p)``,
        and ``0`` where it was dropped (``dout`` itself when ``train=False``).
    """
    # BEGIN SOLUTION
    mask = cache
    return np.asarray(dout) * mask
    # END SOLUTION


class Dropout(torch.nn.Module):
    """Inverted dropout as a torch module: ``Dropout(p=0.5)``, ``p`` the probability of dropping.

    In training mode (``module.train()``, the default) each element of the input is zeroed with
    probability ``p`` and the survivors are multiplied by ``1 / (1 - p)``; draw the mask with
    torch's random generator (``torch.rand``) so that ``torch.manual_seed`` makes it
    reproducible. In evaluation mode (``module.eval()``, i.e. ``self.training`` is ``False``) it
    returns its input unchanged. Gradients flow through autograd; ``p == 1`` gives zeros (no NaN).
    Do not call ``torch.nn.functional.dropout``, ``torch.dropout`` or ``torch.nn.Dropout``.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: a float tensor of any shape; returns a tensor of the same shape and dtype."""
        # BEGIN SOLUTION
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0  # keeps the graph: the gradient is 0, not missing
        # SLIP: numpy's global generator, which torch.manual_seed does not seed
        keep = torch.from_numpy(np.random.random(tuple(x.shape)) >= self.p)
        return x * keep.to(x.dtype) / (1.0 - self.p)
        # END SOLUTION
