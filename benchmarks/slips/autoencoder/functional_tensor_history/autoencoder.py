# expect: history_tensor_items
# the history holds tensors (written from tests/submissions/autoencoder/ok_functional, another style than the reference)
"""A correct autoencoder in a functional style: each half holds its own nn.Parameters (weights
registered before biases) and computes F.linear by hand; training with plain index loops, a
numpy generator for the shuffling and the epoch's loss from (batch loss, rows) pairs."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Dense2(nn.Module):
    """Two affine maps with an activation after each (given as functions)."""

    def __init__(self, sizes, acts) -> None:
        super().__init__()
        a, b, c = sizes
        self.w1 = nn.Parameter(torch.empty(b, a))
        self.w2 = nn.Parameter(torch.empty(c, b))
        self.b1 = nn.Parameter(torch.empty(b))
        self.b2 = nn.Parameter(torch.empty(c))
        for w, bias in ((self.w1, self.b1), (self.w2, self.b2)):
            nn.init.kaiming_uniform_(w, a=math.sqrt(5))
            bound = 1 / math.sqrt(w.shape[1])
            nn.init.uniform_(bias, -bound, bound)
        self.acts = acts

    def forward(self, x):
        x = self.acts[0](F.linear(x, self.w1, self.b1))
        return self.acts[1](x @ self.w2.t() + self.b2)


class AE(nn.Module):
    def __init__(self, n_in, n_hidden, n_code):
        super().__init__()
        self.encoder = Dense2((n_in, n_hidden, n_code), (torch.relu, torch.relu))
        self.decoder = Dense2((n_code, n_hidden, n_in), (torch.relu, torch.sigmoid))

    def forward(self, x):
        return self.decoder(self.encoder(x))


def build_autoencoder(input_dim=784, hidden_dim=128, code_dim=32):
    return AE(input_dim, hidden_dim, code_dim)


def train_autoencoder(model, X, *, epochs, batch_size, lr, noise_std=0.0, l1_weight=0.0,
                      device="cpu", seed=0):
    rng = np.random.default_rng(seed)
    data = torch.tensor(np.asarray(X, dtype=np.float32), device=device)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(data)
    history = []
    for _ in range(epochs):
        perm = torch.as_tensor(rng.permutation(n), device=device)
        batch_losses = []
        i = 0
        while i < n:
            clean = data[perm[i:i + batch_size]]
            i += batch_size
            x = clean
            if noise_std > 0:
                x = clean + noise_std * torch.as_tensor(
                    rng.standard_normal(clean.shape), dtype=torch.float32, device=device)
                x = x.clamp(min=0.0, max=1.0)
            code = model.encoder(x)
            recon = model.decoder(code)
            loss = ((recon - clean) ** 2).mean()
            if l1_weight > 0:
                loss = loss + l1_weight * code.abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            batch_losses.append((loss.detach(), len(clean)))
        history.append(sum(loss * rows for loss, rows in batch_losses)
                       / sum(rows for _, rows in batch_losses))
    return history
