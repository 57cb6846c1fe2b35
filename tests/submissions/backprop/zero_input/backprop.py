"""Zero effort: every function hands back (what it can of) its input.

Forwards are the identity where the shapes allow it (ReLU, sigmoid), backwards pass ``dout``
through; the loss functions return their inputs as "gradients"; ``train_mlp`` returns its
initialisation. An identity forward with a pass-through backward is self-consistent, so the
numerical-gradient checks must not pay for it.
"""

import numpy as np


def affine_forward(x, w, b):
    return x, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return dout, w, b


def relu_forward(x):
    return x, x


def relu_backward(dout, cache):
    return dout


def sigmoid_forward(x):
    return x, x


def sigmoid_backward(dout, cache):
    return dout


def softmax_cross_entropy(scores, y):
    return float(scores.mean()), scores


def mlp_loss(params, X, y, *, reg=0.0):
    return float(X.mean()), dict(params)


def train_mlp(X, y, *, hidden_sizes, num_classes, epochs, learning_rate, batch_size, reg=0.0,
              seed=0):
    rng = np.random.default_rng(seed)
    sizes = [X.shape[1], *hidden_sizes, num_classes]
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out))
        params[f"b{layer}"] = np.zeros(fan_out)
    return params
