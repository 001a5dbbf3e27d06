"""``gw.amp.autocast``: torch's automatic mixed precision, done by the SDK as it queues each op.

Inside an enabled region, an op whose name is in the device's table below has its floating inputs cast first
(a ``to`` op each, recorded by autograd, so gradients flow back to float32 parameters as float32):

- ``lower``: to the region's dtype (bfloat16 on 'cpu', float16 on 'cuda', unless the region names one): matmuls,
  convolutions, ``linear``;
- ``fp32``: to float32: losses, and on CUDA the ops torch keeps in float32 there (``exp log pow softmax sum ...``);
- ``promote``: all to the widest floating dtype among them (``cat stack ...``);
- ``banned``: refused, as torch refuses ``binary_cross_entropy`` under CUDA autocast.

float64 inputs are never cast, as torch's ``is_eligible``. The tables are torch 2.13's (``aten/src/ATen/autocast_mode.cpp``)
under gradwire's op names: the server's op names, and the names of the SDK functions that torch runs as one op but
gradwire composes of several (``addmm``, ``mse_loss``, ...), marked with ``@autocast_op(name)``: their inputs are cast
at entry and the ops they are made of are not cast again, as torch's autocast wrapper excludes itself below an op.

As torch, the region applies to tensors on its device type only: ``autocast("cuda")`` casts the tensors of a session
whose server computes on CUDA; ``autocast("cpu")`` those of a CPU server. The state is thread-local, as torch's.
"""

from __future__ import annotations

import functools
import threading
import warnings

import numpy as np

from .. import dtypes
from ..floats import bfloat16 as _BFLOAT16, is_bfloat16, is_floating, promote_floats

_FLOAT16, _FLOAT32, _FLOAT64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
# torch's defaults: bfloat16 on 'cpu' (float16 where ml_dtypes is missing), float16 on 'cuda'
_DEFAULT_DTYPES = {"cuda": _FLOAT16, "cpu": _BFLOAT16 if _BFLOAT16 is not None else _FLOAT16}
_DEVICE_TYPES = ("cuda", "cpu")

# --- the op tables: gradwire op name -> policy, one per device type ---------------------------------------------

# torch's CPU lists. einsum reaches bmm inside torch (CompositeImplicit), so it comes out in the lower dtype there too.
_CPU = {
    "lower": """conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d matmul mm bmm linear addmm baddbmm
        addbmm prelu scaled_dot_product_attention einsum linalg_vecdot""",
    "fp32": """prod quantile nanquantile cdist trace cholesky cholesky_inverse cholesky_solve inv inverse solve det slogdet
        linalg_eigh linalg_qr linalg_svd svdvals eigvalsh pinverse mse_loss cosine_embedding_loss nll_loss hinge_embedding_loss
        poisson_nll_loss smooth_l1_loss cross_entropy l1_loss huber_loss margin_ranking_loss soft_margin_loss
        triplet_margin_loss multi_margin_loss multilabel_margin_loss kl_div binary_cross_entropy
        binary_cross_entropy_with_logits""",
    "promote": "cat stack index_copy",
}
# torch's CUDA lists (AT_FORALL_LOWER_PRECISION_FP, AT_FORALL_FP32, AT_FORALL_FP32_SET_OPT_DTYPE, AT_FORALL_PROMOTE).
# cross_entropy is log_softmax then nll_loss in torch, both float32 there; "norm" is torch's linalg_vector_norm.
_CUDA = {
    "lower": """conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d prelu addmm addmv addr matmul einsum
        mm mv linalg_vecdot linear addbmm baddbmm bmm chain_matmul multi_dot scaled_dot_product_attention""",
    "fp32": """acos asin cosh erfinv exp expm1 log log10 log2 log1p reciprocal rsqrt sinh tan pow softplus layer_norm group_norm
        cosine_similarity poisson_nll_loss cosine_embedding_loss nll_loss hinge_embedding_loss kl_div l1_loss smooth_l1_loss
        huber_loss mse_loss margin_ranking_loss multilabel_margin_loss soft_margin_loss triplet_margin_loss multi_margin_loss
        binary_cross_entropy_with_logits dist pdist cdist renorm logsumexp prod softmax log_softmax cumprod cumsum norm sum
        cross_entropy""",
    "promote": "addcdiv addcmul atan2 bilinear cross dot index_put tensordot scatter_add cat stack index_copy",
    "banned": "binary_cross_entropy",
}
POLICIES = {
    device: {name: policy for policy, names in table.items() for name in names.split()}
    for device, table in (("cpu", _CPU), ("cuda", _CUDA))
}
_BANNED = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits\n"
    "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
    "safe to autocast."
)


