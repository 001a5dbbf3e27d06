"""``repr(tensor)`` as PyTorch prints it: the same number format, summarization, line wrapping and suffixes.

PyTorch's defaults: 4 decimals (scientific where the magnitudes call for it, integer-valued floats as
``1.``), every element padded to the widest, tensors of more than 1,000 elements summarized to their
first and last 3 items along each dim, lines of at most 80 characters, and ``dtype=`` named only
where it is not the default of its kind (float32, int64, bool).
"""

from __future__ import annotations

import math

import numpy as np

from .floats import is_floating
from . import defaults

PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = 4, 1000, 3, 80
SCI_MODE = None  # None: chosen from the values; True or False: always or never scientific (set_printoptions)
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}  # precision, threshold, edgeitems, linewidth


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """How tensors print, as ``torch.set_printoptions``: digits after the point (``precision``), the element count above
    which a tensor is summarized (``threshold``) to ``edgeitems`` per end of each dim, the line width, a ``profile``
    ("default", "short", "full") to start from, and ``sci_mode`` (True, False, or None: chosen from the values; every
    call sets it, as PyTorch's). Process-wide."""
    global PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH, SCI_MODE
    if profile is not None and profile in _PROFILES:  # an unknown profile changes nothing, as in PyTorch
        PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = _PROFILES[profile]
    if precision is not None:
        PRECISION = precision
    if threshold is not None:
        THRESHOLD = threshold
    if edgeitems is not None:
        EDGEITEMS = edgeitems
    if linewidth is not None:
        LINEWIDTH = linewidth
    SCI_MODE = sci_mode
_DEFAULT_DTYPES = {np.dtype(np.int64), np.dtype(np.bool_)}  # and the default float dtype (float32 unless set), and its complex


def summarized(shape) -> bool:
    """Whether a tensor of ``shape`` prints summarized (its first and last ``EDGEITEMS`` along each long dim)."""
    return math.prod(shape) > THRESHOLD


def edges(shape) -> list[tuple[int, list[int]]]:
    """(dim, indices) for every dim of ``shape`` that a summarized print cuts: the values it shows, fetched alone."""
    return [(d, [*range(EDGEITEMS), *range(n - EDGEITEMS, n)]) for d, n in enumerate(shape) if n > 2 * EDGEITEMS]


def tensor_repr(values: np.ndarray, suffixes: list[str], shape=None) -> str:
    """``tensor(...)`` of ``values``, then ``suffixes`` (``grad_fn=<...>``, ``requires_grad=True``) after the dtype.
    With ``shape``, ``values`` are only what a summarized print of a tensor of that shape shows (``edges``)."""
    prefix = "tensor("
    indent = len(prefix)
    shape = tuple(values.shape) if shape is None else tuple(shape)
    if math.prod(shape) == 0:
        body = "[]"
        extra = [] if len(shape) == 1 else [f"size={shape}"]
    else:
        summarize = summarized(shape)
        shown = _summarized(values) if summarize and values.shape == shape else values
        formatter = _ComplexFormatter(shown) if values.dtype.kind == "c" else _Formatter(shown)
        body = _nested(values, indent, summarize, formatter, shape)
        extra = []
    if values.dtype != defaults.current and values.dtype != _complex_of(defaults.current) and (
            values.dtype not in _DEFAULT_DTYPES or values.size == 0):  # an empty tensor names int64 and bool too, as PyTorch's
        extra.append(f"dtype=torch.{values.dtype.name}")
    return _with_suffixes(prefix + body, extra + suffixes, indent) + ")"


class _Formatter:
    """One number format for every element, chosen from the (summarized) values, as PyTorch's ``_Formatter``."""

    def __init__(self, values: np.ndarray):
        self.floating = is_floating(values.dtype)
        self.int_mode, self.sci_mode, self.width = True, False, 1
        if not self.floating:
            self.width = max(len(str(v)) for v in values.reshape(-1).tolist())
            return
        finite = values[np.isfinite(values) & (values != 0)].astype(np.float64)
        if finite.size == 0:
            return
        magnitudes = np.abs(finite)
        largest, smallest = float(magnitudes.max()), float(magnitudes.min())
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if SCI_MODE is not None:
            self.sci_mode = bool(SCI_MODE)
        elif self.int_mode:
            self.sci_mode = largest / smallest > 1000.0 or largest > 1.0e8
        else:
            self.sci_mode = largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
        self.width = max(len(self._plain(v)) for v in finite.tolist())

    def _plain(self, value: float) -> str:
        if self.sci_mode:
            return f"{value:.{PRECISION}e}"
        if self.int_mode:
            return f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        return f"{value:.{PRECISION}f}"

    def format(self, value) -> str:
        text = self._plain(value) if self.floating else str(value)
        return text.rjust(self.width)


class _ComplexFormatter:
    """PyTorch's complex format: the real parts' format, then the imaginary parts' with its sign and a ``j``."""

    def __init__(self, values: np.ndarray):
        self.real, self.imag = _Formatter(values.real), _Formatter(values.imag)
        self.width = self.real.width + self.imag.width + 1

    def format(self, value) -> str:
        imag = (self.imag.format(value.imag) + "j").lstrip()
        return self.real.format(value.real) + (imag if imag[0] in "+-" else "+" + imag)


def _complex_of(dtype):
    return np.dtype(np.complex128) if dtype == np.float64 else np.dtype(np.complex64)


def _summarized(values: np.ndarray) -> np.ndarray:
    """The first and last ``EDGEITEMS`` along every dim: the values the summarized print shows."""
    if values.ndim == 0:
        return values
    rows = list(range(EDGEITEMS)) + list(range(len(values) - EDGEITEMS, len(values))) if len(values) > 2 * EDGEITEMS else range(len(values))
    if values.ndim == 1:
        return values[list(rows)]
    return np.stack([_summarized(values[i]) for i in rows])


def _nested(values: np.ndarray, indent: int, summarize: bool, formatter: _Formatter, shape) -> str:
    """``values`` nested as PyTorch prints them; ``shape`` the tensor's (``values`` may hold only its edges: each cut
    dim then has 2 * EDGEITEMS rows, its first and last)."""
    if values.ndim == 0:
        return formatter.format(values.item())
    if values.ndim == 1:
        return _vector(values, indent, summarize and shape[0] > 2 * EDGEITEMS, formatter)
    long = summarize and shape[0] > 2 * EDGEITEMS
    rows = list(range(EDGEITEMS)) + [None] + list(range(len(values) - EDGEITEMS, len(values))) if long else range(len(values))
    slices = ["..." if i is None else _nested(values[i], indent + 1, summarize, formatter, shape[1:]) for i in rows]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _vector(values: np.ndarray, indent: int, cut: bool, formatter: _Formatter) -> str:
    per_line = max(1, (LINEWIDTH - indent) // (formatter.width + 2))
    if cut:
        items = [formatter.format(v) for v in values[:EDGEITEMS].tolist()] + [" ..."]
        items += [formatter.format(v) for v in values[-EDGEITEMS:].tolist()]
    else:
        items = [formatter.format(v) for v in values.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _with_suffixes(body: str, suffixes: list[str], indent: int) -> str:
    """``body, suffix, ...``, a suffix on a line of its own where it would pass the line width."""
    parts = [body]
    line = len(body) - body.rfind("\n") + 1
    for suffix in suffixes:
        if line + len(suffix) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + suffix)
            line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            line += len(suffix) + 2
    return "".join(parts)
