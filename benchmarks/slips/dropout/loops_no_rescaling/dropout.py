# expect: no_rescaling
# the survivors keep their value (written from tests/submissions/dropout/ok_loops, another style than the reference)
"""Correct, written with plain Python loops: one random number per element from a numpy
Generator, the multipliers kept in a list; the module draws its mask one row at a time."""
import numpy as np
import torch


def dropout_forward(x, p, *, train=True, seed=None):
    if p < 0 or p > 1:
        raise ValueError("p must be between 0 and 1")
    x = np.asarray(x)
    out = np.empty_like(x)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    multipliers = []
    rng = np.random.default_rng(seed)
    for i in range(flat_x.size):
        if not train:
            m = 1.0
        elif p == 1 or rng.random() < p:
            m = 0.0
        else:
            m = 1.0
        multipliers.append(m)
        flat_out[i] = flat_x[i] * m
    return out, (multipliers, x.shape)


def dropout_backward(dout, cache):
    multipliers, shape = cache
    dout = np.asarray(dout)
    dx = np.empty_like(dout)
    flat_d, flat_dx = dout.reshape(-1), dx.reshape(-1)
    for i, m in enumerate(multipliers):
        flat_dx[i] = flat_d[i] * m
    return dx.reshape(shape)


class Dropout(torch.nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x
        rows = []
        for row in x:  # one mask per row, drawn with torch's generator
            keep = (torch.rand(row.shape) >= self.p).to(x.dtype)
            scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
            rows.append(row * keep * scale)
        return torch.stack(rows)
