# expect: backward_without_factor, drops_in_eval_mode
# two slips at once: the backward forgets the scale, and train=False drops too (written from tests/submissions/dropout/ok_vectorised_where, another style than the reference)
"""Correct, vectorised with where: np.where / torch.where, the cache a (keep, scale) pair; the
module works in place on its own copy of the input (which is allowed: the input is unchanged)."""
import numpy as np
import torch


def dropout_forward(x, p, *, train=True, seed=None):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
    rng = np.random.default_rng(seed)
    keep = rng.uniform(size=np.shape(x)) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    out = np.where(keep, x * x.dtype.type(scale), x.dtype.type(0))
    return out, (keep, scale)


def dropout_backward(dout, cache):
    keep, scale = cache
    return np.where(keep, dout, 0.0).astype(np.result_type(dout))


class Dropout(torch.nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x
        if self.p == 1.0:
            return torch.where(torch.zeros_like(x, dtype=torch.bool), x, x * 0)
        keep = torch.rand_like(x) >= self.p
        out = x.clone()
        out.masked_fill_(~keep, 0.0)  # in place on the copy, not on x
        return out / (1.0 - self.p)
