def dense_param_count(layer_sizes, *, bias=True):
    return float("nan")


def conv2d_param_count(in_channels, out_channels, kernel_size, *, bias=True, groups=1):
    return float("nan")


def conv2d_output_shape(height, width, kernel_size, *, stride=1, padding=0, dilation=1):
    return (float("nan"), float("nan"))


def count_parameters(model, *, trainable_only=False):
    return float("nan")
