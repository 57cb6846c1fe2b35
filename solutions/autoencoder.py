"""Exercise `autoencoder`: a fully connected autoencoder and its denoising and sparse variants.

The network is the lectures' 784-128-32-128-784 autoencoder (sizes are arguments, so the same
code also builds the small 64-32-8 model for the 8x8 digits):

    encoder: Linear(input_dim, hidden_dim), ReLU, Linear(hidden_dim, code_dim), ReLU
    decoder: Linear(code_dim, hidden_dim), ReLU, Linear(hidden_dim, input_dim), Sigmoid

Pixels are in [0, 1] and the loss is the mean squared error (MSE) between the reconstruction and
the clean input. Why not binary cross-entropy: the pixels are grey levels, not probabilities of
a binary event, and BCE's minimum for a target of 0.3 is not zero, so its value says little
about reconstruction quality; MSE is zero exactly for a perfect reconstruction.
"""

from __future__ import annotations


import numpy as np
import torch
from torch import nn


def build_autoencoder(input_dim: int = 784, hidden_dim: int = 128,
                      code_dim: int = 32) -> nn.Module:
    """Build the autoencoder (weights initialised by torch's defaults, so seed torch first).

    Returns a ``torch.nn.Module`` with two submodules:

    - ``.encoder``: ``Linear(input_dim, hidden_dim)``, ``ReLU``, ``Linear(hidden_dim, code_dim)``,
      ``ReLU`` (in this order, e.g. an ``nn.Sequential``): maps ``(N, input_dim)`` to the code
      ``(N, code_dim)``;
    - ``.decoder``: ``Linear(code_dim, hidden_dim)``, ``ReLU``, ``Linear(hidden_dim, input_dim)``,
      ``Sigmoid``: maps a code back to an image ``(N, input_dim)`` with values in (0, 1);

    and ``model(x) == model.decoder(model.encoder(x))`` for a float32 batch ``x`` of shape
    ``(N, input_dim)``. No other layers (no dropout, no batch norm).

    Write the halves as you like (an ``nn.Sequential`` each, or modules with named
    ``nn.Linear`` layers and ``F.relu`` / ``torch.sigmoid`` in ``forward``): what counts is the
    function each half computes and its parameters, which are exactly the weights and biases
    of its two ``Linear`` layers.
    """
    # BEGIN SOLUTION
    from collections import OrderedDict

    encoder = nn.Sequential(
        nn.Linear(input_dim, hidden_dim), nn.ReLU(),
        nn.Linear(hidden_dim, code_dim), nn.ReLU(),
    )
    decoder = nn.Sequential(
        nn.Linear(code_dim, hidden_dim), nn.ReLU(),
        nn.Linear(hidden_dim, input_dim), nn.Sigmoid(),
    )
    # A Sequential of the two halves: forward is decoder(encoder(x)), and .encoder/.decoder
    # are its named children.
    return nn.Sequential(OrderedDict(encoder=encoder, decoder=decoder))
    # END SOLUTION


def train_autoencoder(model: nn.Module, X: np.ndarray | torch.Tensor, *, epochs: int,
                      batch_size: int, lr: float, noise_std: float = 0.0,
                      l1_weight: float = 0.0, device: str = "cpu",
                      seed: int = 0) -> list[float]:
    """Train ``model`` (built by ``build_autoencoder``) in place to reconstruct ``X``.

    - ``X``: float32 array or tensor ``(N, input_dim)``, values in [0, 1] (the clean images).
    - Optimiser: ``torch.optim.Adam(model.parameters(), lr=lr)``, one step per minibatch of
      ``batch_size`` rows; the rows are shuffled at the start of every epoch (the last batch may
      be smaller). Shuffling and noise come from a ``torch.Generator`` seeded with ``seed``.
    - Loss per batch: ``MSE(model.decoder(code), clean)`` with ``code = model.encoder(inputs)``,
      where ``inputs`` is the clean batch, or, when ``noise_std > 0`` (a *denoising*
      autoencoder), ``clip(clean + noise_std * N(0, 1), 0, 1)``; the target is always the
      **clean** batch.
    - When ``l1_weight > 0`` (a *sparse* autoencoder) the loss adds
      ``l1_weight * mean(|code|)`` (mean over the batch and the code units).
    - ``device``: ``"cpu"`` or ``"cuda"``; the model is moved there and stays there.

    Returns the mean training loss of each epoch (the loss above, penalty included, averaged
    over the epoch's samples: each batch's loss weighs as many times as the batch has rows), a
    list of ``epochs`` Python floats. ``lr=0`` is allowed: the parameters then do not change.
    """
    # BEGIN SOLUTION
    generator = torch.Generator().manual_seed(seed)
    data = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X, dtype=torch.float32)
    data = data.to(device)
    model.to(device)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    n = data.shape[0]
    history = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(device)
        total = torch.zeros((), device=device)
        for start in range(0, n, batch_size):
            clean = data[order[start:start + batch_size]]
            inputs = clean
            if noise_std > 0:
                # Noise drawn on the CPU generator: the same numbers on every device.
                noise = torch.randn(clean.shape, generator=generator).to(device)
                inputs = (clean + noise_std * noise).clamp(0.0, 1.0)
            code = model.encoder(inputs)
            loss = nn.functional.mse_loss(model.decoder(code), clean)
            if l1_weight > 0:
                loss = loss + l1_weight * code.abs().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            # Accumulated on the device: no host synchronisation per batch.
            total += loss.detach() * clean.shape[0]
        history.append(float(total) / n)
    return history
    # END SOLUTION
