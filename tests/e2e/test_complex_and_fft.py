"""Complex tensors and gw.fft against torch, through a real server: dtypes, factories, uploads and downloads, printing,
type promotion, the complex helpers (real, imag, conj, angle, polar, view_as_real, ...), arithmetic and the common ops
on complex tensors with their gradients (torch's convention: dL/d(re) + i dL/d(im)), the ops refused for complex in
torch's words, and every torch.fft function (values and gradients, float32 and float64, each norm)."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)
Z = (RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4)))
W = (RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4)))
M = (RNG.standard_normal((4, 2)) + 1j * RNG.standard_normal((4, 2)))
R = RNG.standard_normal((3, 4))
S = RNG.standard_normal((4, 6))


@pytest.fixture(scope="module")
def session(server):
    """One session for this module's many small cases (a fresh one each costs more than most of them)."""
    s = gw.connect(server.address, seed=0, timeout=10)
    yield s
    s.close()


def _loss(lib, out, weights):
    """A real loss that reads every real and imaginary part with its own weight (so every gradient part is checked)."""
    if out.dtype.is_complex if lib is torch else out.dtype.kind == "c":
        parts = lib.view_as_real(out.resolve_conj())
    else:
        parts = out
    w = torch.tensor(weights) if lib is torch else parts._session.tensor(weights)
    return (parts * w.to(parts.dtype)).sum()


def _compare(session, f, *arrays, dtype=None, rtol=1e-9, atol=1e-10, grad=True):
    """f(gw, ...) against f(torch, ...): dtype, values, and every input's gradient of a weighted real loss."""
    ours = [session.tensor(a if dtype is None else a.astype(dtype), requires_grad=grad) for a in arrays]
    theirs = [torch.tensor(a if dtype is None else a.astype(dtype), requires_grad=grad) for a in arrays]
    out, t_out = f(gw, *ours), f(torch, *theirs)
    assert str(out.dtype) == str(t_out.dtype), f"dtype {out.dtype} != {t_out.dtype}"
    assert tuple(out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(out.detach().resolve_conj().resolve_neg().numpy(), t_out.detach().resolve_conj().resolve_neg().numpy(),
                               rtol=rtol, atol=atol)
    if not grad or not t_out.requires_grad:
        return
    assert out.requires_grad
    shape = tuple(t_out.shape) + ((2,) if t_out.is_complex() else ())
    weights = np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape) if shape else np.array(1.25)
    _loss(gw, out, weights).backward()
    _loss(torch, t_out, weights).backward()
    for k, (x, t) in enumerate(zip(ours, theirs)):
        assert (x.grad is None) == (t.grad is None), f"input {k}"
        if t.grad is not None:
            assert str(x.grad.dtype) == str(t.grad.dtype)
            np.testing.assert_allclose(x.grad.numpy(), t.grad.resolve_conj().numpy(), rtol=rtol, atol=atol, err_msg=f"gradient of input {k}")


def _refused(call, torch_call, error=RuntimeError):
    """Both refuse, with the same words."""
    with pytest.raises(error) as theirs:
        torch_call()
    with pytest.raises(error) as ours:
        out = call()
        out.numpy() if isinstance(out, gw.Tensor) else None  # (a server-side refusal arrives at the next sync)
    assert str(theirs.value).strip() in str(ours.value)


# --- dtypes, factories, transfer, printing ---------------------------------------------------------------------------
def test_dtypes_and_their_aliases(session):
    assert gw.complex64 is gw.cfloat and gw.complex128 is gw.cdouble
    assert str(gw.complex64) == "torch.complex64" and str(gw.cdouble) == "torch.complex128"
    for name, dtype in (("complex64", gw.complex64), ("cfloat", gw.complex64), ("torch.cdouble", gw.complex128)):
        assert session.zeros(2, dtype=name).dtype == dtype
    z = session.ones(2, 3, dtype=gw.cfloat)
    assert z.dtype == gw.complex64 and z.is_complex() and not z.is_floating_point()
    assert not session.ones(2).is_complex()
    np.testing.assert_array_equal(session.full((2,), 1.5, dtype=gw.cdouble).numpy(), torch.full((2,), 1.5, dtype=torch.cdouble).numpy())
    assert session.zeros(2, dtype=gw.cfloat, requires_grad=True).requires_grad
    assert session.tensor(1.0).cfloat().dtype == gw.complex64 and session.tensor(1.0).cdouble().dtype == gw.complex128
    assert session.tensor([1, 2]).to(gw.cdouble).dtype == gw.complex128
    assert repr(gw.finfo(gw.complex64)) == repr(torch.finfo(torch.complex64)) and gw.finfo(gw.cdouble).dtype == "float64"


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_random_complex_tensors_as_torchs_distributions(session, dtype):
    n = session.randn(20000, dtype=dtype).numpy()
    u = session.rand(20000, dtype=dtype).numpy()
    assert n.dtype == u.dtype == np.dtype(dtype)
    assert abs(n.real.var() - 0.5) < 0.03 and abs(n.imag.var() - 0.5) < 0.03 and abs(np.mean(np.abs(n) ** 2) - 1) < 0.05
    assert 0 <= u.real.min() and u.real.max() < 1 and 0 <= u.imag.min() and u.imag.max() < 1 and abs(u.imag.mean() - 0.5) < 0.02
    assert gw.randn_like(session.tensor(Z)).dtype == gw.complex128
    assert session.randn(2, dtype=dtype, requires_grad=True).requires_grad


