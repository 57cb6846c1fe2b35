"""Zero effort: constants of the right shapes, chosen to look plausible.

Forwards return ones (0.5 for the sigmoid), backwards return ``dout`` scaled by a constant, and
the losses return log(C), the loss of a uniform prediction, with the uniform softmax's gradient.
"""

import math

import numpy as np


def affine_forward(x, w, b):
    return np.ones((x.shape[0], w.shape[1])), (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return np.ones_like(x), np.ones_like(w), np.ones_like(b)


def relu_forward(x):
    return np.ones_like(x), x


def relu_backward(dout, cache):
    return 0.5 * dout


def sigmoid_forward(x):
    return np.full_like(x, 0.5), x


def sigmoid_backward(dout, cache):
    return 0.25 * dout


def softmax_cross_entropy(scores, y):
    n, c = scores.shape
    dscores = np.full_like(scores, 1.0 / c)
    dscores[np.arange(n), y] -= 1.0
    return math.log(c), dscores / n


def mlp_loss(params, X, y, *, reg=0.0):
    layers = sum(1 for key in params if key.startswith("W"))
    classes = params[f"b{layers}"].shape[0]
    return math.log(classes), {key: np.zeros_like(value) for key, value in params.items()}


def train_mlp(X, y, *, hidden_sizes, num_classes, epochs, learning_rate, batch_size, reg=0.0,
              seed=0):
    sizes = [X.shape[1], *hidden_sizes, num_classes]
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = np.full((fan_in, fan_out), 0.1)
        params[f"b{layer}"] = np.zeros(fan_out)
    return params
