"""Zero effort: every function only raises ValueError (so every "bad arguments raise" holds)."""


def conv2d_forward(x, w, b, *, stride=1, padding=0):
    raise ValueError("not done")


def conv2d_backward(dout, cache):
    raise ValueError("not done")


def max_pool2d_forward(x, *, kernel_size, stride=None):
    raise ValueError("not done")


def max_pool2d_backward(dout, cache):
    raise ValueError("not done")


def avg_pool2d_forward(x, *, kernel_size, stride=None):
    raise ValueError("not done")


def avg_pool2d_backward(dout, cache):
    raise ValueError("not done")
