"""Still more of PyTorch's functions against torch, values and gradients, through a real server: the stacking family,
take/take_along_dim, the add*mm relatives, diag_embed, the NaN-ignoring reductions and extremes, cummax/cummin,
searchsorted/bucketize, lgamma/digamma/polygamma, gw.special, finfo/iinfo, logspace, seeds and print options."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwire as gw
from tests.e2e._torch_compare import assert_matches_torch, assert_same_error

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
X = RNG.standard_normal((4, 6))
Y = RNG.standard_normal((4, 6))
Z = RNG.standard_normal((3, 3))
V = RNG.standard_normal(4)
W = RNG.standard_normal(6)
POSITIVE = RNG.uniform(0.2, 5.0, (4, 6))
PROBABILITIES = RNG.uniform(0.05, 0.95, (4, 6))
WITH_NAN = X.copy()
WITH_NAN[0, 1] = WITH_NAN[2, 0] = WITH_NAN[2, 5] = np.nan
TIES = np.where(RNG.standard_normal((4, 6)) > 0, X, Y)  # equal to X about half the time: fmax/fmin's ties
TIES[1, 2] = np.nan
STEPS = np.round(X * 2) / 2  # ties for cummax/cummin


def _long(lib, x, values):
    return x.new_tensor(values, dtype=lib.int64)


FUNCTIONS = {
    "hstack": (lambda lib, x, y: lib.hstack([x, y]), X, Y),
    "hstack-1d": (lambda lib, x, y: lib.hstack((x[0], y[1], x[2, :2])), X, Y),
    "vstack": (lambda lib, x, y: lib.vstack([x[0], y]), X, Y),
    "dstack": (lambda lib, x, y: lib.dstack([x, y, x[:, :1] * y]), X, Y),
    "column_stack": (lambda lib, x, y: lib.column_stack([x[:, 0], y[:, :2], x[:, 3]]), X, Y),
    "concat": (lambda lib, x, y: lib.concat([x, y], dim=1), X, Y),
    "concatenate": (lambda lib, x, y: lib.concatenate([x, y[:1]], axis=0), X, Y),
    "cat-negative-dim": (lambda lib, x, y: lib.cat([x, y], -1), X, Y),
    "swapaxes": (lambda lib, x: lib.swapaxes(x.reshape(2, 3, 4), 0, 2) * 2, X),
    "swapdims-method": (lambda lib, x: x.reshape(2, 3, 4).swapdims(-1, 1) * 2, X),
    "take": (lambda lib, x: lib.take(x, _long(lib, x, [[0, 5], [23, 5]])), X),
    "take_along_dim": (lambda lib, x, y: lib.take_along_dim(x, lib.argsort(y, dim=1), dim=1), X, Y),
    "take_along_dim-broadcast": (lambda lib, x: lib.take_along_dim(x, _long(lib, x, [[5, 0, 0]]), 1), X),
    "take_along_dim-flat": (lambda lib, x: x.take_along_dim(_long(lib, x, [3, 3, 20])), X),
    "baddbmm": (lambda lib, x, y, z: lib.baddbmm(z, x.reshape(2, 3, 4), y.reshape(2, 4, 3), beta=0.5, alpha=2.0), X, Y, Z),
    "addbmm": (lambda lib, x, y, z: lib.addbmm(z, x.reshape(2, 3, 4), y.reshape(2, 4, 3), beta=2.0, alpha=0.5), X, Y, Z),
    "addmv": (lambda lib, v, x, w: lib.addmv(v, x, w, alpha=3.0), V, X, W),
    "addmv-method-beta0": (lambda lib, v, x, w: v.addmv(x, w, beta=0), V, X, W),
    "addr": (lambda lib, x, v, w: lib.addr(x, v, w, beta=0.5), X, V, W),
    "dist": (lambda lib, x, y: lib.dist(x, y), X, Y),
    "dist-p3": (lambda lib, x, y: x.dist(y[0], 3), X, Y),
    "diag_embed": (lambda lib, x: lib.diag_embed(x), X),
    "diag_embed-offset-dims": (lambda lib, x: lib.diag_embed(x, 1, 0, 2), X),
    "diag_embed-negative-offset": (lambda lib, x: x.diag_embed(offset=-2, dim1=-1, dim2=0), X),
    "nansum": (lambda lib, x: lib.nansum(x), WITH_NAN),
    "nansum-dim": (lambda lib, x: x.nansum(1, keepdim=True), WITH_NAN),
    "nanmean": (lambda lib, x: lib.nanmean(x, 0), WITH_NAN),
    "nanmean-all": (lambda lib, x: x.nanmean(), WITH_NAN),
    "fmax": (lambda lib, x, y: lib.fmax(x, y), WITH_NAN, TIES),
    "fmin": (lambda lib, x, y: x.fmin(y), WITH_NAN, TIES),
    "frac": (lambda lib, x: lib.frac(x * 3), X),
    "broadcast_tensors": (lambda lib, x, y: tuple(t * 2 for t in lib.broadcast_tensors(x[:, :1], y[0])), X, Y),
    "atleast_1d": (lambda lib, x: lib.atleast_1d(x[0, 0]) * 2, X),
    "atleast_2d": (lambda lib, x, y: lib.atleast_2d(x[0], y[0, 0], y), X, Y),
    "atleast_3d": (lambda lib, x: tuple(t * 1 for t in lib.atleast_3d([x[0, 0], x[0], x])), X),
    "block_diag": (lambda lib, x, y, z: lib.block_diag(x[:2, :3], y[0, :2], z[0, 0], z), X, Y, Z),
    "cartesian_prod": (lambda lib, x, y: lib.cartesian_prod(x[0, :3], y[0, :2], x[1, :2]), X, Y),
    "combinations": (lambda lib, x: lib.combinations(x[0], 3), X),
    "combinations-replacement": (lambda lib, x: lib.combinations(x[0, :4], with_replacement=True), X),
    "cummax": (lambda lib, x: tuple(lib.cummax(x, 1)), STEPS),
    "cummin": (lambda lib, x: tuple(x.cummin(0)), STEPS),
    "cummax-nan": (lambda lib, x: tuple(lib.cummax(x, -1)), WITH_NAN),
    "lgamma": (lambda lib, x: lib.lgamma(x), POSITIVE),
    "lgamma-method": (lambda lib, x: (x - 5.5).lgamma(), POSITIVE),
    "digamma": (lambda lib, x: x.digamma(), POSITIVE),
    "polygamma": (lambda lib, x: lib.polygamma(2, x), POSITIVE),
    "erfc": (lambda lib, x: lib.erfc(x), X),
    "i0": (lambda lib, x: x.i0(), X),
    "logit": (lambda lib, x: lib.logit(x), PROBABILITIES),
    "logit-eps": (lambda lib, x: (x * 2 - 0.5).logit(eps=0.1), PROBABILITIES),
    "xlogy": (lambda lib, x, y: lib.xlogy(x.clamp(min=0), y), X, POSITIVE),
    "sinc": (lambda lib, x: lib.sinc(x.clamp(-1, 1).round()), X),  # 0 and +-1 among the values
    "sinc-smooth": (lambda lib, x: x.sinc(), X),
}

# where torch's own kernels are the less exact: its polygamma(n >= 1) (the gradients of digamma and polygamma, and
# digamma's of lgamma) is good to about 1e-9 relative (SciPy's, on the server, matches mpmath to the last digit)
_LOOSER = {"lgamma": (1e-8, 1e-12), "lgamma-method": (1e-8, 1e-12), "digamma": (1e-8, 1e-12), "polygamma": (1e-8, 1e-12),
           "i0": (1e-9, 1e-12)}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functions_match_torch(session, name):
    f, *arrays = FUNCTIONS[name]
    assert_matches_torch(session, f, *arrays, rtol=_LOOSER.get(name, (1e-10, 1e-12))[0], atol=_LOOSER.get(name, (1e-10, 1e-12))[1])


SPECIAL = {
    "expit": (lambda lib, x: lib.special.expit(x * 5), X),
    "logit": (lambda lib, x: lib.special.logit(x, eps=0.2), PROBABILITIES),
    "erf": (lambda lib, x: lib.special.erf(x), X),
    "erfc": (lambda lib, x: lib.special.erfc(x * 3), X),
    "erfcx": (lambda lib, x: lib.special.erfcx(x * 4), X),
    "erfinv": (lambda lib, x: lib.special.erfinv(x * 2 - 1), PROBABILITIES),
    "xlogy": (lambda lib, x, y: lib.special.xlogy(x.clamp(min=0), y), X, POSITIVE),
    "xlogy-number": (lambda lib, y: lib.special.xlogy(2.0, y), POSITIVE),
    "xlog1py": (lambda lib, x, y: lib.special.xlog1py(x.clamp(max=0), y), X, POSITIVE),
    "log_softmax": (lambda lib, x: lib.special.log_softmax(x, 1), X),
    "softmax": (lambda lib, x: lib.special.softmax(x, 0), X),
    "logsumexp": (lambda lib, x: lib.special.logsumexp(x, 1, keepdim=True), X),
    "gammaln": (lambda lib, x: lib.special.gammaln(x), POSITIVE),
    "digamma": (lambda lib, x: lib.special.digamma(x), POSITIVE),
    "psi": (lambda lib, x: lib.special.psi(x + 1), POSITIVE),
    "polygamma": (lambda lib, x: lib.special.polygamma(1, x), POSITIVE),
    "ndtr": (lambda lib, x: lib.special.ndtr(x * 4), X),
    "ndtri": (lambda lib, x: lib.special.ndtri(x), PROBABILITIES),
    "log_ndtr": (lambda lib, x: lib.special.log_ndtr(x * 6), X),  # far into both tails
    "log_ndtr-deep-tail": (lambda lib, x: lib.special.log_ndtr(-x * 30 - 10), POSITIVE),
    "sinc": (lambda lib, x: lib.special.sinc(x), X),
    "entr": (lambda lib, x: lib.special.entr(x), POSITIVE),
    "log1p": (lambda lib, x: lib.special.log1p(x), POSITIVE),
    "expm1": (lambda lib, x: lib.special.expm1(x), X),
    "exp2": (lambda lib, x: lib.special.exp2(x), X),
    "round": (lambda lib, x: lib.special.round(x * 10, decimals=1), X),
    "i0": (lambda lib, x: lib.special.i0(x), X),
}
_SPECIAL_LOOSER = {"polygamma": (1e-8, 1e-12), "digamma": (1e-8, 1e-12), "psi": (1e-8, 1e-12), "gammaln": (1e-8, 1e-12),
                   "i0": (1e-9, 1e-12), "log_ndtr": (1e-9, 1e-12), "log_ndtr-deep-tail": (1e-9, 1e-12), "ndtri": (1e-9, 1e-12)}


@pytest.mark.parametrize("name", SPECIAL)
def test_special_matches_torch(session, name):
    f, *arrays = SPECIAL[name]
    rtol, atol = _SPECIAL_LOOSER.get(name, (1e-10, 1e-12))
    assert_matches_torch(session, f, *arrays, rtol=rtol, atol=atol)


def test_special_entr_at_zero_and_below_is_torchs(session):
    values = [-1.0, 0.0, 0.5, math.nan]
    assert np.array_equal(gw.special.entr(session.tensor(values)).numpy(), torch.special.entr(torch.tensor(values)).numpy(), equal_nan=True)


def test_named_tuples_of_cummax_and_cummin(session):
    x = session.tensor(STEPS)
    for name in ("cummax", "cummin"):
        ours, theirs = getattr(gw, name)(x, 1), getattr(torch, name)(torch.tensor(STEPS), 1)
        assert type(ours).__name__ == name and ours._fields == ("values", "indices")
        assert ours.indices.tolist() == theirs.indices.tolist() and ours.indices.dtype == gw.int64
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        x.cummax(2)


def test_searchsorted_and_bucketize_match_torch(session):
    boundaries, values = np.array([1.0, 3.0, 3.0, 5.0, 7.0]), np.array([[0.0, 3.0, 6.0], [7.0, 8.0, 3.5]])
    rows = np.array([[1.0, 2.0, 4.0], [0.0, 5.0, 6.0]])
    b, v, r = session.tensor(boundaries), session.tensor(values, requires_grad=True), session.tensor(rows)
    tb, tv, tr = torch.tensor(boundaries), torch.tensor(values, requires_grad=True), torch.tensor(rows)
    cases = [
        (gw.searchsorted(b, v), torch.searchsorted(tb, tv)),
        (gw.searchsorted(b, v, right=True), torch.searchsorted(tb, tv, right=True)),
        (gw.searchsorted(b, v, side="right", out_int32=True), torch.searchsorted(tb, tv, side="right", out_int32=True)),
        (gw.searchsorted(r, v), torch.searchsorted(tr, tv)),
        (gw.searchsorted(b, 3.0), torch.searchsorted(tb, 3.0)),
        (gw.searchsorted(session.tensor([5.0, 1.0, 3.0]), v, sorter=[1, 2, 0]), torch.searchsorted(torch.tensor([5.0, 1.0, 3.0]), tv, sorter=torch.tensor([1, 2, 0]))),
        (gw.bucketize(v, b), torch.bucketize(tv, tb)),
        (gw.bucketize(v, b, right=True, out_int32=True), torch.bucketize(tv, tb, right=True, out_int32=True)),
    ]
    for ours, theirs in cases:
        assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype)
        assert not ours.requires_grad and not theirs.requires_grad



ERRORS = {
    "hstack-empty": lambda lib, x: lib.hstack([]),
    "cat-empty": lambda lib, x: lib.cat([]),
    "block_diag-3d": lambda lib, x: lib.block_diag(x, x.reshape(2, 2, 6)),
    "cartesian_prod-2d": lambda lib, x: lib.cartesian_prod(x),
    "combinations-2d": lambda lib, x: lib.combinations(x),
    "combinations-negative": lambda lib, x: lib.combinations(x[0], -1),
    "take_along_dim-ndim": lambda lib, x: lib.take_along_dim(x, _long(lib, x, [0, 1]), 1),
    "take-float-index": lambda lib, x: lib.take(x, x.new_tensor([1.0])),
    "diag_embed-same-dims": lambda lib, x: lib.diag_embed(x, 0, 1, 1),
    "nanmean-int": lambda lib, x: lib.nanmean(x.long()),
    "frac-int": lambda lib, x: lib.frac(x.long()),
    "fmax-number": lambda lib, x: lib.fmax(x, 1.0),
    "addmv-size": lambda lib, x: lib.addmv(x[0, :4], x, x[0, :4]),
    "addr-2d": lambda lib, x: lib.addr(x, x[:, :1], x[0]),
    "addbmm-batches": lambda lib, x: lib.addbmm(x[:3, :3], x.reshape(2, 3, 4), x[:3, :4].reshape(3, 4, 1).expand(3, 4, 3)),
    "broadcast_tensors": lambda lib, x: lib.broadcast_tensors(x, x[:, :2]),
    "polygamma-negative": lambda lib, x: lib.polygamma(-1, x),
    "searchsorted-shapes": lambda lib, x: lib.searchsorted(x[:2, :3], x[:3]).tolist(),
    "bucketize-2d": lambda lib, x: lib.bucketize(x[0], x),
    "searchsorted-side": lambda lib, x: lib.searchsorted(x[0], x[1], side="left", right=True),
    "logspace-steps": lambda lib, x: lib.logspace(0, 1, -1),
    "finfo-int": lambda lib, x: lib.finfo(lib.int32),
    "iinfo-float": lambda lib, x: lib.iinfo(lib.float32),
    "iinfo-bool": lambda lib, x: lib.iinfo(lib.bool),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_torchs(session, name):
    assert_same_error(lambda lib: ERRORS[name](lib, session.tensor(X) if lib is gw else torch.tensor(X)), lambda lib: ERRORS[name](lib, torch.tensor(X)))
    assert session.tensor([1.0, 2.0]).sum().item() == 3.0  # the session goes on


def test_empty_like_and_logspace(session):
    x = session.tensor(X)
    e = gw.empty_like(x, dtype=gw.float32)
    assert e.shape == (4, 6) and e.dtype == gw.float32 and not e.requires_grad
    for args, kwargs in (((0, 3, 4), {}), ((-2.0, 2.0, 9), {"base": 2.0}), ((0, 1, 5), {"dtype": gw.float64}), ((1, -1, 1), {}),
                         ((0, 3, 4), {"dtype": gw.int64})):
        ours, theirs = gw.logspace(*args, **kwargs), torch.logspace(*args, **{**kwargs, **({"dtype": getattr(torch, kwargs["dtype"].name)} if "dtype" in kwargs else {})})
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert gw.logspace(0, 2, 3, requires_grad=True).requires_grad


def test_finfo_and_iinfo_are_torchs():
    for name in ("float16", "float32", "float64"):
        ours, theirs = gw.finfo(getattr(gw, name)), torch.finfo(getattr(torch, name))
        assert repr(ours) == repr(theirs)
        for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(ours, field) == getattr(theirs, field), (name, field)
    assert repr(gw.finfo()) == repr(torch.finfo()) and gw.finfo("double").bits == 64
    for name in ("int32", "int64", "uint8", "int8", "int16"):
        ours, theirs = gw.iinfo(name), torch.iinfo(getattr(torch, name))
        assert repr(ours) == repr(theirs) and (ours.bits, ours.max, ours.min, ours.dtype) == (theirs.bits, theirs.max, theirs.min, theirs.dtype)
    assert gw.iinfo(gw.long).max == 2**63 - 1


def test_seed_and_initial_seed(session):
    assert session.initial_seed() == 0  # the fixture's connect(seed=0)
    gw.manual_seed(1234)
    assert gw.initial_seed() == 1234
    first = gw.rand(5).tolist()
    drawn = gw.seed()
    assert isinstance(drawn, int) and 0 <= drawn < 2**63 and gw.initial_seed() == drawn
    gw.manual_seed(gw.initial_seed())
    again = gw.rand(5).tolist()
    gw.manual_seed(1234)
    assert gw.rand(5).tolist() == first and again != first


def test_seeds_take_torchs_range(session, server):
    """PyTorch takes a seed from -2**63 to 2**64 - 1 and reports it as unsigned; past that, its ValueError (not
    protobuf's, nor a server error opening the session)."""
    for seed in (-1, -(2**63), 2**63 + 5, 2**64 - 1):
        torch.manual_seed(seed)
        session.manual_seed(seed)
        assert session.initial_seed() == torch.initial_seed() == seed % 2**64
        draws = session.rand(3).tolist()
        with gw.connect(server.address, seed=seed, timeout=10) as fresh:  # the same seed at connect: the same draws
            assert fresh.initial_seed() == seed % 2**64 and fresh.rand(3).tolist() == draws
        assert gw.Generator().manual_seed(seed).initial_seed() == seed % 2**64
    for seed in (2**64, -(2**63) - 1):
        for seeding in (torch.manual_seed, gw.manual_seed, session.manual_seed, gw.Generator().manual_seed,
                        lambda seed: gw.connect(server.address, seed=seed, timeout=10)):
            with pytest.raises(ValueError, match="^Overflow when unpacking long long$"):
                seeding(seed)
    torch.manual_seed(0)


def test_an_unseeded_session_knows_its_seed(server):
    with gw.connect(server.address, timeout=10) as s:
        seed = s.initial_seed()
        values = s.rand(4).tolist()
        s.manual_seed(seed)
        assert s.rand(4).tolist() == values


def test_set_printoptions_prints_as_torch():
    values = [[1.23456789, -2.5, 1e-3], [100.0, 0.0, 3.0]]
    settings = [{"precision": 2}, {"sci_mode": True}, {"sci_mode": False}, {"profile": "short"}, {"threshold": 5, "edgeitems": 1},
                {"linewidth": 30, "precision": 6}, {"profile": "full"}]
    with gw.connect(seed=0) as session:
        try:
            for options in settings:
                gw.set_printoptions(**options)
                torch.set_printoptions(**options)
                for data in (values, np.arange(2000.0), [1e-8, 2.5e9], np.arange(12.0).reshape(3, 4) * 1.5):
                    assert repr(session.tensor(np.asarray(data, dtype=np.float32))) == repr(torch.tensor(np.asarray(data, dtype=np.float32))), options
        finally:
            gw.set_printoptions(profile="default")
            torch.set_printoptions(profile="default")
    assert repr(torch.tensor([1.23456789])) == "tensor([1.2346])"
