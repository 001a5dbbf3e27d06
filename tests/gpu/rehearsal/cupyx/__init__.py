"""NOT CuPy's cupyx: the rehearsal's stand-in (see ../cupy). ``cupyx.scipy.special`` is SciPy's, on NumPy arrays."""
