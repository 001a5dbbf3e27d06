"""``gw.tensor``, ``gw.zeros``, ``gw.randn``, ...: PyTorch's tensor factories at the top level. Each makes
its tensor in ``session=`` when given, else in the only open session (as layers do), so code written
for ``torch`` reads the same; each takes PyTorch's ``device``, ``layout``, ``pin_memory`` and ``memory_format``
keywords too (``tensor.placed``). ``gw.manual_seed`` reseeds every open session."""

from __future__ import annotations

import secrets

import numpy as np

from . import defaults
from .session import checked_seed, open_sessions, resolve_session
from .errors import InvalidArgumentError
from .tensor import Tensor, as_dtype, placed

__all__ = ["arange", "as_tensor", "asarray", "bartlett_window", "blackman_window", "hamming_window", "hann_window", "kaiser_window", "empty", "empty_strided", "scalar_tensor", "eye", "from_numpy", "full", "initial_seed", "is_tensor", "linspace", "logspace", "manual_seed", "numel",
           "ones", "rand", "normal", "randint", "randn", "randperm", "seed", "tensor", "tril_indices", "triu_indices", "zeros"]


@placed
def tensor(data, dtype=None, requires_grad=False, *, session=None):
    """A tensor from a list, a scalar or a NumPy array (copied), as ``torch.tensor``."""
    return resolve_session(session).tensor(data, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array, *, session=None):
    """A tensor of ``array``'s dtype and values, as ``torch.from_numpy``, but a copy: a remote tensor cannot share
    the array's memory, so a later change to the array does not reach it."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return resolve_session(session).tensor(array)


@placed
def randint(low, high=None, size=None, *, generator=None, dtype=None, requires_grad=False, session=None):
    """``torch.randint(low=0, high, size)``: integers uniform in [low, high), in ``session`` or the only open one
    (from ``generator``, a ``gw.Generator``, where given)."""
    return _session_of(session, generator).randint(low, high, size, dtype=dtype, requires_grad=requires_grad, generator=generator)


@placed
def randperm(n, *, generator=None, dtype=None, requires_grad=False, session=None):
    """``torch.randperm(n)``: a random permutation of 0 .. n-1, in ``session`` or the only open one."""
    return _session_of(session, generator).randperm(n, dtype=dtype, requires_grad=requires_grad, generator=generator)


def _session_of(session, generator):
    """``session``; else a generator's own; else the only open one."""
    return resolve_session(session if session is not None or generator is None else getattr(generator, "_session", None))


