# expect: denoise_noisy_target
# the denoising target is the noisy batch (written from tests/submissions/autoencoder/ok_sequential_dataloader, another style than the reference)
"""A correct autoencoder: nn.Sequential halves inside a small nn.Module class (forward written
out), nn.MSELoss, a shuffled DataLoader, noise from torch's global generator."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Autoencoder(nn.Module):
    def __init__(self, input_dim=784, hidden_dim=128, code_dim=32):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.ReLU(inplace=True),
                                     nn.Linear(hidden_dim, code_dim), nn.ReLU(inplace=True))
        self.decoder = nn.Sequential(nn.Linear(code_dim, hidden_dim), nn.ReLU(inplace=True),
                                     nn.Linear(hidden_dim, input_dim), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def build_autoencoder(input_dim=784, hidden_dim=128, code_dim=32):
    return Autoencoder(input_dim, hidden_dim, code_dim)


def train_autoencoder(model, X, *, epochs, batch_size, lr, noise_std=0.0, l1_weight=0.0,
                      device="cpu", seed=0):
    torch.manual_seed(seed)
    X = torch.as_tensor(X, dtype=torch.float32)
    loader = DataLoader(TensorDataset(X), batch_size=batch_size, shuffle=True)
    model.to(device).train()
    mse = nn.MSELoss(reduction="mean")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for (clean,) in loader:
            clean = clean.to(device)
            noisy = clean
            if noise_std > 0:
                noisy = (clean + noise_std * torch.randn_like(clean)).clamp(0, 1)
            code = model.encoder(noisy)
            loss = mse(model.decoder(code), noisy)
            if l1_weight:
                loss = loss + l1_weight * code.abs().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss) * len(clean)
            count += len(clean)
        losses.append(total / count)
    return losses
