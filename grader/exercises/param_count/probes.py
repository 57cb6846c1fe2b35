"""Probes for `param_count`: build a named model inside the worker and count it with the student's
``count_parameters``.

A ``torch.nn.Module`` cannot cross the sandbox, so the judge sends a model *name*; this module
builds the model (here, in the worker) and the judge builds the same model itself with
:func:`build_model` (trusted code, imported in the judge) to compute the expected count.
Everything here is deterministic: the counts do not depend on the weights' values.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import torch
from torch import nn
from torch.nn import functional as F


class TiedAutoencoder(nn.Module):
    """x -> sigmoid(W x + b) -> W^T h + c: the decoder holds the *same* Parameter ``W`` as the
    encoder (registered in both modules), plus its own bias ``c``."""

    def __init__(self, n_in: int = 64, n_hidden: int = 16) -> None:
        super().__init__()
        self.encoder = nn.Linear(n_in, n_hidden)
        self.decoder = TiedDecoder(self.encoder.weight, n_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.sigmoid(self.encoder(x)))


class TiedDecoder(nn.Module):
    def __init__(self, weight: nn.Parameter, n_out: int) -> None:
        super().__init__()
        self.weight = weight  # the encoder's Parameter object itself, not a copy
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.linear(h, self.weight.t(), self.bias)


class TiedLanguageModel(nn.Module):
    """Embedding and output layer share one (vocab, dim) matrix (Press & Wolf weight tying)."""

    def __init__(self, vocab: int = 500, dim: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)
        self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.embed(tokens)))


class LSTMClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True)
        self.head = nn.Linear(32, 5)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out[:, -1])


class TemperatureClassifier(nn.Module):
    """Linear(16, 4) logits divided by a learnable temperature: a 0-d ``nn.Parameter`` (shape
    ``()``, one number), as in calibrated classifiers and CLIP's logit scale."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(16, 4)
        self.temperature = nn.Parameter(torch.tensor(1.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x) / self.temperature


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                         nn.Linear(32, 3))


def _cnn_with_batchnorm() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10), nn.BatchNorm1d(10))


def _frozen_encoder() -> nn.Module:
    encoder = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.ReLU(),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten())
    encoder.requires_grad_(False)  # a "pretrained" feature extractor
    return nn.Sequential(encoder, nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 10))


def _shared_block() -> nn.Module:
    block = nn.Linear(16, 16)  # the same layer applied twice
    return nn.Sequential(block, nn.ReLU(), block, nn.ReLU(), nn.Linear(16, 4))


def _partly_frozen_cnn() -> nn.Module:
    model = _cnn_with_batchnorm()
    model[0].requires_grad_(False)
    model[1].requires_grad_(False)
    return model


def _transformer_layer() -> nn.Module:
    return nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, batch_first=True)


BUILDERS: dict[str, Callable[[], nn.Module]] = {
    "mlp": _mlp,
    "cnn_with_batchnorm": _cnn_with_batchnorm,
    "tied_autoencoder": TiedAutoencoder,
    "frozen_encoder": _frozen_encoder,
    # used by the hidden checks
    "tied_language_model": TiedLanguageModel,
    "lstm_classifier": LSTMClassifier,
    "shared_block": _shared_block,
    "partly_frozen_cnn": _partly_frozen_cnn,
    "transformer_layer": _transformer_layer,
    # a 0-d parameter (issue 18)
    "temperature_classifier": TemperatureClassifier,
}


# What a student reads in a failed check's message (printing the module does not show a tie).
DESCRIPTIONS: dict[str, str] = {
    "mlp": "Linear(20, 64), ReLU, Linear(64, 32), ReLU, Linear(32, 3)",
    "cnn_with_batchnorm": "two Conv2d + BatchNorm2d blocks, then Linear(32, 10) + BatchNorm1d(10)",
    "tied_autoencoder": "encoder Linear(64, 16); the decoder reuses the encoder's weight "
                        "(transposed) and has its own bias of 64",
    "frozen_encoder": "a frozen (requires_grad=False) two-Conv2d encoder, then a trainable "
                      "Linear(16, 32), ReLU, Linear(32, 10) head",
    "tied_language_model": "Embedding(500, 32), LayerNorm(32), Linear(32, 500) whose weight is "
                           "the embedding's",
    "lstm_classifier": "Embedding(100, 16), 2-layer LSTM(16, 32), Linear(32, 5)",
    "shared_block": "one Linear(16, 16) applied twice, then Linear(16, 4)",
    "partly_frozen_cnn": "the BatchNorm CNN with its first Conv2d and BatchNorm2d frozen",
    "transformer_layer": "TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64)",
    "temperature_classifier": "Linear(16, 4) whose logits are divided by a learnable "
                              "temperature, a 0-d nn.Parameter (shape (), one number)",
}


def build_model(name: str) -> nn.Module:
    """A fresh copy of the model called ``name`` (one of :data:`BUILDERS`)."""
    torch.manual_seed(0)
    return BUILDERS[name]()


def count_model(module: ModuleType, name: str, trainable_only: bool = False) -> object:
    """The student's ``count_parameters`` on a fresh ``build_model(name)``.

    ``trainable_only`` is passed only when true, so the default is exercised too (and a
    submission missing the keyword still gets credit for the plain counts).
    """
    model = build_model(name)
    if trainable_only:
        return module.count_parameters(model, trainable_only=True)
    return module.count_parameters(model)


def output_shape(module: ModuleType, *args: object, **kwargs: object) -> object:
    """The student's ``conv2d_output_shape(*args, **kwargs)``, as a plain tuple when it is a
    tuple of another class (``torch.Size``, a namedtuple: they cannot be sent as data) or a
    1-D array or tensor, so that the checks about values read it; the check about types calls
    the function directly and sees its real type."""
    result = module.conv2d_output_shape(*args, **kwargs)
    if isinstance(result, tuple) and type(result) is not tuple:
        return tuple(result)
    if isinstance(result, torch.Tensor) and result.dim() == 1:
        return tuple(result.tolist())
    if type(result).__module__ == "numpy" and getattr(result, "ndim", None) == 1:
        return tuple(result.tolist())
    return result
