"""Forgery: the functions are stubs, and at import the submission replaces the probes the
checks read (``probes.count_model``, ``probes.output_shape``) with ones that make up plausible
answers: a Python int of the size a small network has, and a pair of positive ints. The judge
compares every value with its own count or shape, so this earns nothing."""

import random

import grader.exercises.param_count.probes as _probes

_rng = random.Random(0)


def _forged_count(module, name, trainable_only=False):
    return _rng.randrange(1_000, 100_000)


def _forged_shape(module, height, width, kernel_size, **kwargs):
    return (_rng.randrange(1, 64), _rng.randrange(1, 64))


_probes.count_model = _forged_count
_probes.output_shape = _forged_shape


def dense_param_count(layer_sizes, *, bias=True):
    raise NotImplementedError("param_count: implement dense_param_count")


def conv2d_param_count(in_channels, out_channels, kernel_size, *, bias=True, groups=1):
    raise NotImplementedError("param_count: implement conv2d_param_count")


def conv2d_output_shape(height, width, kernel_size, *, stride=1, padding=0, dilation=1):
    raise NotImplementedError("param_count: implement conv2d_output_shape")


def count_parameters(model, *, trainable_only=False):
    raise NotImplementedError("param_count: implement count_parameters")
