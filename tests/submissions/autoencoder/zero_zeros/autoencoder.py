"""Zero effort: both halves return zeros of the right shapes, training does nothing."""

import torch
from torch import nn


class Zeros(nn.Module):
    def __init__(self, n_out):
        super().__init__()
        self.n_out = n_out

    def forward(self, x):
        return torch.zeros(x.shape[0], self.n_out)


class Model(nn.Module):
    def __init__(self, input_dim, code_dim):
        super().__init__()
        self.encoder = Zeros(code_dim)
        self.decoder = Zeros(input_dim)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def build_autoencoder(input_dim=784, hidden_dim=128, code_dim=32):
    return Model(input_dim, code_dim)


def train_autoencoder(model, X, *, epochs, batch_size, lr, noise_std=0.0, l1_weight=0.0,
                      device="cpu", seed=0):
    return [0.0 for _ in range(epochs)]
