"""SciPy's special functions, standing in for ``cupyx.scipy.special`` in a rehearsal (the engine's erf and erfinv)."""

from scipy.special import *  # noqa: F401,F403