def test_tensor_of_complex_numbers_and_arrays(session):
    assert str(session.tensor([1 + 2j, 3]).dtype) == str(torch.tensor([1 + 2j, 3]).dtype) == "torch.complex64"
    assert session.tensor(2j).dtype == gw.complex64 and session.tensor(2j).shape == ()
    gw.set_default_dtype(gw.float64)
    try:  # the default float dtype's complex, as torch
        assert session.tensor([1j]).dtype == gw.complex128
    finally:
        gw.set_default_dtype(gw.float32)
    assert session.tensor([1j], dtype=gw.complex128).dtype == gw.complex128


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_upload_and_download_are_bit_exact(session, dtype):
    values = (RNG.standard_normal((5, 7)) + 1j * RNG.standard_normal((5, 7))).astype(dtype)
    values[0, 0] = complex(np.nan, -np.inf)
    values[0, 1] = complex(-0.0, 0.0)
    for t in (session.tensor(values), gw.from_numpy(values, session=session)):
        back = t.numpy()
        assert back.dtype == dtype and back.tobytes() == values.tobytes()
    big = (RNG.standard_normal((300, 400)) + 1j * RNG.standard_normal((300, 400))).astype(dtype)  # the streamed upload
    assert session.tensor(big).numpy().tobytes() == big.tobytes()
    assert session.tensor(values)[1:].tolist() == values[1:].tolist()
    assert session.tensor(values)[1, 2].item() == values[1, 2].item()


@pytest.mark.parametrize("values", [
    [1 + 2j, 3 - 4j], [[1.5 + 2j, -3e-5j], [0, 1]], [0.1 + 1e-9j, 123456.0], [float("nan") + 1j, 2, float("inf")], 1 + 1j,
    [[-1 - 1j, 2.25 + 0.5j, 3], [4, -5j, 6.125]],
])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_printing_as_torch(session, values, dtype):
    ours = session.tensor(values, dtype=dtype)
    theirs = torch.tensor(values, dtype=getattr(torch, dtype))
    assert repr(ours) == repr(theirs)
    t_wide = torch.tensor(RNG.standard_normal((4, 30)) * 100, dtype=getattr(torch, dtype)) * (1 + 0.5j)
    assert repr(session.tensor(t_wide.numpy())) == repr(t_wide)  # lines wrapped, and summarized below
    t_long = torch.arange(2000.0, dtype=torch.float64).to(getattr(torch, dtype)) * (1 - 1j)
    assert repr(session.tensor(t_long.numpy())) == repr(t_long)


def test_printing_a_complex_tensor_that_requires_grad(session):
    z = session.tensor([1 + 1j, 2], requires_grad=True)
    t = torch.tensor([1 + 1j, 2], requires_grad=True)
    assert repr(z) == repr(t)
    assert repr(z * 2) == repr(t * 2)


@pytest.mark.parametrize("a, b", [
    ("complex64", "float32"), ("complex64", "float64"), ("complex128", "float32"), ("complex64", "int64"), ("complex64", "bool"),
    ("complex64", "complex128"), ("float16", "complex64"),
])
def test_type_promotion(session, a, b):
    ours = session.ones(2, dtype=a) + session.ones(2, dtype=b)
    theirs = torch.ones(2, dtype=getattr(torch, a)) + torch.ones(2, dtype=getattr(torch, b))
    assert str(ours.dtype) == str(theirs.dtype)
    assert str(gw.promote_types(a, b)) == str(torch.promote_types(getattr(torch, a), getattr(torch, b)))
    for x, y in ((a, b), (b, a)):
        assert gw.can_cast(x, y) == torch.can_cast(getattr(torch, x), getattr(torch, y))
    for operand in (1j, 2.5, 3):
        t_type = torch.result_type(torch.ones(2, dtype=getattr(torch, b)), operand)
        assert str(gw.result_type(session.ones(2, dtype=b), operand)) == str(t_type)
    if b == "float16" or a[0] != "c":
        return  # (torch's answer below would be complex32, a dtype gradwire does not have)
    zero_d = session.ones(2, dtype=b) * session.tensor(1j, dtype=a)  # a 0-d complex tensor decides over dimensioned floats
    t_zero_d = torch.ones(2, dtype=getattr(torch, b)) * torch.tensor(1j, dtype=getattr(torch, a))
    assert str(zero_d.dtype) == str(t_zero_d.dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "complex64", "complex128"])
def test_python_complex_numbers_as_operands(session, dtype):
    x, t = session.ones(3, dtype=dtype), torch.ones(3, dtype=getattr(torch, dtype))
    for f in (lambda v: v * 2j, lambda v: 2j * v, lambda v: v + (1 - 1j), lambda v: (1 + 1j) - v, lambda v: v / 2j, lambda v: v ** (0.5 + 1j)):
        ours, theirs = f(x), f(t)
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


