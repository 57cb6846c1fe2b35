"""Probes for `autoencoder`: run in the untrusted worker, drive the student's module, return data.

A model cannot cross the sandbox, so the probes build (and train) it here and return plain data:
each half's parameters (``named_parameters()``, as numpy arrays), its outputs on inputs the judge
chose (and the inputs and outputs of its ``Linear``-like modules), and the loss history. The
judge decides everything (``network.py`` rebuilds the function from the parameters). Where it
can, the judge also chooses the parameters (``examine``, ``forward``, ``train_at_lr0`` load the
judge's values into the student's model), so that what comes back must be that function of
values the judge knows. Nothing here is trusted: a submission can replace these functions, and
everything they return is checked against the judge's own computation (README.md). Each probe
seeds torch, numpy and ``random`` itself and asks torch for deterministic algorithms (the worker
has no config).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np


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


@contextmanager
def _full_precision() -> Iterator[None]:
    """Full float32 products while the judge's inputs run (a student may have turned on TF32
    for speed, which is off by about 1e-3 and would read as a different function)."""
    import torch

    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(precision)


def _linear_like(module: Any) -> bool:
    """A module that owns one 2-D weight and at most one 1-D bias (nn.Linear and the like)."""
    own = list(module.parameters(recurse=False))
    return (1 <= len(own) <= 2 and own[0].dim() == 2
            and all(p.dim() == 1 for p in own[1:]))


def export_half(model: Any, half: str, inputs: np.ndarray | None) -> dict[str, Any] | str:
    """``model.<half>``'s parameters (``named_parameters()`` order, as arrays) and, when
    ``inputs`` is given, its output on them and the input and output of every ``Linear``-like
    module it calls (forward hooks), or a string saying why there is nothing to export."""
    import torch

    if not hasattr(model, half):
        return f"missing (no attribute .{half})"
    part = getattr(model, half)
    if not isinstance(part, torch.nn.Module):
        return f"not a torch.nn.Module but {type(part).__name__}"
    params = [(name, p.detach().cpu().clone().numpy()) for name, p in part.named_parameters()]
    out: dict[str, Any] = {"params": params}
    if inputs is None:
        return out
    first = next(part.parameters(), None)
    batch = torch.as_tensor(inputs, dtype=torch.float32)
    if first is not None:
        batch = batch.to(first.device)
    calls: list[tuple[str, Any, Any]] = []
    handles = []
    linear = [(name, module) for name, module in part.named_modules() if _linear_like(module)]
    out["linear_modules"] = len(linear)
    for name, module in linear:
        def hook(mod: Any, args: Any, result: Any, name: str = name) -> None:
            calls.append((name or half, _plain(args[0]) if args else None, _plain(result)))
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad(), _full_precision():
            out["out"] = _plain(part(batch))
    finally:
        for handle in handles:
            handle.remove()
    out["calls"] = calls
    return out


def export_model(model: Any, x: np.ndarray | None, codes: np.ndarray | None) -> dict[str, Any]:
    return {"encoder": export_half(model, "encoder", x),
            "decoder": export_half(model, "decoder", codes)}


def _params_of(model: Any) -> dict[str, Any]:
    """Both halves' parameters only (a string where a half cannot be exported)."""
    out = {}
    for half in ("encoder", "decoder"):
        export = export_half(model, half, None)
        out[half] = export["params"] if isinstance(export, dict) else export
    return out


def examine(module: ModuleType, half: str, inputs: np.ndarray, input_dim: int, hidden_dim: int,
            code_dim: int, seed: int,
            params: list[np.ndarray] | None = None) -> dict[str, Any] | str:
    """Build ``build_autoencoder(input_dim, hidden_dim, code_dim)``, put the judge's ``params``
    (the contract's slot order) into ``model.<half>`` (matched by shape, see :func:`_load`) and
    export ``half``: its parameters as they are then, and its output on ``inputs``. The judge
    computes what its own layers give with those very values and compares."""
    _deterministic(seed)
    model = module.build_autoencoder(input_dim, hidden_dim, code_dim)
    if params is not None:
        _load(model, {half: params})
    return export_half(model, half, inputs)


def forward(module: ModuleType, x: np.ndarray, input_dim: int, hidden_dim: int, code_dim: int,
            seed: int, params: dict[str, list[np.ndarray]] | None = None) -> Any:
    """``model(x)`` for a freshly built model (the same seed as :func:`examine`) holding the
    judge's ``params`` in both halves."""
    import torch

    _deterministic(seed)
    model = module.build_autoencoder(input_dim, hidden_dim, code_dim)
    if params is not None:
        _load(model, params)
    with torch.no_grad(), _full_precision():
        return _plain(model(torch.as_tensor(x, dtype=torch.float32)))


def _plain(value: Any) -> Any:
    """A tensor as a numpy array on the CPU; anything else unchanged (the judge says what)."""
    import torch

    return value.detach().cpu().clone().numpy() if torch.is_tensor(value) else value


