# expect: float64_output
# the numpy mask is float64 (the module is right) (written from tests/submissions/dropout/ok_torch_generator, another style than the reference)
"""Correct, with torch's generators: the numpy forward draws its mask from a seeded
torch.Generator (not numpy's), the module with torch.bernoulli from the global generator."""
import numpy as np
import torch


def dropout_forward(x, p, *, train=True, seed=None):
    if not (0.0 <= p <= 1.0):
        raise ValueError(f"p={p} is not a probability")
    if not train or p == 0:
        return x.copy(), None
    if p == 1:
        return np.zeros_like(x), 0.0
    gen = torch.Generator()
    if seed is None:
        gen.seed()  # a fresh, non-deterministic seed (a new Generator starts from a fixed one)
    else:
        gen.manual_seed(seed)
    keep = torch.rand(x.shape, generator=gen, dtype=torch.float64).numpy() >= p
    mask = keep / (1.0 - p)
    return x * mask, mask


def dropout_backward(dout, cache):
    return dout if cache is None else dout * cache


class Dropout(torch.nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.bernoulli(torch.full_like(x, 1.0 - self.p).detach())
        if self.p == 1:
            return x * keep  # keep is all zeros: the output is 0, the gradient too
        return x * keep / (1.0 - self.p)
