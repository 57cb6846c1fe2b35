# expect: relu_grad_at_zero
# the gradient passes at x == 0 (written from tests/submissions/backprop/ok_loops, another style than the reference)
"""Correct, written with explicit loops (over output units, samples, rows and layers), as a
student might.

Expected: full marks.
"""

import numpy as np


def affine_forward(x, w, b):
    out = np.zeros((x.shape[0], w.shape[1]))
    for j in range(w.shape[1]):  # one output unit at a time
        out[:, j] = x @ w[:, j] + b[j]
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout @ w.T
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for i in range(x.shape[0]):  # one sample at a time
        dw += np.outer(x[i], dout[i])
        db += dout[i]
    return dx, dw, db


def relu_forward(x):
    out = x.copy()
    out[out < 0] = 0.0
    return out, x


def relu_backward(dout, cache):
    x = cache
    dx = dout.copy()
    dx[x < 0] = 0.0
    return dx


def sigmoid_forward(x):
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out, out


def sigmoid_backward(dout, cache):
    s = cache
    return dout * s * (1.0 - s)


def softmax_cross_entropy(scores, y):
    n, c = scores.shape
    loss = 0.0
    dscores = np.zeros_like(scores)
    for i in range(n):
        row = scores[i] - np.max(scores[i])
        e = np.exp(row)
        total = e.sum()
        loss += np.log(total) - row[y[i]]
        dscores[i] = e / total
        dscores[i, y[i]] -= 1.0
    return loss / n, dscores / n


def mlp_loss(params, X, y, *, reg=0.0):
    layers = 1
    while f"W{layers + 1}" in params:
        layers += 1
    caches = []
    h = X
    for l in range(1, layers + 1):
        h, affine_cache = affine_forward(h, params[f"W{l}"], params[f"b{l}"])
        if l < layers:
            h, relu_cache = relu_forward(h)
        else:
            relu_cache = None
        caches.append((affine_cache, relu_cache))
    loss, dh = softmax_cross_entropy(h, y)
    penalty = 0.0
    for l in range(1, layers + 1):
        penalty += np.sum(params[f"W{l}"] ** 2)
    loss += 0.5 * reg * penalty
    grads = {}
    for l in range(layers, 0, -1):
        affine_cache, relu_cache = caches[l - 1]
        if relu_cache is not None:
            dh = relu_backward(dh, relu_cache)
        dh, dw, db = affine_backward(dh, affine_cache)
        grads[f"W{l}"] = dw + reg * params[f"W{l}"]
        grads[f"b{l}"] = db
    return float(loss), grads


def train_mlp(X, y, *, hidden_sizes, num_classes, epochs, learning_rate, batch_size, reg=0.0,
              seed=0):
    rng = np.random.default_rng(seed)
    sizes = [X.shape[1]] + list(hidden_sizes) + [num_classes]
    params = {}
    for l in range(1, len(sizes)):
        std = np.sqrt(2.0 / sizes[l - 1])
        params[f"W{l}"] = rng.standard_normal((sizes[l - 1], sizes[l])) * std
        params[f"b{l}"] = np.zeros(sizes[l])
    n = X.shape[0]
    for epoch in range(epochs):
        index = np.arange(n)
        rng.shuffle(index)
        start = 0
        while start < n:
            batch = index[start:start + batch_size]
            start += batch_size
            _, grads = mlp_loss(params, X[batch], y[batch], reg=reg)
            for key in params:
                params[key] = params[key] - learning_rate * grads[key]
    return params
