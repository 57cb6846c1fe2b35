"""Zero effort with the right parameters: the contract's Linear layers are created (so every
parameter has the right shape) but each half returns a constant, and training returns a
constant history without training."""

import torch
from torch import nn


class Half(nn.Module):
    def __init__(self, a, b, c, value):
        super().__init__()
        self.first = nn.Linear(a, b)
        self.second = nn.Linear(b, c)
        self.c, self.value = c, value

    def forward(self, x):
        return torch.full((x.shape[0], self.c), self.value)


class Model(nn.Module):
    def __init__(self, n_in, n_hidden, n_code):
        super().__init__()
        self.encoder = Half(n_in, n_hidden, n_code, 0.0)
        self.decoder = Half(n_code, n_hidden, n_in, 0.5)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def build_autoencoder(input_dim=784, hidden_dim=128, code_dim=32):
    return Model(input_dim, hidden_dim, code_dim)


def train_autoencoder(model, X, *, epochs, batch_size, lr, noise_std=0.0, l1_weight=0.0,
                      device="cpu", seed=0):
    return [0.1] * epochs
