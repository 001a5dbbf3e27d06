"""The default float dtype, ``gw.set_default_dtype`` / ``gw.get_default_dtype``, process-wide as PyTorch's.

The factories and layers read it on the client, and so does the client's dtype inference. The server keeps no
copy: an op that may turn integers into floats (``x / 2``, ``exp(x)``, ``x * 1.5``) carries it in its command
while it is not float32 (the param ``default_dtype``), and only then.
"""

from __future__ import annotations

import numpy as np

from .floats import is_floating

FLOAT32 = np.dtype(np.float32)
current = FLOAT32  # read as ``defaults.current`` at each use: set_default_dtype rebinds it


def get_default_dtype() -> np.dtype:
    """The dtype of a tensor made from Python floats, and the one integers become in true division, as
    ``torch.get_default_dtype`` (float32 until ``set_default_dtype``)."""
    from .dtypes import public  # (dtypes imports floats, as this module does; kept lazy as set_default_dtype's import)

    return public(current)


def set_default_dtype(d) -> None:
    """Set the default float dtype, as ``torch.set_default_dtype``: a floating-point dtype (float32, float64, float16
    or bfloat16); anything else is a TypeError in PyTorch's words. Process-wide: every session of this process."""
    global current
    from .tensor import as_dtype  # (tensor imports this module)

    try:
        parsed = as_dtype(d)
    except Exception:  # not a dtype at all
        raise TypeError("invalid dtype object: only floating-point types are supported as the default type") from None
    if not is_floating(parsed):
        raise TypeError("only floating-point types are supported as the default type")
    current = FLOAT32 if parsed == FLOAT32 else parsed  # the one object: the SDK tests ``is not FLOAT32`` per op