class _State(threading.local):
    """This thread's autocast state, as torch keeps it per thread."""

    def __init__(self):
        self.enabled = {device: False for device in _DEVICE_TYPES}
        self.dtype = dict(_DEFAULT_DTYPES)
        self.cache_enabled = True
        self.nesting = 0
        self.excluded = 0  # inside an @autocast_op function: its ops are not cast again
        self.cache = {}  # (id(leaf), grad mode) -> (leaf, its cast): a weight cast once per region
        self.active = False  # what the op hook reads: some device enabled, and not excluded

    def refresh(self):
        self.active = self.excluded == 0 and any(self.enabled.values())


state = _State()


def is_autocast_available(device_type: str) -> bool:
    """Whether gradwire autocasts on ``device_type`` ('cuda' and 'cpu')."""
    return device_type in _DEVICE_TYPES


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether autocast is enabled for ``device_type`` in this thread, as ``torch.is_autocast_enabled``."""
    return state.enabled.get(device_type, False)


def get_autocast_dtype(device_type: str):
    """The dtype autocast casts to on ``device_type`` unless a region set another: as torch's, bfloat16 on 'cpu' and
    float16 on 'cuda'."""
    if not is_autocast_available(device_type):
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    return dtypes.public(state.dtype[device_type])


def is_autocast_cache_enabled() -> bool:
    return state.cache_enabled


def clear_autocast_cache():
    """Drop the weight casts kept for this region (torch does it when the outermost region exits)."""
    state.cache.clear()


class autocast:
    """``torch.amp.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``: a context manager and a
    decorator inside which matmuls and convolutions run in a lower precision and losses (and, on CUDA, the ops torch
    lists) in float32, as torch's op lists say. ``dtype``: bfloat16 (the default on 'cpu', as torch's) or float16 (the
    default on 'cuda'); another dtype warns and disables autocast, as torch does. On 'cuda' bfloat16 needs a server
    whose device holds it (``Session.server_info.dtypes``): else it is refused with torch's words.
    ``cache_enabled``: a float32 leaf that requires grad (a weight) is cast once per region.

    Nest ``autocast(device_type, enabled=False)`` to run a part in the inputs' own dtypes; outputs made in the lower
    dtype stay so there (cast them with ``.float()``). The region covers this thread's ops on tensors of ``device_type``.
    """

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if not is_autocast_available(device_type):
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self.device = device_type
        self._cache_enabled = state.cache_enabled if cache_enabled is None else bool(cache_enabled)
        fast_dtype = get_autocast_dtype(device_type) if dtype is None else _read_dtype(dtype)
        if enabled:
            if device_type == "cuda" and not _cuda_available():
                warnings.warn("CUDA is not available (no open session's server computes on CUDA). Disabling autocast.", stacklevel=2)
                enabled = False
            elif device_type == "cuda" and is_bfloat16(fast_dtype) and not _cuda_bfloat16():
                raise RuntimeError("Current CUDA Device does not support bfloat16. Please switch dtype to float16.")
            elif fast_dtype != _FLOAT16 and not is_bfloat16(fast_dtype):
                name = device_type.upper()
                warnings.warn(
                    f"In {name} autocast, but the target dtype is not supported. Disabling autocast.\n"
                    f"{name} Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.",
                    stacklevel=2,
                )
                enabled = False
        self.fast_dtype = fast_dtype
        self._enabled = bool(enabled)

    def __enter__(self):
        self.prev = state.enabled[self.device]
        self.prev_fastdtype = state.dtype[self.device]
        self.prev_cache_enabled = state.cache_enabled
        state.enabled[self.device] = self._enabled
        state.dtype[self.device] = self.fast_dtype
        state.nesting += 1
        state.cache_enabled = self._cache_enabled
        state.refresh()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        state.nesting -= 1
        if state.nesting == 0:
            clear_autocast_cache()
        state.enabled[self.device] = self.prev
        state.dtype[self.device] = self.prev_fastdtype
        state.cache_enabled = self.prev_cache_enabled
        state.refresh()
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                f"Did you mean to use autocast as a context manager? For example:\n"
                f"    with torch.autocast(device_type=...):\n"
                f"        output = model(input)"
            )

        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return decorate_autocast


def _read_dtype(dtype):
    """A dtype as gradwire reads it (``gw.bfloat16``, "bfloat16", "torch.float16", ...)."""
    from ..tensor import as_dtype

    return as_dtype(dtype)


def _cuda_bfloat16():
    """Whether an open CUDA session's server holds bfloat16 (CuPy with ml_dtypes' bfloat16)."""
    from ..cuda import _cuda_sessions

    return any("bfloat16" in s.server_info.dtypes for s in _cuda_sessions())


def _cuda_available():
    from ..cuda import is_available

    return is_available()


# --- the hook: what the SDK calls with each op's inputs before it queues the op --------------------------------


def cast_inputs(name, inputs):
    """``inputs`` (tensors and numbers) cast as op ``name``'s policy says under this thread's autocast; the same tuple
    where no cast applies. Called by ``tensor._op`` while ``state.active`` only."""
    device = None
    for x in inputs:
        if hasattr(x, "_session"):
            device = x._session.device
            break
    if device is None or not state.enabled.get(device):
        return inputs
    policy = POLICIES[device].get(name)
    if policy is None:
        return inputs
    if policy == "lower":
        return tuple(_cast(x, state.dtype[device]) for x in inputs)
    if policy == "fp32":
        return tuple(_cast(x, _FLOAT32) for x in inputs)
    if policy == "promote":
        widest = None
        for x in inputs:
            if _eligible(x):
                widest = x._dtype if widest is None else promote_floats(widest, x._dtype)
        return inputs if widest is None else tuple(_cast(x, widest) for x in inputs)
    raise RuntimeError(_BANNED)


def _eligible(x):
    """A floating tensor that is not float64, of a known dtype: what torch's autocast casts."""
    dtype = getattr(x, "_dtype", None)
    return dtype is not None and is_floating(dtype) and dtype != _FLOAT64