def _history(history: Any) -> Any:
    import torch

    if isinstance(history, (list, tuple)):
        return [h.detach().cpu() if torch.is_tensor(h) else h for h in history]
    return history


def train(module: ModuleType, X: np.ndarray, *, hidden_dim: int, code_dim: int, epochs: int,
          batch_size: int, lr: float, noise_std: float, l1_weight: float, device: str,
          seed: int, check_x: np.ndarray, check_codes: np.ndarray, threads: int | None = None,
          progress: Callable[[float, float, str], None] | None = None) -> dict[str, Any]:
    """Build the student's model, train it with their ``train_autoencoder``, export it.

    ``X`` is the training part only: float32 in [0, 1], or uint8 (MNIST, 4x smaller to send),
    scaled here to [0, 1]. ``threads`` (if given) caps torch's CPU threads. Returns
    ``{"history", "device", "before", "after"}``: the returned history (tensors detached to the
    CPU), the device type of the model's first parameter after training, both halves'
    parameters before training, and after training the halves' parameters with their outputs
    on the judge's ``check_x`` (encoder) and ``check_codes`` (decoder).
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
    before = _params_of(model)
    if progress is not None:
        _count_minibatches(model, epochs * -(-len(data) // batch_size), progress)
    history = module.train_autoencoder(model, torch.from_numpy(data), epochs=epochs,
                                       batch_size=batch_size, lr=lr, noise_std=noise_std,
                                       l1_weight=l1_weight, device=device, seed=seed)
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    return {"history": _history(history),
            "device": params[0].device.type if params else None,
            "before": before, "after": export_model(model, check_x, check_codes)}


def _load(model: Any, params: dict[str, list[np.ndarray]]) -> None:
    """Copy the judge's parameters into ``model``'s halves, matched by shape in order (what a
    model cannot take is left as it is: the judge recomputes from what it exports)."""
    import torch

    for half, values in params.items():
        part = getattr(model, half, None)
        if not isinstance(part, torch.nn.Module):
            continue
        free = list(part.parameters())
        with torch.no_grad():
            for value in values:
                hit = next((i for i, p in enumerate(free)
                            if tuple(p.shape) == tuple(value.shape)), None)
                if hit is not None:
                    target = free.pop(hit)  # by position: `==` on tensors is element-wise
                    target.copy_(torch.as_tensor(value, dtype=target.dtype,
                                                 device=target.device))


def train_at_lr0(module: ModuleType, X: np.ndarray, params: dict[str, list[np.ndarray]], *,
                 input_dim: int, hidden_dim: int, code_dim: int, epochs: int, batch_size: int,
                 noise_std: float, l1_weight: float, device: str, seed: int,
                 check_x: np.ndarray, check_codes: np.ndarray,
                 threads: int | None = None, record_rows: bool = False) -> dict[str, Any]:
    """``train_autoencoder(model, X, lr=0, ...)`` on a model holding the judge's ``params``:
    the parameters must not move, so the judge can compute each epoch's loss itself. Returns
    ``{"history", "before", "after"}`` as :func:`train` does, and with ``record_rows`` also
    ``"rows"``: for every call of ``model.encoder`` during training, the index in ``X`` of each
    row it received (-1 for a row that is not one of X's; ``X``'s rows are distinct), in call
    order: the minibatches as the student's loop made them."""
    import torch

    _deterministic(seed)
    if threads:
        torch.set_num_threads(threads)
    model = module.build_autoencoder(input_dim, hidden_dim, code_dim)
    _load(model, params)
    before = _params_of(model)
    rows: list[np.ndarray] = []
    handle = _record_rows(model, X, rows) if record_rows else None
    try:
        history = module.train_autoencoder(model, torch.as_tensor(X, dtype=torch.float32),
                                           epochs=epochs, batch_size=batch_size, lr=0.0,
                                           noise_std=noise_std, l1_weight=l1_weight,
                                           device=device, seed=seed)
    finally:
        if handle is not None:
            handle.remove()
    out = {"history": _history(history), "before": before,
           "after": export_model(model, check_x, check_codes)}
    if record_rows:
        out["rows"] = rows
    return out


def _record_rows(model: Any, X: np.ndarray, rows: list[np.ndarray]) -> Any:
    """A forward pre-hook on ``model.encoder`` appending, per call, the index in ``X`` of each
    input row (its float32 bytes looked up), or None where the model has no encoder module."""
    encoder = getattr(model, "encoder", None)
    if not hasattr(encoder, "register_forward_pre_hook"):
        return None
    index = {row.tobytes(): i for i, row in enumerate(np.asarray(X, dtype=np.float32))}

    def hook(_module: Any, args: Any) -> None:
        inputs = _plain(args[0]) if args else None
        if isinstance(inputs, np.ndarray) and inputs.ndim == 2:
            batch = np.ascontiguousarray(inputs, dtype=np.float32)
            rows.append(np.array([index.get(r.tobytes(), -1) for r in batch], dtype=np.int64))

    return encoder.register_forward_pre_hook(hook)


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
