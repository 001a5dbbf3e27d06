"""bfloat16 end to end against torch's: the dtype and its names, uploads and downloads bit for bit, printing, finfo,
promotion, ops' values and gradients at bfloat16's tolerance (reductions and matmuls accumulated in float32, as torch's
CPU kernels do), a small MLP trained with SGD and Adam, autocast('cpu')'s bfloat16 default, and a server whose device
cannot hold bfloat16 (CuPy without it) refusing it."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw
from gradwire_server.engine import Engine
from gradwire_server.engine.backend import Backend
from gradwire_server.engine.errors import DTypeError
from tests.servers import start_server

torch = pytest.importorskip("torch")
pytest.importorskip("ml_dtypes")

RNG = np.random.default_rng(11)
A = RNG.standard_normal((8, 16)).astype(np.float32)
B = RNG.standard_normal((16, 4)).astype(np.float32)
C = RNG.standard_normal(4).astype(np.float32)
POSITIVE = RNG.uniform(0.2, 4.0, (8, 16)).astype(np.float32)
WEIGHTS = RNG.standard_normal((256,)).astype(np.float32)  # weights for the backward's seed, so no gradient is ~0 by symmetry
RTOL, ATOL = 1.6e-2, 1e-2  # torch.testing's bfloat16 rtol; the atol for values near 0 after a cancellation


def _bits(values) -> np.ndarray:
    """The raw 16 bits of bfloat16 values (gradwire's NumPy array or torch's tensor)."""
    if isinstance(values, torch.Tensor):
        return values.view(torch.int16).numpy().view(np.uint16)
    return np.asarray(values).view(np.uint16)


def test_the_dtype_its_names_and_conversions(session):
    x = session.tensor(A)
    assert str(gw.bfloat16) == "torch.bfloat16" and gw.bfloat16.itemsize == 2
    for spelling in (gw.bfloat16, "bfloat16", "torch.bfloat16"):
        assert x.to(spelling).dtype == gw.bfloat16
        assert session.zeros(2, dtype=spelling).dtype == gw.bfloat16
    y = x.bfloat16()
    assert y.dtype == gw.bfloat16 and y.is_floating_point() and y.to("bfloat16") is y
    assert y.type() == "gradwire.BFloat16Tensor" and y.float().dtype == gw.float32 and y.half().dtype == gw.float16
    for make in (lambda: session.ones(2, 3, dtype=gw.bfloat16), lambda: session.rand(2, 3, dtype=gw.bfloat16),
                 lambda: session.randn(2, 3, dtype=gw.bfloat16), lambda: session.full((2, 3), 1.7, dtype=gw.bfloat16),
                 lambda: session.tensor([[1.5, 2.0, 3.0]] * 2, dtype=gw.bfloat16), lambda: gw.zeros_like(y[:2, :3])):
        made = make()
        assert made.dtype == gw.bfloat16 and tuple(made.shape) == (2, 3)
        assert made.numpy().dtype == gw.bfloat16  # the server agrees with the client
    assert session.full((2,), 1.7, dtype=gw.bfloat16).tolist() == torch.full((2,), 1.7, dtype=torch.bfloat16).tolist()
    np.testing.assert_array_equal(session.linspace(0, 1, 7, dtype=gw.bfloat16).numpy().astype(np.float32),
                                  torch.linspace(0, 1, 7, dtype=torch.bfloat16).float().numpy())
    w = session.tensor([0.5, 1.0], dtype=gw.bfloat16, requires_grad=True)
    assert w.requires_grad and w.dtype == gw.bfloat16
    with pytest.raises(gw.InvalidArgumentError, match="unsupported dtype 'bfloat17'"):
        x.to("bfloat17")


def test_module_bfloat16_casts_float_parameters_and_buffers(session):
    model = gw.nn.Sequential(gw.nn.Linear(4, 3), gw.nn.BatchNorm1d(3))
    assert model.bfloat16() is model
    assert {n: str(p.dtype) for n, p in model.named_parameters()} == {
        "0.weight": "torch.bfloat16", "0.bias": "torch.bfloat16", "1.weight": "torch.bfloat16", "1.bias": "torch.bfloat16"}
    buffers = dict(model.named_buffers())
    assert buffers["1.running_mean"].dtype == gw.bfloat16 and buffers["1.num_batches_tracked"].dtype == gw.int64
    out = model(session.randn(5, 4, dtype=gw.bfloat16))
    assert out.dtype == gw.bfloat16 and out.grad_fn is not None


def test_upload_and_download_are_bit_exact_as_torch_rounds(session):
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -3e-39, 3.3e38, 1.00390625, 1.01171875, 65504.0,
                        1 + 2**-8, 1 + 3 * 2**-8, 2**-133], dtype=np.float32)  # ties to even, subnormals, the largest
    values = np.concatenate([special, RNG.standard_normal(3000).astype(np.float32) * 10.0 ** RNG.integers(-30, 30, 3000)])
    theirs = torch.from_numpy(values).bfloat16()
    nan = np.isnan(values)  # (a NaN's payload is the converter's: torch's vector path makes 0xFFFF of NumPy's NaN)
    for ours in (session.tensor(values).bfloat16(), session.tensor(values, dtype=gw.bfloat16),
                 session.tensor(values.astype(gw.bfloat16))):
        np.testing.assert_array_equal(_bits(ours.numpy())[~nan], _bits(theirs)[~nan])
        assert np.isnan(ours.float().numpy()[nan]).all()
    big = RNG.standard_normal(700_000).astype(gw.bfloat16)  # above the inline limit: the chunked streams
    np.testing.assert_array_equal(_bits(session.tensor(big).numpy()), _bits(big))
    back = session.tensor(values).bfloat16().float().numpy()
    np.testing.assert_array_equal(back, theirs.float().numpy())  # bfloat16 -> float32 is exact


@pytest.mark.parametrize("values", [
    A[:3, :5], A[:3, :5] * 1e5, A[:2, :4] * 1e-6, np.array([1.0, 2.0, -3.0]), np.array(3.14159),
    np.array([np.nan, np.inf, 0.5]), RNG.standard_normal((20, 30)),
], ids=["plain", "large", "small", "integers", "scalar", "nonfinite", "summarized"])
def test_printing_as_torch(session, values):
    assert repr(session.tensor(values, dtype=gw.bfloat16)) == repr(torch.tensor(values, dtype=torch.bfloat16))
    w = session.tensor(values, dtype=gw.bfloat16, requires_grad=True) * 2
    assert repr(w) == repr(torch.tensor(values, dtype=torch.bfloat16, requires_grad=True) * 2)


def test_finfo_as_torch():
    ours, theirs = gw.finfo(gw.bfloat16), torch.finfo(torch.bfloat16)
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert repr(ours) == repr(theirs) and gw.finfo("bfloat16") == ours


@pytest.mark.parametrize("other", ["float16", "float32", "float64", "int64", "int8", "uint8", "bool"])
def test_promotion_as_torch(session, other):
    values = np.array([[1.0, 0.0], [2.0, 3.0]])
    ours = session.tensor(values, dtype=gw.bfloat16) + session.tensor(values, dtype=other)
    theirs = torch.tensor(values, dtype=torch.bfloat16) + torch.tensor(values, dtype=getattr(torch, other))
    assert str(ours.dtype) == str(theirs.dtype)
    assert ours.numpy().dtype == ours.dtype  # the server agrees with the client's inference
    assert str(gw.promote_types(gw.bfloat16, other)) == str(torch.promote_types(torch.bfloat16, getattr(torch, other)))
    assert gw.can_cast(gw.bfloat16, other) == torch.can_cast(torch.bfloat16, getattr(torch, other))
    assert gw.can_cast(other, gw.bfloat16) == torch.can_cast(getattr(torch, other), torch.bfloat16)


def test_numbers_and_zero_dim_tensors_keep_bfloat16(session):
    x, t = session.tensor(A, dtype=gw.bfloat16), torch.tensor(A, dtype=torch.bfloat16)
    cases = [
        (lambda v, lib: v * 2.5 + 1, None), (lambda v, lib: 1 - v / 3, None), (lambda v, lib: v ** 2, None),
        (lambda v, lib: v + (session.tensor(2.0) if lib is gw else torch.tensor(2.0)), None),  # a 0-d float32: bfloat16
        (lambda v, lib: (session.tensor([1, 2]) if lib is gw else torch.tensor([1, 2])) * v[0, 0], None),  # int * 0-d bf16
        (lambda v, lib: lib.where(v > 0, v, 0.0), None),
    ]
    for f, _ in cases:
        ours, theirs = f(x, gw), f(t, torch)
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())


F = {"gw": gw.nn.functional, "torch": torch.nn.functional}


def _f(lib):
    return F["gw" if lib is gw else "torch"]


OPS = {  # name -> (f(lib, *tensors), inputs)
    "matmul": (lambda lib, a, b: a @ b, (A, B)),
    "linear": (lambda lib, a, b, c: _f(lib).linear(a, b.T, c), (A, B, C)),
    "bmm": (lambda lib, a, b: lib.bmm(a.reshape(2, 4, 16), b.expand(2, 16, 4)), (A, B)),
    "sum": (lambda lib, a: a.sum(1), (A,)),
    "mean": (lambda lib, a: a.mean(), (A,)),
    "var": (lambda lib, a: a.var(0), (A,)),
    "norm": (lambda lib, a: a.norm(dim=1), (A,)),
    "cumsum": (lambda lib, a: a.cumsum(1), (A,)),
    "prod": (lambda lib, a: a[:, :6].prod(1), (POSITIVE,)),
    "softmax": (lambda lib, a: a.softmax(1), (A,)),
    "log_softmax": (lambda lib, a: a.log_softmax(1), (A,)),
    "logsumexp": (lambda lib, a: a.logsumexp(1), (A,)),
    "layer_norm": (lambda lib, a: _f(lib).layer_norm(a, (16,)), (A,)),
    "gelu": (lambda lib, a: _f(lib).gelu(a), (A,)),
    "silu": (lambda lib, a: _f(lib).silu(a), (A,)),
    "tanh_sigmoid": (lambda lib, a: a.tanh() * a.sigmoid(), (A,)),
    "exp_log": (lambda lib, a, p: a.exp() + p.log(), (A, POSITIVE)),
    "sqrt_rsqrt": (lambda lib, p: p.sqrt() - p.rsqrt(), (POSITIVE,)),
    "pow_div": (lambda lib, a, p: a ** 2 / p, (A, POSITIVE)),
    "erf": (lambda lib, a: lib.erf(a), (A,)),
    "lgamma_digamma": (lambda lib, p: lib.lgamma(p) + lib.digamma(p), (POSITIVE,)),
    "atan2": (lambda lib, a, p: lib.atan2(a, p), (A, POSITIVE)),
    "max_sort": (lambda lib, a: a.max(1).values + a.sort(1).values[:, 3], (A,)),
    "index_cat": (lambda lib, a, p: lib.cat([a[1:5, ::2], p[:4, 1::2].T.reshape(4, 8)]), (A, POSITIVE)),
    "where_clamp": (lambda lib, a, p: lib.where(a > 0, a.clamp(max=0.5), p), (A, POSITIVE)),
    "cross_entropy": (lambda lib, a: _f(lib).cross_entropy(a, (np.arange(8) % 16)), (A,)),
    "mse_loss": (lambda lib, a, p: _f(lib).mse_loss(a, p), (A, POSITIVE)),
    "conv1d": (lambda lib, a, b: _f(lib).conv1d(a[None, :, :8], b.T.reshape(4, 2, 8)[:, :, :3].repeat(1, 4, 1)), (A, B)),
}


@pytest.mark.parametrize("name", OPS)
def test_ops_values_and_gradients_as_torch(session, name):
    f, arrays = OPS[name]
    ours = [session.tensor(a, dtype=gw.bfloat16, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.bfloat16, requires_grad=True) for a in arrays]
    if name == "cross_entropy":  # the target is a tensor of its own library
        out, t_out = F["gw"].cross_entropy(ours[0], session.tensor(np.arange(8) % 16)), F["torch"].cross_entropy(theirs[0], torch.tensor(np.arange(8) % 16))
    else:
        out, t_out = f(gw, *ours), f(torch, *theirs)
    assert out.dtype == gw.bfloat16 and t_out.dtype == torch.bfloat16
    np.testing.assert_allclose(out.detach().float().numpy(), t_out.detach().float().numpy(), rtol=RTOL, atol=ATOL)
    seed = WEIGHTS[: t_out.numel()].reshape(tuple(t_out.shape))
    (out * session.tensor(seed, dtype=gw.bfloat16)).sum().backward()
    (t_out * torch.tensor(seed, dtype=torch.bfloat16)).sum().backward()
    for k, (x, t) in enumerate(zip(ours, theirs)):
        assert x.grad.dtype == gw.bfloat16, k
        expected = t.grad.float().numpy()
        np.testing.assert_allclose(x.grad.float().numpy(), expected, rtol=RTOL * 2, atol=ATOL * max(1.0, np.abs(expected).max()))


def test_reductions_and_matmuls_accumulate_in_float32(session):
    """In bfloat16 itself 256 + 1 is 256: a sum of 1000 ones would stop at 256. torch's CPU kernels (and gradwire's
    engine) accumulate in float32 and round once."""
    ones = session.ones(1000, dtype=gw.bfloat16)
    assert ones.sum().item() == 1000.0 == torch.ones(1000, dtype=torch.bfloat16).sum().item()
    assert (ones[None] @ ones[:, None]).item() == 1000.0
    assert ones.mean().item() == 1.0 and ones.cumsum(0)[-1].item() == 1000.0
    x, t = session.tensor(A, dtype=gw.bfloat16), torch.tensor(A, dtype=torch.bfloat16)
    for f in (lambda v: v @ v.T, lambda v: v.sum(0), lambda v: v.mean(1), lambda v: v.exp(), lambda v: v.softmax(1)):
        np.testing.assert_array_equal(_bits(f(x).numpy()), _bits(f(t)))  # bit for bit: one rounding, as torch's


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_mlp_training_steps_as_torch(session, optimizer):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 5))
    ours = gw.nn.Sequential(gw.nn.Linear(16, 32), gw.nn.GELU(), gw.nn.Linear(32, 5))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    theirs.bfloat16()
    ours.bfloat16()
    kwargs = {"lr": 0.05, "momentum": 0.9} if optimizer == "SGD" else {"lr": 0.01}
    t_opt, opt = getattr(torch.optim, optimizer)(theirs.parameters(), **kwargs), getattr(gw.optim, optimizer)(ours.parameters(), **kwargs)
    x, target = A, np.arange(8) % 5
    for step in range(3):
        t_opt.zero_grad()
        opt.zero_grad()
        t_loss = torch.nn.functional.cross_entropy(theirs(torch.tensor(x, dtype=torch.bfloat16)), torch.tensor(target))
        loss = gw.nn.functional.cross_entropy(ours(session.tensor(x, dtype=gw.bfloat16)), session.tensor(target))
        assert loss.dtype == gw.bfloat16
        np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=RTOL)
        t_loss.backward()
        loss.backward()
        for (name, p), t in zip(ours.named_parameters(), theirs.parameters()):
            assert p.grad.dtype == gw.bfloat16, name
            np.testing.assert_allclose(p.grad.float().numpy(), t.grad.float().numpy(), rtol=RTOL * 2, atol=3e-3, err_msg=f"{step} {name}")
        t_opt.step()
        opt.step()
    for (name, p), t in zip(ours.named_parameters(), theirs.parameters()):
        assert p.dtype == gw.bfloat16
        np.testing.assert_allclose(p.detach().float().numpy(), t.detach().float().numpy(), rtol=RTOL, atol=4e-3, err_msg=name)
    assert [str(v.dtype) for v in opt.state_dict()["state"][0].values() if isinstance(v, gw.Tensor) and v.dim()] == \
        [str(v.dtype) for v in t_opt.state_dict()["state"][0].values() if isinstance(v, torch.Tensor) and v.dim()]


def test_autocast_cpu_defaults_to_bfloat16_as_torch(session):
    assert gw.get_autocast_dtype("cpu") == gw.bfloat16 and str(torch.get_autocast_dtype("cpu")) == "torch.bfloat16"
    assert gw.get_autocast_dtype("cuda") == gw.float16
    ins = {"a": A, "b": B, "c": C}
    cases = {
        "linear": lambda lib, T: _f(lib).linear(T("a"), T("b").T, T("c")),
        "matmul_relu": lambda lib, T: (T("a") @ T("b")).relu(),
        "cross_entropy": lambda lib, T: _f(lib).cross_entropy(T("a") @ T("b"), (session.tensor if lib is gw else torch.tensor)(np.arange(8) % 4)),
        "cat": lambda lib, T: lib.cat([T("a") @ T("b"), T("a")[:, :4]]),
        "add": lambda lib, T: T("a") @ T("b") + T("c"),
    }
    for name, f in cases.items():
        with torch.autocast("cpu"):
            expected = f(torch, lambda k: torch.tensor(ins[k]))
        with gw.autocast("cpu"):
            assert gw.get_autocast_dtype("cpu") == gw.bfloat16
            got = f(gw, lambda k: session.tensor(ins[k]))
        assert str(got.dtype) == str(expected.dtype), name
        assert got.numpy(force=True).dtype == got.dtype
        np.testing.assert_allclose(got.float().numpy(force=True), expected.float().detach().numpy(), rtol=RTOL, atol=ATOL)
    with gw.autocast("cpu", dtype=gw.float16):  # float16 still, when asked for
        assert (session.tensor(A) @ session.tensor(B)).dtype == gw.float16
    w = session.tensor(B, requires_grad=True)
    with gw.autocast("cpu"):
        loss = (session.tensor(A) @ w).float().pow(2).mean()
    loss.backward()
    assert w.grad.dtype == gw.float32  # through the casts, as float32


@pytest.fixture
def server_without_bfloat16():
    """A server whose device cannot hold bfloat16, as a CUDA server whose CuPy lacks it (``Backend.bfloat16``)."""
    server = start_server(device="cpu")
    server.backend.bfloat16 = False
    yield server
    server.stop(grace=1.0)


def test_a_device_without_bfloat16_is_not_offered_it(server_without_bfloat16):
    with gw.connect(server_without_bfloat16.address, timeout=10) as session:
        assert "bfloat16" not in session.server_info.dtypes and "float16" in session.server_info.dtypes
        x = session.tensor(A)
        message = r"BFloat16 is not supported on this session's device \('cpu'\)"
        for refused in (lambda: x.bfloat16(), lambda: x.to(gw.bfloat16), lambda: session.zeros(3, dtype=gw.bfloat16),
                        lambda: session.tensor(A, dtype="bfloat16"), lambda: session.tensor(A.astype(gw.bfloat16))):
            with pytest.raises(gw.InvalidArgumentError, match=message):
                refused()
        assert (x.half() + 1).dtype == gw.float16  # the session goes on
        with pytest.warns(UserWarning, match="CUDA is not available"):
            gw.autocast("cuda", dtype=gw.bfloat16)  # no CUDA session here: disabled, as torch's


def test_an_engine_without_bfloat16_refuses_it():
    backend = Backend("cpu")
    backend.bfloat16 = False
    engine = Engine(backend=backend)
    assert "bfloat16" not in backend.dtypes() and "bfloat16" in Backend("cpu").dtypes()
    x = engine.tensor(A)
    for refused in (lambda: engine.to(x, "bfloat16"), lambda: engine.zeros(2, dtype="bfloat16"),
                    lambda: engine.tensor(A.astype(gw.bfloat16)), lambda: engine.randn(2, dtype="bfloat16"),
                    lambda: engine.adopt(A.astype(gw.bfloat16))):
        with pytest.raises(DTypeError, match=r"BFloat16 is not supported on this server's device \('cpu'\)"):
            refused()


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_nan_to_num_takes_the_dtypes_own_extremes(session, dtype):
    values = [float("nan"), float("inf"), -float("inf"), 1.5]
    ours = session.tensor(values).to(getattr(gw, dtype)).nan_to_num()
    theirs = torch.tensor(values).to(getattr(torch, dtype)).nan_to_num()
    assert str(ours.dtype) == f"torch.{dtype}" and ours.float().tolist() == theirs.float().tolist()


def test_default_dtype_and_assert_close_take_bfloat16(session):
    gw.set_default_dtype(gw.bfloat16)
    torch.set_default_dtype(torch.bfloat16)
    try:
        for f in (lambda lib, T: T([1.5, 2.0]), lambda lib, T: T([1, 2]) / 3, lambda lib, T: T([1, 2]) * 0.5):
            ours, theirs = f(gw, session.tensor), f(torch, torch.tensor)
            assert str(ours.dtype) == str(theirs.dtype) == "torch.bfloat16"
            np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())
        assert gw.nn.Linear(2, 3).weight.dtype == gw.bfloat16 and gw.get_default_dtype() == gw.bfloat16
    finally:
        gw.set_default_dtype(gw.float32)
        torch.set_default_dtype(torch.float32)
    x = session.tensor(A, dtype=gw.bfloat16)
    t = torch.tensor(A, dtype=torch.bfloat16)
    gw.testing.assert_close(x * 1.004, t)  # torch's bfloat16 tolerance: rtol 1.6e-2
    with pytest.raises(AssertionError, match="Tensor-likes are not close"):
        gw.testing.assert_close(x * 1.05, t)
    with pytest.raises(AssertionError, match="dtype"):
        gw.testing.assert_close(x.float(), t)
