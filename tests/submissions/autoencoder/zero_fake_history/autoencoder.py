"""Zero effort that fakes progress: the model returns its input and train_autoencoder returns a
decreasing list of numbers without training anything."""

from torch import nn


def build_autoencoder(input_dim=784, hidden_dim=128, code_dim=32):
    model = nn.Sequential()
    model.encoder = nn.Identity()
    model.decoder = nn.Identity()
    return model


def train_autoencoder(model, X, *, epochs, batch_size, lr, noise_std=0.0, l1_weight=0.0,
                      device="cpu", seed=0):
    return [0.2 / (epoch + 1) for epoch in range(epochs)]