def _cast(x, dtype):
    if not _eligible(x) or x._dtype == dtype:
        return x
    from ..grad_mode import is_grad_enabled

    cacheable = state.cache_enabled and dtype != _FLOAT32 and x._is_leaf and x._requires_grad and x._view_of is None
    if not cacheable:
        return _excluded(x.to, dtype)
    key = (id(x), is_grad_enabled())  # (grad mode too: a cast made under no_grad has no history to hand out later)
    hit = state.cache.get(key)
    if hit is None or hit[0] is not x:
        hit = state.cache[key] = (x, _excluded(x.to, dtype))
    return hit[1]


def _excluded(call, *args, **kwargs):
    """``call`` with autocast off for this thread's ops (an @autocast_op function's body, the casts themselves)."""
    state.excluded += 1
    state.active = False
    try:
        return call(*args, **kwargs)
    finally:
        state.excluded -= 1
        state.refresh()


def autocast_op(name):
    """Mark an SDK function that torch runs as ONE op named ``name`` (``addmm``, ``mse_loss``, ``mv``) and gradwire
    composes of several: under autocast its tensor arguments are cast as ``name``'s policy says (none, where no table
    lists it) and the ops it is made of are not cast again, as torch's autocast wrapper excludes itself below the op."""

    def decorate(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            if not state.active:
                return function(*args, **kwargs)
            tensors = [i for i, a in enumerate(args) if hasattr(a, "_session")]
            keys = [k for k, a in kwargs.items() if hasattr(a, "_session")]
            cast = cast_inputs(name, tuple(args[i] for i in tensors) + tuple(kwargs[k] for k in keys))
            args = list(args)
            for i, value in zip(tensors + keys, cast):
                if isinstance(i, int):
                    args[i] = value
                else:
                    kwargs[i] = value
            return _excluded(function, *args, **kwargs)

        return run

    return decorate
