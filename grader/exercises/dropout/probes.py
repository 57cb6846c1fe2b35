"""Probes for the dropout exercise: they run in the sandboxed worker and return data only.

The judge sends every input and seed; the probes call the student's module, run backward passes
there (a ``cache`` or a ``torch.nn.Module`` cannot cross the sandbox) and send back arrays,
type names and the warnings raised. The judge decides what any of it means. Nothing here is
trusted: a submission can replace these functions, so the judge verifies every array against its
own computation and uses type names, statuses and warnings only to fail a check (a
confession), never to pass one.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np


def _pair(result: Any) -> tuple[str, Any]:
    """``(type name, first item)`` of what ``dropout_forward`` returned; the item is ``None``
    unless it returned a 2-tuple or 2-list."""
    kind = type(result).__name__
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return kind, result[0]
    return kind, None


def forward(module: ModuleType, x: np.ndarray, p: float, *, train: bool = True,
            seed: int | None = None) -> dict[str, Any]:
    """``module.dropout_forward(x, p, train=train, seed=seed)``, without sending the cache back.

    Returns ``{"returned": type name of the result, "out": out or None, "warnings": [text]}``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kind, out = _pair(module.dropout_forward(x, p, train=train, seed=seed))
    return {"returned": kind, "out": out, "warnings": [str(w.message) for w in caught]}