# --- the complex helpers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("f", [
    lambda lib, z: z.real, lambda lib, z: z.imag, lambda lib, z: z.conj(), lambda lib, z: z.conj_physical(), lambda lib, z: z.angle(),
    lambda lib, z: z.abs(), lambda lib, z: lib.real(z), lambda lib, z: lib.imag(z), lambda lib, z: lib.conj(z), lambda lib, z: lib.angle(z),
    lambda lib, z: lib.view_as_real(z), lambda lib, z: z.H, lambda lib, z: z.mH, lambda lib, z: z.adjoint(), lambda lib, z: z.conj().imag,
    lambda lib, z: z.resolve_conj(), lambda lib, z: z.conj().resolve_conj(), lambda lib, z: lib.view_as_complex(lib.view_as_real(z)),
    lambda lib, z: z.real * z.imag, lambda lib, z: lib.isreal(z),
])
def test_complex_helpers_values_and_gradients(session, f):
    _compare(session, f, Z)
    _compare(session, f, Z.astype(np.complex64), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("f", [
    lambda lib, x, y: lib.complex(x, y), lambda lib, x, y: lib.polar(x.abs(), y), lambda lib, x, y: lib.view_as_complex(lib.stack((x, y), -1)),
    lambda lib, x, y: lib.complex(x, y).abs(), lambda lib, x, y: lib.complex(x, y).angle(),
])
def test_complex_from_real_parts(session, f):
    _compare(session, f, R, R[::-1].copy())
    _compare(session, f, R.astype(np.float32), R[::-1].astype(np.float32), rtol=1e-5, atol=1e-6)


def test_complex_keeps_infinities_signed_zeros_and_nans_as_torch(session):
    re, im = [np.inf, -0.0, 1.0, np.nan], [0.0, np.nan, -np.inf, -0.0]
    ours = gw.complex(session.tensor(re), session.tensor(im)).numpy()
    assert ours.tobytes() == torch.complex(torch.tensor(re), torch.tensor(im)).numpy().tobytes()
    path = session.tensor(ours)
    assert gw.view_as_real(path).numpy().tobytes() == torch.view_as_real(torch.tensor(ours)).numpy().tobytes()


def test_saved_and_loaded(session, tmp_path):
    z = session.tensor(Z.astype(np.complex64))
    gw.save({"z": z}, tmp_path / "z.pt")
    back = gw.load(tmp_path / "z.pt", session=session)["z"]
    assert back.dtype == gw.complex64 and back.numpy().tobytes() == Z.astype(np.complex64).tobytes()


def test_helpers_of_real_tensors_as_torch(session):
    x, t = session.tensor(R), torch.tensor(R)
    assert x.real is x and x.conj() is x and x.conj_physical() is x and x.resolve_conj() is x and x.resolve_neg() is x
    assert not x.conj().is_conj()
    np.testing.assert_array_equal(x.angle().numpy(), t.angle().numpy())
    np.testing.assert_array_equal(session.tensor([-1.0, 0.0, 2.0]).angle().numpy(), torch.tensor([-1.0, 0.0, 2.0]).angle().numpy())
    np.testing.assert_array_equal(x.H.numpy(), t.H.numpy())
    np.testing.assert_array_equal(x.mH.numpy(), t.mH.numpy())
    np.testing.assert_array_equal(gw.isreal(x).numpy(), torch.isreal(t).numpy())
    _refused(lambda: x.imag, lambda: t.imag)
    _refused(lambda: gw.view_as_real(x), lambda: torch.view_as_real(t))
    _refused(lambda: gw.view_as_complex(session.ones(3)), lambda: torch.view_as_complex(torch.ones(3)))
    _refused(lambda: gw.view_as_complex(session.ones(3, 2, dtype=gw.int64)), lambda: torch.view_as_complex(torch.ones(3, 2, dtype=torch.int64)))
    _refused(lambda: gw.complex(session.ones(2), session.ones(2, dtype=gw.float64)), lambda: torch.complex(torch.ones(2), torch.ones(2, dtype=torch.float64)))
    _refused(lambda: gw.complex(session.ones(2, dtype=gw.int64), session.ones(2, dtype=gw.int64)),
             lambda: torch.complex(torch.ones(2, dtype=torch.int64), torch.ones(2, dtype=torch.int64)))
    _refused(lambda: session.ones(2, 2, 2).H, lambda: torch.ones(2, 2, 2).H)


def test_conjugate_and_negative_marks_as_torch(session):
    z, t = session.tensor(Z), torch.tensor(Z)
    for f in (lambda v: v.is_conj(), lambda v: v.conj().is_conj(), lambda v: v.conj().conj().is_conj(), lambda v: v.conj().resolve_conj().is_conj(),
              lambda v: v.conj_physical().is_conj(), lambda v: v.conj().imag.is_neg(), lambda v: v.imag.is_neg(),
              lambda v: v.conj().imag.resolve_neg().is_neg(), lambda v: (v.conj() + 1).is_conj(), lambda v: v.is_neg()):
        assert f(z) == f(t)
    assert gw.fft.ihfft(session.tensor(R)).is_conj() == torch.fft.ihfft(torch.tensor(R)).is_conj()
    assert gw.fft.hfft(z).is_conj() == torch.fft.hfft(t).is_conj()


# --- arithmetic and common ops: values and gradients -----------------------------------------------------------------
_BINARY = [
    lambda lib, a, b: a + b, lambda lib, a, b: a - b, lambda lib, a, b: a * b, lambda lib, a, b: a / b, lambda lib, a, b: a ** b,
    lambda lib, a, b: lib.where(a.abs() > 1, a, b), lambda lib, a, b: lib.cat((a, b)), lambda lib, a, b: lib.stack((a, b), 1),
    lambda lib, a, b: (a * b).sum(1), lambda lib, a, b: a[1:, ::2] * b[:2, 1::2], lambda lib, a, b: a.reshape(4, 3) @ b,
    lambda lib, a, b: lib.matmul(a, b.t()), lambda lib, a, b: a.t() @ b,
]


def _written(lib, a, b):
    out = a * 1
    out[1] = b[0] * 2
    out[:, 0] *= b[:, 1]
    return out


def _with_zeros(lib, a, b):
    return (a * (b.real > 0)).prod(1) + (a * (b.real > 0.5)).prod()


@pytest.mark.parametrize("f", _BINARY + [_written, _with_zeros])
def test_binary_ops_on_complex_tensors(session, f):
    _compare(session, f, Z, W)
    _compare(session, f, Z.astype(np.complex64), W.astype(np.complex64), rtol=2e-4, atol=1e-5)


@pytest.mark.parametrize("f", _BINARY[:5])
def test_real_meets_complex(session, f):
    _compare(session, f, Z, R)  # real gradient for the real input: the real part of the complex one
    _compare(session, lambda lib, a, b: f(lib, b, a), Z, R)


_UNARY = [
    lambda lib, z: z.exp(), lambda lib, z: z.log(), lambda lib, z: z.sqrt(), lambda lib, z: z.sin(), lambda lib, z: z.cos(),
    lambda lib, z: z.tanh(), lambda lib, z: z.sigmoid(), lambda lib, z: -z, lambda lib, z: z.reciprocal(), lambda lib, z: z * z * z,
    lambda lib, z: z ** 2, lambda lib, z: z ** 0.5, lambda lib, z: 2 ** z, lambda lib, z: z.sum(), lambda lib, z: z.mean(),
    lambda lib, z: z.prod(), lambda lib, z: z.sum(0), lambda lib, z: z.mean(1, keepdim=True), lambda lib, z: z.prod(1),
    lambda lib, z: z.reshape(2, 6), lambda lib, z: z.t(), lambda lib, z: z.permute(1, 0), lambda lib, z: z.unsqueeze(1),
    lambda lib, z: z[0], lambda lib, z: z[:, 1:3], lambda lib, z: z[torch_or_list(lib, [2, 0, 2])], lambda lib, z: z.flip(0),
    lambda lib, z: z.roll(1, 1), lambda lib, z: z.expand(2, 3, 4), lambda lib, z: z.tril(), lambda lib, z: z.cumsum(1),
    lambda lib, z: z.clone(), lambda lib, z: z.abs() * z, lambda lib, z: (z * z.conj()).real, lambda lib, z: z.exp().abs().log(),
    lambda lib, z: z.masked_fill(z.real > 0, 0), lambda lib, z: z.tan(), lambda lib, z: z.sinh(), lambda lib, z: z.cosh(),
    lambda lib, z: z.rsqrt(), lambda lib, z: z.log2(), lambda lib, z: z.log10(), lambda lib, z: z.T.contiguous(), lambda lib, z: z.repeat(2, 1),
    lambda lib, z: lib.einsum("ij,kj->ik", z, z), lambda lib, z: lib.vdot(z[0], z[1]), lambda lib, z: lib.cov(z),
    lambda lib, z: lib.nan_to_num(z.detach() / (z.real > 0)), lambda lib, z: z.square(), lambda lib, z: lib.outer(z[0], z[1]),
    lambda lib, z: z.diagonal().sum(), lambda lib, z: z.trace(), lambda lib, z: z.sgn(), lambda lib, z: lib.sgn(z * (z.real > 0)), lambda lib, z: lib.kron(z[:2, :2], z[1:, 2:]),
]


def torch_or_list(lib, index):
    return torch.tensor(index) if lib is torch else index


@pytest.mark.parametrize("f", _UNARY)
def test_unary_ops_on_complex_tensors(session, f):
    _compare(session, f, Z)
    _compare(session, f, Z.astype(np.complex64), rtol=2e-4, atol=2e-5)


def test_conj_physical_in_place_as_torch(session):
    for lib, make in ((torch, torch.tensor), (gw, session.tensor)):
        z = make(Z[0])
        assert z.conj_physical_() is z and not z.is_conj()
        np.testing.assert_array_equal(np.asarray(z.tolist()), np.conj(Z[0]))
        real = make(S[0])
        assert real.conj_physical_() is real
    ours, theirs = session.tensor(Z[0], requires_grad=True), torch.tensor(Z[0], requires_grad=True)
    for leaf, lib in ((ours, gw), (theirs, torch)):
        out = leaf * 1
        out.conj_physical_()
        (out.real.sum() + 2 * out.imag.sum()).backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_comparisons_and_closeness(session):
    z, t = session.tensor(Z), torch.tensor(Z)
    w, u = session.tensor(np.where(R > 0, Z, W)), torch.tensor(np.where(R > 0, Z, W))
    for f in (lambda a, b: a == b, lambda a, b: a != b, lambda a, b: a.eq(b), lambda a, b: a.isclose(b), lambda a, b: a.isclose(b + 1e-9),
              lambda a, b: a.isnan(), lambda a, b: a.isfinite()):
        np.testing.assert_array_equal(f(z, w).numpy(), f(t, u).numpy())
    assert z.allclose(z + 1e-9) == t.allclose(t + 1e-9)
    assert gw.equal(z, z.clone()) == torch.equal(t, t.clone())


def test_in_place_arithmetic_and_indexed_writes(session):
    z, t = session.tensor(Z), torch.tensor(Z)
    for v in (z, t):
        v *= 2j
        v += 1
        v[0, 1] = 5 - 5j
    np.testing.assert_allclose(z.numpy(), t.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int64", "int32", "uint8", "bool"])
def test_a_complex_number_written_into_a_real_tensor_as_torch(session, dtype):
    """A bool element takes any complex number (nonzero: True), another dtype the real part of one whose imaginary
    part is 0; the rest is refused in torch's words (a half-precision tensor's naming double, as torch's)."""
    for value in (1 + 2j, 3 + 0j, 3.7 + 0j, 0j, np.complex64(2 - 1j)):
        outcomes = []
        for lib, make in ((torch, torch.zeros), (gw, session.zeros)):
            x = make(2, dtype=getattr(lib, dtype))
            try:
                x[0] = value
                outcomes.append(x.tolist())
            except (RuntimeError, TypeError) as error:  # (a NumPy complex64 scalar: torch's TypeError)
                outcomes.append((isinstance(error, TypeError), str(error)))
        assert outcomes[0] == outcomes[1], (value, outcomes)


def test_writes_into_copies_of_parts_are_refused_rather_than_lost(session):
    """PyTorch's real, imag, view_as_real and view_as_complex are views: a write to one changes the complex tensor.
    gradwire's are copies, so it refuses the write instead of losing it."""
    z = session.tensor(Z)
    for part in (lambda: z.real, lambda: z.imag, lambda: gw.view_as_real(z), lambda: gw.view_as_complex(session.tensor(R[:, :2].copy())),
                 lambda: z.real.detach(), lambda: z.imag[0]):
        with pytest.raises(gw.InvalidArgumentError, match="not a view"):
            part()[0] = 1.0
        with pytest.raises(gw.InvalidArgumentError, match="not a view"):
            part().mul_(2)
    assert (z.real * 2).add_(1) is not None  # a new tensor made from a part is free to change
    np.testing.assert_array_equal(z.numpy(), Z)


def test_in_place_refusals_as_torch(session):
    _refused(lambda: session.ones(2).__setitem__(0, 1j), lambda: torch.ones(2).__setitem__(0, 1j))
    _refused(lambda: session.ones(2, dtype=gw.float64).__setitem__(0, 1j), lambda: torch.ones(2, dtype=torch.float64).__setitem__(0, 1j))
    _refused(lambda: session.ones(2).mul_(1j), lambda: torch.ones(2).mul_(1j))
    _refused(lambda: session.ones(2).add_(session.tensor([1j, 1j])), lambda: torch.ones(2).add_(torch.tensor([1j, 1j])))
    _refused(lambda: session.tensor([1j]).relu_(), lambda: torch.tensor([1j]).relu_(), NotImplementedError)


def test_gradient_against_numerical_derivatives_of_real_and_imaginary_parts(session):
    """torch's .grad of a complex leaf is dL/d(re) + i dL/d(im): checked by central differences of each part."""
    def loss(lib, z):
        w = z * z.exp() / (1 + z.sigmoid())
        return (w.abs() ** 2).sum() + (w.sum() * (0.3 - 0.7j)).real + gw_or_torch(lib).fft.fft(z).angle().sum()

    z = session.tensor(Z, requires_grad=True)
    loss(gw, z).backward()
    grad = z.grad.numpy()
    h = 1e-6
    numeric = np.zeros_like(Z)
    for index in np.ndindex(Z.shape):
        for unit in (1, 1j):
            plus, minus = Z.copy(), Z.copy()
            plus[index] += h * unit
            minus[index] -= h * unit
            d = (loss(gw, session.tensor(plus)).item() - loss(gw, session.tensor(minus)).item()) / (2 * h)
            numeric[index] += d * unit
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-5)
    t = torch.tensor(Z, requires_grad=True)
    loss(torch, t).backward()
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-9, atol=1e-10)


