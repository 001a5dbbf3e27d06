"""The backend's paths for an array module other than NumPy (CuPy on a GPU), checked here on the CPU.

``as_cupy`` is NumPy with CuPy's differences that the engine works around (the first GPU check found each):
``add.at`` refuses complex arrays, ``maximum.at``/``minimum.at`` round float64 values through float32 and
there is no ``multiply.at``, ``floor_divide`` floors the rounded quotient, and a generator's bit generator
keeps its cuRAND states in a device array with only their address public. Every result must equal NumPy's own.
"""

import types

import numpy as np
import pytest

from gradwire_server.engine import backend, ops


class _AddRefusingComplex:
    def __call__(self, *args, **kwargs):
        return np.add(*args, **kwargs)

    @staticmethod
    def at(out, where, values):
        if out.dtype.kind == "c" or np.asarray(values).dtype.kind == "c":
            raise TypeError("cupy.add.at only supports int32, int64, float16, float32, float64, uint32, uint64 as data type")
        np.add.at(out, where, values)


class _Float32Extreme:
    def __init__(self, ufunc):
        self.ufunc = ufunc

    def __call__(self, *args, **kwargs):
        return self.ufunc(*args, **kwargs)

    def at(self, out, where, values):
        rounded = out.astype(np.float32)
        self.ufunc.at(rounded, where, np.asarray(values).astype(np.float32))
        out[...] = rounded


def _as_cupy():
    module = types.SimpleNamespace(**{name: getattr(np, name) for name in dir(np) if not name.startswith("__")})
    module.add = _AddRefusingComplex()
    module.maximum, module.minimum = _Float32Extreme(np.maximum), _Float32Extreme(np.minimum)
    module.multiply = np.vectorize(np.multiply)  # a ufunc-like without .at
    module.floor_divide = lambda x, y: np.floor(np.true_divide(x, y)) if np.result_type(x, y).kind == "f" else np.floor_divide(x, y)
    return module


as_cupy = _as_cupy()


def test_floor_division_is_pythons_on_a_module_that_floors_the_rounded_quotient():
    values = np.array([1.0, -1.0, 7.0, 0.0, -0.0, 5.0, -5.0, 3.5, np.inf, -np.inf, np.nan, 1e300, 69.99999])
    x, y = np.meshgrid(values, np.array([0.1, -0.1, 3.0, -3.0, 2.0, np.inf, -np.inf, 0.0, -0.0, 1e-300, np.nan]))
    assert as_cupy.floor_divide(1.0, 0.1) == 10.0  # (the stand-in's own: the difference this guards)
    with np.errstate(all="ignore"):
        ours, numpys = backend.floor_divide(as_cupy, x, y), np.floor_divide(x, y)
    np.testing.assert_array_equal(ours, numpys)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(numpys))  # -0.0 where Python gives -0.0
    small = backend.floor_divide(as_cupy, np.array([1.0, -1.0], np.float32), np.float32(0.1))
    assert small.dtype == np.float32 and small.tolist() == [9.0, -10.0]
    ints = backend.floor_divide(as_cupy, np.array([7, -7]), np.array([2, 2]))
    assert ints.tolist() == [3, -4] and ints.dtype.kind == "i"


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_add_at_on_complex_arrays_adds_both_parts_where_the_module_refuses_them(dtype):
    rng = np.random.default_rng(0)
    out = (rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))).astype(dtype)
    where = (np.array([0, 2, 0, 3]),)
    values = (rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))).astype(dtype)
    expected = out.copy()
    np.add.at(expected, where, values)
    backend.add_at(as_cupy, out, where, values)
    np.testing.assert_array_equal(out, expected)
    real_values = rng.standard_normal((4, 3))
    np.add.at(expected, where, real_values)
    backend.add_at(as_cupy, out, where, real_values)
    np.testing.assert_allclose(out, expected, rtol=1e-6)



def test_embeddings_gradient_of_a_complex_weight_where_add_at_refuses_complex():
    from gradwire_server.engine import nn

    rng = np.random.default_rng(1)
    indices = np.array([[0, 2], [2, 3]])
    weight = np.zeros((5, 3), np.complex64)
    g = (rng.standard_normal((2, 2, 3)) + 1j * rng.standard_normal((2, 2, 3))).astype(np.complex64)
    ours = nn.embedding_grad(as_cupy, g, None, indices, weight, padding_idx=3)
    expected = nn.embedding_grad(np, g, None, indices, weight, padding_idx=3)
    np.testing.assert_array_equal(ours, expected)
    assert ours[2].tolist() == (g[0, 1] + g[1, 0]).tolist() and not ours[3].any()  # a repeated row adds; the padding row none

