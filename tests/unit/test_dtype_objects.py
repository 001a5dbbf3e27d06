"""``gw.dtype``: gradwire's dtypes print and answer as torch's (``torch.float32``, ``is_floating_point``, ...) and
still serve as the NumPy dtypes they stand for. No server: the objects live in the SDK."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

NAMES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128", "uint8", "int8", "int16", "int32",
         "int64", "bool"]
ALIASES = ["half", "float", "double", "cfloat", "cdouble", "short", "int", "long"]


def _pair(name):
    return getattr(gw, name), getattr(torch, name)


def _outcome(f):
    """f()'s answer as a string, or its exception's type."""
    try:
        return str(f())
    except Exception as e:  # noqa: BLE001 - the kind of refusal is what is compared
        return type(e).__name__


@pytest.mark.parametrize("name", NAMES + ALIASES)
def test_a_dtype_prints_and_answers_as_torchs(name):
    ours, theirs = _pair(name)
    assert repr(ours) == repr(theirs) and str(ours) == str(theirs) and f"{ours}" == f"{theirs}"
    for attribute in ("is_floating_point", "is_complex", "is_signed", "itemsize", "abbr"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert str(ours.to_real()) == str(theirs.to_real())
    assert isinstance(ours, gw.dtype) and isinstance(ours.to_real(), gw.dtype)


@pytest.mark.parametrize("name", NAMES)
def test_to_complex_as_torch_where_gradwire_has_the_dtype(name):
    ours, theirs = _pair(name)
    expected = _outcome(theirs.to_complex)
    if name == "float16":  # torch's complex32, which gradwire lacks: a TypeError that says so
        with pytest.raises(TypeError, match="complex32"):
            ours.to_complex()
    else:
        assert _outcome(ours.to_complex) == expected
    if expected == "RuntimeError":
        with pytest.raises(RuntimeError) as ours_error:
            ours.to_complex()
        with pytest.raises(RuntimeError) as theirs_error:
            theirs.to_complex()
        assert str(ours_error.value) == str(theirs_error.value)


def test_one_object_per_dtype_as_torchs():
    assert gw.float is gw.float32 and gw.long is gw.int64 and gw.bool is gw.bool_ and gw.half is gw.float16
    for name in NAMES:
        d = getattr(gw, name)
        assert pickle.loads(pickle.dumps(d)) is d and copy.deepcopy(d) is d and copy.copy(d) is d
    assert gw.get_default_dtype() is gw.float32 and gw.promote_types(gw.int64, gw.float16) is gw.float16
    with pytest.raises(TypeError, match="cannot create"):
        gw.dtype()


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64", "complex64", "int8", "int64", "bool"])
def test_a_dtype_still_serves_as_the_numpy_dtype(name):
    ours = getattr(gw, name)
    numpy_dtype = np.dtype(ours)
    assert ours == numpy_dtype and numpy_dtype == ours and hash(ours) == hash(numpy_dtype)
    assert {numpy_dtype: 1}[ours] == 1 and ours in {numpy_dtype} and ours != ("float64" if name != "float64" else "int8")
    assert np.zeros(2, dtype=ours).dtype == numpy_dtype and np.ones(3).astype(ours).dtype == numpy_dtype
    assert ours.kind == numpy_dtype.kind and ours.type is numpy_dtype.type and ours.itemsize == numpy_dtype.itemsize
    assert ours != gw.float32 if name != "float32" else ours == np.float32


def test_set_default_dtype_takes_them_and_get_default_dtype_gives_them():
    try:
        gw.set_default_dtype(gw.float64)
        assert gw.get_default_dtype() is gw.float64 and repr(gw.get_default_dtype()) == "torch.float64"
    finally:
        gw.set_default_dtype(gw.float32)
    assert gw.get_default_dtype() is gw.float32


def test_legacy_types_and_typename_name_the_dtype_objects():
    assert gw.LongTensor.dtype is gw.int64 and gw.FloatTensor.dtype is gw.float32 and gw.BFloat16Tensor.dtype is gw.bfloat16
    assert repr(gw.DoubleTensor.dtype) == repr(torch.DoubleTensor.dtype)
    assert gw.typename(gw.float32) == "gradwire.dtype" and torch.typename(torch.float32) == "torch.dtype"