def forward_backward(module: ModuleType, x: np.ndarray, p: float, dout: np.ndarray, *,
                     train: bool = True, seed: int | None = None) -> dict[str, Any]:
    """Forward, then ``dropout_backward(dout, cache)`` on that forward's cache.

    Returns ``{"returned", "out", "dx", "warnings"}``; ``dx`` is ``None`` when the forward did not
    return a pair (backward is not called then).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = module.dropout_forward(x, p, train=train, seed=seed)
        kind, out = _pair(result)
        dx = module.dropout_backward(dout, result[1]) if out is not None else None
    return {"returned": kind, "out": out, "dx": dx, "warnings": [str(w.message) for w in caught]}


def forward_many(module: ModuleType, xs: np.ndarray, p: float, *, seed: int) -> list[Any]:
    """``out`` of ``dropout_forward(xs[i], p, seed=seed)`` for every ``i`` (``None`` where the
    result was not a pair): the evaluations of a numerical gradient, in one worker call."""
    return [_pair(module.dropout_forward(np.array(x), p, train=True, seed=seed))[1] for x in xs]


def _error_text(err: Exception, module: ModuleType) -> str:
    """``Type: message`` and the lines of the student's file in the traceback (no other file's
    frames: a student reads this)."""
    import traceback

    path = getattr(module, "__file__", None)
    try:
        frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == path]
    except Exception:
        frames = []
    name = os.path.basename(path) if path else "your file"
    lines = [f"  {name}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}"
             for f in frames[-6:]]
    try:
        message = str(err)[:1500]
    except Exception:
        message = "(the exception's message could not be read)"
    return "\n".join([f"{type(err).__name__}: {message}", *lines])


class _Error(Exception):
    """A stage of a run raised: ``stage`` and the text for the judge."""

    def __init__(self, stage: str, text: str) -> None:
        super().__init__(text)
        self.stage, self.text = stage, text


@contextmanager
def _stage(name: str, module: ModuleType) -> Iterator[None]:
    try:
        yield
    except _Error:
        raise
    except Exception as err:  # the student's exception, sent back as data
        raise _Error(name, _error_text(err, module)) from None


def module_run(module: ModuleType, x: np.ndarray, p: float, *, train: bool, seed: int,
               dout: np.ndarray | None = None, requires_grad: bool = True) -> dict[str, Any]:
    """Build ``module.Dropout(p)``, set train/eval mode, ``torch.manual_seed(seed)``, run it on
    ``x`` (a leaf tensor; ``requires_grad`` as asked) and, when ``dout`` is given, backward
    ``sum(out * dout)``.

    Returns ``{"is_module": bool, "built": type name, "out_type": type name, "out": array or None,
    "grad": d(sum(out * dout))/dx as an array or None, "grad_status": "ok" | "no dout" |
    "out does not require grad" | "shape differs" | "no gradient reached x",
    "error": None or {"stage": "build" | "forward" | "backward", "text": the exception}}``.
    """
    import torch

    layer = out = grad = None
    is_module, status, error = False, "no dout", None
    try:
        with _stage("build", module):
            layer = module.Dropout(p)
            is_module = isinstance(layer, torch.nn.Module)
        if is_module:
            layer.train(train)
            torch.manual_seed(seed)
            xt = torch.tensor(np.asarray(x), requires_grad=requires_grad)
            with _stage("forward", module):
                out = layer(xt)
            if dout is not None:
                if not isinstance(out, torch.Tensor) or not out.requires_grad:
                    status = "out does not require grad"
                elif tuple(out.shape) != tuple(xt.shape):
                    status = "shape differs"
                else:
                    with _stage("backward", module):
                        (out * torch.as_tensor(np.asarray(dout), dtype=out.dtype)).sum() \
                            .backward()
                    status = "ok" if xt.grad is not None else "no gradient reached x"
                    grad = None if xt.grad is None else xt.grad.detach().cpu().numpy()
    except _Error as err:
        error = {"stage": err.stage, "text": err.text}
    return {
        "is_module": is_module,
        "built": type(layer).__name__,
        "out_type": type(out).__name__,
        "out": out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else None,
        "grad": grad,
        "grad_status": status,
        "error": error,
    }


def _as_dtype(dtype: Any) -> Any:
    """A layer that casts its input to ``dtype``: put after the student's Dropout so that an
    output in another dtype (the dtype check's verdict) does not break the next nn.Linear."""
    import torch

    class AsDtype(torch.nn.Module):
        def forward(self, y: Any) -> Any:
            return y.to(dtype) if isinstance(y, torch.Tensor) else y

    return AsDtype()


def _copy_layer() -> Any:
    """A layer that returns a copy of its input (``clone``: autograd passes the gradient)."""
    import torch

    class Copy(torch.nn.Module):
        def forward(self, y: Any) -> Any:
            return y.clone() if isinstance(y, torch.Tensor) else y

    return Copy()


def network_run(module: ModuleType, case: dict[str, np.ndarray], p: float, *,
                seed: int) -> dict[str, Any]:
    """``nn.Sequential(nn.Linear, nn.ReLU(), module.Dropout(p), nn.Linear)`` in float64 with the
    weights in ``case`` (``w1``, ``b1``, ``w2``, ``b2``), train mode, ``torch.manual_seed(seed)``,
    forward on ``case["x"]`` (requires grad), backward of ``sum(out * case["dout"])``.

    Returns ``{"is_module", "built", "h": the Dropout's input (the ReLU's output) and "d": its
    output, or None, "grads": {"w1", "b1", "w2", "b2", "x": array or None}, "error": None or
    {"stage", "text"}}``.
    """
    import torch

    t = {k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in case.items()}
    layer, h, d, error = None, None, None, None
    is_module = False
    grads: dict[str, Any] = {}
    try:
        with _stage("build", module):
            layer = module.Dropout(p)
            is_module = isinstance(layer, torch.nn.Module)
        if is_module:
            first = torch.nn.Linear(t["w1"].shape[1], t["w1"].shape[0], dtype=torch.float64)
            last = torch.nn.Linear(t["w2"].shape[1], t["w2"].shape[0], dtype=torch.float64)
            with torch.no_grad():
                first.weight.copy_(t["w1"])
                first.bias.copy_(t["b1"])
                last.weight.copy_(t["w2"])
                last.bias.copy_(t["b2"])
            seen: dict[str, Any] = {}

            def keep_input(_layer: Any, inputs: Any) -> None:
                if inputs and isinstance(inputs[0], torch.Tensor):
                    seen["h"] = inputs[0].detach().clone()  # before the layer can change it

            def keep_output(_layer: Any, _inputs: Any, output: Any) -> None:
                if isinstance(output, torch.Tensor):
                    seen["d"] = output.detach().clone()

            layer.register_forward_pre_hook(keep_input)
            layer.register_forward_hook(keep_output)
            net = torch.nn.Sequential(first, torch.nn.ReLU(), layer, _as_dtype(torch.float64),
                                      last)
            net.train()
            torch.manual_seed(seed)
            xt = t["x"].clone().requires_grad_(True)
            with _stage("forward", module):
                out = net(xt)
            if "d" in seen and "h" in seen:
                h, d = seen["h"].cpu().numpy(), seen["d"].cpu().numpy()
            with _stage("backward", module):
                (out * t["dout"]).sum().backward()
            params = {"w1": first.weight, "b1": first.bias, "w2": last.weight, "b2": last.bias,
                      "x": xt}
            grads = {k: None if v.grad is None else v.grad.detach().cpu().numpy()
                     for k, v in params.items()}
    except _Error as err:
        error = {"stage": err.stage, "text": err.text}
    return {"is_module": is_module, "built": type(layer).__name__, "h": h, "d": d,
            "grads": grads, "error": error}


def _regression_data(seed: int, n_train: int, n_val: int,
                     dim: int = 10) -> tuple[np.ndarray, ...]:
    """A smooth function of 10 inputs plus noise (std 0.3): few training samples to overfit."""
    rng = np.random.default_rng(seed=seed)
    w = rng.normal(size=dim) / np.sqrt(dim)
    X = rng.normal(size=(n_train + n_val, dim)).astype(np.float32)
    y = (np.sin(2.0 * X @ w) + 0.5 * X[:, 0] * X[:, 1]
         + 0.3 * rng.normal(size=n_train + n_val)).astype(np.float32)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def overfitting_demo(module: ModuleType, *, p: float, seed: int, width: int, steps: int,
                     every: int, n_train: int, n_val: int) -> dict[str, list[float]]:
    """Train the same wide MLP (10 -> width -> width -> 1, ReLU) twice from the same initial
    weights, full batch Adam (lr 1e-3, MSE) on ``n_train`` samples: once plain, once with
    ``module.Dropout(p)`` after each hidden ReLU.

    Every ``every`` steps both losses are measured in ``eval()`` mode on the training and the
    validation samples. Returns ``{"step": [...], "plain_train", "plain_val", "dropout_train",
    "dropout_val"}`` (floats; NaN where a loss was not a finite number; shown to the student as
    information) and ``"weights"``: the three ``nn.Linear`` layers' weights and biases of the
    network with the student's Dropout after training, from which the judge computes the
    training loss itself (``judge.demo_losses``).
    """
    import torch

    threads = torch.get_num_threads()
    # Matrices this small gain nothing from threads, and on a loaded machine two spinning
    # threads made this training 30x slower (1 s -> 30 s measured with 2 busy cores).
    torch.set_num_threads(1)
    try:
        return _train_both(module, p=p, seed=seed, width=width, steps=steps, every=every,
                           n_train=n_train, n_val=n_val)
    finally:
        torch.set_num_threads(threads)


def _train_both(module: ModuleType, *, p: float, seed: int, width: int, steps: int, every: int,
                n_train: int, n_val: int) -> dict[str, list[float]]:
    import torch

    torch.manual_seed(seed)
    Xt, yt, Xv, yv = (torch.from_numpy(a) for a in _regression_data(seed, n_train, n_val))

    def net(drop: bool) -> tuple[torch.nn.Module, list[torch.nn.Linear]]:
        torch.manual_seed(seed)  # the same initial weights in both runs
        linears = [torch.nn.Linear(Xt.shape[1], width)]
        layers: list[torch.nn.Module] = [linears[0], torch.nn.ReLU()]
        # This check judges training, not the edge cases that have their own checks: the copy
        # before the Dropout keeps one that changes its input in place from breaking the ReLU's
        # backward ("module gradient flows" judges that), the cast keeps an output in another
        # dtype from breaking the next layer ("module output dtype matches input").
        layers += [_copy_layer(), module.Dropout(p), _as_dtype(torch.float32)] if drop else []
        linears.append(torch.nn.Linear(width, width))
        layers += [linears[1], torch.nn.ReLU()]
        layers += [_copy_layer(), module.Dropout(p), _as_dtype(torch.float32)] if drop else []
        linears.append(torch.nn.Linear(width, 1))
        return torch.nn.Sequential(*layers, linears[2]), linears

    def mse(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((model(X).reshape(-1) - y) ** 2).mean()

    history: dict[str, list[float]] = {"step": []}
    for name, drop in (("plain", False), ("dropout", True)):
        model, linears = net(drop)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        train_losses, val_losses = [], []
        for step in range(steps + 1):
            if step % every == 0 or step == steps:
                model.eval()
                with torch.no_grad():
                    train_losses.append(float(mse(model, Xt, yt)))
                    val_losses.append(float(mse(model, Xv, yv)))
                model.train()
                if name == "plain":
                    history["step"].append(step)
            if step == steps:
                break
            opt.zero_grad()
            mse(model, Xt, yt).backward()
            opt.step()
        history[f"{name}_train"] = train_losses
        history[f"{name}_val"] = val_losses
    # The judge computes the verdict from these (the losses above are shown, not trusted).
    history["weights"] = [t.detach().cpu().numpy() for layer in linears
                          for t in (layer.weight, layer.bias)]
    return history
