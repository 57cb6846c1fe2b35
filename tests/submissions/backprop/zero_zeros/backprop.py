"""Zero effort: every function returns zeros of the right shapes (and a loss of 0).

The framework's tests assert that this earns at most 10 % of the exercise: a zero backward is
consistent with a zero forward, so the numerical-gradient checks pay only alongside a forward
that matches torch.
"""

import numpy as np


def affine_forward(x, w, b):
    return np.zeros((x.shape[0], w.shape[1])), (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)


def relu_forward(x):
    return np.zeros_like(x), x


def relu_backward(dout, cache):
    return np.zeros_like(dout)


def sigmoid_forward(x):
    return np.zeros_like(x), x


def sigmoid_backward(dout, cache):
    return np.zeros_like(dout)


def softmax_cross_entropy(scores, y):
    return 0.0, np.zeros_like(scores)


def mlp_loss(params, X, y, *, reg=0.0):
    return 0.0, {key: np.zeros_like(value) for key, value in params.items()}


def train_mlp(X, y, *, hidden_sizes, num_classes, epochs, learning_rate, batch_size, reg=0.0,
              seed=0):
    sizes = [X.shape[1], *hidden_sizes, num_classes]
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = np.zeros((fan_in, fan_out))
        params[f"b{layer}"] = np.zeros(fan_out)
    return params
