"""gradwire: remote autograd with PyTorch's tensor API.

    import gradwire as gw
    with gw.connect() as s:                      # no target: an embedded server
        x = s.randn(3, 4, requires_grad=True)
        (x * x).sum().backward()
        print(x.grad.numpy())
"""

from . import accelerator, amp, autograd, backends, cpu, cuda, distributions, errors, func, linalg, nn, optim, profiler, random, special, testing, utils, viz
from .accelerator import get_device_module
from .amp import autocast
from .amp.autocast_mode import get_autocast_dtype, is_autocast_enabled
from .autograd import grad
from .backends import (
    are_deterministic_algorithms_enabled, compile, get_float32_matmul_precision, get_num_interop_threads, get_num_threads,
    is_deterministic_algorithms_warn_only_enabled, set_float32_matmul_precision, set_num_interop_threads, set_num_threads,
    get_default_device, set_default_device,
    use_deterministic_algorithms, set_warn_always, is_warn_always_enabled, set_flush_denormal, get_deterministic_debug_mode,
    set_deterministic_debug_mode,
)
from .errors import (
    CancelledError, DeadlineExceededError, FailedPreconditionError, GradwireError, InternalError,
    InvalidArgumentError, InvalidIndexError, NotFoundError, PermissionDeniedError, ResourceExhaustedError, SessionLostError,
    UnauthenticatedError, UnavailableError, UnimplementedError,
)
from .grad_mode import (
    enable_grad, inference_mode, is_anomaly_check_nan_enabled, is_anomaly_enabled, is_grad_enabled, is_inference_mode_enabled, no_grad,
    set_anomaly_enabled, set_grad_enabled,
)
from .func import cond, vmap, while_loop
from .factories import (
    arange, as_tensor, asarray, empty, empty_permuted, empty_strided, eye, from_numpy, frombuffer, full, initial_seed, is_tensor, linspace, logspace, manual_seed, normal,
    numel, ones, rand, randint, randn, randperm, scalar_tensor, seed, tril_indices, triu_indices, typename, zeros,
    bartlett_window, blackman_window, hamming_window, hann_window, kaiser_window,
)
from .generator import Generator, get_rng_state, set_rng_state
from .printing import set_printoptions
from .serialization import load, save
from .session import Session, connect
from . import shaping  # noqa: F401 - more Tensor methods, and their torch-level names in FUNCTIONS
from . import complexes  # noqa: F401 - complex tensors' methods (real, imag, conj, ...), and their torch-level names
from . import fft  # noqa: E402 - gw.fft, as torch.fft
from . import tensor_methods  # noqa: F401 - the rest of torch.Tensor's methods (put, fill_diagonal_, <<, resize_, apply_, ...)
from .shaping import broadcast_shapes, can_cast, promote_types, result_type, unravel_index
from .tensor import (
    FUNCTIONS, Size, Tensor, atleast_1d, atleast_2d, atleast_3d, block_diag, bool_, broadcast_tensors, broadcast_to, bucketize, cartesian_prod, cat,
    bfloat16, cdist, column_stack, combinations, complex64, complex128, concat, concatenate, device, dstack, einsum, empty_like, float16, float32,
    float64, full_like, hstack, int8,
    int16, int32, int64, maximum, meshgrid, minimum, ones_like, polygamma, rand_like, randint_like, randn_like, row_stack, searchsorted, stack,
    std_mean, tensordot, uint8, var_mean, vstack, where, zeros_like,
    channels_last, channels_last_3d, contiguous_format, layout, memory_format, preserve_format, strided,
)
from .legacy import LEGACY_FUNCTIONS, LEGACY_TYPES
from .linalg import lu_unpack, pca_lowrank, svd_lowrank
from .typeinfo import finfo, iinfo
from .defaults import get_default_dtype, set_default_dtype
from .distributions.binomial import binomial
from .distributions.poisson import poisson

__version__ = "0.1.0"

