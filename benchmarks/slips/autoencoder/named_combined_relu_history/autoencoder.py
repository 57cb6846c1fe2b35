# expect: code_without_relu, history_scaled_by_batches
# two slips at once: no ReLU on the code, and the history divided by the batches (written from tests/submissions/autoencoder/ok_named_submodules, another style than the reference)
"""A correct autoencoder written the way most tutorials write it: named nn.Linear submodules,
F.relu / torch.sigmoid in forward, a DataLoader, and the loss accumulated per sample."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Encoder(nn.Module):
    def __init__(self, input_dim: int, hidden_dim: int, code_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, code_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(x)))


class Decoder(nn.Module):
    def __init__(self, code_dim: int, hidden_dim: int, output_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(code_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, output_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc1(z))
        return torch.sigmoid(self.fc2(h))


class Autoencoder(nn.Module):
    def __init__(self, input_dim: int, hidden_dim: int, code_dim: int) -> None:
        super().__init__()
        self.encoder = Encoder(input_dim, hidden_dim, code_dim)
        self.decoder = Decoder(code_dim, hidden_dim, input_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        return self.decoder(z)


def build_autoencoder(input_dim: int = 784, hidden_dim: int = 128,
                      code_dim: int = 32) -> nn.Module:
    return Autoencoder(input_dim, hidden_dim, code_dim)


def train_autoencoder(model, X, *, epochs, batch_size, lr, noise_std=0.0, l1_weight=0.0,
                      device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X, dtype=torch.float32)
    loader = DataLoader(TensorDataset(X), batch_size=batch_size, shuffle=True, generator=g)
    model = model.to(device)
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in range(epochs):
        running_loss = 0.0
        for (batch,) in loader:
            batch = batch.to(device)
            inputs = batch
            if noise_std > 0:
                noise = torch.randn(batch.shape, generator=g).to(device)
                inputs = torch.clamp(batch + noise_std * noise, 0.0, 1.0)
            optimizer.zero_grad()
            z = model.encoder(inputs)
            outputs = model.decoder(z)
            loss = criterion(outputs, batch)
            if l1_weight > 0:
                loss = loss + l1_weight * torch.mean(torch.abs(z))
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * batch.size(0)
        history.append(running_loss / len(loader))
    return history
