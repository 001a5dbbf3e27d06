"""PyTorch's maths at its edges, against torch through a real server: NaN, inf, ties, zeros and empty inputs, integer
inputs of float functions, the dtypes of mixed operands, and the special functions of their own (values, dtypes and
gradients as torch 2.x on the CPU)."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw
from tests.e2e._torch_compare import assert_matches_torch, assert_same_error

torch = pytest.importorskip("torch")

NAN, INF = np.nan, np.inf
A = np.array


@pytest.fixture(scope="module")
def shared(server):
    s = gw.connect(server.address, seed=0, timeout=10)
    yield s
    s.close()


def _tensor(lib, values, dtype):
    return lib.tensor(values, dtype=getattr(lib, dtype))


CASES = {
    # where: an int beside bool tensors makes them int64
    "where-bool-int": (lambda lib: lib.where(_tensor(lib, [True, False, True], "bool"), _tensor(lib, [True, False, True], "bool"), 3) + 1,),
    "bool-lshift-int": (lambda lib: _tensor(lib, [True, False], "bool") << 3,),
    # median, quantile and mode with NaN; median's gradient at ties
    "median-nan": (lambda lib, x: x.median(), A([1.0, NAN, 3.0, NAN])),
    "median-dim-nan": (lambda lib, x: x.median(1), A([[1.0, NAN, 3.0, NAN], [3.0, 1.0, 2.0, 0.0]])),
    "median-ties": (lambda lib, x: x.median(), A([3.0, 3.0, 1.0, 1.0])),
    "median-ties-odd": (lambda lib, x: x.median(), A([3.0, 1.0, 3.0, 1.0, 2.0])),
    "median-empty": (lambda lib: lib.tensor([]).median(),),
    "median-int-dim": (lambda lib: _tensor(lib, [[3, 1, 2], [1, 1, 5]], "int64").median(1),),
    "quantile-nan": (lambda lib, x: x.quantile(0.5), A([1.0, NAN, 3.0])),
    "quantile-nan-dim": (lambda lib, x: x.quantile(0.5, 0), A([[1.0, NAN, 3.0], [1.0, 2.0, 3.0]])),
    "quantile-inf": (lambda lib, x: x.quantile(0.5), A([INF, INF, INF])),
    "quantile-0d-q-tensor": (lambda lib: lib.tensor(2.0).quantile(lib.tensor([0.1, 0.5]), dim=0),),
    "nanquantile-neg-inf": (lambda lib, x: x.nanquantile(0.3), A([-INF, 1.0, 2.0])),
    # mode, topk and kthvalue with ties: the values are torch's; which of equal elements' indices comes back is left to
    # the kernel (torch's CPU one is not stable), so the indices are checked in the test below instead. (With NaN
    # torch's mode follows std::sort's unspecified order: not compared.)
    # gradients at the edges
    "std-zero": (lambda lib, x: x.std(0), A([[1.0, 2.0], [1.0, 3.0]])),
    "std_mean-zero": (lambda lib, x: lib.std_mean(x, 0), A([[1.0, 2.0], [1.0, 3.0]])),
    "xlogy-zero": (lambda lib, x, y: lib.xlogy(x, y), A([0.0, 0.0, 1.0]), A([2.0, NAN, 3.0])),
    "xlog1py-zero": (lambda lib, x, y: lib.special.xlog1py(x, y), A([0.0, 0.0, 1.0]), A([2.0, NAN, 3.0])),
    "entr-edges": (lambda lib, x: lib.special.entr(x), A([0.0, -1.0, 1.0, 2.0, NAN])),
    "logit-edges": (lambda lib, x: lib.logit(x), A([0.0, 1.0, -1.0, 2.0, 0.5])),
    "logit-eps": (lambda lib, x: lib.logit(x, 0.1), A([0.0, 1.0, -1.0, 2.0, 0.5])),
    "clamp-nan-bound": (lambda lib, x, lo: lib.clamp(x, min=lo), A([1.0, 2.0, 3.0]), A([NAN, 0.0, 5.0])),
    "maximum-nan": (lambda lib, x, y: lib.maximum(x, y), A([1.0, NAN, NAN, 2.0]), A([NAN, 1.0, NAN, 2.0])),
    "minimum-nan": (lambda lib, x, y: lib.minimum(x, y), A([1.0, NAN, NAN, 2.0]), A([NAN, 1.0, NAN, 2.0])),
    "atan2-origin": (lambda lib, y, x: lib.atan2(y, x), A([0.0, 0.0, 1.0]), A([0.0, -0.0, 2.0])),
    "logaddexp-inf": (lambda lib, x, y: lib.logaddexp(x, y), A([INF, INF, -INF, 1.0]), A([INF, 1.0, -INF, INF])),
    "nanmean-all-nan": (lambda lib, x: x.nanmean(1), A([[NAN, NAN], [1.0, NAN]])),
    "prod-nan-inf": (lambda lib, x: x.prod(1), A([[1.0, NAN, 2.0], [1.0, INF, 2.0]])),
    "cumprod-nan": (lambda lib, x: x.cumprod(0), A([1.0, NAN, 2.0])),
    "cumprod-inf": (lambda lib, x: x.cumprod(0), A([1.0, INF, 2.0])),
    "cumprod-zero-inf": (lambda lib, x: x.cumprod(0), A([1.0, 0.0, INF, 2.0])),
    "relu-nan": (lambda lib, x: x.relu(), A([NAN, -1.0, 0.0, 2.0])),
    "abs-nan": (lambda lib, x: x.abs(), A([NAN, -1.0, 0.0, 2.0])),
    "acosh-minus-one": (lambda lib, x: x.acosh(), A([-1.0, 1.0, 2.0])),
    "copysign-inf": (lambda lib, x, y: lib.copysign(x, y), A([INF, -INF, 2.0, 0.0]), A([-1.0, 1.0, -1.0, -1.0])),
    # pow at a zero base: d/dy is inf * -inf = -inf for y < 0, 0 for y >= 0; torch's kernel for ** -0.5 is 1 / sqrt
    "pow-zero-base": (lambda lib, x, y: x ** y, A([0.0, 0.0, 0.0, 2.0, 0.0]), A([-1.0, 0.0, 2.0, -0.5, -0.5])),
    "pow-number-zero-base": (lambda lib, y: 0.0 ** y, A([-1.0, 0.0, 2.0, -2.5])),
    "pow-negative-zero-half": (lambda lib, x: (x ** 0.5, x ** -0.5), A([-0.0, 0.0, 4.0])),
    # values at the edges
    "isclose-inf": (lambda lib: lib.isclose(lib.tensor([1.0, INF, -INF, INF, NAN]), lib.tensor([INF, INF, INF, 1.0, NAN])),),
    "sign-nan": (lambda lib, x: x.sign(), A([NAN, -0.0, 1.0, -2.0])),
    "angle-negative-zero": (lambda lib, x: x.angle(), A([-0.0, 0.0, -1.0, NAN])),
    "lgamma-neg-inf": (lambda lib, x: x.lgamma(), A([-INF, INF, 0.5])),
    "hypot-inf-nan": (lambda lib, x, y: lib.hypot(x, y), A([INF, NAN, -INF, 3.0]), A([NAN, INF, NAN, 4.0])),
    # integer inputs of float functions: made float first
    "logit-uint8": (lambda lib: lib.logit(_tensor(lib, [2, 3], "uint8")),),
    "entr-uint8": (lambda lib: lib.special.entr(_tensor(lib, [2, 3], "uint8")),),
    "ndtri-uint8": (lambda lib: lib.special.ndtri(_tensor(lib, [0, 1], "uint8")),),
    "xlogy-int-number": (lambda lib: lib.xlogy(_tensor(lib, [1, 0, 2], "int64"), -2),),
    "xlogy-half-int8": (lambda lib: lib.xlogy(_tensor(lib, [1.0, 2.0], "float16"), _tensor(lib, [1, 2], "int8")),),
    # dtypes
    "pow-int-negative-tensor": (lambda lib: _tensor(lib, [2, 3, -2, 1, -1, 0], "int64") ** _tensor(lib, [-1, 2, -1, -2, -3, -1], "int64"),),
    "pow-number-negative-tensor": (lambda lib: 2 ** _tensor(lib, [-1, 2], "int64"),),
    "sum-dtype-int8": (lambda lib: _tensor(lib, [100, 100], "int8").sum(dtype=lib.int8),),
    "cumsum-dtype": (lambda lib: _tensor(lib, [1, 2], "int64").cumsum(0, dtype=lib.float32),),
    "cumprod-dtype": (lambda lib: _tensor(lib, [1, 2], "int64").cumprod(0, dtype=lib.float64),),
    "prod-dtype": (lambda lib: _tensor(lib, [1, 2], "int64").prod(dtype=lib.float64),),
    "all-any-uint8": (lambda lib: (_tensor(lib, [1, 2], "uint8").all(), _tensor(lib, [0, 2], "uint8").any(0)),),
    "cumsum-0d": (lambda lib: _tensor(lib, 3, "int64").cumsum(0),),
    "logsumexp-empty-dim": (lambda lib: lib.zeros(2, 0).logsumexp(1),),
    # special functions of their own
    "i0e": (lambda lib, x: lib.special.i0e(x), A([0.0, 1.0, -2.0, 30.0])),
    "i1": (lambda lib, x: lib.special.i1(x), A([0.0, 1.0, -2.0])),
    "i1e": (lambda lib, x: lib.special.i1e(x), A([0.0, 1.0, -2.0, 30.0])),
    "i1-int": (lambda lib: lib.special.i1(_tensor(lib, [1, 2], "int64")),),
    "bessel_j0-j1": (lambda lib: (lib.special.bessel_j0(lib.tensor([0.0, 1.0, -2.0])), lib.special.bessel_j1(lib.tensor([0.0, 1.0, -2.0]))),),
    "gammainc": (lambda lib, x: lib.special.gammainc(lib.tensor([1.0, 2.0, 0.5], dtype=lib.float64), x), A([2.0, 3.0, 0.1])),
    "gammaincc": (lambda lib, x: lib.special.gammaincc(lib.tensor([1.0, 2.0, 0.5], dtype=lib.float64), x), A([2.0, 3.0, 0.1])),
    "zeta": (lambda lib, q: lib.special.zeta(lib.tensor([2.0, 3.0], dtype=lib.float64), q), A([2.0, 3.0])),
    "zeta-int": (lambda lib: lib.special.zeta(_tensor(lib, [2, 3], "int64"), _tensor(lib, [1, 2], "int64")),),
    "multigammaln": (lambda lib, x: lib.special.multigammaln(x, 3), A([2.0, 3.5])),
    "ndtri": (lambda lib, x: lib.special.ndtri(x), A([0.1, 0.5, 0.0, 1.0])),
    "lerp-far": (lambda lib, x, y: lib.lerp(x, y, 0.7), A([-INF, 1.0]), A([1.0, 2.0])),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(shared, name):
    f, *arrays = CASES[name]
    assert_matches_torch(shared, f, *arrays, rtol=1e-6, atol=1e-9)


TIES = {
    "mode-ties": (lambda lib, x: x.mode(1), A([[1.0, 2.0, 2.0, 1.0], [3.0, 3.0, 1.0, 1.0]]), 1),
    "topk-ties": (lambda lib, x: x.topk(2), A([1.0, 3.0, 3.0, 3.0]), -1),
    "topk-ties-smallest": (lambda lib, x: x.topk(2, largest=False), A([[1.0, 3.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0]]), -1),
    "topk-ties-long": (lambda lib, x: x.topk(5, 1), np.round(np.random.default_rng(3).standard_normal((3, 40))), 1),
    "kthvalue-ties": (lambda lib, x: x.kthvalue(2), A([2.0, 1.0, 1.0, 1.0]), -1),
    "kthvalue-nan-keepdim": (lambda lib, x: x.kthvalue(2, 0, True), A([[2.0, 1.0], [1.0, 1.0], [1.0, NAN]]), 0),
    "kthvalue-ties-long": (lambda lib, x: x.kthvalue(7, 1), np.round(np.random.default_rng(4).standard_normal((3, 30))), 1),
}


@pytest.mark.parametrize("name", sorted(TIES))
def test_selections_among_ties_give_torchs_values_and_indices_of_them(session, name):
    f, array, dim = TIES[name]
    values, indices = f(gw, session.tensor(array))
    t_values, _ = f(torch, torch.from_numpy(array))
    np.testing.assert_array_equal(values.numpy(), t_values.numpy())
    keep = values.ndim == array.ndim
    picked = np.take_along_axis(array, indices.numpy() if keep else np.expand_dims(indices.numpy(), dim), dim)
    np.testing.assert_array_equal(picked if keep else picked.squeeze(dim), values.numpy())  # each index points at its value


ERRORS = {
    "bool-remainder": lambda lib: lib.tensor([True, False]) % lib.tensor([True, True]),
    "bool-floor-divide": lambda lib: lib.tensor([True, False]) // lib.tensor([True, True]),
    "bool-fmod": lambda lib: lib.fmod(lib.tensor([True, False]), lib.tensor([True, True])),
    "bool-neg": lambda lib: -lib.tensor([True, False]),
    "bool-sub-bool": lambda lib: lib.tensor([True, False]) - lib.tensor([True, True]),
    "bool-sub-int": lambda lib: lib.tensor([True, False]) - 1,
    "int-sub-bool": lambda lib: 1 - lib.tensor([True, False]),
    "int8-sub-bool": lambda lib: lib.tensor([1, 2], dtype=lib.int8) - lib.tensor([True, False]),
    "bool-sub_-bool": lambda lib: lib.tensor([True, False]).sub_(lib.tensor([True, True])),
    "int8-sub_-bool": lambda lib: lib.tensor([1, 2], dtype=lib.int8).sub_(lib.tensor([True, False])),
    "empty-max": lambda lib: lib.tensor([]).max(),
    "empty-amax": lambda lib: lib.tensor([]).amax(),
    "empty-amin": lambda lib: lib.tensor([]).amin(),
    "uint8-negative-power": lambda lib: lib.tensor([2], dtype=lib.uint8) ** -2,
    "hypot-int": lambda lib: lib.hypot(lib.tensor([1, 2]), lib.tensor([1, 2])),
    "logaddexp-int": lambda lib: lib.logaddexp(lib.tensor([1, 2]), lib.tensor([1, 2])),
    "topk-bool": lambda lib: lib.tensor([True, False]).topk(1),
    "kthvalue-bool": lambda lib: lib.tensor([True, False]).kthvalue(1),
    "median-bool": lambda lib: lib.tensor([True, False]).median(),
    "quantile-int": lambda lib: lib.tensor([1, 2]).quantile(0.5),
    "quantile-half": lambda lib: lib.tensor([1.0, 2.0]).half().quantile(0.5),
    "quantile-empty": lambda lib: lib.tensor([]).quantile(0.5),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_refused_as_torch(shared, name):
    def ours(lib):
        out = ERRORS[name](lib)
        (out[0] if isinstance(out, tuple) else out).numpy()  # errors arrive at the next sync point

    assert_same_error(ours, ERRORS[name])
