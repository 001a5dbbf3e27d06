"""``gw.testing.assert_close``: ``torch.testing.assert_close`` for gradwire tensors, with torch's default tolerances
and messages.

Tensor-likes are gradwire tensors, NumPy arrays and (so that a result can be checked against PyTorch's directly)
torch tensors; a tensor-like is compared with any other tensor-like, where torch's own function pairs only a type
with itself. Devices are compared between two gradwire tensors (or two torch tensors), not between a gradwire tensor
and a local reference. Each gradwire tensor is fetched once (a sync point). Numbers, sequences and mappings are
compared as torch compares them, item by item.
"""

from __future__ import annotations

import collections.abc
import math
from numbers import Number

import numpy as np

from . import floats

# torch.testing's default (rtol, atol) per dtype; integers and bool compare exactly.
_DEFAULT_TOLERANCES = {
    np.dtype("float16"): (1e-3, 1e-5),
    np.dtype("float32"): (1.3e-6, 1e-5),
    np.dtype("float64"): (1e-7, 1e-7),
}
if floats.bfloat16 is not None:
    _DEFAULT_TOLERANCES[floats.bfloat16] = (1.6e-2, 1e-5)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close, as ``torch.testing.assert_close``.

    Close means ``|actual - expected| <= atol + rtol * |expected|`` elementwise (NaNs equal only with
    ``equal_nan=True``), after shape, device and (with ``check_dtype``) dtype agree. ``msg`` replaces the message,
    or (a callable) rewrites it. ``check_layout`` and ``check_stride`` are accepted for torch's signature: a
    gradwire tensor is always dense and laid out in order.
    """
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {missing}.")
    failure = _compare(actual, expected, (), rtol=rtol, atol=atol, equal_nan=equal_nan,
                       check_device=check_device, check_dtype=check_dtype)
    if failure is None:
        return
    message, path = failure
    if path:
        message += "\n\nThe failure occurred for item " + "".join(f"[{key!r}]" for key in path)
    raise AssertionError(msg if isinstance(msg, str) else msg(message) if callable(msg) else message)


def _is_tensor_like(value) -> bool:
    from .tensor import Tensor

    return isinstance(value, (Tensor, np.ndarray)) or type(value).__module__.startswith("torch") and hasattr(value, "detach")


def _compare(actual, expected, path, **options):
    """None when the pair is close, else (message, path of the failing item)."""
    if actual is None or expected is None:
        return None if actual is expected else (f"None mismatch: {actual} is not {expected}", path)
    if _is_tensor_like(actual) and _is_tensor_like(expected):
        message = _compare_tensors(actual, expected, **options)
        return None if message is None else (message, path)
    if isinstance(actual, Number) and isinstance(expected, Number):
        message = _compare_numbers(actual, expected, **options)
        return None if message is None else (message, path)
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            return f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path
        for index, (a, e) in enumerate(zip(actual, expected)):
            failure = _compare(a, e, path + (index,), **options)
            if failure is not None:
                return failure
        return None
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            return ("The keys of the mappings do not match:\n"
                    f"Missing keys in the actual mapping: {missing}\nAdditional keys in the actual mapping: {extra}"), path
        for key in actual:
            failure = _compare(actual[key], expected[key], path + (key,), **options)
            if failure is not None:
                return failure
        return None
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")


def _is_sequence(value) -> bool:
    return isinstance(value, collections.abc.Sequence) and not isinstance(value, (str, bytes))


def _fetch(value):
    """A tensor-like as (array, device string)."""
    from .tensor import Tensor

    if isinstance(value, Tensor):
        return value.detach().numpy(), str(value.device)
    if isinstance(value, np.ndarray):
        return value, "cpu"
    device = str(value.device)  # a torch tensor
    value = value.detach().cpu()
    if str(value.dtype) == "torch.bfloat16" and floats.bfloat16 is not None:  # (torch's numpy() refuses bfloat16)
        return value.float().numpy().astype(floats.bfloat16), "cpu" if device == "cpu" else device
    return value.numpy(), "cpu" if device == "cpu" else device


def _tolerances(dtypes, rtol, atol):
    if rtol is not None:
        return rtol, atol
    pairs = [_DEFAULT_TOLERANCES.get(dtype, (0.0, 0.0)) for dtype in dtypes]
    return max(pair[0] for pair in pairs), max(pair[1] for pair in pairs)


def _compare_tensors(actual, expected, *, rtol, atol, equal_nan, check_device, check_dtype):
    from .tensor import Tensor

    a, a_device = _fetch(actual)
    e, e_device = _fetch(expected)
    if isinstance(actual, Tensor) != isinstance(expected, Tensor):  # a local reference beside a remote result: its
        a_device = e_device  # device is this machine's, not a place the server's tensor could be; not compared
    if a.shape != e.shape:
        return f"The values for attribute 'shape' do not match: torch.Size({list(a.shape)}) != torch.Size({list(e.shape)})."
    if check_device and a_device != e_device:
        return f"The values for attribute 'device' do not match: {a_device} != {e_device}."
    if check_dtype and a.dtype != e.dtype:
        return f"The values for attribute 'dtype' do not match: torch.{a.dtype.name} != torch.{e.dtype.name}."
    rtol, atol = _tolerances((a.dtype, e.dtype), rtol, atol)
    if floats.is_bfloat16(a.dtype) or floats.is_bfloat16(e.dtype):  # compared in float32, where bfloat16 is exact
        a, e = (x.astype(np.float32) if floats.is_bfloat16(x.dtype) else x for x in (a, e))
    if a.dtype != e.dtype:
        common = np.result_type(a.dtype, e.dtype)
        a, e = a.astype(common), e.astype(common)
    matches = _close(a, e, rtol, atol, equal_nan)
    if matches.all():
        return None
    if a.ndim == 0:
        return _scalar_message(a.item(), e.item(), rtol, atol)
    if a.dtype.kind not in "fc":  # as torch: integers subtract in int64, the quotient in the default float dtype
        a, e = a.astype(np.int64), e.astype(np.int64)
    with np.errstate(all="ignore"):
        abs_diff = np.abs(a - e).ravel()
        abs_diff[matches.ravel()] = 0
        rel_diff = (abs_diff / np.abs(e).ravel()).astype(np.float32 if a.dtype.kind not in "fc" else abs_diff.dtype)
    rel_diff[matches.ravel()] = 0
    mismatched = matches.size - int(matches.sum())
    abs_at, rel_at = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))
    return _mismatch_message(
        "Tensor-likes", f"Mismatched elements: {mismatched} / {matches.size} ({mismatched / matches.size:.1%})",
        abs_diff[abs_at].item(), _unravel(abs_at, a.shape), rel_diff[rel_at].item(), _unravel(rel_at, a.shape), rtol, atol)


def _unravel(flat_index, shape):
    return tuple(int(i) for i in np.unravel_index(flat_index, shape))


def _close(a, e, rtol, atol, equal_nan):
    if a.dtype == np.bool_:
        return a == e
    with np.errstate(all="ignore"):
        error = np.abs(a - e)  # as torch.isclose: infinities match only themselves
        matches = (a == e) | (np.isfinite(error) & (error <= atol + rtol * np.abs(e))) if a.dtype.kind in "fc" else a == e
    if equal_nan and a.dtype.kind in "fc":
        matches |= np.isnan(a) & np.isnan(e)
    return np.asarray(matches)


def _compare_numbers(actual, expected, *, rtol, atol, equal_nan, check_device, check_dtype):
    if check_dtype and type(actual) is not type(expected):
        return f"The (d)types do not match: {type(actual)} != {type(expected)}."
    kinds = [np.dtype("float64") if isinstance(v, (float, complex)) else np.dtype("int64") for v in (actual, expected)]
    rtol, atol = _tolerances(kinds, rtol, atol)
    if actual == expected or (equal_nan and _isnan(actual) and _isnan(expected)):
        return None
    if math.isfinite(abs(actual - expected)) and abs(actual - expected) <= atol + rtol * abs(expected):
        return None
    return _scalar_message(actual, expected, rtol, atol)


def _isnan(value) -> bool:
    return isinstance(value, (float, complex)) and math.isnan(abs(value))


def _scalar_message(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_message("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, rel_diff, None, rtol, atol)


def _mismatch_message(identifier, extra, abs_diff, abs_at, rel_diff, rel_at, rtol, atol):
    equality = rtol == 0 and atol == 0

    def line(kind, diff, at, tolerance):
        text = f"{kind.title()} difference: {diff}" if at is None else f"Greatest {kind} difference: {diff} at index {at}"
        return text + ("" if equality else f" (up to {tolerance} allowed)")

    return (f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra}\n"
            f"{line('absolute', abs_diff, abs_at, atol)}\n{line('relative', rel_diff, rel_at, rtol)}")