__all__ = [
    "CancelledError", "DeadlineExceededError", "FailedPreconditionError", "GradwireError", "InternalError",
    "InvalidArgumentError", "InvalidIndexError", "NotFoundError", "PermissionDeniedError", "ResourceExhaustedError", "Session",
    "SessionLostError", "Size", "Tensor", "GradScaler", "OutOfMemoryError", "dtype",
    "UnauthenticatedError", "UnavailableError", "UnimplementedError", "accelerator", "amp", "autocast", "autograd", "cpu", "bool_", "cat", "connect", "cuda", "device", "distributions",
    "einsum", "get_autocast_dtype", "get_default_dtype", "is_autocast_enabled", "set_default_dtype", "uint8", "int8", "int16", "randint_like",
    "enable_grad", "errors", "bfloat16", "float16", "float32", "float64", "complex64", "complex128", "fft", "grad", "int32", "int64",
    "is_grad_enabled", "load",
    "maximum", "minimum", "nn", "no_grad", "broadcast_to", "meshgrid", "tensordot", "std_mean", "var_mean", "linalg",
    "optim", "profiler", "save", "set_grad_enabled", "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "stack", "utils", "viz", "where",
    "zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "inference_mode", "arange", "as_tensor", "empty", "eye",
    "from_numpy", "frombuffer", "full", "is_tensor", "linspace", "manual_seed", "numel", "ones", "rand", "randint", "randn", "randperm", "tensor", "zeros",
    "cdist", "tril_indices", "triu_indices", "normal", "poisson", "binomial", "Generator", "get_rng_state", "set_rng_state", "is_inference_mode_enabled",
    "special", "atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "broadcast_tensors",
    "bucketize", "cartesian_prod", "column_stack", "combinations", "concat", "concatenate", "dstack", "empty_like", "hstack", "polygamma",
    "row_stack", "searchsorted", "vstack", "finfo", "iinfo", "initial_seed", "logspace", "seed", "set_printoptions", "func", "vmap",
    "backends", "random", "testing", "compile", "typename", "set_float32_matmul_precision", "get_float32_matmul_precision",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled", "set_warn_always", "is_warn_always_enabled", "set_flush_denormal", "set_num_threads", "get_num_threads",
    "set_num_interop_threads", "get_num_interop_threads", "set_default_device", "get_default_device", "get_device_module", "is_deterministic_algorithms_warn_only_enabled",
    "get_deterministic_debug_mode", "set_deterministic_debug_mode", "set_anomaly_enabled",
    "broadcast_shapes", "can_cast", "promote_types", "result_type", "unravel_index", "asarray", "scalar_tensor", "empty_strided", "empty_permuted", "cond", "while_loop",
    "lu_unpack", "pca_lowrank", "svd_lowrank", "bartlett_window", "blackman_window", "hamming_window", "hann_window", "kaiser_window", "isin", "channels_last", "channels_last_3d", "contiguous_format", "layout", "memory_format", "preserve_format", "strided",
    *FUNCTIONS, *nn.functional.TORCH_FUNCTIONS, *LEGACY_TYPES, *LEGACY_FUNCTIONS,
]
globals().update(FUNCTIONS)  # gw.exp(x), gw.sum(x, 1), ...: torch's functions of a tensor
globals().update(LEGACY_TYPES)  # gw.FloatTensor, gw.LongTensor, ...: PyTorch's legacy tensor types
globals().update(LEGACY_FUNCTIONS)  # gw.range, gw.chain_matmul, ...: PyTorch's deprecated functions, with its warnings
globals().update(nn.functional.TORCH_FUNCTIONS)  # gw.conv2d, gw.dropout(x, p, train), ...: torch's top-level functional ops
from .factories import tensor  # noqa: E402 - after the submodule of that name: gw.tensor([1, 2]) is the factory, as torch.tensor
# torch's dtypes (gw.float32 prints torch.float32), over the NumPy dtypes the SDK keeps inside (dtypes.py)
from .dtypes import dtype  # noqa: E402
float16, float32, float64, bfloat16, complex64, complex128, uint8, int8, int16, int32, int64, bool_ = (  # noqa: E402
    dtypes.public(d) for d in (float16, float32, float64, bfloat16, complex64, complex128, uint8, int8, int16, int32, int64, bool_))
# PyTorch's dtype aliases (torch.long, torch.float, ...), set last and kept out of __all__: they shadow builtins
long, int, float, double, half, short, bool = int64, int32, float32, float64, float16, int16, bool_  # noqa: A001
cfloat, cdouble = complex64, complex128
GradScaler = amp.GradScaler  # torch.GradScaler (torch.amp's)
# torch.OutOfMemoryError: a server out of device memory, or past a quota, answers RESOURCE_EXHAUSTED
OutOfMemoryError = ResourceExhaustedError
complex = complexes.complex  # noqa: A001 - torch.complex(real, imag)