@placed
def as_tensor(data, dtype=None, *, session=None):
    """``data`` itself where it is already a tensor of that dtype, else ``tensor(data)``, as ``torch.as_tensor``."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    if isinstance(data, Tensor):
        return data.to(dtype)
    return tensor(data, dtype=dtype, session=session)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False, session=None):
    """``obj`` as a tensor, as ``torch.asarray``: a gradwire tensor itself where its dtype is already right and no
    ``copy=True`` asks otherwise; other data (lists, numbers, NumPy arrays, local torch tensors) is always copied, so
    ``copy=False`` with them is refused: a remote tensor cannot share their memory."""
    if device is not None:  # checked, as to() checks one: the tensor stays on its server's device
        from .tensor import _device_type

        _device_type(device)
    if isinstance(obj, Tensor):
        out = obj if dtype is None or as_dtype(dtype) == obj.dtype else obj.to(dtype)
        if copy and out is obj:
            out = obj.clone()
        if requires_grad and not out.requires_grad:
            out = out.detach().requires_grad_() if not out.is_leaf else out.requires_grad_()
        return out
    if copy is False:
        raise ValueError("asarray(): can't alias memory that is not a gradwire tensor's: a remote tensor is always a copy (copy=False)")
    return resolve_session(session).tensor(obj, dtype=dtype, requires_grad=requires_grad)


@placed
def scalar_tensor(s, *, dtype=None, requires_grad=False, session=None):
    """A 0-d tensor of the number ``s``, in the default float dtype unless ``dtype=``, as ``torch.scalar_tensor``."""
    return resolve_session(session).full((), s, dtype=dtype if dtype is not None else defaults.current, requires_grad=requires_grad)


@placed
def empty_strided(size, stride, *, dtype=None, requires_grad=False, session=None):
    """``torch.empty_strided``: a tensor of ``size`` (zeros, as ``empty``'s). ``stride`` is checked and otherwise not
    kept: the server lays every new tensor out in C order (``stride()`` says so)."""
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise InvalidArgumentError("mismatch in length of strides and shape")
    return resolve_session(session).zeros(*size, dtype=dtype, requires_grad=requires_grad)


@placed
def empty_permuted(size, physical_layout, *, dtype=None, requires_grad=False, session=None):
    """``torch.empty_permuted``: a tensor of ``size`` (zeros, as ``empty``'s) laid out with its dims in
    ``physical_layout`` order, outermost first (``(0, 2, 3, 1)``: NHWC), as its ``stride()`` says: a permuted view of a
    tensor made in that order."""
    size, layout = tuple(size), tuple(physical_layout)
    if len(layout) != len(size):
        raise InvalidArgumentError("Number of dimensions in size does not match the length of the physical_layout; i.e. "
                                   f"len(size) = {len(size)} is not equal to len(physical_layout) = {len(layout)}")
    if sorted(layout) != list(range(len(size))):
        raise InvalidArgumentError("Duplicate dim not allowed")
    made = resolve_session(session).zeros(*(size[d] for d in layout), dtype=dtype)
    out = made.permute(sorted(range(len(layout)), key=layout.__getitem__))  # logical dim d is the made one's layout.index(d)
    return out.requires_grad_() if requires_grad else out


def _sized(name):
    def factory(*size, dtype=None, requires_grad=False, session=None):
        return getattr(resolve_session(session), name)(*size, dtype=dtype, requires_grad=requires_grad)

    def sampler(*size, generator=None, dtype=None, requires_grad=False, session=None):
        return getattr(_session_of(session, generator), name)(*size, generator=generator, dtype=dtype, requires_grad=requires_grad)

    factory = sampler if name in ("rand", "randn") else factory  # rand and randn draw from generator= where given

    factory.__name__ = name
    factory.__doc__ = f"``torch.{name}(*size)``, in ``session`` or the only open one."
    return factory


zeros, ones, rand, randn = (placed(_sized(name)) for name in ("zeros", "ones", "rand", "randn"))


@placed
def empty(*size, dtype=None, requires_grad=False, session=None):
    """Zeros: no uninitialised memory crosses sessions."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad, session=session)


@placed
def full(size, fill_value, dtype=None, requires_grad=False, *, session=None):
    return resolve_session(session).full(size, fill_value, dtype=dtype, requires_grad=requires_grad)


@placed
def arange(start, end=None, step=1, dtype=None, requires_grad=False, *, session=None):
    return resolve_session(session).arange(start, end, step, dtype=dtype, requires_grad=requires_grad)


@placed
def linspace(start, end, steps, dtype=None, requires_grad=False, *, session=None):
    return resolve_session(session).linspace(start, end, steps, dtype=dtype, requires_grad=requires_grad)


@placed
def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False, session=None):
    """A 1-D tensor of the ``buffer``'s bytes (any object with the buffer protocol) read as ``dtype``, ``count``
    elements from byte ``offset``, as ``torch.frombuffer``, but a copy (a remote tensor cannot share the buffer's
    memory); PyTorch's checks, in its words."""
    size = memoryview(buffer).nbytes
    dtype = as_dtype(dtype)
    if size == 0 or count == 0:
        raise ValueError(f"both buffer length ({size}) and count ({count}) must not be 0")
    if not 0 <= offset < size:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length ({size} bytes) minus 1")
    if count < 0:
        if (size - offset) % dtype.itemsize:
            raise ValueError(f"buffer length ({size - offset} bytes) after offset ({offset} bytes) must be a multiple of element size ({dtype.itemsize})")
        count = (size - offset) // dtype.itemsize
    elif offset + count * dtype.itemsize > size:
        raise ValueError(f"requested buffer length ({count} * {dtype.itemsize} bytes) after offset ({offset} bytes) must not be greater "
                         f"than actual buffer length ({size} bytes)")
    values = np.frombuffer(buffer, dtype=dtype, count=count, offset=offset)
    return resolve_session(session).tensor(values, requires_grad=requires_grad)


@placed
def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False, *, session=None):
    """``steps`` powers of ``base`` with exponents evenly spaced from ``start`` to ``end``, as ``torch.logspace``:
    computed here in float64, then cast to ``dtype`` (float32 by default) and uploaded."""
    if steps < 0:
        raise InvalidArgumentError("number of steps must be non-negative")
    session = resolve_session(session)
    session._check_made_here("a logspace tensor", steps, as_dtype(dtype) if dtype is not None else defaults.current)
    exponents = np.linspace(float(start), float(end), steps, dtype=np.float64)
    values = np.power(float(base), exponents).astype(as_dtype(dtype) if dtype is not None else defaults.current)
    return session.tensor(values, requires_grad=requires_grad)


@placed
def eye(n, m=None, dtype=None, requires_grad=False, *, session=None):
    return resolve_session(session).eye(n, m, dtype=dtype, requires_grad=requires_grad)


