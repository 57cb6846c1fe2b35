"""Wrong: every forward returns values near +-1e308, every backward something arbitrary.

Central differences of such a forward overflow (inf - inf is NaN), and a comparison written
``error > tol`` is false for NaN: the numerical-gradient checks must fail this, not pass it.
"""

import numpy as np

HUGE = 1.7e308


def _huge(z):
    return HUGE * np.tanh(z)


def affine_forward(x, w, b):
    return _huge(x @ w + b), (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return np.full_like(x, 0.5), np.full_like(w, 0.5), np.full_like(b, 0.5)


def relu_forward(x):
    return _huge(x), x


def relu_backward(dout, cache):
    return 0.5 * dout


def sigmoid_forward(x):
    return _huge(x), x


def sigmoid_backward(dout, cache):
    return 0.5 * dout


def softmax_cross_entropy(scores, y):
    return float(_huge(scores.sum())), np.full_like(scores, 0.5)


def mlp_loss(params, X, y, *, reg=0.0):
    total = sum(float(value.sum()) for value in params.values())
    return float(_huge(total)), {key: np.full_like(value, 0.5) for key, value in params.items()}


def train_mlp(X, y, *, hidden_sizes, num_classes, epochs, learning_rate, batch_size, reg=0.0,
              seed=0):
    sizes = [X.shape[1], *hidden_sizes, num_classes]
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = np.full((fan_in, fan_out), HUGE)
        params[f"b{layer}"] = np.zeros(fan_out)
    return params
