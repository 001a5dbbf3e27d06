"""Sixty-odd ops and operators over every pair of eight dtypes, against torch through a real server: the result's
dtype and values, or torch's refusal in its words; ``x //= y``, ``%=`` and ``**=`` in place."""

from __future__ import annotations

import math
import warnings

import pytest

import gradwire as gw
from tests.e2e._torch_compare import torch_words

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool"]
A, B = [3, -2, 0, 5], [2, 3, -1, 1]

OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "floordiv": lambda a, b: a // b, "mod": lambda a, b: a % b, "pow": lambda a, b: a ** b, "+=": lambda a, b: a.__iadd__(b),
    "*=": lambda a, b: a.__imul__(b), "/=": lambda a, b: a.__itruediv__(b), "//=": lambda a, b: a.__ifloordiv__(b),
    "%=": lambda a, b: a.__imod__(b), "**=": lambda a, b: a.__ipow__(2), "+= 1.5": lambda a, b: a.__iadd__(1.5),
    "eq": lambda a, b: a == b, "lt": lambda a, b: a < b, "and": lambda a, b: a & b, "<<": lambda a, b: a << b, "~": lambda a, b: ~a,
    "maximum": lambda a, b: a.maximum(b), "atan2": lambda a, b: a.atan2(b), "where": lambda a, b: (a > 0).where(a, b),
    "fmod": lambda a, b: a.fmod(b), "remainder": lambda a, b: a.remainder(b), "div_": lambda a, b: a.div_(b), "sub_": lambda a, b: a.sub_(b),
    "lerp": lambda a, b: a.lerp(b, 0.5), "addcmul": lambda a, b: a.addcmul(b, b), "clamp": lambda a, b: a.clamp(min=b),
    "copysign": lambda a, b: a.copysign(b), "div-floor": lambda a, b: a.div(b, rounding_mode="floor"),
    "div-trunc": lambda a, b: a.div(b, rounding_mode="trunc"), "isclose": lambda a, b: a.isclose(b),
    "dot": lambda a, b: a.dot(b), "matmul": lambda a, b: a.reshape(1, -1) @ b.reshape(-1, 1), "sums": lambda a, b: a.sum() + b.sum(),
    "mean": lambda a, b: a.mean(), "cumsum": lambda a, b: a.cumsum(0), "prod": lambda a, b: a.prod(), "neg": lambda a, b: -a,
    "abs": lambda a, b: a.abs(), "sqrt": lambda a, b: a.sqrt(), "exp": lambda a, b: a.exp(), "sign": lambda a, b: a.sign(),
    "round": lambda a, b: a.round(), "floor": lambda a, b: a.floor(), "argmax": lambda a, b: a.argmax(), "sort": lambda a, b: a.sort().values,
    "bincount": lambda a, b: a.bincount(), "logical_not": lambda a, b: a.logical_not(), "sigmoid": lambda a, b: a.sigmoid(),
    "relu": lambda a, b: a.relu(), "softmax": lambda a, b: a.softmax(0), "+ 2.5": lambda a, b: a + 2.5, "* 3": lambda a, b: a * 3,
    "1 -": lambda a, b: 1 - a, "2 **": lambda a, b: 2 ** a, "/ 2": lambda a, b: a / 2, "std": lambda a, b: a.std(), "norm": lambda a, b: a.norm(),
}


def _outcome(lib, session, f, a_dtype, b_dtype):
    make = torch.tensor if lib is torch else session.tensor
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (torch's and ours alike: a uint8 condition's deprecation)
            result = f(make(A).to(getattr(lib, a_dtype)), make(B).to(getattr(lib, b_dtype)))
        return "values", str(result.dtype), [round(v, 3) if v == v else "nan" for v in result.double().reshape(-1).tolist()]
    except Exception as error:  # noqa: BLE001 - the message is what is compared
        return "error", torch_words(error)


@pytest.mark.parametrize("name", sorted(OPS))
def test_an_op_over_every_pair_of_dtypes_is_torchs(session, name):
    for a_dtype in DTYPES:
        for b_dtype in DTYPES:
            theirs = _outcome(torch, session, OPS[name], a_dtype, b_dtype)
            assert _outcome(gw, session, OPS[name], a_dtype, b_dtype) == theirs, (a_dtype, b_dtype)


def test_augmented_assignments_write_in_place_as_torch(session):
    for lib, make in ((torch, torch.tensor), (gw, session.tensor)):
        x = make([7, -7, 9])
        alias = x
        x //= 2
        x %= 3
        x **= 2
        assert x is alias and alias.tolist() == [0, 4, 1]  # (7 // 2 = 3, -7 // 2 = -4; mod 3: 0, 2, 1)


def test_a_uint8_condition_is_taken_with_torchs_warning(session):
    with pytest.warns(UserWarning, match="where received a uint8 condition tensor"):
        out = gw.where(session.tensor([3, 0, 2], dtype=gw.uint8), session.ones(3), session.zeros(3))
    assert out.tolist() == [1.0, 0.0, 1.0]


ARANGES = [(0, 5, 1.5), (0, 1, 0.3), (0.5, 5, 1), (0, 5.5, 2), (1.5, 3, 1.2), (5, 0, -1.5), (0, 5.5, 1), (0.9, 3, 1), (0.9, 3.7, 0.7),
           (2.5, 9, 2.5), (3,), (0, 10, 3), (1, 0, 1), (0, 1, 0.25), (0, math.inf, 1)]


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "float32", "float64", None])
def test_arange_counts_and_fills_as_torch(session, dtype):
    """An int64 arange counts in int64 (bounds and step truncated: a step of 0.3 is refused); a narrower integer one
    counts from the bounds as given and fills start + i * step, both truncated; each refusal in torch's words."""
    for args in ARANGES:
        outcomes = []
        for lib, arange in ((torch, torch.arange), (gw, session.arange)):
            try:
                result = arange(*args, dtype=None if dtype is None else getattr(lib, dtype))
                outcomes.append(("values", str(result.dtype), result.tolist()))
            except Exception as error:  # noqa: BLE001 - the message is what is compared
                outcomes.append(("error", torch_words(error)))
        if dtype in ("float32", "float64", None) and outcomes[0][0] == "values":  # (a float arange's last bits are its kernel's)
            assert outcomes[1][:2] == outcomes[0][:2] and outcomes[1][2] == pytest.approx(outcomes[0][2], rel=1e-6), args
        else:
            assert outcomes[1] == outcomes[0], args


def test_reversed_and_a_matmul_of_scalars_as_torch(session):
    for lib, make in ((torch, torch.tensor), (gw, session.tensor)):
        assert reversed(make([[1, 2], [3, 4]])).tolist() == [[3, 4], [1, 2]] and reversed(make(5)).tolist() == 5
    with pytest.raises(RuntimeError, match="both arguments to matmul need to be at least 1D, but they are 0D and 1D"):
        (session.tensor(2.0) @ session.tensor([3.0])).item()
