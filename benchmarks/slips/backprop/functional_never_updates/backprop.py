# expect: train_never_updates
# the velocity is computed but never applied (written from tests/submissions/backprop/ok_functional, another style than the reference)
"""Correct, in another style: np.maximum and masks from the output, a tanh sigmoid, a
logsumexp softmax, layers as a list, and SGD with momentum.

Expected: full marks.
"""

import numpy as np


def affine_forward(x, w, b):
    return np.dot(x, w) + b[np.newaxis, :], {"x": x, "w": w}


def affine_backward(dout, cache):
    return (np.dot(dout, cache["w"].T), np.dot(cache["x"].T, dout), np.sum(dout, axis=0))


def relu_forward(x):
    out = np.maximum(0.0, x)
    return out, out  # the output is enough: out > 0 exactly where x > 0


def relu_backward(dout, cache):
    return dout * (cache > 0)


def sigmoid_forward(x):
    out = 0.5 * (1.0 + np.tanh(0.5 * x))  # tanh never overflows
    return out, out


def sigmoid_backward(dout, cache):
    return dout * cache * (1.0 - cache)


def _logsumexp(scores):
    top = scores.max(axis=1, keepdims=True)
    return top + np.log(np.exp(scores - top).sum(axis=1, keepdims=True))


def softmax_cross_entropy(scores, y):
    n = len(y)
    log_probs = scores - _logsumexp(scores)
    onehot = np.eye(scores.shape[1])[y]
    loss = -(log_probs * onehot).sum() / n
    return float(loss), (np.exp(log_probs) - onehot) / n


def _layers(params):
    count = len([k for k in params if k[0] == "W"])
    return [(params[f"W{i}"], params[f"b{i}"]) for i in range(1, count + 1)]


def mlp_loss(params, X, y, *, reg=0.0):
    layers = _layers(params)
    stack, h = [], X
    for i, (w, b) in enumerate(layers):
        h, ac = affine_forward(h, w, b)
        rc = None
        if i + 1 < len(layers):
            h, rc = relu_forward(h)
        stack.append((ac, rc))
    loss, grad = softmax_cross_entropy(h, y)
    loss += 0.5 * reg * sum(float((w ** 2).sum()) for w, _ in layers)
    grads = {}
    for i in reversed(range(len(layers))):
        ac, rc = stack[i]
        if rc is not None:
            grad = relu_backward(grad, rc)
        grad, dw, db = affine_backward(grad, ac)
        grads[f"W{i + 1}"] = dw + reg * layers[i][0]
        grads[f"b{i + 1}"] = db
    return loss, grads


def train_mlp(X, y, *, hidden_sizes, num_classes, epochs, learning_rate, batch_size, reg=0.0,
              seed=0):
    rng = np.random.default_rng(seed)
    widths = (X.shape[1], *hidden_sizes, num_classes)
    params = {}
    for i in range(len(widths) - 1):
        params[f"W{i + 1}"] = rng.normal(scale=np.sqrt(2.0 / widths[i]),
                                         size=(widths[i], widths[i + 1]))
        params[f"b{i + 1}"] = np.zeros(widths[i + 1])
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    lr, momentum = 0.5 * learning_rate, 0.5  # momentum 0.5 doubles the step: same effective lr
    for _ in range(epochs):
        perm = rng.permutation(len(X))
        for batch in np.array_split(perm, range(batch_size, len(X), batch_size)):
            _, grads = mlp_loss(params, X[batch], y[batch], reg=reg)
            for k in params:
                velocity[k] = momentum * velocity[k] - lr * grads[k]
                pass
    return params
