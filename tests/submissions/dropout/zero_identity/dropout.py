"""Zero effort: every function returns its input unchanged (the stub's __init__ kept)."""
import numpy as np
import torch


def dropout_forward(x, p, *, train=True, seed=None):
    return x, None


def dropout_backward(dout, cache):
    return dout


class Dropout(torch.nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x):
        return x