@placed
def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False, session=None):
    """``torch.normal``: samples of N(mean, std^2), ``mean`` and ``std`` tensors (broadcast together) or numbers (then
    ``size`` gives the shape), from ``generator`` (a ``gw.Generator``) or the session's generator."""
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal(): with a number mean and std, size= gives the shape")
        samples = _session_of(session, generator).randn(*((size,) if isinstance(size, int) else size), generator=generator, dtype=dtype)
        out = samples * std + mean
    else:
        first = tensors[0]
        shape = np.broadcast_shapes(*(tuple(t.shape) for t in tensors))
        out = first._session.randn(*shape, generator=generator, dtype=dtype or first.dtype) * std + mean
    return out.requires_grad_() if requires_grad else out


@placed
def tril_indices(row, col, offset=0, *, dtype=None, session=None):
    return resolve_session(session).tril_indices(row, col, offset, dtype=dtype)


@placed
def triu_indices(row, col, offset=0, *, dtype=None, session=None):
    return resolve_session(session).triu_indices(row, col, offset, dtype=dtype)


def _window(name, window_length, periodic, dtype, requires_grad, session, formula):
    """A window of ``window_length`` points by ``formula(k, M)`` (k = 0 .. M), as PyTorch's window functions: a periodic
    one is the symmetric window one point longer, its last point dropped. Computed here in float64 and uploaded."""
    if window_length < 0:
        raise InvalidArgumentError(f"{name} requires non-negative window_length, got window_length={window_length}")
    dtype = as_dtype(dtype) if dtype is not None else defaults.current
    if dtype.kind not in "fV":
        raise InvalidArgumentError(f"{name} expects floating point dtypes, got: {dtype}")
    session = resolve_session(session)
    session._check_made_here(f"a {name} tensor", window_length, dtype)
    if window_length <= 1:
        values = np.ones(window_length)
    else:
        points = window_length + 1 if periodic else window_length
        values = formula(np.arange(points, dtype=np.float64), points - 1)[:window_length]
    return session.tensor(values.astype(dtype), requires_grad=requires_grad)


@placed
def hann_window(window_length, periodic=True, *, dtype=None, requires_grad=False, session=None):
    """``torch.hann_window``: 0.5 - 0.5 cos(2 pi k / M)."""
    return _window("hann_window", window_length, periodic, dtype, requires_grad, session,
                   lambda k, m: 0.5 - 0.5 * np.cos(2 * np.pi * k / m))


@placed
def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, requires_grad=False, session=None):
    """``torch.hamming_window``: alpha - beta cos(2 pi k / M)."""
    return _window("hamming_window", window_length, periodic, dtype, requires_grad, session,
                   lambda k, m: alpha - beta * np.cos(2 * np.pi * k / m))


@placed
def blackman_window(window_length, periodic=True, *, dtype=None, requires_grad=False, session=None):
    """``torch.blackman_window``: 0.42 - 0.5 cos(2 pi k / M) + 0.08 cos(4 pi k / M)."""
    return _window("blackman_window", window_length, periodic, dtype, requires_grad, session,
                   lambda k, m: 0.42 - 0.5 * np.cos(2 * np.pi * k / m) + 0.08 * np.cos(4 * np.pi * k / m))


@placed
def bartlett_window(window_length, periodic=True, *, dtype=None, requires_grad=False, session=None):
    """``torch.bartlett_window``: 1 - |2 k / M - 1|."""
    return _window("bartlett_window", window_length, periodic, dtype, requires_grad, session, lambda k, m: 1 - np.abs(2 * k / m - 1))


@placed
def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, requires_grad=False, session=None):
    """``torch.kaiser_window``: I0(beta sqrt(1 - (2 k / M - 1)^2)) / I0(beta)."""
    return _window("kaiser_window", window_length, periodic, dtype, requires_grad, session,
                   lambda k, m: np.i0(beta * np.sqrt(np.clip(1 - (2 * k / m - 1) ** 2, 0, None))) / np.i0(beta))


def manual_seed(seed):
    """Reseed every open session's generator, as ``torch.manual_seed`` seeds PyTorch's."""
    seed = checked_seed(seed)  # (refused in torch's words even when no session is open)
    for open_session in open_sessions():
        open_session.manual_seed(seed)


def seed() -> int:
    """Reseed every open session's generator with one fresh random 63-bit seed and return it, as ``torch.seed``."""
    fresh = secrets.randbits(63)
    manual_seed(fresh)
    return fresh


def initial_seed(*, session=None) -> int:
    """The seed that ``session``'s generator (the only open one's by default) was last seeded with: ``connect(seed=)``'s
    (one drawn at random there when none is given), ``manual_seed``'s or ``seed``'s, as ``torch.initial_seed``."""
    return resolve_session(session).initial_seed()


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def typename(obj) -> str:
    """``torch.typename``: a tensor's legacy type name (``"torch.FloatTensor"``), else the object's qualified name."""
    if isinstance(obj, Tensor):
        return obj.type()
    module, qualname = getattr(obj, "__module__", "") or "", getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if qualname is None:
        module, qualname = obj.__class__.__module__ or "", obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def numel(input) -> int:
    return input.numel()
