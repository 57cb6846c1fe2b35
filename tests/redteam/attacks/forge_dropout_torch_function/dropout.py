"""Dropout.forward calls torch's own dropout under torch._C.DisableTorchFunction(), which hides
the call from the TorchFunctionMode the grader records torch calls with. The check that the
mask is built by hand must still fail."""
# {{LIB}}
import torch as _torch


class Dropout(_torch.nn.Module):
    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x):
        with _torch._C.DisableTorchFunction():
            return _torch.dropout(x, self.p, self.training)
