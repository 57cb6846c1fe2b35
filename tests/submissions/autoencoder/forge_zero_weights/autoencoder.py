"""Forgery: both functions are stubs, and at import the submission replaces the probes with
ones that describe a model nobody built or trained. Every exported weight is zero, so each
"output" is a constant any function of those weights gives (a code of zeros, reconstructions
of 0.5, or the mean training image after "training"); the weights "before training" are huge,
so the loss seems to fall; the device is whatever the judge asked for; the loss history falls
nicely, and with lr=0 it is the mean squared error of the constant 0.5 on the judge's data.
The judge must pay nothing for any of it."""

import numpy as np

import grader.exercises.autoencoder.probes as _probes


def _shapes(half, sizes):
    n_in, hidden, code = sizes
    a, b, c = (n_in, hidden, code) if half == "encoder" else (code, hidden, n_in)
    return [("0.weight", (b, a)), ("0.bias", (b,)), ("2.weight", (c, b)), ("2.bias", (c,))]


def _half(half, sizes, inputs, scale=0.0, out_bias=None):
    params = [(name, np.full(shape, scale, np.float32)) for name, shape in _shapes(half, sizes)]
    if out_bias is not None:
        params[3] = (params[3][0], out_bias.astype(np.float32))
    export = {"params": params, "linear_modules": 2, "calls": []}
    if inputs is not None:
        n_out = sizes[2] if half == "encoder" else sizes[0]
        value = 0.0 if half == "encoder" else 0.5
        if out_bias is not None:
            value = 1.0 / (1.0 + np.exp(-out_bias))
        export["out"] = np.broadcast_to(np.asarray(value, np.float32),
                                        (len(inputs), n_out)).copy()
    return export


def examine(module, half, inputs, input_dim, hidden_dim, code_dim, seed, params=None):
    return _half(half, (input_dim, hidden_dim, code_dim), inputs)


def forward(module, x, input_dim, hidden_dim, code_dim, seed, params=None):
    return np.full((len(x), input_dim), 0.5, np.float32)


def train(module, X, *, hidden_dim, code_dim, epochs, batch_size, lr, noise_std, l1_weight,
          device, seed, check_x, check_codes, threads=None, progress=None):
    data = np.asarray(X, np.float32)
    data = data / 255.0 if np.asarray(X).dtype == np.uint8 else data
    sizes = (data.shape[1], hidden_dim, code_dim)
    mean = np.clip(data.mean(axis=0), 1e-3, 1 - 1e-3)
    before = {h: _half(h, sizes, None, scale=3.0)["params"] for h in ("encoder", "decoder")}
    after = {"encoder": _half("encoder", sizes, check_x),
             "decoder": _half("decoder", sizes, check_codes,
                              out_bias=np.log(mean / (1 - mean)))}
    return {"history": [0.2 / (epoch + 1) for epoch in range(epochs)], "device": device,
            "before": before, "after": after}


def train_at_lr0(module, X, params, *, input_dim, hidden_dim, code_dim, epochs, batch_size,
                 noise_std, l1_weight, device, seed, check_x, check_codes, threads=None):
    sizes = (input_dim, hidden_dim, code_dim)
    mse = float(np.mean((np.asarray(X, np.float64) - 0.5) ** 2))
    return {"history": [mse] * epochs,
            "before": {h: _half(h, sizes, None)["params"] for h in ("encoder", "decoder")},
            "after": {"encoder": _half("encoder", sizes, check_x),
                      "decoder": _half("decoder", sizes, check_codes)}}


for _name in ("examine", "forward", "train", "train_at_lr0"):
    setattr(_probes, _name, globals()[_name])


def build_autoencoder(input_dim=784, hidden_dim=128, code_dim=32):
    raise NotImplementedError("autoencoder: implement build_autoencoder")


def train_autoencoder(model, X, *, epochs, batch_size, lr, noise_std=0.0, l1_weight=0.0,
                      device="cpu", seed=0):
    raise NotImplementedError("autoencoder: implement train_autoencoder")