@pytest.mark.parametrize("index_dtype", [np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("row_shape", [(3,), (2, 4)])
def test_add_at_of_whole_rows_sums_as_numpys_add_at(index_dtype, row_shape):
    """Rows picked by one index array go through flat element indices on NumPy: the same sums to the bit, repeated and
    (signed) negative rows included."""
    rng = np.random.default_rng(2)
    rows = np.array([4, 0, 4, -1, 2, 4, -5] if index_dtype != np.uint8 else [4, 0, 4, 1, 2, 4, 0]).astype(index_dtype)
    out = rng.standard_normal((5,) + row_shape).astype(np.float32)
    values = rng.standard_normal(rows.shape + row_shape).astype(np.float32) * 1e3  # big against small: order shows
    expected = out.copy()
    np.add.at(expected, rows.astype(np.int64), values)
    for where in (rows, (rows,)):
        ours = out.copy()
        backend.add_at(np, ours, where, values)
        np.testing.assert_array_equal(ours, expected)


def test_add_at_of_rows_out_of_range_raises_numpys_index_error():
    out = np.zeros((3, 2))
    for bad in (3, -4):
        with pytest.raises(IndexError, match=f"index {bad} is out of bounds for axis 0 with size 3"):
            backend.add_at(np, out, np.array([0, bad]), np.ones((2, 2)))
    assert not out.any()


@pytest.mark.parametrize("name", ["maximum", "minimum", "multiply", "add"])
def test_reduce_at_is_numpys_in_float64_on_another_module(name):
    rng = np.random.default_rng(1)
    out = rng.standard_normal((3, 5))
    where = (np.array([[0, 1, 0], [2, 2, 0]]), np.array([[1, 1, 1], [4, 4, 0]]))  # positions named twice and thrice
    values = rng.standard_normal((2, 3))
    values[0, 2] = 0.0 if name == "multiply" else values[0, 2]
    expected = out.copy()
    getattr(np, name).at(expected, where, values)
    ours = out.copy()
    ops.reduce_at(as_cupy, name, ours, where, values)
    if name == "multiply":  # (through sums of logarithms)
        np.testing.assert_allclose(ours, expected, rtol=1e-12)
    else:
        np.testing.assert_array_equal(ours, expected)


def test_a_numpy_generators_state_goes_back_and_forth_as_bytes():
    generator = np.random.default_rng(5)
    state = backend.generator_state(np, generator)
    assert state.dtype == np.uint8 and state.ndim == 1
    first = generator.standard_normal(4)
    backend.set_generator_state(np, generator, state)
    np.testing.assert_array_equal(generator.standard_normal(4), first)
    with pytest.raises(ValueError):
        backend.set_generator_state(np, generator, np.frombuffer(b"not a state", np.uint8))


class _CuRandLike:
    """CuPy's bit generator as far as the backend reads it: the states in a device array, ``state()`` their address."""

    def __init__(self, seed):
        self._state = np.random.default_rng(seed).integers(-128, 128, 96, dtype=np.int8)

    def state(self):
        return self._state.ctypes.data

    def draw(self):  # (stands in for a kernel that advances the states)
        self._state += 1
        return int(self._state.astype(np.int64).sum())


def test_a_curand_generators_states_are_copied_out_and_back():
    generator = types.SimpleNamespace(bit_generator=_CuRandLike(3))
    state = backend.generator_state(np, generator)
    assert state.dtype == np.uint8 and state.nbytes == 96
    first = generator.bit_generator.draw()
    assert state.tobytes() != generator.bit_generator._state.tobytes()  # a copy, not a view of the live states
    backend.set_generator_state(np, generator, state)
    assert generator.bit_generator.draw() == first
    with pytest.raises(ValueError, match="expected 96 bytes"):
        backend.set_generator_state(np, generator, state[:10])


class _Saturating(np.ndarray):
    """An array whose float-to-integer casts saturate, as CUDA's conversions do (-1.5 to uint8 is 0)."""

    def astype(self, dtype, *args, **kwargs):
        dtype = np.dtype(dtype)
        if self.dtype.kind == "f" and dtype.kind in "iu":
            info = np.iinfo(dtype)
            return np.asarray(self).clip(info.min, info.max).astype(dtype, *args, **kwargs).view(_Saturating)
        return np.asarray(self).astype(dtype, *args, **kwargs).view(_Saturating)


def test_floats_cast_to_narrow_integers_wrap_as_pytorchs_where_the_device_saturates():
    x = np.array([300.7, -1.5, 127.9, 200.0, -129.0], dtype=np.float32).view(_Saturating)
    assert x.astype(np.uint8).tolist() == [255, 0, 127, 200, 0]  # (the stand-in's own: the difference this guards)
    assert ops._to(np, x, np.dtype(np.uint8)).tolist() == [44, 255, 127, 200, 127]
    assert ops._to(np, x, np.dtype(np.int8)).tolist() == [44, -1, 127, -56, 127]
    assert ops._to(np, x, np.dtype(np.int64)).tolist() == [300, -1, 127, 200, -129]
    assert ops._to(np, np.array([1 + 2j]), np.dtype(np.float64)).tolist() == [1.0]
