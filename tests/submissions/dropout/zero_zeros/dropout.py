"""Zero effort: zeros of the right shape and dtype everywhere (as if p were always 1)."""
import numpy as np
import torch


def dropout_forward(x, p, *, train=True, seed=None):
    return np.zeros_like(x), None


def dropout_backward(dout, cache):
    return np.zeros_like(dout)


class Dropout(torch.nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x):
        return x * 0.0  # zeros, still connected to x: the gradient is 0
