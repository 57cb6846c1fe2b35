"""Zero effort: x / (1 - p) without dropping anything (the rescaling alone)."""
import numpy as np
import torch


def dropout_forward(x, p, *, train=True, seed=None):
    if p == 1.0:
        return np.zeros_like(x), 0.0
    scale = 1.0 / (1.0 - p)
    return (x * scale).astype(x.dtype), scale


def dropout_backward(dout, cache):
    return dout * cache


class Dropout(torch.nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x):
        if self.p == 1.0:
            return x * 0.0
        return x / (1.0 - self.p)
