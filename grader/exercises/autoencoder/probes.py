"""Probes for `autoencoder`: run in the untrusted worker, drive the student's module, return data.

A model cannot cross the sandbox, so the probes build (and train) it here and return plain data:
layer descriptions, arrays of outputs, ``state_dict()`` tensors as numpy arrays and the loss
history. The judge decides everything. Each probe seeds torch, numpy and ``random`` itself and
asks torch for deterministic algorithms (the worker has no config).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

Layer = tuple[str, int | None, int | None]


def _deterministic(seed: int) -> None:
    # Before any CUDA work: cuBLAS reads this when it starts (the sandbox also sets it).
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # seeds every CUDA device too
    # warn_only: a student's op without a deterministic kernel must not crash their run.
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def _layers(half: Any) -> list[Layer] | str:
    """(type name, in_features, out_features) of each leaf module of ``half``, in order."""
    import torch

    if not isinstance(half, torch.nn.Module):
        return f"not a torch.nn.Module but {type(half).__name__}"
    leaves = [m for m in half.modules() if not any(True for _ in m.children())]
    return [(type(m).__name__, getattr(m, "in_features", None), getattr(m, "out_features", None))
            for m in leaves]


def describe_model(model: Any) -> dict[str, Any]:
    """``{"type", "encoder", "decoder"}``: layer lists, or a string saying what is wrong."""
    return {"type": type(model).__name__,
            "encoder": _layers(getattr(model, "encoder", None)) if hasattr(model, "encoder")
            else "missing (no attribute .encoder)",
            "decoder": _layers(getattr(model, "decoder", None)) if hasattr(model, "decoder")
            else "missing (no attribute .decoder)"}


def describe(module: ModuleType, input_dim: int, hidden_dim: int, code_dim: int,
             seed: int) -> dict[str, Any]:
    """Build ``build_autoencoder(input_dim, hidden_dim, code_dim)`` and describe its layers."""
    _deterministic(seed)
    return describe_model(module.build_autoencoder(input_dim, hidden_dim, code_dim))


def forward_and_halves(module: ModuleType, x: np.ndarray, input_dim: int, hidden_dim: int,
                       code_dim: int, seed: int) -> dict[str, Any]:
    """``model(x)`` and ``model.decoder(model.encoder(x))`` for a freshly built model."""
    import torch

    _deterministic(seed)
    model = module.build_autoencoder(input_dim, hidden_dim, code_dim)
    batch = torch.as_tensor(x, dtype=torch.float32)
    with torch.no_grad():
        forward = model(batch)
        halves = model.decoder(model.encoder(batch))
    return {"forward": _plain(forward), "halves": _plain(halves)}


def _plain(value: Any) -> Any:
    """A tensor as a numpy array on the CPU; anything else unchanged (the judge says what)."""
    import torch

    return value.detach().cpu().numpy() if torch.is_tensor(value) else value


def train(module: ModuleType, X: np.ndarray, *, hidden_dim: int, code_dim: int, epochs: int,
          batch_size: int, lr: float, noise_std: float, l1_weight: float, device: str,
          seed: int, threads: int | None = None,
          progress: Callable[[float, float, str], None] | None = None) -> dict[str, Any]:
    """Build the student's model, train it with their ``train_autoencoder``, export it.

    ``X`` is the training part only: float32 in [0, 1], or uint8 (MNIST, 4x smaller to send),
    scaled here to [0, 1]. ``threads`` (if given) caps torch's CPU threads. Returns
    ``{"layers", "history", "device", "state"}``: the model's description, the returned history
    (tensors detached to the CPU), the device type of its first parameter after training, and
    ``state_dict()`` with its tensors detached to the CPU (they cross as ``.npy`` arrays).
    ``progress`` (given by the worker) reports minibatches seen, counted by a forward hook on the
    decoder, for the progress bar of ``dlgrade check``.
    """
    import torch

    _deterministic(seed)
    if threads:
        torch.set_num_threads(threads)
    data = np.asarray(X)
    data = data.astype(np.float32) / 255.0 if data.dtype == np.uint8 else data.astype(np.float32)
    model = module.build_autoencoder(data.shape[1], hidden_dim, code_dim)
    if progress is not None:
        _count_minibatches(model, epochs * -(-len(data) // batch_size), progress)
    history = module.train_autoencoder(model, torch.from_numpy(data), epochs=epochs,
                                       batch_size=batch_size, lr=lr, noise_std=noise_std,
                                       l1_weight=l1_weight, device=device, seed=seed)
    if isinstance(history, (list, tuple)):
        history = [h.detach().cpu() if torch.is_tensor(h) else h for h in history]
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    state = ({k: v.detach().cpu() if torch.is_tensor(v) else v
              for k, v in model.state_dict().items()} if isinstance(model, torch.nn.Module)
             else None)
    return {"layers": describe_model(model), "history": history,
            "device": params[0].device.type if params else None, "state": state}


def _count_minibatches(model: Any, total: int, progress: Callable[[float, float, str], None]) -> None:
    """Report progress at most every 0.2 s: every minibatch goes through the decoder once."""
    import time

    decoder = getattr(model, "decoder", None)
    target = decoder if hasattr(decoder, "register_forward_hook") else model
    if not hasattr(target, "register_forward_hook"):
        return
    seen = {"n": 0, "last": 0.0}

    def hook(*_: Any) -> None:
        seen["n"] += 1
        now = time.monotonic()
        if now - seen["last"] > 0.2 or seen["n"] == total:
            seen["last"] = now
            progress(min(seen["n"], total), total, "training your autoencoder")

    target.register_forward_hook(hook)