def gw_or_torch(lib):
    return torch if lib is torch else gw


def test_backward_from_a_complex_output(session):
    z = session.tensor(Z, requires_grad=True)
    t = torch.tensor(Z, requires_grad=True)
    _refused(lambda: (z * z).sum().backward(), lambda: (t * t).sum().backward())
    _refused(lambda: (z * z).backward(), lambda: (t * t).backward())
    g = (RNG.standard_normal(Z.shape) + 1j * RNG.standard_normal(Z.shape))
    (z * z.sin()).backward(session.tensor(g))
    (t * t.sin()).backward(torch.tensor(g))
    np.testing.assert_allclose(z.grad.numpy(), t.grad.numpy(), rtol=1e-10)
    x, u = session.tensor(Z, requires_grad=True), torch.tensor(Z, requires_grad=True)
    (gx,) = gw.autograd.grad((x * x).sum(), x, grad_outputs=session.tensor(1 - 2j))
    (gu,) = torch.autograd.grad((u * u).sum(), u, grad_outputs=torch.tensor(1 - 2j))
    np.testing.assert_allclose(gx.numpy(), gu.numpy(), rtol=1e-10)


def test_losses_on_complex_tensors_as_torch(session):
    z, t = session.tensor(Z), torch.tensor(Z)
    w, u = session.tensor(W), torch.tensor(W)
    np.testing.assert_allclose(gw.nn.functional.l1_loss(z, w).numpy(), torch.nn.functional.l1_loss(t, u).numpy(), rtol=1e-12)
    for name in ("mse_loss", "huber_loss", "smooth_l1_loss"):
        _refused(lambda: getattr(gw.nn.functional, name)(z, w), lambda: getattr(torch.nn.functional, name)(t, u), NotImplementedError)


