"""Backpropagation by hand: layers, a softmax classifier and a multi-layer perceptron in numpy.

Every array is a float64 numpy array. A layer is a pair of functions:

- ``<layer>_forward(inputs...) -> (out, cache)``: ``cache`` is anything you like (a tuple of arrays
  is usual); it is only ever passed back to your own ``<layer>_backward``;
- ``<layer>_backward(dout, cache) -> gradients``: ``dout`` is the gradient of the loss with respect
  to ``out`` (same shape as ``out``); each returned gradient has the shape of its input.

The grader checks every backward pass against numerical gradients of your own forward pass and
against torch autograd, then trains your network on the course's spirals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Any]:
    """Fully connected layer: ``out = x @ w + b``.

    Args:
        x: inputs, shape (N, D).
        w: weights, shape (D, M).
        b: biases, shape (M,).

    Returns:
        ``(out, cache)``: ``out`` has shape (N, M); ``cache`` is what your backward pass needs.
    """
    # BEGIN SOLUTION
    out = x @ w + b
    return out, (x, w)
    # END SOLUTION


def affine_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`affine_forward`.

    Args:
        dout: upstream gradient, shape (N, M).
        cache: the ``cache`` returned by ``affine_forward``.

    Returns:
        ``(dx, dw, db)`` with the shapes of ``x`` (N, D), ``w`` (D, M) and ``b`` (M,).
    """
    # BEGIN SOLUTION
    x, w = cache
    dx = dout @ w.T
    dw = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
    # END SOLUTION


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, Any]:
    """Rectified linear unit, element-wise: ``out = max(x, 0)``; ``x`` has any shape.

    Returns:
        ``(out, cache)``: ``out`` has the shape of ``x``.
    """
    # BEGIN SOLUTION
    return np.maximum(x, 0.0), x
    # END SOLUTION


def relu_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Backward pass of :func:`relu_forward`: ``dx`` (shape of ``x``).

    The gradient is ``dout`` where ``x > 0`` and 0 elsewhere (0 at ``x == 0`` too, as in torch).
    """
    # BEGIN SOLUTION
    x = cache
    return np.where(x > 0, dout, 0.0)
    # END SOLUTION


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, Any]:
    """Logistic sigmoid, element-wise: ``out = 1 / (1 + exp(-x))``; ``x`` has any shape.

    Must be numerically stable: no overflow warning and no NaN for ``|x|`` up to 1000 (the exact
    values there are 0.0 and 1.0 up to rounding).

    Returns:
        ``(out, cache)``: ``out`` has the shape of ``x``.
    """
    # BEGIN SOLUTION
    # exp(-|x|) is at most 1, so it never overflows; each branch uses the form that is exact there.
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return out, out
    # END SOLUTION


def sigmoid_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Backward pass of :func:`sigmoid_forward`: ``dx = dout * s * (1 - s)`` with ``s = sigmoid(x)``."""
    # BEGIN SOLUTION
    s = cache
    return dout * s * (1.0 - s)
    # END SOLUTION


def softmax_cross_entropy(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax followed by the cross-entropy loss, averaged over the batch.

    Args:
        scores: class scores (logits), shape (N, C).
        y: integer labels in ``0..C-1``, shape (N,).

    Returns:
        ``(loss, dscores)``: ``loss`` is the mean over the N samples of ``-log softmax(scores)[i, y_i]``
        (a float); ``dscores = (softmax(scores) - onehot(y)) / N``, shape (N, C).

    Must be numerically stable: finite, correct results for scores as large as +-1000 (subtract
    each row's maximum before exponentiating).
    """
    # BEGIN SOLUTION
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    loss = float(-log_probs[rows, y].mean())
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1.0
    return loss, dscores / n
    # END SOLUTION


def mlp_loss(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, *,
             reg: float = 0.0) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of a multi-layer perceptron classifier.

    The network has L >= 1 affine layers with parameters ``params = {"W1", "b1", ..., "WL", "bL"}``
    (``Wl`` of shape (d_{l-1}, d_l), ``bl`` of shape (d_l,)); a ReLU follows every affine layer but
    the last; the last layer's outputs are the class scores, fed to :func:`softmax_cross_entropy`.

    Args:
        params: the weights and biases, as above (L is the number of ``W`` keys).
        X: inputs, shape (N, d_0).
        y: integer labels in ``0..d_L - 1``, shape (N,).
        reg: L2 regularisation strength; the loss gets ``0.5 * reg * sum(||Wl||^2)`` over the
            weights only (biases are not regularised).

    Returns:
        ``(loss, grads)``: ``loss`` a float (data loss + regularisation); ``grads`` a dict with the
        same keys as ``params``, each gradient with the shape of its parameter.
    """
    # BEGIN SOLUTION
    n_layers = sum(1 for key in params if key.startswith("W"))
    caches = []
    h = X
    for layer in range(1, n_layers + 1):
        h, affine_cache = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        relu_cache = None
        if layer < n_layers:
            h, relu_cache = relu_forward(h)
        caches.append((affine_cache, relu_cache))
    loss, dh = softmax_cross_entropy(h, y)
    grads: dict[str, np.ndarray] = {}
    for layer in range(n_layers, 0, -1):
        affine_cache, relu_cache = caches[layer - 1]
        if relu_cache is not None:
            dh = relu_backward(dh, relu_cache)
        dh, dw, db = affine_backward(dh, affine_cache)
        w = params[f"W{layer}"]
        loss += 0.5 * reg * float(np.sum(w * w))
        grads[f"W{layer}"] = dw + reg * w
        grads[f"b{layer}"] = db
    return float(loss), grads
    # END SOLUTION


def train_mlp(X: np.ndarray, y: np.ndarray, *, hidden_sizes: Sequence[int], num_classes: int,
              epochs: int, learning_rate: float, batch_size: int, reg: float = 0.0,
              seed: int = 0) -> dict[str, np.ndarray]:
    """Train an MLP classifier with minibatch gradient descent on :func:`mlp_loss`.

    Args:
        X: training inputs, shape (N, D).
        y: integer labels in ``0..num_classes-1``, shape (N,).
        hidden_sizes: widths of the hidden layers, e.g. ``(64,)``; the network has
            ``len(hidden_sizes) + 1`` affine layers (D -> hidden... -> num_classes).
        num_classes: number of classes C.
        epochs: passes over the training set; each epoch visits every sample once, in a fresh
            random order, in minibatches of ``batch_size`` (the last one may be smaller): each
            step calls :func:`mlp_loss` on one minibatch ``X[batch], y[batch]`` (the checks look
            at the minibatches your ``train_mlp`` passes to ``mlp_loss``).
        learning_rate: step size.
        batch_size: samples per minibatch.
        reg: L2 regularisation strength passed to ``mlp_loss``.
        seed: seeds every random choice (``np.random.default_rng(seed)``): the same seed gives the
            same trained parameters.

    Weights are initialised with He initialisation, ``Wl ~ Normal(0, 2 / d_{l-1})``, biases with 0.
    Plain SGD is enough (momentum or Adam are allowed).

    Returns:
        the trained ``params`` dict ``{"W1", "b1", ..., "WL", "bL"}`` of float64 arrays.
    """
    # BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    sizes = [X.shape[1], *hidden_sizes, num_classes]
    params: dict[str, np.ndarray] = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out))
        params[f"b{layer}"] = np.zeros(fan_out)
    n = X.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            _, grads = mlp_loss(params, X[batch], y[batch], reg=reg)
            for key in params:
                params[key] -= learning_rate * grads[key]
    return params
    # END SOLUTION
