"""The client's shape inference for indexing, against NumPy's own result."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gradwire.shapes import index_shape

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