def test_double_backward_through_complex_ops_is_refused_not_wrong(session):
    z = session.tensor(Z, requires_grad=True)
    with pytest.raises(NotImplementedError, match="double backward"):
        (g,) = gw.autograd.grad((z * z).abs().sum(), z, create_graph=True)
        g.abs().sum().backward()
        z.grad.numpy()


@pytest.mark.parametrize("f, t_f", [
    (lambda z: z < z, lambda t: t < t), (lambda z: z >= 1, lambda t: t >= 1), (lambda z: z.max(), lambda t: t.max()),
    (lambda z: z.relu(), lambda t: t.relu()), (lambda z: z.clamp(0, 1), lambda t: t.clamp(0, 1)),
    (lambda z: gw.maximum(z, z), lambda t: torch.maximum(t, t)), (lambda z: z.sort()[0], lambda t: t.sort()[0]),
    (lambda z: z.floor(), lambda t: t.floor()), (lambda z: z.argmax(), lambda t: t.argmax()), (lambda z: z.amax(), lambda t: t.amax()),
    (lambda z: z.sign(), lambda t: t.sign()), (lambda z: gw.atan2(z, z), lambda t: torch.atan2(t, t)), (lambda z: z % 2, lambda t: t % 2),
    (lambda z: z.round(), lambda t: t.round()), (lambda z: z.topk(1)[0], lambda t: t.topk(1)[0]), (lambda z: z.erf(), lambda t: t.erf()),
    (lambda z: z < 1j, lambda t: t < 1j), (lambda z: z.ceil(), lambda t: t.ceil()),
])
def test_ops_refused_for_complex_in_torchs_words(session, f, t_f):
    _refused(lambda: f(session.tensor(Z.astype(np.complex64))), lambda: t_f(torch.tensor(Z.astype(np.complex64))))


