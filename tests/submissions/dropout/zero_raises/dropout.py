"""Zero effort: every function only raises ValueError (so "invalid p raises" would pass)."""
import numpy as np
import torch


def dropout_forward(x, p, *, train=True, seed=None):
    raise ValueError(f"invalid p: {p}")


def dropout_backward(dout, cache):
    raise ValueError("invalid cache")


class Dropout(torch.nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x):
        raise ValueError(f"invalid p: {self.p}")
