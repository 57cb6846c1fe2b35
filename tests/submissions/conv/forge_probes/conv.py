"""Forgery: every function is a stub, and at import the submission replaces the probes that run
the layers. The forged probes return outputs of the right shape with made-up values, gradients
of the right shapes, perturbed objectives that agree exactly with those gradients (so that
central differences "confirm" them), two independent caches, and a forward that took a
microsecond. The judge must pay nothing for any of it."""

import zlib

import numpy as np

import grader.exercises.conv.probes as _probes


def _out_shape(layer, inputs, options):
    x = np.asarray(inputs["x"])
    n, c, h, w = x.shape
    if layer == "conv2d":
        f, _, hh, ww = np.shape(inputs["w"])
        s, p = options.get("stride", 1), options.get("padding", 0)
        return (n, f, (h + 2 * p - hh) // s + 1, (w + 2 * p - ww) // s + 1)
    k = options["kernel_size"]
    s = options.get("stride") or k
    return (n, c, (h - k) // s + 1, (w - k) // s + 1)


def _rng(*arrays):
    return np.random.default_rng(zlib.crc32(b"".join(np.asarray(a).tobytes() for a in arrays)))


def _grads(layer, inputs, dout):
    rng = _rng(inputs["x"], dout)
    names = ("x", "w", "b") if layer == "conv2d" else ("x",)
    grads = [rng.standard_normal(np.shape(inputs[k])) for k in names]
    return grads if layer == "conv2d" else grads[0]


def forward(module, layer, inputs, options):
    return {"out": _rng(inputs["x"]).standard_normal(_out_shape(layer, inputs, options))}


def timed_forward(module, layer, inputs, options):
    return {**forward(module, layer, inputs, options), "seconds": 1e-6}


def roundtrip(module, layer, inputs, options, dout):
    return {**forward(module, layer, inputs, options), "grads": _grads(layer, inputs, dout)}


def interleaved(module, layer, first, second, options, dout_first, dout_second):
    return {"grads_first": _grads(layer, first, dout_first),
            "grads_second": _grads(layer, second, dout_second)}


def objective(module, layer, inputs, options, dout, name, stack):
    grads = _grads(layer, inputs, dout)
    grad = grads[("x", "w", "b").index(name)] if layer == "conv2d" else grads
    base = np.asarray(inputs[name], dtype=np.float64)
    return {"values": np.array([1.0 + float(np.sum(grad * (s - base))) for s in stack])}


for _name in ("forward", "timed_forward", "roundtrip", "interleaved", "objective"):
    setattr(_probes, _name, globals()[_name])


def conv2d_forward(x, w, b, *, stride=1, padding=0):
    raise NotImplementedError("conv: implement conv2d_forward")


def conv2d_backward(dout, cache):
    raise NotImplementedError("conv: implement conv2d_backward")


def max_pool2d_forward(x, *, kernel_size, stride=None):
    raise NotImplementedError("conv: implement max_pool2d_forward")


def max_pool2d_backward(dout, cache):
    raise NotImplementedError("conv: implement max_pool2d_backward")


def avg_pool2d_forward(x, *, kernel_size, stride=None):
    raise NotImplementedError("conv: implement avg_pool2d_forward")


def avg_pool2d_backward(dout, cache):
    raise NotImplementedError("conv: implement avg_pool2d_backward")