@pytest.mark.parametrize("f", [
    lambda z: z.log1p(), lambda z: z.var(), lambda z: z.std(), lambda z: z.softmax(0), lambda z: z.cumprod(0), lambda z: z.norm(),
    lambda z: z.logsumexp(0), lambda z: gw.nn.functional.gelu(z), lambda z: z.asin(), lambda z: z.expm1(), lambda z: z.min(),
    lambda z: gw.linalg.det(z[:, :3]), lambda z: z.real.scatter_add(0, gw.tensor([[0, 1, 2, 0]]), z[:1]), lambda z: gw.nn.functional.embedding(gw.tensor([0, 1]), z),
])
def test_ops_not_brought_to_complex_refuse_rather_than_answer_wrongly(session, f):
    with pytest.raises(NotImplementedError, match="not implemented for 'ComplexDouble'|not supported|complex"):
        out = f(session.tensor(Z))
        out.numpy() if isinstance(out, gw.Tensor) else None


def test_a_real_training_step_is_unaffected(session):
    x = session.tensor(R, requires_grad=True)
    (x.relu() * x.sigmoid()).sum().backward()
    t = torch.tensor(R, requires_grad=True)
    (t.relu() * t.sigmoid()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    assert x.grad.dtype == gw.float64


# --- gw.fft ----------------------------------------------------------------------------------------------------------
_NORMS = [None, "backward", "ortho", "forward"]
_C2C = [
    lambda fft, x, norm: fft.fft(x, norm=norm), lambda fft, x, norm: fft.ifft(x, norm=norm), lambda fft, x, norm: fft.fft(x, n=7, norm=norm),
    lambda fft, x, norm: fft.fft(x, n=3, dim=0, norm=norm), lambda fft, x, norm: fft.ifft(x, n=9, dim=-2, norm=norm),
    lambda fft, x, norm: fft.fft2(x, norm=norm), lambda fft, x, norm: fft.ifft2(x, s=(3, 8), norm=norm),
    lambda fft, x, norm: fft.fftn(x, norm=norm), lambda fft, x, norm: fft.ifftn(x, s=(5,), norm=norm),
    lambda fft, x, norm: fft.fftn(x, s=(2, -1), dim=(1, 0), norm=norm), lambda fft, x, norm: fft.hfft(x, norm=norm),
    lambda fft, x, norm: fft.hfft(x, n=9, dim=0, norm=norm), lambda fft, x, norm: fft.irfft(x, norm=norm),
    lambda fft, x, norm: fft.irfft(x, n=5, norm=norm), lambda fft, x, norm: fft.irfft(x, n=8, dim=0, norm=norm),
    lambda fft, x, norm: fft.irfft2(x, norm=norm), lambda fft, x, norm: fft.irfftn(x, s=(4, 7), norm=norm),
    lambda fft, x, norm: fft.irfftn(x, norm=norm), lambda fft, x, norm: fft.hfft2(x, norm=norm),
    lambda fft, x, norm: fft.hfftn(x, s=(4, 7), norm=norm), lambda fft, x, norm: fft.hfftn(x, dim=(1, 0), norm=norm),
]
_R2C = [
    lambda fft, x, norm: fft.rfft(x, norm=norm), lambda fft, x, norm: fft.rfft(x, n=9, norm=norm), lambda fft, x, norm: fft.rfft(x, n=3, dim=0, norm=norm),
    lambda fft, x, norm: fft.rfft2(x, norm=norm), lambda fft, x, norm: fft.rfftn(x, s=(5, 4), norm=norm), lambda fft, x, norm: fft.rfftn(x, norm=norm),
    lambda fft, x, norm: fft.ihfft(x, norm=norm), lambda fft, x, norm: fft.ihfft(x, n=5, dim=0, norm=norm),
    lambda fft, x, norm: fft.fft(x, norm=norm), lambda fft, x, norm: fft.fft2(x, s=(3, 3), norm=norm), lambda fft, x, norm: fft.irfft(x, norm=norm),
    lambda fft, x, norm: fft.hfft(x, norm=norm), lambda fft, x, norm: fft.ihfft2(x, norm=norm),
    lambda fft, x, norm: fft.ihfftn(x, s=(3, 8), norm=norm), lambda fft, x, norm: fft.ihfftn(x, dim=(1, 0), norm=norm),
]


@pytest.mark.parametrize("norm", _NORMS)
@pytest.mark.parametrize("f", _C2C)
def test_fft_of_complex_input(session, f, norm):
    _compare(session, lambda lib, x: f(lib.fft, x, norm), Z)
    _compare(session, lambda lib, x: f(lib.fft, x, norm), Z.astype(np.complex64), rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("norm", _NORMS)
@pytest.mark.parametrize("f", _R2C)
def test_fft_of_real_input(session, f, norm):
    _compare(session, lambda lib, x: f(lib.fft, x, norm), S)
    _compare(session, lambda lib, x: f(lib.fft, x, norm), S.astype(np.float32), rtol=2e-4, atol=2e-5)


def test_a_spectral_loss_trains_as_torch(session):
    """The Fourier-layer pattern: rfft, a complex weight on the low modes, irfft back; the weight's and input's gradients."""
    x = RNG.standard_normal((2, 16))
    weight = RNG.standard_normal(5) + 1j * RNG.standard_normal(5)

    def step(lib, x, w):
        spectrum = lib.fft.rfft(x, norm="ortho")
        low = spectrum[:, :5] * w
        mixed = lib.cat((low, spectrum[:, 5:] * 0), 1)
        return (lib.fft.irfft(mixed, n=16, norm="ortho") - x).pow(2).mean()

    _compare(session, step, x, weight)


def test_fft_of_integers_and_frequencies_and_shifts(session):
    ints = np.arange(12).reshape(3, 4)
    for f in (lambda lib, x: lib.fft.fft(x), lambda lib, x: lib.fft.rfft(x), lambda lib, x: lib.fft.fftshift(x), lambda lib, x: lib.fft.ifftshift(x, dim=1),
              lambda lib, x: lib.fft.fftshift(x, dim=(0,))):
        ours, theirs = f(gw, session.tensor(ints)), f(torch, torch.tensor(ints))
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-5)
    for n, d in ((5, 1.0), (6, 0.1), (1, 2.0), (8, 0.5)):
        for name in ("fftfreq", "rfftfreq"):
            for dtype in (None, "float64"):
                ours = getattr(gw.fft, name)(n, d, dtype=dtype, session=session)
                theirs = getattr(torch.fft, name)(n, d, dtype=None if dtype is None else torch.float64)
                assert str(ours.dtype) == str(theirs.dtype)
                np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    _compare(session, lambda lib, x: lib.fft.fftshift(lib.fft.fft2(x)), Z)
    _compare(session, lambda lib, x: lib.fft.ifftshift(x, dim=(0, 1)), R)


def test_fft_and_angle_of_integers_follow_the_default_dtype(session):
    ints = np.arange(6)
    for default in (gw.float64, gw.float32):
        gw.set_default_dtype(default)
        torch.set_default_dtype(getattr(torch, str(default).removeprefix("torch.")))
        try:
            for f in (lambda lib, x: lib.fft.fft(x), lambda lib, x: lib.fft.rfft(x), lambda lib, x: lib.fft.irfft(x), lambda lib, x: lib.angle(x - 3),
                      lambda lib, x: lib.fft.ifft2(x.reshape(2, 3))):
                ours, theirs = f(gw, session.tensor(ints)), f(torch, torch.tensor(ints))
                assert str(ours.dtype) == str(theirs.dtype)  # (known before the server answers)
                np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)
                assert ours.dtype == ours.detach().numpy().dtype
        finally:
            gw.set_default_dtype(gw.float32)
            torch.set_default_dtype(torch.float32)
    _refused(lambda: gw.fft.fft(session.ones(4, dtype=gw.float16)), lambda: torch.fft.fft(torch.ones(4, dtype=torch.float16)))
    np.testing.assert_array_equal(session.tensor([1.0, -1.0], dtype=gw.float16).angle().numpy(),
                                  torch.tensor([1.0, -1.0], dtype=torch.float16).angle().numpy())


