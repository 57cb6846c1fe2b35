"""Forgery: every function is a stub (the module raises when built), and at import the
submission replaces the probes with ones that return plausible data and every claim a judge
might trust: forward results of the right shape and dtype (a copy of the judge's input), no
warnings, "it is a torch.nn.Module", "the gradient reached x", "no torch dropout was called",
the judge's own ReLU output with made-up gradients for the network, and a training history whose
loss falls by a factor of 50. The judge must pay nothing for any of it."""

import numpy as np

import grader.exercises.dropout.probes as _probes


def forward(module, x, p, *, train=True, seed=None):
    return {"returned": "tuple", "out": np.array(x, copy=True), "warnings": []}


def forward_backward(module, x, p, dout, *, train=True, seed=None):
    return {"returned": "tuple", "out": np.array(x, copy=True), "dx": np.array(dout, copy=True),
            "warnings": []}


def forward_many(module, xs, p, *, seed):
    return [np.array(x, copy=True) for x in xs]


def module_run(module, x, p, *, train, seed, dout=None, requires_grad=True):
    x = np.asarray(x)
    return {"is_module": True, "built": "Dropout", "out_type": "Tensor",
            "out": np.array(x, copy=True),
            "grad": None if dout is None else np.asarray(dout, dtype=x.dtype),
            "grad_status": "no dout" if dout is None else "ok",
            "torch_dropout_calls": [], "error": None}


def network_run(module, case, p, *, seed):
    h = np.maximum(case["x"] @ case["w1"].T + case["b1"], 0.0)
    rng = np.random.default_rng(seed)
    grads = {k: rng.standard_normal(np.shape(case[k])) for k in ("w1", "b1", "w2", "b2", "x")}
    return {"is_module": True, "built": "Dropout", "h": h, "d": h.copy(), "grads": grads,
            "error": None}


def overfitting_demo(module, *, p, seed, width, steps, every, n_train, n_val):
    step = list(range(0, steps, every)) + [steps]
    fall = [1.0 / (1 + 49 * i / (len(step) - 1)) for i in range(len(step))]
    return {"step": step, "plain_train": [0.5 * f for f in fall], "plain_val": [0.6] * len(step),
            "dropout_train": [0.6 * f for f in fall], "dropout_val": [0.5] * len(step)}


for _name in ("forward", "forward_backward", "forward_many", "module_run", "network_run",
              "overfitting_demo"):
    setattr(_probes, _name, globals()[_name])


def dropout_forward(x, p, *, train=True, seed=None):
    raise NotImplementedError("dropout: implement dropout_forward")


def dropout_backward(dout, cache):
    raise NotImplementedError("dropout: implement dropout_backward")


class Dropout:
    def __init__(self, p=0.5):
        raise NotImplementedError("dropout: implement Dropout")
