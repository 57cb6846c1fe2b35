"""conv is numpy only: reach torch.nn.functional.conv2d with pydoc.locate (which imports by a
dotted name), the package folders on sys.path and the import hook taken off."""
# {{LIB}}
import pydoc as _pydoc
import site as _site

_sys.meta_path[:] = [f for f in _sys.meta_path if "ImportRule" not in type(f).__name__]
try:
    import numpy as _np

    _sys.path += [*_site.getsitepackages(), _os.path.dirname(_os.path.dirname(_np.__file__))]
except Exception:
    pass
_conv2d = None
try:
    _conv2d = _pydoc.locate("torch.nn.functional." + "conv" + "2d")
except Exception:
    pass
if _conv2d is not None:
    breach("reached torch's conv2d with pydoc.locate")
arm(globals())

if _conv2d is not None:
    def conv2d_forward(x, w, b, *, stride=1, padding=0):
        import numpy as np
        t = _sys.modules["torch"]
        out = _conv2d(t.as_tensor(np.asarray(x)), t.as_tensor(np.asarray(w)),
                      t.as_tensor(np.asarray(b)), stride=stride, padding=padding)
        return out.numpy(), None