def test_fft_argument_errors_as_torch(session):
    z, t = session.tensor(Z.astype(np.complex64)), torch.tensor(Z.astype(np.complex64))
    x, u = session.tensor(S), torch.tensor(S)
    _refused(lambda: gw.fft.fft(x, norm="bad"), lambda: torch.fft.fft(u, norm="bad"))
    _refused(lambda: gw.fft.fft(x, n=0), lambda: torch.fft.fft(u, n=0))
    _refused(lambda: gw.fft.rfft(z), lambda: torch.fft.rfft(t))
    _refused(lambda: gw.fft.ihfft(z), lambda: torch.fft.ihfft(t))
    _refused(lambda: gw.fft.ihfftn(z), lambda: torch.fft.ihfftn(t))
    _refused(lambda: gw.fft.ihfft2(z), lambda: torch.fft.ihfft2(t))
    _refused(lambda: gw.fft.rfftn(z), lambda: torch.fft.rfftn(t))
    assert not gw.fft.ihfftn(x).is_conj() and not torch.fft.ihfftn(u).is_conj()  # (ihfft's is, as torch's: see above)
    _refused(lambda: gw.fft.fftn(x, s=(2,), dim=(0, 1)), lambda: torch.fft.fftn(u, s=(2,), dim=(0, 1)))
    _refused(lambda: gw.fft.irfft(session.ones(1)), lambda: torch.fft.irfft(torch.ones(1)))
    with pytest.raises(IndexError):
        gw.fft.fft(x, dim=2)


def test_casting_complex_to_real_keeps_the_real_part_and_warns_as_torch(session):
    z, t = session.tensor(Z, requires_grad=True), torch.tensor(Z, requires_grad=True)
    with pytest.warns(UserWarning, match="Casting complex values to real discards the imaginary part"):
        y = z.double()
    with pytest.warns(UserWarning):
        u = t.double()
    (y * y).sum().backward()
    (u * u).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    assert z.grad.dtype == gw.complex128


# --- gw.linalg.eig and eigvals ---------------------------------------------------------------------------------------
def _eig_invariants(lib, w, v):
    """A loss of what the eigenvectors' phases leave alone: the eigenvalues (both parts) and |V|."""
    return lib.cat([(w * w).real.reshape(-1), w.imag.reshape(-1), (v.abs() ** 2).reshape(-1)])


@pytest.mark.parametrize("make", [
    lambda: RNG.standard_normal((4, 4)), lambda: RNG.standard_normal((2, 3, 3)) + 1j * RNG.standard_normal((2, 3, 3)),
])
def test_eig_and_eigvals_as_torch(session, make):
    a = make()
    _compare(session, lambda lib, x: _eig_invariants(lib, *lib.linalg.eig(x)), a, rtol=1e-8, atol=1e-9)
    _compare(session, lambda lib, x: lib.linalg.eigvals(x), a, rtol=1e-8, atol=1e-9)
    _compare(session, lambda lib, x: lib.linalg.eigvals(x), a.astype(np.complex64 if a.dtype.kind == "c" else np.float32), rtol=1e-3, atol=1e-4)
    w, v = gw.linalg.eig(session.tensor(a))
    t_w, t_v = torch.linalg.eig(torch.tensor(a))
    assert str(w.dtype) == str(t_w.dtype) and type(gw.linalg.eig(session.tensor(a))).__name__ == "linalg_eig"
    np.testing.assert_allclose(w.numpy(), t_w.numpy(), rtol=1e-10)  # the same eigenvalues in the same order
    np.testing.assert_allclose((session.tensor(a).to(v.dtype) @ v).numpy(), (v * w.unsqueeze(-2)).numpy(), atol=1e-10)  # A V = V diag(w)


