"""Zero effort: every function only raises ValueError (so every "... raise" check would pass
on its own)."""


def dense_param_count(layer_sizes, *, bias=True):
    raise ValueError("bad sizes")


def conv2d_param_count(in_channels, out_channels, kernel_size, *, bias=True, groups=1):
    raise ValueError("bad sizes")


def conv2d_output_shape(height, width, kernel_size, *, stride=1, padding=0, dilation=1):
    raise ValueError("bad sizes")


def count_parameters(model, *, trainable_only=False):
    raise ValueError("bad model")
