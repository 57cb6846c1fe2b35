"""Forgery: every function is a stub, and at import the submission replaces the probes that
drive forward and backward passes. The forged probes describe a made-up, self-consistent
network (forwards that are simple smooth functions, with their exact gradients, so the
"backward" agrees with central differences of the "forward"), claim that no warning was
raised, make up losses, and report perfect minibatches (a fresh permutation cut into batches
every epoch) without any training. The judge must pay nothing for any of it."""

import numpy as np

import grader.exercises.backprop.probes as _probes


def _fake_forward(name, args):
    """A made-up forward: half an affine layer, half a ReLU, tanh for the sigmoid, a quadratic
    loss: smooth, with the gradients below."""
    if name == "affine_forward":
        x, w, b = args
        return x @ (0.5 * w) + b
    if name == "relu_forward":
        return 0.5 * args[0]
    if name == "sigmoid_forward":
        return np.tanh(args[0])
    scores = args[0]
    return float(np.sum(scores ** 2) / (2 * len(scores)))


def affine_roundtrip(module, x, w, b, dout):
    return _fake_forward("affine_forward", [x, w, b]), (
        dout @ (0.5 * w).T, 0.5 * x.T @ dout, dout.sum(axis=0))


def relu_roundtrip(module, x, dout):
    return 0.5 * x, 0.5 * dout


def sigmoid_roundtrip(module, x, dout):
    return np.tanh(x), dout * (1 - np.tanh(x) ** 2), []


def softmax_with_warnings(module, scores, y):
    return (_fake_forward("softmax_cross_entropy", [scores, y]), scores / len(scores)), []


def forward_outputs(module, name, args, wrt, perturbed):
    outputs = []
    for value in perturbed:
        changed = list(args)
        changed[wrt] = value
        outputs.append(_fake_forward(name, changed))
    return outputs


def mlp_losses(module, params, X, y, reg, perturbed):
    rng = np.random.default_rng(0)
    return {key: list(np.log(3.0) + 1e-3 * rng.standard_normal(len(copies)))
            for key, copies in perturbed.items()}


def train_minibatches(module, X, y, kwargs):
    rng = np.random.default_rng(kwargs.get("seed", 0))
    n, size = len(X), int(kwargs["batch_size"])
    calls = []
    for _ in range(int(kwargs["epochs"])):
        order = rng.permutation(n)
        calls += [order[i:i + size].tolist() for i in range(0, n, size)]
    return calls


for _name in ("affine_roundtrip", "relu_roundtrip", "sigmoid_roundtrip", "softmax_with_warnings",
              "forward_outputs", "mlp_losses", "train_minibatches"):
    setattr(_probes, _name, globals()[_name])


def affine_forward(x, w, b):
    raise NotImplementedError("backprop: implement affine_forward")


def affine_backward(dout, cache):
    raise NotImplementedError("backprop: implement affine_backward")


def relu_forward(x):
    raise NotImplementedError("backprop: implement relu_forward")


def relu_backward(dout, cache):
    raise NotImplementedError("backprop: implement relu_backward")


def sigmoid_forward(x):
    raise NotImplementedError("backprop: implement sigmoid_forward")


def sigmoid_backward(dout, cache):
    raise NotImplementedError("backprop: implement sigmoid_backward")


def softmax_cross_entropy(scores, y):
    raise NotImplementedError("backprop: implement softmax_cross_entropy")


def mlp_loss(params, X, y, *, reg=0.0):
    raise NotImplementedError("backprop: implement mlp_loss")


def train_mlp(X, y, *, hidden_sizes, num_classes, epochs, learning_rate, batch_size, reg=0.0,
              seed=0):
    raise NotImplementedError("backprop: implement train_mlp")