def test_eig_refuses_a_loss_of_the_eigenvectors_phases_as_torch(session):
    a = RNG.standard_normal((3, 3))
    x, t = session.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    _refused(lambda: (gw.linalg.eig(x)[1].imag.sum().backward(), x.grad)[1], lambda: torch.linalg.eig(t)[1].imag.sum().backward())


# --- complex parameters in optimizers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, kwargs", [
    ("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.1}), ("AdamW", {"lr": 0.1, "amsgrad": True}), ("RMSprop", {"lr": 0.01, "momentum": 0.5}),
    ("Adagrad", {"lr": 0.1}), ("Adamax", {"lr": 0.1}), ("NAdam", {"lr": 0.1}), ("RAdam", {"lr": 0.1}), ("Adadelta", {"lr": 1.0}),
    ("Rprop", {"lr": 0.1}), ("ASGD", {"lr": 0.1}),
])
def test_optimizers_step_complex_parameters_as_torch(session, name, kwargs):
    """PyTorch's optimizers update a complex parameter's real and imaginary parts as real numbers; their state is complex."""
    start = Z  # complex128: the comparison is of the update, not of float32 rounding
    p, t = gw.nn.Parameter(session.tensor(start)), torch.nn.Parameter(torch.tensor(start))
    opt, t_opt = getattr(gw.optim, name)([p], **kwargs), getattr(torch.optim, name)([t], **kwargs)
    for _ in range(3):
        for o, x, lib in ((opt, p, gw), (t_opt, t, torch)):
            o.zero_grad()
            (lib.fft.fft(x) * (1 + 2j)).abs().sum().backward()
            o.step()
    np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-7, atol=1e-8)  # (NAdam, ASGD: as for real ones)
    ours, theirs = opt.state_dict()["state"][0], t_opt.state_dict()["state"][0]
    for key, value in theirs.items():
        if isinstance(value, torch.Tensor) and value.ndim:
            assert ours[key].dtype == gw.complex128 and tuple(ours[key].shape) == tuple(value.shape)
            np.testing.assert_allclose(ours[key].numpy(), value.numpy(), rtol=1e-7, atol=1e-8)


def test_optimizers_that_read_matrix_shapes_refuse_complex_parameters(session):
    p = gw.nn.Parameter(session.tensor(Z.astype(np.complex64)))
    opt = gw.optim.Adafactor([p])
    (p * p).abs().sum().backward()
    with pytest.raises(gw.InvalidArgumentError, match="floating point parameters"):
        opt.step()
        p.detach().numpy()


def test_gradient_clipping_of_complex_gradients_as_torch(session):
    for norm_type in (2.0, 1.0, float("inf"), 3.0):
        p, t = gw.nn.Parameter(session.tensor(Z)), torch.nn.Parameter(torch.tensor(Z))
        (p * p).sum().real.backward()
        (t * t).sum().real.backward()
        total = gw.nn.utils.clip_grad_norm_([p], 0.5, norm_type=norm_type)
        t_total = torch.nn.utils.clip_grad_norm_([t], 0.5, norm_type=norm_type)
        np.testing.assert_allclose(float(total), float(t_total), rtol=1e-10)
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-10)
    _refused(lambda: (gw.nn.utils.clip_grad_value_([p], 0.1), p.grad)[1], lambda: torch.nn.utils.clip_grad_value_([t], 0.1), NotImplementedError)


_STFTS = [((64,), dict(n_fft=16)), ((2, 50), dict(n_fft=16, hop_length=5, win_length=12, window="hann")),
          ((2, 40), dict(n_fft=8, center=False, normalized=True, window="hamming")), ((30,), dict(n_fft=8, onesided=False, window="hamming"))]


@pytest.mark.parametrize("shape, kwargs", _STFTS, ids=[str(k) for _, k in _STFTS])
def test_stft_and_istft_match_torch_with_gradients(session, shape, kwargs):
    """torch.stft's frames, window, padding and normalization; its gradient; istft back to the signal (torch's too)."""
    kwargs = dict(kwargs)
    window = kwargs.pop("window", None)
    length = kwargs.get("win_length", kwargs["n_fft"])
    ours_window = None if window is None else getattr(gw, f"{window}_window")(length)
    theirs_window = None if window is None else getattr(torch, f"{window}_window")(length)
    signal = np.random.default_rng(8).standard_normal(shape).astype(np.float32)
    x, t = session.tensor(signal, requires_grad=True), torch.tensor(signal, requires_grad=True)
    ours, theirs = gw.stft(x, window=ours_window, return_complex=True, **kwargs), torch.stft(t, window=theirs_window, return_complex=True, **kwargs)
    assert ours.shape == tuple(theirs.shape) and np.allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-5)
    ours.abs().sum().backward(), theirs.abs().sum().backward()
    assert np.allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-5)
    if window is not None:
        complex_out = kwargs.get("onesided") is False
        back = gw.istft(ours.detach(), window=ours_window, length=shape[-1], return_complex=complex_out, **kwargs)
        expected = torch.istft(theirs.detach(), window=theirs_window, length=shape[-1], return_complex=complex_out, **kwargs)
        assert back.shape == tuple(expected.shape) and np.allclose(back.numpy(), expected.numpy(), atol=1e-5)
        assert np.allclose(back.numpy().real, signal, atol=1e-5)


def test_stft_refuses_what_torch_refuses(session):
    with pytest.raises(RuntimeError) as theirs:
        torch.stft(torch.zeros(20), 8)
    with pytest.raises(gw.InvalidArgumentError) as ours:
        gw.stft(session.zeros(20), 8)
    assert str(ours.value) == str(theirs.value)
