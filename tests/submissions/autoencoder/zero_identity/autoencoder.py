"""Zero effort: the model returns its input (identity halves), training does nothing."""

from torch import nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Identity()
        self.decoder = nn.Identity()

    def forward(self, x):
        return x


def build_autoencoder(input_dim=784, hidden_dim=128, code_dim=32):
    return Model()


def train_autoencoder(model, X, *, epochs, batch_size, lr, noise_std=0.0, l1_weight=0.0,
                      device="cpu", seed=0):
    return [0.0] * epochs
