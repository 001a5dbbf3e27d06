"""The client's shape inference for indexing and broadcasting, against NumPy's own result."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gradwire.shapes import broadcast2, index_shape

ENDS = st.none() | st.integers(-7, 7)
PARTS = st.integers(-7, 7) | st.builds(slice, ENDS, ENDS, st.none() | st.integers(-3, 3))


@settings(max_examples=400, deadline=None)
@given(shape=st.lists(st.integers(0, 5), max_size=4).map(tuple), data=st.data())
def test_index_shape_of_ints_and_slices_is_numpys(shape, data):
    parts = data.draw(st.lists(PARTS, max_size=len(shape) + 1))
    try:
        expected = np.zeros(shape)[tuple(parts)].shape
    except (IndexError, TypeError, ValueError):
        expected = None  # the server says what is wrong
    assert index_shape(shape, parts) == expected


def test_index_shape_with_none_ellipsis_and_arrays_is_numpys():
    shape = (4, 5, 6)
    for parts in ([None, 1], [Ellipsis, 2], [np.array([0, 3]), slice(1, 3)], [True], [np.int64(2)]):
        assert index_shape(shape, parts) == np.zeros(shape)[tuple(parts)].shape, parts


class IndexTensor:
    """What index_shape reads of a tensor: its shape and dtype."""

    def __init__(self, shape, dtype):
        self._shape, self._dtype = shape, np.dtype(dtype)


SHAPES = st.lists(st.integers(0, 3), max_size=3).map(tuple)


@settings(max_examples=400, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=4).map(tuple), data=st.data())
def test_index_shape_of_integer_tensors_is_numpys(shape, data):
    # x[rows, targets]: integer tensors only (the zeros NumPy indexes with stand for any values in range)
    index_shapes = data.draw(st.lists(SHAPES, min_size=1, max_size=len(shape)))
    dtype = data.draw(st.sampled_from(["int64", "int32"]))
    parts = [IndexTensor(s, dtype) for s in index_shapes]
    try:
        expected = np.zeros(shape)[tuple(np.zeros(s, np.intp) if s else 0 for s in index_shapes)].shape
    except (IndexError, ValueError):
        expected = None
    assert index_shape(shape, parts) == expected


def test_a_mask_or_a_float_tensor_as_an_index_has_no_shape_here():
    assert index_shape((4, 5), [IndexTensor((4,), "uint8")]) is None  # a mask: its values decide
    assert index_shape((4, 5), [IndexTensor((4,), "float32")]) is None


@settings(max_examples=400, deadline=None)
@given(a=SHAPES, b=SHAPES)
def test_broadcast2_is_numpys(a, b):
    try:
        expected = np.broadcast_shapes(a, b)
    except ValueError:
        expected = None
    try:
        got = broadcast2(a, b)
    except ValueError:
        got = None
    assert got == expected


def test_an_op_the_server_will_refuse_has_no_shape_here():
    """Where the shapes do not fit (torch raises), the client infers none: ``x.shape`` then asks the server, which
    gives the op's error, rather than answering for an op that failed."""
    from gradwire.shapes import infer

    def t(*shape):
        return IndexTensor(shape, "float32")

    refused = [("matmul", (t(2, 3), t(2, 3)), {}), ("matmul", (t(3), t(2)), {}), ("matmul", (t(4, 2, 3), t(2)), {}),
               ("linear", (t(2, 3), t(4, 5)), {}), ("expand", (t(3),), {"sizes": (2, 2)}), ("expand", (t(2, 3),), {"sizes": (3,)}),
               ("stack", (t(1), t(2)), {"dim": 0}), ("conv2d", (t(1, 3, 5, 5), t(4, 2, 2, 2)), {}),
               ("conv_transpose2d", (t(1, 3, 4, 4), t(2, 2, 2, 2)), {}), ("masked_fill", (t(2, 3), t(4, 3)), {}),
               ("gather", (t(2, 3), t(3, 3)), {"dim": 1}), ("max_pool2d", (t(1, 1, 1, 1),), {"kernel_size": 2}),
               ("layer_norm", (t(2, 3),), {"normalized_shape": (4,)}), ("embedding", (t(1, 2), t(3)), {}),
               ("permute", (t(2, 3),), {"dims": (0, 0)}), ("einsum", (t(2, 3), t(2, 4)), {"equation": "ij,ij->ij"})]
    for op, inputs, params in refused:
        assert infer(op, inputs, params) is None, op
    fits = [("matmul", (t(2, 3), t(3, 4)), {}, (2, 4)), ("matmul", (t(3), t(3)), {}, ()), ("linear", (t(5, 2, 3), t(4, 3)), {}, (5, 2, 4)),
            ("expand", (t(2, 1),), {"sizes": (3, 2, -1)}, (3, 2, 1)), ("stack", (t(2), t(2)), {"dim": -1}, (2, 2)),
            ("conv2d", (t(1, 4, 5, 5), t(6, 2, 2, 2)), {"groups": 2}, (1, 6, 4, 4)), ("masked_fill", (t(2, 3), t(3)), {}, (2, 3)),
            ("gather", (t(2, 3), t(2, 2)), {"dim": 1}, (2, 2)), ("layer_norm", (t(2, 3),), {"normalized_shape": (3,)}, (2, 3)),
            ("permute", (t(2, 3, 4),), {"dims": (2, -3, 1)}, (4, 2, 3)), ("einsum", (t(1, 3), t(2, 3)), {"equation": "ij,ij->ij"}, (2, 3))]
    for op, inputs, params, shape in fits:
        assert infer(op, inputs, params)[0] == shape, op
