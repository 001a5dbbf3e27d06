"""``Engine``: applies ops, records the graph, runs backward, makes tensors.

One engine per session: it owns the session's random generator. Engines on the
same device share nothing else, so sessions stay isolated.
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections import namedtuple

import numpy as np

from .backend import Backend, generator_state, set_generator_state
from .dtypes import COMPUTE, DEFAULT_FLOAT, can_cast, checked_fill, complex_of, is_floating, parse_dtype, promote_tensors, torch_name, wrap_integer
from .errors import DeviceError, DTypeError, GraphError, IndexOutOfRange, InvalidArgument, KernelNotImplemented, NotForComplex, ShapeError
from .graph import DROPPED, AccumulateGrad, Meta, Node, is_grad_enabled, set_grad_enabled, walk_backward
from .traced import Traced, TracedNumpy, traced_input_grads
from .ops import FLOAT32_AND_64, OPS, SPECIAL_POLYNOMIALS, SPECIAL_UNARY, Staged, at, site
from .tensor import Tensor
from .vjps import NON_DIFFERENTIABLE, VJPS

# NaN and Inf are data, not errors: the engine never warns about them.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"gradwire_server\.engine(\..*)?$")

MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])
_SCALARS = (bool, int, float, np.number, np.bool_)
# ops that compute rightly on complex tensors, with a VJP rule that is right for them (vjps.CONJUGATED or a rule of
# their own); any other op given a complex tensor is refused, as PyTorch refuses orders, clamps, rounding, ...
COMPLEX_OPS = frozenset((
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh", "sigmoid",
    "reciprocal", "rsqrt", "log10", "log2", "sum", "mean", "prod", "cumsum", "reshape", "transpose", "permute", "squeeze", "unsqueeze",
    "expand", "index", "index_put", "copy_slices", "cat", "stack", "where", "eq", "ne", "clone", "contiguous", "to", "flip", "roll",
    "repeat", "tril", "triu", "abs", "isnan", "isinf", "isfinite", "masked_fill", "einsum", "linear",
    "real", "imag", "conj", "angle", "complex", "fftn", "ifftn", "rfftn", "irfftn",
    "linalg_eig", "ldl_factor", "ldl_solve",
    "diagonal", "unfold", "as_strided", "view_dtype",
))
_INPLACE = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "true_divide"}


class Engine:
    """Tensors, ops and autograd on one array module (``xp``)."""

    def __init__(self, device="auto", seed=None, backend: Backend | None = None):
        self.backend = backend or Backend(device)
        self.xp = self.backend.xp
        self.device = self.backend.device
        self._ndarray = self.xp.ndarray
        self.stream = self.backend.new_stream()  # `with engine.stream:` runs work on this engine's own CUDA stream
        self.trace = 0  # anomaly detection: the id nodes recorded now keep (Node.trace), to name their forward op
        # the float dtype integer tensors become (x / 2, exp(x)): float32 unless the op's command names the
        # client's default dtype (``set_default_dtype``), which commands.py sets for that op alone
        self.default_float = DEFAULT_FLOAT
        self.profiler = None  # a profile.Profiler while the session profiles: backward passes time each node
        self.manual_seed(seed)

    # --- ops ------------------------------------------------------------------
    def apply(self, name, *inputs, **params):
        """Run op ``name`` on tensors (and Python scalars where allowed); record it if grad is on."""
        op = OPS.get(name)
        if op is None:
            raise InvalidArgument(f"unknown op {name!r}")
        if op.arity is None:
            if not inputs:
                raise InvalidArgument(f"{name}() expected a non-empty list of Tensors")
            if not all(type(t) is Tensor for t in inputs):
                raise InvalidArgument(f"{name}() expected a list of Tensors")
        elif len(inputs) != op.arity:
            raise InvalidArgument(f"{name}() takes {op.arity} input(s) but {len(inputs)} were given")
        # one pass over the inputs: their arrays, whether any of them is tracked, and whether they are the common case
        # that needs no promotion: float arrays of one dtype, and Python numbers (``uniform``: that dtype, else False)
        arrays, tracked, complex_input, uniform = [], False, None, None
        ndarray = self._ndarray
        for i, x in enumerate(inputs):
            if type(x) is Tensor:
                if x.engine is not self and x.engine.xp is not self.xp:
                    raise DeviceError(f"{name}: expected all tensors to be on the same device, but found {x.device} and {self.device}")
                array = x.array
                arrays.append(array)
                if x._requires_grad:
                    tracked = True
                dtype = array.dtype
                kind = dtype.kind
                if uniform is None:
                    uniform = dtype if kind == "f" and type(array) is ndarray else False
                elif uniform is not False and (dtype != uniform or type(array) is not ndarray):
                    uniform = False
                if kind == "c":
                    complex_input = dtype
            elif isinstance(x, _SCALARS):
                if not op.broadcasts:  # only elementwise ops take a number where a tensor could be
                    raise InvalidArgument(f"{name}(): argument 'input' (position {i + 1}) must be Tensor, not {type(x).__name__}")
                arrays.append(x)
                if type(x) is not float and type(x) is not int:
                    uniform = False
            else:
                raise InvalidArgument(f"{name}(): expected a Tensor or a number as input, got {type(x).__name__}")
        uniform = uniform is not None and uniform is not False
        if complex_input is not None and name not in COMPLEX_OPS:
            raise _not_for_complex(name, complex_input)
        if (op.broadcasts or op.arity is None) and (name == "where" or not uniform):
            arrays = self._promote(name, inputs, arrays)
        if not uniform and name in _INTEGER_RULES and arrays[0].dtype.kind in "biu":
            arrays[0] = _INTEGER_RULES[name](name, arrays[0], params, self.default_float)
        forward_params = params
        if params:
            for key, value in params.items():
                if type(value) is list:
                    params[key] = tuple(value)
        # a bfloat16 op runs in float32 and its result is rounded once (``dtypes.COMPUTE``); views stay views
        # (a uniform op's arrays are of a float kind: bfloat16's is "V")
        stored = None if uniform or type(arrays[0]) is not ndarray or arrays[0].dtype not in COMPUTE else arrays[0].dtype
        if stored is not None:
            return self._apply_computed(op, name, inputs, arrays, params, forward_params, tracked, stored)
        out = self._forward(op, name, inputs, arrays, params, forward_params)
        if type(out) is tuple:
            out = tuple(o if type(o) is self._ndarray else self.xp.asarray(o) for o in out)
            first = out[0]
        else:
            first = out = out if type(out) is self._ndarray else self.xp.asarray(out)

        requires_grad = tracked and (first.dtype.kind in "fc" or first.dtype in COMPUTE) and name not in NON_DIFFERENTIABLE and is_grad_enabled()
        # a view op's output shares input 0's version counter only when it shares its memory: advanced
        # indexing and a reshape of a non-contiguous array copy, and a later in-place change cannot reach them
        view = op.view and type(inputs[0]) is Tensor and self.xp.may_share_memory(first, arrays[0])
        result = Tensor(first, self, requires_grad, None, inputs[0]._version if view else [0])
        if view:
            _note_view(result, inputs[0], name, params)
        if type(out) is tuple:
            return self._several(op, inputs, arrays, params, out, result, tracked and name not in NON_DIFFERENTIABLE and is_grad_enabled())
        if requires_grad:
            result.grad_fn = self._record(op, inputs, arrays, params, out, (result,))
        return result

    def _forward(self, op, name, inputs, arrays, params, forward_params):
        """The op's forward on ``arrays``, the array module's complaint about them turned into PyTorch's words."""
        try:
            if name in _REDUCTIONS and params.get("dim") is not None and getattr(arrays[0], "ndim", 1) == 0:
                # a 0-d tensor has dim 0 (and -1), as PyTorch's: the reduction is over everything (CuPy refuses axis 0
                # of a 0-d array, NumPy takes it only as an int); the node keeps the dim, for its name
                forward_params = {**params, "dim": _zero_d_dim(params["dim"])}
            return op.forward(self.xp, *arrays, **forward_params)
        except (ValueError, IndexError, TypeError) as error:
            raise _explain(name, inputs, params, error) from None

    def _apply_computed(self, op, name, inputs, arrays, params, forward_params, tracked, stored):
        """``apply`` for an op whose first input is of a storage dtype the engine computes in another (bfloat16, in
        float32): the inputs of that dtype widened, the op run, its outputs of the wide dtype rounded back once (an op
        that names its result's dtype keeps it). A view op runs on the stored arrays, sharing their memory. A node
        recorded keeps the wide inputs and outputs, so the backward rules run in float32 too (``Node.input_grads``
        widens the gradients that come in); the walk rounds each input's gradient to its dtype."""
        if name in FLOAT32_AND_64:  # (its forward would see float32 and take it)
            raise KernelNotImplemented(f'"{_KERNEL_NAMES.get(name, name)}" not implemented for \'{torch_name(stored)}\'')
        wide = COMPUTE[stored]
        computed = arrays if op.view else [a.astype(wide) if type(a) is self._ndarray and a.dtype == stored else a for a in arrays]
        out = self._forward(op, name, inputs, computed, params, forward_params)
        several = type(out) is tuple
        wide_out = tuple(self.xp.asarray(o) for o in out) if several else (self.xp.asarray(out),)
        keep = op.view or "dtype" in params
        stored_out = tuple(o if keep or o.dtype != wide else o.astype(stored) for o in wide_out)
        first = stored_out[0]
        recording = tracked and name not in NON_DIFFERENTIABLE and is_grad_enabled()
        view = op.view and type(inputs[0]) is Tensor and self.xp.may_share_memory(first, arrays[0])
        result = Tensor(first, self, recording and is_floating(first.dtype), None, inputs[0]._version if view else [0])
        if view:
            _note_view(result, inputs[0], name, params)
        if recording:  # residuals in the wide dtype: the rounded outputs, widened again
            saved_out = tuple(o.astype(wide) if o.dtype == stored else o for o in stored_out)
            saved_in = computed if not op.view else [a.astype(wide) if type(a) is self._ndarray and a.dtype == stored else a for a in arrays]
            saved_out = saved_out if several else saved_out[0]
        if several:
            if not recording:
                return (result,) + tuple(Tensor(o, self) for o in stored_out[1:])
            results = self._several(op, inputs, saved_in, params, saved_out, result, True)
            for r, o in zip(results[1:], stored_out[1:]):  # the tensors hold the rounded outputs
                r.array = o
            return results
        if result._requires_grad:
            result.grad_fn = self._record(op, inputs, saved_in, params, saved_out, (result,))
        return result

    def _several(self, op, inputs, arrays, params, out, result, tracking):
        """The outputs of an op that gives several. Where its VJP entry names n differentiable outputs (``svd``: U, S,
        Vh), the first n share one node, each with its output number; else only the first is differentiable
        (values, then indices)."""
        vjp = VJPS.get(op.name)
        n = vjp.outputs if vjp is not None else 1
        results = (result,) + tuple(Tensor(o, self, tracking and k < n and (o.dtype.kind in "fc" or o.dtype in COMPUTE)) for k, o in enumerate(out[1:], 1))
        if n == 1:
            if result._requires_grad:
                result.grad_fn = self._record(op, inputs, arrays, params, out, results)
            return results
        if tracking and any(r._requires_grad for r in results[:n]):
            node = self._record(op, inputs, arrays, params, out, results[:n])
            node.outputs = tuple(Meta(o.shape, o.dtype) for o in out[:n])
            for k, r in enumerate(results[:n]):
                r._requires_grad, r.grad_fn, r._output_nr = True, node, k
        return results

    def _input_array(self, name, x):
        if type(x) is Tensor:
            if x.engine.xp is not self.xp:
                raise DeviceError(f"{name}: expected all tensors to be on the same device, but found {x.device} and {self.device}")
            return x.array
        if isinstance(x, _SCALARS):
            return x
        raise InvalidArgument(f"{name}(): expected a Tensor or a number as input, got {type(x).__name__}")

    def _result_type(self, name, arrays):
        """The dtype op ``name`` computes in for these arrays and numbers, as ``torch.result_type``."""
        target = promote_tensors((a.dtype, a.ndim) for a in arrays if not isinstance(a, _SCALARS))
        if target is None:
            raise InvalidArgument(f"{name}() needs at least one tensor input")
        if not is_floating(target) and (name in _FLOAT_RESULTS or any(type(a) is float for a in arrays)):
            return self.default_float  # true division and float scalars make integer tensors float
        if target == _BOOL and name != "where" and any(type(a) is int for a in arrays):
            return _INT64  # an int meets bool tensors as int64, as PyTorch's (bool << 3 is int64)
        return target

    def _promote(self, name, inputs, arrays):
        """PyTorch's type promotion: tensors promote together; a Python float turns an integer tensor into the default
        float dtype; a Python int meets a narrower integer tensor as a number of its dtype, wrapped (uint8 + 300 adds 44)."""
        target = self._result_type(name, arrays)
        if name == "sub":
            _check_bool_subtraction(arrays)
        if name == "pow" and target.kind in "iu" and type(arrays[1]) is int and arrays[1] < 0:
            raise InvalidArgument("Integers to negative integer powers are not allowed.")
        if name == "where":
            if arrays[0].dtype != np.bool_:
                raise DTypeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {torch_name(arrays[0].dtype)}")
            # numbers alone: PyTorch's types for them (float32 with a float, else int64, or bool for two bools)
            target = promote_tensors((a.dtype, a.ndim) for a in arrays[1:] if not isinstance(a, _SCALARS))
            if target is None or (target == _BOOL and any(type(a) is int for a in arrays[1:])):  # an int makes bools int64
                target = _BOOL if all(type(a) is bool for a in arrays[1:]) else _INT64
            if not is_floating(target) and any(type(a) is float for a in arrays[1:]):
                target = self.default_float
            # numbers as NumPy scalars of the result's dtype (no copy to a device): where(m, 1.0, 0.0) is float32
            return [arrays[0]] + [_as_number(a, target) if isinstance(a, _SCALARS) else a if a.dtype == target else a.astype(target)
                                  for a in arrays[1:]]
        if target.kind in "iu" and target.itemsize < 8:  # (a NumPy float scalar, not a Python float, is left to NumPy)
            return [(wrap_integer(a, target) if isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)) else a)
                    if isinstance(a, _SCALARS) else a if a.dtype == target else a.astype(target) for a in arrays]
        return [a if isinstance(a, _SCALARS) or a.dtype == target else a.astype(target) for a in arrays]

    def _record(self, op, inputs, arrays, params, out, results):
        vjp = VJPS.get(op.name)
        saves, reads = ("all", None) if vjp is None else (vjp.saves, vjp.reads)
        edges, metas, nrs = [], [], None
        for x in inputs:
            if type(x) is Tensor:
                array = x.array
                metas.append(_new_tuple(Meta, (array.shape, array.dtype)))  # Meta(...) without its Python __new__
                node = x.grad_fn
                if node is None:
                    edges.append(x.accumulator() if x._requires_grad else None)
                    continue
                if node.outputs is not None:  # an output of a node with several: the edge takes its number
                    if nrs is None:
                        nrs = [None] * len(inputs)
                    nrs[len(edges)] = x._output_nr
                edges.append(node)
            else:
                metas.append(None)
                edges.append(None)
        versions = []  # (a saved tensor's version cell, its version now), checked by backward
        if saves == "inputs" or saves == "all":
            if reads is not None:  # only the inputs that the rules of the inputs needing a gradient read (numbers as they are)
                read = set()
                for i, edge in enumerate(edges):
                    if edge is not None:
                        read.update(reads[i])
                saved = []
                for i, x in enumerate(inputs):
                    if type(x) is not Tensor:
                        saved.append(arrays[i])
                    elif i in read:
                        saved.append(arrays[i])
                        versions.append((x._version, x._version[0]))
                    else:
                        saved.append(metas[i])
                saved_inputs = tuple(saved)
            else:
                saved_inputs = tuple(arrays)
                for x in inputs:
                    if type(x) is Tensor:
                        versions.append((x._version, x._version[0]))
        else:
            saved_inputs = tuple(metas)
        saved_ans = None
        if saves == "ans" or saves == "all":
            saved_ans = out
            for r in results:
                versions.append((r._version, r._version[0]))
        node_name = op.node if type(op.node) is str else op.node([m.shape if m else None for m in metas], params)
        rules = vjp or _NO_RULES
        node = Node(node_name, op.name, rules, tuple(edges), tuple(metas), params, (saved_ans, saved_inputs), versions,
                    nrs=None if nrs is None else tuple(nrs))
        if self.trace:
            node.trace = self.trace
        return node

    # ops that need more than a table entry's forward: argument handling only
    def dropout(self, x, p=0.5):
        """``F.dropout`` in training: the uniform samples drawn here, from the engine's generator, in the
        order a ``rand`` of x's shape would draw them; one command on the wire instead of two."""
        if type(x) is not Tensor:
            raise InvalidArgument(f"dropout(): argument 'input' must be Tensor, not {type(x).__name__}")
        return self.apply("dropout", x, self.rand(x.shape, dtype=x.dtype), p=p)

    def index(self, x, key, check=None, check_dim=None):
        """``x[key]`` with ints, slices, None, Ellipsis, integer arrays or tensors and boolean masks. ``check``: the
        PyTorch call that this index serves (``index_select``, ``take``), whose rules and words for an index out of
        range apply (``check_dim``: the dim that call names, where it is not the key's)."""
        return self.apply("index", x, key=self._normalize_key(key, x, "index", check, check_dim))

    def index_put(self, x, value, key=(), accumulate=False, check=None, check_dim=None):
        """``x`` with ``x[key] = value`` (``accumulate``: ``+=``, repeats adding up), out of place (``apply_into`` writes
        it back for ``x[key] = value``). ``check``: as ``index``'s (``put_``, ``index_copy_``, ``index_fill_``)."""
        key = self._normalize_key(key, x, "index_put", check, check_dim)
        return self.apply("index_put", x, value, key=key, accumulate=True) if accumulate else self.apply("index_put", x, value, key=key)

    def _normalize_key(self, key, x=None, name=None, check=None, check_dim=None):
        """The key's parts as the array module takes them; with ``x``, checked against its shape where the module
        would wrap an index around (an IndexError in NumPy's words, made PyTorch's for op ``name`` if given), or
        by the rules of the PyTorch call ``check``."""
        parts = self._key_parts(key, None if x is None else x.shape)
        if check is not None:
            _check_call_bounds(check, x.shape, parts, check_dim)
        if x is not None and self.backend.wraps_indices:
            try:
                if type(parts) is Staged:  # the arrays index what the ints, slices and None leave
                    _check_index_bounds(x.array[parts[: parts.n]].shape, parts[parts.n :])
                else:
                    _check_index_bounds(x.shape, parts)
            except IndexError as error:
                if name is None:
                    raise
                raise _explain(name, (x,), {}, error) from None
        return parts

    def _key_parts(self, key, shape=None):
        """The key's parts as the array module takes them, by PyTorch's rules: a 0-d integer tensor is an int (a select),
        a bool or 0-d boolean tensor a new dim indexed by ``[0]`` or ``[]``, an empty list no indices; a boolean mask
        checked against the dims of ``shape`` it covers, as PyTorch checks one, then turned into the indices where it
        is True. With ``shape``: where ints and integer arrays meet, a ``Staged`` key (the ints select first, the
        arrays index what is left, as PyTorch's), and an Ellipsis that covers no dim left out (arrays on either side
        of it are adjacent, as PyTorch's)."""
        if type(key) is Staged:  # normalized already
            return key
        xp = self.xp
        parts = []
        for part in key if type(key) is tuple else (key,):
            if type(part) is Tensor:
                part = part.array
            elif isinstance(part, (bool, np.bool_)):
                part = xp.asarray(bool(part))
            elif isinstance(part, (list, np.ndarray)) or (xp is not np and isinstance(part, xp.ndarray)):
                part = xp.asarray(part)
                if part.size == 0 and part.dtype.kind == "f":  # x[[]]: no indices, as PyTorch's
                    part = part.astype(np.int64)
            elif not (part is None or part is Ellipsis or isinstance(part, (int, np.integer, slice))):
                raise InvalidArgument(f"index: unsupported index of type {type(part).__name__}")
            if hasattr(part, "dtype"):
                if part.dtype == np.uint8:  # a mask too, as PyTorch's (the SDK warns)
                    part = part.astype(np.bool_)
                if part.dtype != np.bool_:
                    if part.dtype.kind not in "iu" or part.dtype.itemsize < 4:  # int8, int16: refused, as PyTorch
                        raise InvalidArgument("tensors used as indices must be long, int, byte or bool tensors")
                    if part.ndim == 0:  # a select, as an int (PyTorch's)
                        part = int(part)
            parts.append(part)
        # the dims the parts take, but an Ellipsis (a mask its own ndim; None and a 0-d mask none)
        specified = sum(0 if part is None or part is Ellipsis else part.ndim if _is_mask(part) else 1 for part in parts)
        out = []
        dim = 0  # the dim of ``shape`` the next part indexes
        covered = None  # the dims an Ellipsis covers
        for part in parts:
            if part is Ellipsis:
                if shape is not None and covered is None:
                    covered = max(len(shape) - specified, 0)
                    dim += covered
            elif _is_mask(part) and part.ndim:
                if shape is not None:
                    _check_mask(part.shape, shape, dim)
                dim += part.ndim
                out.extend(part.nonzero())  # a mask is the indices where it is True
                continue
            elif part is not None and not _is_mask(part):
                dim += 1
            out.append(part)
        if shape is None or not any(hasattr(part, "dtype") for part in out):
            return tuple(out)
        if covered == 0:  # arrays on either side of it stay adjacent, as PyTorch's (NumPy's would part them)
            out = [part for part in out if part is not Ellipsis]
        if any(type(part) is int or isinstance(part, np.integer) for part in out):
            return _staged(xp, out, len(shape) - specified)
        return tuple(out)

    def reduce_with_index(self, name, x, dim=None, keepdim=False):
        """``max``/``min``: over everything a 0-d tensor; along ``dim`` a named tuple (values, indices)."""
        if dim is None:
            return self.apply(name, x)
        values, indices = self.apply(name, x, dim=dim, keepdim=keepdim)
        return (MaxResult if name == "max" else MinResult)(values, indices)

    def cat(self, tensors, dim=0):
        return self.apply("cat", *tensors, dim=dim)

    def stack(self, tensors, dim=0):
        return self.apply("stack", *tensors, dim=dim)

    def where(self, condition, x, y):
        return self.apply("where", condition, x, y)

    def maximum(self, x, y):
        return self.apply("maximum", x, y)

    def minimum(self, x, y):
        return self.apply("minimum", x, y)

    def to(self, x, dtype=None, device=None):
        """A copy in another dtype; the same tensor when nothing changes (as in PyTorch)."""
        if isinstance(dtype, str) and dtype.split(":")[0] in ("cpu", "cuda"):
            dtype, device = None, dtype  # x.to("cpu"): a device given in the first place, as PyTorch allows
        if device is not None and str(device).split(":")[0] != self.device:
            raise DeviceError(f"device {device!r} is not available: this engine runs on {self.device!r}")
        if dtype is None or parse_dtype(dtype) == x.dtype:
            return x
        self._check_held(dtype)
        return self.apply("to", x, dtype=parse_dtype(dtype))

    # --- in place -------------------------------------------------------------------
    def inplace(self, name, target, other=None, key=None):
        """``target op= other`` (``setitem``: ``target[key] = other``) in the target's memory; bumps its version counter.

        Where autograd records it (grad mode on; target or ``other`` requires grad) it goes through ``apply_into``:
        ``add sub mul div`` as themselves, ``zero copy setitem`` as ``index_put``.
        """
        if type(other) is Tensor:
            self.check_overlap(name, target, other, key if name == "setitem" else None)
        if name == "sub":
            _check_bool_subtraction((target.array, other.array if type(other) is Tensor else other))
        if is_grad_enabled() and (target._requires_grad or (type(other) is Tensor and other._requires_grad)):
            if name in _INPLACE:
                return self.apply_into(name, target, lambda source: self.apply(name, source, other))
            if name not in ("zero", "copy", "setitem"):
                raise InvalidArgument(f"unknown in-place op {name!r}")
            value = other if type(other) is Tensor else Tensor(self.xp.asarray(0 if name == "zero" else self._input_array(name, other), dtype=target.dtype), self)
            return self.apply_into("index_put", target, lambda source: self.index_put(source, value, key if name == "setitem" else ()))
        array = target.array
        if name == "setitem" and array.dtype.kind in "iu":  # a number is stored only where it fits, as PyTorch's
            other = checked_fill(other, array.dtype)  # (a float tensor takes an overflowing float as inf, as PyTorch's x[i] = v)
        elif array.dtype.kind in "iu" and type(other) is int and array.dtype.itemsize < 8:  # an op's int operand wraps
            other = wrap_integer(other, array.dtype)
        try:
            if name == "zero":
                array[...] = 0
            elif name == "setitem":
                dest, at_key = site(array, self._normalize_key(key, target))
                dest[at_key] = self._input_array(name, other)
            elif name == "copy":
                source = self._input_array(name, other)
                if getattr(source, "ndim", 0) > array.ndim:  # copyto would drop leading 1s: PyTorch's broadcast refuses them
                    raise ValueError("could not broadcast input array")  # (told in PyTorch's words below)
                self.xp.copyto(array, source, casting="unsafe")  # copy_ casts to any dtype, as PyTorch's
            elif name in _INPLACE:
                operand = self._input_array(name, other)
                same = getattr(operand, "dtype", None) == array.dtype and (name != "div" or is_floating(array.dtype))  # (the usual case)
                result = array.dtype if same else self._result_type(name, (array, operand))
                if not can_cast(result, array.dtype):  # PyTorch's rule: int64 into uint8 wraps, float into int is refused
                    raise DTypeError(f"{name}_: result type {torch_name(result)} can't be cast to the desired output type {torch_name(array.dtype)}")
                getattr(self.xp, _INPLACE[name])(array, operand, out=array, casting="unsafe")
            else:
                raise InvalidArgument(f"unknown in-place op {name!r}")
        except TypeError:  # NumPy's casting errors are TypeErrors
            other_dtype = getattr(other, "dtype", None)  # (PyTorch's names of the types)
            other_name = torch_name(other_dtype) if other_dtype is not None else type(other).__name__
            raise DTypeError(f"{name}_: result type {other_name} can't be cast to the desired output type {torch_name(array.dtype)}") from None
        except (ValueError, IndexError) as error:
            if "read-only" in str(error):
                raise InvalidArgument(
                    f"{name}_: unsupported operation: more than one element of the written-to tensor refers to a single "
                    "memory location. Please clone() the tensor before performing the operation."
                ) from None
            # NumPy: "could not broadcast input array from shape ..."; CuPy: "operands could not be broadcast together ..."
            if name == "setitem" and ("could not broadcast" in str(error) or "could not be broadcast" in str(error)):
                raise ShapeError(
                    f"shape mismatch: value tensor of shape {list(self.xp.shape(self._input_array(name, other)))} cannot be "
                    f"broadcast to indexing result of shape {list(at(array, self._normalize_key(key, target)).shape)}"
                ) from None
            raise _explain(name + "_", (target, other), {}, error) from None
        target._version[0] += 1
        return target

    def check_overlap(self, name, target, source, key=None):
        """Refuse ``target.name_(source)`` (``key``: ``target[key] = source``) where source is partly target's memory,
        as PyTorch's (``c[1:] = c[:-1]``)."""
        if type(source) is not Tensor or not self.xp.may_share_memory(target.array, source.array):
            return  # the usual case, told by the array module in C: memory apart
        if key is None or _overlap(target.array, source.array) is not None:  # (the key read only then)
            _check_overlap(name, target.array, source.array, None if key is None else self._normalize_key(key, target))

    def apply_into(self, name, target, compute):
        """``target.name_(...)`` as PyTorch's in-place ops: ``compute(source)`` runs op ``name`` out of place on
        ``source``, which holds target's values and history; its result is written into target's memory, and
        where autograd recorded it target takes its node as ``grad_fn`` (``x.relu_()``, ``h += y``, ``h[k] = v``).

        The source is a copy where the op's backward reads its inputs (``mul_``: PyTorch clones there too), so a
        pending backward keeps the values it saved. A recorded change to a view goes into its root's history
        too (a ``CopySlices`` node: the written part passes its gradient to the op, the rest to the root's
        history before), and every live view of the root takes its history again from the root's.
        """
        recording = is_grad_enabled()
        view = target._view
        root = target if view is None else view[0]
        if recording and root._requires_grad and root.grad_fn is None:
            raise GraphError(f"a {'' if view is None else 'view of a '}leaf Variable that requires grad is being used in an in-place operation.")
        vjp = VJPS.get(name)
        if recording and (vjp is None or vjp.saves in ("inputs", "all")):
            source = Tensor(target.array.copy(), self, target._requires_grad, target.grad_fn)
        else:
            source = Tensor(target.array, self, target._requires_grad, target.grad_fn, target._version)
        source._output_nr = target._output_nr
        out = compute(source)
        if type(out) is tuple:
            raise InvalidArgument(f"{name}_: an op with several outputs has no in-place form")
        array = target.array
        if out.shape != array.shape:
            raise ShapeError(f"output with shape {list(array.shape)} doesn't match the broadcast shape {list(out.shape)}")
        if not can_cast(out.dtype, array.dtype):
            raise DTypeError(f"{name}_: result type {torch_name(out.dtype)} can't be cast to the desired output type {torch_name(array.dtype)}")
        try:
            self.xp.copyto(array, out.array, casting="unsafe")  # (checked above, PyTorch's rule)
        except ValueError as error:
            if "read-only" in str(error):
                raise InvalidArgument(
                    f"{name}_: unsupported operation: more than one element of the written-to tensor refers to a single "
                    "memory location. Please clone() the tensor before performing the operation."
                ) from None
            raise
        target._version[0] += 1
        node = out.grad_fn
        if node is None:
            return target
        if view is None:
            old = target.grad_fn
            if old is not None and old.retains(target):
                node.retained = weakref.ref(target)  # retain_grad() follows the tensor, as in PyTorch
                old.retain(target, None)
            target.grad_fn, target._output_nr = node, 0
        else:  # the root takes the write into its history (CopySlices); the view's history is taken again from it
            edge = root.grad_fn or (root.accumulator() if root._requires_grad else None)
            metas = (Meta(root.shape, root.dtype), Meta(out.shape, out.dtype))
            # a root that is one output of a node with several (svd's U): the edge takes its number
            nrs = (root._output_nr, None) if root.grad_fn is not None and root.grad_fn.outputs is not None else None
            root.grad_fn = Node(OPS["copy_slices"].node, "copy_slices", VJPS["copy_slices"], (edge, node), metas, {"steps": view[1]}, (None, metas), [],
                                nrs=nrs)
            root._output_nr = 0
        root._requires_grad = True
        if root._views:
            self._retake_views(root)
        return target

    def _retake_views(self, root):
        """Every live view of ``root`` made again from root's new history (its values are root's already),
        as PyTorch regenerates a view's grad_fn after an in-place change to its base."""
        for view in list(root._views):
            fresh = root
            for name, params in view._view[1]:
                fresh = self.apply(name, fresh, **params)
            if fresh.grad_fn is not None:
                fresh.grad_fn.name = "AsStridedBackward0"  # PyTorch's name for a view's node made again
            view.grad_fn, view._requires_grad, view._output_nr = fresh.grad_fn, fresh._requires_grad, fresh._output_nr

    # --- autograd -------------------------------------------------------------------
    def backward(self, tensor, gradient=None, retain_graph=None, hooks=(), create_graph=False, inputs=None, check_nan=False):
        """Accumulate d(tensor)/d(leaf) into every leaf's ``.grad`` (vector-Jacobian product with ``gradient``).

        ``tensor`` may be a list of tensors (``gradient`` then a list, one each, None for a one-element tensor),
        as ``torch.autograd.backward``. ``hooks``: (tensor, hook) pairs, PyTorch's tensor hooks: ``hook(grad)``
        once the pass has that tensor's whole gradient; what it returns (not None) goes on in its place.
        ``create_graph``: the gradients are recorded (``traced``), to be differentiated again; the graph is kept
        unless ``retain_graph=False``, as PyTorch's. ``inputs``: only these tensors' ``.grad`` is accumulated
        into. ``check_nan``: anomaly detection, a node that makes a NaN gradient raises ``AnomalyError``.
        """
        given = []  # the tensors this pass gives a first .grad: if it fails part way, they have none again

        def accumulate(leaf, grad):
            if leaf.grad is None:
                given.append(leaf)
            self._accumulate(leaf, grad)

        try:
            _drive(self.backward_walk(tensor, gradient, retain_graph, [x for x, _ in hooks], create_graph, accumulate, inputs=inputs,
                                      check_nan=check_nan), hooks)
        except BaseException:
            for leaf in given:  # (those that had one keep what was added: PyTorch's partial pass does the same)
                leaf.grad = None
            raise

    def backward_walk(self, tensor, gradient=None, retain_graph=None, hooked=(), create_graph=False, accumulate=None, stops=None, inputs=None,
                      check_nan=False):
        """``backward`` as a generator that stops at each tensor of ``hooked`` whose gradient the pass
        computes: it yields (its index in ``hooked``, the gradient) and goes on with the Tensor sent back
        (None: the gradient as it was). The server drives it across batches, a client's hooks between.
        ``stops``, a dict, is filled with the stops and read as the walk goes: one added later (``stop_at``)
        stops a pass that has not reached it yet."""
        tensors, gradients = ([tensor], [gradient]) if type(tensor) is Tensor else (list(tensor), list(gradient or [None] * len(tensor)))
        if len(gradients) != len(tensors):
            raise InvalidArgument(f"grad_tensors has {len(gradients)} element(s) but tensors has {len(tensors)}")
        roots = [self._root(t, i) for i, t in enumerate(tensors)]
        seeds = [self._seed(t, g, i) for i, (t, g) in enumerate(zip(tensors, gradients))]
        if create_graph:
            seeds = _recorded_seeds(tensors, gradients, seeds)
        accumulate = accumulate or self._accumulate
        if inputs is None:
            return self._walk(roots, seeds, retain_graph, None, hooked, create_graph, accumulate, stops, check_nan)
        for i, x in enumerate(inputs):
            if not x._requires_grad:
                raise GraphError(f"One of the differentiated Tensors (input {i}) does not require grad")
        targets = [_endpoint(x) for x in inputs]
        capture = dict.fromkeys(targets)
        walk = self._walk(roots, seeds, retain_graph, capture, hooked, create_graph, accumulate, stops, check_nan)
        return self._into_inputs(walk, capture, targets, inputs, accumulate)

    def _into_inputs(self, walk, capture, targets, inputs, accumulate):
        """``backward(inputs=...)``: a pass that captures the inputs' gradients (running only the nodes on a path
        to one, as ``grad``), then accumulates each into its tensor's ``.grad``; an input not reached keeps its own."""
        yield from walk
        for x, target in zip(inputs, targets):
            g = capture[target]
            if g is not None:
                # a non-leaf's gradient may be the array the walk passed on: its .grad gets its own
                accumulate(x, g if type(g) is Traced or type(target) is AccumulateGrad else self.xp.array(g))

    def grad(self, outputs, inputs, grad_outputs=None, retain_graph=None, allow_unused=False, hooks=(), create_graph=False, check_nan=False):
        """Gradients of ``outputs`` with respect to ``inputs``, returned, leaving every ``.grad`` untouched."""
        walk = self.grad_walk(outputs, inputs, grad_outputs, retain_graph, allow_unused, [x for x, _ in hooks], create_graph, check_nan=check_nan)
        return _drive(walk, hooks)

    def grad_walk(self, outputs, inputs, grad_outputs=None, retain_graph=None, allow_unused=False, hooked=(), create_graph=False, stops=None,
                  check_nan=False):
        """``grad`` as a generator that stops as ``backward_walk`` does; the gradients are its return value."""
        outputs = [outputs] if type(outputs) is Tensor else list(outputs)
        single = type(inputs) is Tensor
        inputs = [inputs] if single else list(inputs)
        if grad_outputs is None or type(grad_outputs) is Tensor:
            grad_outputs = [grad_outputs] * len(outputs)
        for i, x in enumerate(inputs):
            if not x._requires_grad:
                raise GraphError(f"One of the differentiated Tensors (input {i}) does not require grad")
        targets = [_endpoint(x) for x in inputs]
        capture = dict.fromkeys(targets)
        roots = [self._root(y, i) for i, y in enumerate(outputs)]
        seeds = [self._seed(y, g, i) for i, (y, g) in enumerate(zip(outputs, grad_outputs))]
        if create_graph:
            seeds = _recorded_seeds(outputs, grad_outputs, seeds)
        walk = self._walk(roots, seeds, retain_graph, capture, hooked, create_graph, stops=stops, check_nan=check_nan)
        return self._captured(walk, capture, targets, allow_unused)

    def _walk(self, roots, seeds, retain_graph, capture, hooked, create_graph, accumulate=None, stops=None, check_nan=False):
        if hooked or stops is not None:
            stops = {} if stops is None else stops
            for i, x in enumerate(hooked):
                self.stop_at(stops, x, i)
        if retain_graph is None:
            retain_graph = create_graph
        accumulate, profiler = accumulate or self._accumulate, self.profiler
        if not create_graph:
            if profiler is not None:  # each node timed under its grad_fn's name, each .grad accumulated as AccumulateGrad
                walk = walk_backward(self.xp, roots, seeds, retain_graph, capture, profiler.timed_accumulate(accumulate), stops,
                                     input_grads=profiler.timed_input_grads(self.xp), check_nan=check_nan)
            else:
                walk = walk_backward(self.xp, roots, seeds, retain_graph, capture, accumulate, stops, check_nan=check_nan)
            return walk if stops is None else self._tensors_at_stops(walk)  # (without stops it never yields)
        seeds = [Traced(seed if type(seed) is Tensor else Tensor(seed, self)) for seed in seeds]
        input_grads = lambda node, grad: traced_input_grads(self, node, grad)  # noqa: E731
        if profiler is not None:
            input_grads, accumulate = profiler.timed_input_grads(self.xp, input_grads), profiler.timed_accumulate(accumulate)
        walk = walk_backward(TracedNumpy(self), roots, seeds, retain_graph, capture, accumulate, stops, input_grads=input_grads, check_nan=check_nan)
        return self._tensors_at_stops(walk, recorded=True)

    @staticmethod
    def stop_at(stops, tensor, index):
        """Make ``tensor`` the walk's stop ``index`` (``stops`` as given to ``backward_walk``)."""
        if not tensor._requires_grad:
            raise GraphError("cannot register a hook on a tensor that doesn't require gradient")
        stops[_endpoint(tensor)] = index

    def _tensors_at_stops(self, walk, recorded=False):
        """``walk``, its stops' gradients given as Tensors and taken back as arrays. Copies both ways: what a
        hook keeps, or returns and keeps, never becomes a leaf's ``.grad``, which later passes add into.
        A ``recorded`` walk (create_graph) runs in grad mode, its gradients tensors with their graph."""
        changed = None
        while True:
            try:
                with set_grad_enabled(recorded):
                    index, grad = walk.send(changed)
            except StopIteration:
                return
            if recorded:
                changed = yield index, grad.tensor
                changed = changed if changed is None or changed is DROPPED else Traced(changed)
            else:
                changed = yield index, Tensor(self.xp.array(grad), self)
                if changed is not None and changed is not DROPPED:
                    changed = self.xp.array(changed.array)

    def _captured(self, walk, capture, targets, allow_unused):
        yield from walk  # (retained grads are all that it accumulates)
        results = []
        for i, target in enumerate(targets):
            g = capture[target]
            if g is None and not allow_unused:
                raise GraphError(
                    f"The differentiated Tensor at index {i} appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
            if type(g) is Traced:
                results.append(g.tensor)
            else:
                results.append(None if g is None else Tensor(self.xp.asarray(g), self))  # a NumPy scalar -> 0-d array
        return tuple(results)

    def jacobian(self, func, inputs):
        """``torch.autograd.functional.jacobian``: d func(*inputs) / d inputs, shaped output + input."""
        single = type(inputs) is Tensor
        inputs = (inputs,) if single else tuple(inputs)
        inputs = tuple(x.detach().requires_grad_() for x in inputs)
        output = func(*inputs)
        if not output.requires_grad:  # depends on no input: zeros, as torch's (strict=False) gives
            zeros = tuple(Tensor(self.xp.zeros(output.shape + x.shape, x.dtype), self) for x in inputs)
            return zeros[0] if single else zeros
        flat_rows = []
        for k in range(max(output.numel(), 1)):
            seed = self.xp.zeros(output.numel(), dtype=output.dtype)
            seed[k] = 1
            grads = self.grad(output, inputs, Tensor(seed.reshape(output.shape), self), retain_graph=True, allow_unused=True)
            flat_rows.append([self.xp.zeros(x.shape, x.dtype) if g is None else g.array for x, g in zip(inputs, grads)])
        jacobians = tuple(
            Tensor(self.xp.stack([row[j] for row in flat_rows]).reshape(output.shape + x.shape), self)
            for j, x in enumerate(inputs)
        )
        return jacobians[0] if single else jacobians

    def _root(self, tensor, i):
        if not tensor._requires_grad:
            raise GraphError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        return _endpoint(tensor)

    def _seed(self, tensor, gradient, i):
        if gradient is None:
            if tensor.array.size != 1:
                raise InvalidArgument("grad can be implicitly created only for scalar outputs")
            if tensor.dtype.kind == "c":
                raise InvalidArgument(f"grad can be implicitly created only for real scalar outputs but got torch.{tensor.dtype.name}")
            return self.xp.ones(tensor.shape, dtype=tensor.dtype)
        g = gradient.array if type(gradient) is Tensor else self.xp.asarray(gradient)
        if g.shape != tensor.shape:
            raise ShapeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {_size(g.shape)} and output[{i}] has a shape of {_size(tensor.shape)}."
            )
        return g.astype(tensor.dtype, copy=True)  # the caller keeps its array; the walk may hand ours to a leaf

    def _accumulate(self, leaf, grad):
        if type(grad) is Traced:  # create_graph: the .grad is the recorded gradient; a later one adds out of place
            leaf.grad = grad.tensor if leaf.grad is None else self.apply("add", leaf.grad, grad.tensor)
            return
        if leaf.grad is None:
            # a gradient that is a view, or passed through unchanged, may be shared with another leaf;
            # a NumPy scalar (the gradient of a 0-d op) is read-only too, and xp.array makes it a 0-d array.
            # CuPy arrays have no writeable flag (and no scalars): their read-only broadcasts are views.
            shared = grad.base is not None or not getattr(grad.flags, "writeable", True)
            leaf.grad = Tensor(self.xp.array(grad) if shared else grad, self)
        else:
            leaf.grad.array += grad  # accumulation across backward passes, in place as PyTorch does
            leaf.grad._version[0] += 1

    # --- factories --------------------------------------------------------------
    def manual_seed(self, seed):
        """Reseed this engine's generator (``rand``/``randn``); None draws a fresh seed."""
        self.generator = self.new_generator(seed)

    def new_generator(self, seed=None):
        """A random generator of its own (a ``gw.Generator``), for the ``generator=`` of ``rand``/``randn``."""
        return self.xp.random.default_rng(seed)

    def rng_state(self, generator=None) -> Tensor:
        """``get_rng_state()``: the generator's state (the session's without one) as a uint8 tensor, opaque bytes."""
        try:
            return Tensor(generator_state(self.xp, _or_default(generator, self.generator)), self)
        except AttributeError:
            raise InvalidArgument(f"get_rng_state: the generator state of {self.device} is not supported") from None

    def set_rng_state(self, state, generator=None):
        """Restore a state ``rng_state`` gave, into ``generator`` (the session's without one)."""
        if state.dtype != np.uint8 or state.ndim != 1:
            raise DTypeError(f"set_rng_state: expected a 1-D uint8 tensor (a state get_rng_state gave), got {state.dtype}{list(state.shape)}")
        try:
            set_generator_state(self.xp, _or_default(generator, self.generator), state.array)
        except AttributeError:
            raise InvalidArgument(f"set_rng_state: the generator state of {self.device} is not supported") from None
        except (ValueError, TypeError, KeyError) as error:
            raise InvalidArgument(f"set_rng_state: not a state get_rng_state gave ({error})") from None

    def tensor(self, data, dtype=None, requires_grad=False) -> Tensor:
        """A leaf from a list, a scalar, a NumPy array or a tensor (copied)."""
        if type(data) is Tensor:
            data = data.array
        explicit = hasattr(data, "dtype")
        self._check_held(data.dtype if explicit else None, dtype)
        # a dtype gradwire does not hold is refused by name, before any copy
        target = parse_dtype(dtype) if dtype is not None else parse_dtype(data.dtype) if explicit else None
        try:
            array = self.xp.array(data) if explicit else np.array(data)
        except (ValueError, TypeError) as error:
            raise InvalidArgument(f"tensor(): could not make a tensor from {type(data).__name__}: {error}") from None
        if target is None:  # Python numbers: float -> float32, int -> int64, as PyTorch infers
            kinds = {"f": DEFAULT_FLOAT, "i": np.dtype(np.int64), "u": np.dtype(np.int64), "b": np.dtype(np.bool_), "c": complex_of(DEFAULT_FLOAT)}
            if array.dtype.kind not in kinds:
                raise DTypeError(f"tensor(): could not infer the dtype of {type(data).__name__} with elements of type {array.dtype}")
            target = kinds[array.dtype.kind]
        array = self.xp.asarray(array, dtype=target)
        return self._leaf(array, requires_grad)

    def adopt(self, array, requires_grad=False) -> Tensor:
        """A leaf around an existing host array: no copy on NumPy, one host-to-device copy on CuPy,
        finished before this returns (the host buffer may be reused at once)."""
        self._check_held(array.dtype)
        with self.stream:
            array = self.xp.asarray(array)
            self.stream.synchronize()
        return self._leaf(array, requires_grad)

    def zeros(self, *size, dtype=None, requires_grad=False):
        return self.full(_size_args(size), 0, dtype=dtype or DEFAULT_FLOAT, requires_grad=requires_grad)

    def ones(self, *size, dtype=None, requires_grad=False):
        return self.full(_size_args(size), 1, dtype=dtype or DEFAULT_FLOAT, requires_grad=requires_grad)

    def full(self, size, fill_value, dtype=None, requires_grad=False):
        if not isinstance(fill_value, _SCALARS + (complex,)):
            raise InvalidArgument(f"full(): argument 'fill_value' must be Number, not {type(fill_value).__name__}")
        if dtype is None:
            dtype = np.bool_ if isinstance(fill_value, bool) else np.int64 if isinstance(fill_value, int) else DEFAULT_FLOAT
        dtype = parse_dtype(dtype)
        size = _size_args((size,))
        if dtype != np.float16 or math.prod(size) != 1:  # (one float16 element takes anything, as inf, as PyTorch's)
            fill_value = checked_fill(fill_value, dtype)  # 300 into uint8 or 1e40 into float32 is refused, -1 wraps, as PyTorch's
        with np.errstate(over="ignore"):
            return self._leaf(self.xp.full(size, fill_value, dtype=dtype), requires_grad)

    def arange(self, start, end=None, step=1, dtype=None, requires_grad=False):
        if end is None:
            start, end = 0, start
        if dtype is None:
            dtype = DEFAULT_FLOAT if any(isinstance(v, float) for v in (start, end, step)) else np.int64
        dtype = parse_dtype(dtype)
        length = arange_length(start, end, step, dtype)
        if dtype.kind not in "iu":  # (the last bits of a float arange's values are its kernel's: PyTorch's vary by CPU)
            return self._leaf(self.xp.arange(start, end, step, dtype=dtype), requires_grad)
        first, by = int(start), int(step)  # an integer arange's values, as PyTorch's: start + i * step, both truncated
        return self._leaf((first + by * self.xp.arange(length, dtype=np.int64)).astype(dtype), requires_grad)

    def rand(self, *size, dtype=None, requires_grad=False, generator=None):
        """Uniform [0, 1) samples from ``generator`` (a ``new_generator``), else the engine's own."""
        dtype = parse_dtype(dtype or DEFAULT_FLOAT)
        rng = _or_default(generator, self.generator)
        if dtype.kind == "c":  # each part uniform in [0, 1), as PyTorch's
            parts = rng.random(_size_args(size) + (2,), dtype=_random_dtype(dtype))
            return self._leaf(_as_complex(parts, dtype), requires_grad)
        return self._leaf(rng.random(_size_args(size), dtype=_random_dtype(dtype)).astype(dtype, copy=False), requires_grad)

    def randn(self, *size, dtype=None, requires_grad=False, generator=None):
        dtype = parse_dtype(dtype or DEFAULT_FLOAT)
        rng = _or_default(generator, self.generator)
        if dtype.kind == "c":  # variance 1 in all, each part N(0, 1/2), as PyTorch's
            parts = rng.standard_normal(_size_args(size) + (2,), dtype=_random_dtype(dtype)) * _random_dtype(dtype)(math.sqrt(0.5))
            return self._leaf(_as_complex(parts, dtype), requires_grad)
        return self._leaf(rng.standard_normal(_size_args(size), dtype=_random_dtype(dtype)).astype(dtype, copy=False), requires_grad)

    def _check_held(self, *dtypes):
        """Refuse bfloat16 where this engine's array module cannot hold it (``Backend.bfloat16``: CuPy without it)."""
        if not self.backend.bfloat16 and any(d is not None and parse_dtype(d) in COMPUTE for d in dtypes):
            raise DTypeError(f"BFloat16 is not supported on this server's device ({self.device!r}): its array module cannot hold bfloat16 arrays")

    def _leaf(self, array, requires_grad):
        self._check_held(array.dtype)
        if requires_grad and not is_floating(array.dtype):
            raise DTypeError("only Tensors of floating point and complex dtype can require gradients")
        return Tensor(array, self, bool(requires_grad))


# reductions over ``dim`` (a number or a tuple): on a 0-d tensor dim 0 and -1 mean the whole tensor
_REDUCTIONS = frozenset({
    "sum", "mean", "prod", "amax", "amin", "logsumexp", "var", "std", "norm", "argmax", "argmin", "all", "any", "count_nonzero",
    "nansum", "nanmean",
})


def _zero_d_dim(dim):
    for d in dim if type(dim) is tuple else (dim,):
        if d not in (0, -1):
            raise np.exceptions.AxisError(d, 0)
    return None


def _check_index_bounds(shape, parts):
    """Refuse an integer-array index out of range as NumPy does (the same words), for an array module that would wrap
    it around (CuPy): PyTorch's CUDA kernels stop at such an index too. One reduction and a sync per array index."""
    consumed = sum(_dims_indexed(part) for part in parts if part is not None and part is not Ellipsis)
    dim = 0
    for part in parts:
        if part is None:
            continue
        if part is Ellipsis:
            dim += len(shape) - consumed  # the dims the parts after it do not take
            continue
        if _dims_indexed(part) != 1:  # a boolean mask: its shape is checked by the array module
            dim += _dims_indexed(part)
            continue
        if hasattr(part, "dtype") and dim < len(shape) and part.size:
            n = shape[dim]
            outside = (part < -n) | (part >= n)
            if bool(outside.any()):
                raise IndexError(f"index {int(part[outside].reshape(-1)[0])} is out of bounds for axis {dim} with size {n}")
        dim += 1


# PyTorch's refusals of an index out of range in the calls that the SDK makes of an index or index_put along one
# dim with one integer array: whether a negative index counts from the end there, and the words
_CALL_BOUNDS = {
    "index_select": (False, "index out of range in self"),
    "take": (True, "out of range: tried to access index {i} on a tensor of {n} elements."),
    "put_": (True, "out of range: tried to access index {i} on a tensor of {n} elements."),
    "index_copy_": (False, "index_copy_(): index {i} is out of bounds for dimension {d} with size {n}"),
    "index_fill_": (True, "index {i} is out of bounds for dimension {d} with size {n}"),
}


def _check_call_bounds(call, shape, parts, dim=None):
    """Refuse an index of the key's integer array outside its dim of ``shape`` as PyTorch's ``call`` does."""
    if call not in _CALL_BOUNDS:
        raise InvalidArgument(f"index: unknown check {call!r}; known: {', '.join(_CALL_BOUNDS)}")
    negatives, words = _CALL_BOUNDS[call]
    arrays = [(d, part) for d, part in enumerate(parts) if hasattr(part, "dtype")]
    if len(arrays) != 1 or type(parts) is Staged or any(part is Ellipsis or part is None for part in parts):
        raise InvalidArgument(f"index: the check {call!r} takes a key of slices and one integer array")
    position, index = arrays[0]
    n = shape[position] if shape else 1
    outside = (index >= n) | (index < (-n if negatives else 0))
    if index.size and bool(outside.any()):
        d = position if dim is None else dim
        if call == "index_select" and d == 1:  # (the words of the kernel PyTorch 2.13 picks for dim 1)
            words = "INDICES element is out of DATA bounds, id={i} axis_dim={n}"
        raise IndexOutOfRange(words.format(i=int(index[outside].reshape(-1)[0]), n=n, d=d))


def _check_overlap(name, target, source, key=None):
    """PyTorch's refusal of an in-place write whose source is partly the memory written (``c[1:] = c[:-1]``; the same
    elements, ``c[:] = c``, are fine); ``x[arrays] = v``: any of x's memory. Tensors whose elements do not fill their
    span of memory go unchecked, as PyTorch's (too hard to tell)."""
    advanced = key is not None and (type(key) is Staged or any(hasattr(part, "dtype") for part in key))
    written = target if key is None or advanced else target[key]
    overlap = _overlap(written, source)
    if overlap == "partial" or (overlap and advanced):
        raise InvalidArgument(f"{name}_: unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
                              "memory location. Please clone() the tensor before performing the operation.")


def _overlap(a, b):
    """How two arrays' memory meets: None, "full" (the same elements) or "partial"; None where either is not an array,
    is empty, or leaves gaps in (or repeats elements of) its span of memory."""
    spans = []
    for x in (a, b):
        if not hasattr(x, "strides") or not x.size or not x.ndim:
            return None
        start = x.__array_interface__["data"][0] if hasattr(x, "__array_interface__") else x.data.ptr
        low = start + sum((n - 1) * s for n, s in zip(x.shape, x.strides) if s < 0)
        high = start + sum((n - 1) * s for n, s in zip(x.shape, x.strides) if s > 0) + x.itemsize
        if high - low != x.size * x.itemsize:
            return None
        spans.append((start, low, high))
    (a_start, a_low, a_high), (b_start, b_low, b_high) = spans
    if a_high <= b_low or b_high <= a_low:
        return None
    return "full" if a_start == b_start and a.shape == b.shape and a.strides == b.strides else "partial"


def _is_mask(part) -> bool:
    return getattr(part, "dtype", None) is not None and part.dtype == np.bool_


def _staged(xp, parts, covered):
    """``parts`` (ints, slices, None, Ellipsis, integer arrays, 0-d masks) as a ``Staged`` key: first the ints, slices,
    None and Ellipsis (a 0-d mask: a new dim), then the arrays on the dims that are left (a 0-d mask's: [0] or [])."""
    basic, advanced = [], []
    for part in parts:
        if part is Ellipsis:
            basic.extend((slice(None),) * covered)
            advanced.extend((slice(None),) * covered)
        elif type(part) is int or isinstance(part, np.integer):
            basic.append(part)
        elif part is None or type(part) is slice:
            basic.append(part)
            advanced.append(slice(None))
        elif part.dtype == np.bool_:  # (0-d)
            basic.append(None)
            advanced.append(xp.zeros(1 if bool(part) else 0, np.int64))
        else:
            basic.append(slice(None))
            advanced.append(part)
    key = Staged(tuple(basic) + tuple(advanced))
    key.n = len(basic)
    return key


def _dims_indexed(part) -> int:
    """How many of the array's dims an index part takes: a boolean mask its own ndim, anything else one."""
    return part.ndim if getattr(part, "dtype", None) is not None and part.dtype == np.bool_ else 1


def _recorded_seeds(outputs, gradients, seeds):
    """create_graph: a given gradient that requires grad seeds the pass as it is, so the gradients recorded depend
    on it, as PyTorch's (the double-vjp trick of ``jvp`` differentiates with respect to it)."""
    return [g if type(g) is Tensor and g._requires_grad and g.dtype == y.dtype else s for y, g, s in zip(outputs, gradients, seeds)]


def _or_default(generator, default):
    return default if generator is None else generator


def _endpoint(tensor):
    """Where a backward pass meets ``tensor``: its node, ``(node, output number)`` for an output of a node with
    several, or its leaf's ``AccumulateGrad``."""
    node = tensor.grad_fn
    if node is None:
        return tensor.accumulator()
    return node if node.outputs is None else (node, tensor._output_nr)


def _as_number(value, dtype):
    """A Python number as a NumPy scalar of ``dtype``; an integer wrapped into an integer dtype, as PyTorch's."""
    if dtype.kind in "iu" and isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return wrap_integer(value, dtype)
    return dtype.type(value)


def _to_default_float(name, array, params, default):
    return array.astype(default)


def _clamp_bounds(name, array, params, default):
    # a float bound makes an integer tensor float, an int bound a bool tensor int64, as PyTorch's result type does
    bounds = [type(params.get(k)) for k in ("min", "max")]
    if float in bounds:
        return array.astype(default)
    return array.astype(_INT64) if int in bounds and array.dtype == _BOOL else array


def _refuse_integers(name, array, params, default):
    if name in ("var", "std"):
        raise DTypeError("std and var only support floating point and complex dtypes")
    if name == "mean":
        raise DTypeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. "
            f"Got: {torch_name(array.dtype)}"
        )
    if name == "norm":
        raise DTypeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {torch_name(array.dtype)}")
    if name in ("softmax", "log_softmax"):  # PyTorch names its kernel, which differs for the last dim
        dim = params.get("dim")
        last = array.ndim == 0 or dim is None or dim % array.ndim == array.ndim - 1
        name = f"{name}{'_lastdim' if last else ''}_kernel_impl"
    raise KernelNotImplemented(f'"{_INTEGER_KERNELS.get(name, name)}" not implemented for \'{torch_name(array.dtype)}\'')


_INTEGER_KERNELS = {"leaky_relu": "leaky_relu_cpu", "silu": "silu_cpu", "softplus": "softplus_cpu", "elu": "elu_cpu", "gelu": "GeluKernelImpl"}


_BOOL, _INT64 = np.dtype(np.bool_), np.dtype(np.int64)


def _check_bool_subtraction(arrays):
    """PyTorch's refusal of a bool operand of ``-`` (``mask - 1`` is not the mask's inverse), before promotion hides it."""
    bools = [isinstance(a, (bool, np.bool_)) or getattr(a, "dtype", None) == _BOOL for a in arrays]
    if all(bools):
        raise InvalidArgument("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.")
    if any(bools):
        raise InvalidArgument("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the "
                              "`~` or `logical_not()` operator instead.")


# ops whose integer inputs compute in the default float dtype
_FLOAT_RESULTS = frozenset(("div", "atan2", "copysign", "xlogy", "xlog1py", "zeta", *SPECIAL_POLYNOMIALS))
# what an op does with an integer or bool input 0, as PyTorch: float ops compute in the default float dtype
_INTEGER_RULES = {
    **dict.fromkeys(["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "log1p", "expm1", "rsqrt", "reciprocal", "tan", "asin",
                     "acos", "atan", "sinh", "cosh", "log2", "log10", "exp2", "erf", "erfinv", "logsumexp", "erfc", "erfcx",
                     "lgamma", "digamma", "polygamma", "i0", "i0e", "i1", "i1e", "ndtri", "logit", "entr", "bessel_j0", "bessel_j1", "asinh", "acosh", "atanh", "angle", "fftn", "ifftn", "rfftn", "irfftn",
                     *SPECIAL_UNARY],
                    _to_default_float),
    "clamp": _clamp_bounds,
    **dict.fromkeys(["mean", "var", "std", "norm", "softmax", "log_softmax", "leaky_relu", "silu", "gelu", "softplus", "elu"], _refuse_integers),
}


def _note_view(view, base, name, params):
    """``view`` shares ``base``'s memory: it remembers its root and the view ops from it; the root its live views."""
    root, steps = base._view if base._view is not None else (base, ())
    view._view = (root, steps + ((name, params),))
    if root._views is None:
        root._views = weakref.WeakSet()
    root._views.add(view)


# PyTorch's words where an op is refused for a complex tensor; the others say '"<op>" not implemented for 'ComplexFloat''
_COMPLEX_REFUSALS = {
    "clamp": "clamp is not supported for complex types", "relu": "clamp is not supported for complex types",
    "maximum": "maximum not implemented for complex tensors.", "minimum": "minimum not implemented for complex tensors.",
    "sort": "Sort does not support complex dtypes on CPU", "topk": "topk does not support complex dtypes on CPU",
    "argmax": "argmax(): does not support complex input", "argmin": "argmin(): does not support complex input",
    "floor": "floor is not supported for complex inputs", "ceil": "ceil is not supported for complex inputs",
    "trunc": "trunc is not supported for complex inputs",
    "sign": "Unlike NumPy, torch.sign is not intended to support complex numbers. Please use torch.sgn instead.",
}
_KERNEL_NAMES = {"lt": "lt_cpu", "le": "le_cpu", "gt": "gt_cpu", "ge": "ge_cpu", "max": "max_all", "min": "min_all", "amax": "max_values_cpu",
                 "amin": "min_values_cpu", "atan2": "atan2_cpu", "remainder": "remainder_cpu", "fmod": "fmod_cpu", "erf": "erf_vml_cpu",
                 "round": "round_vml_cpu", **{name: f"{name}_cpu" for name in FLOAT32_AND_64}}


def _not_for_complex(name, dtype):
    return NotForComplex(_COMPLEX_REFUSALS.get(name) or
                         f"\"{_KERNEL_NAMES.get(name, name)}\" not implemented for '{'ComplexDouble' if dtype == np.complex128 else 'ComplexFloat'}'")


def _random_dtype(dtype):
    if not is_floating(dtype):
        raise DTypeError(f"rand/randn: expected a floating point dtype, got {dtype}")
    return np.float64 if dtype in (np.float64, np.complex128) else np.float32


def _as_complex(parts, dtype):
    """(..., 2) real and imaginary parts as one complex array of ``dtype``."""
    out = parts[..., 0].astype(dtype)
    out.imag[...] = parts[..., 1]
    return out


def _check_mask(mask_shape, shape, start):
    """A boolean mask's dims against those of the indexed ``shape`` from ``start``, in PyTorch's words."""
    for k, n in enumerate(mask_shape):
        if start + k >= len(shape) or n != shape[start + k]:
            raise IndexOutOfRange(f"The shape of the mask {list(mask_shape)} at index {k} does not match the shape of the indexed "
                                  f"tensor {list(shape)} at index {start + k}")


def _size_args(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise InvalidArgument(f"size must be a tuple of ints, got {size!r}")
        if n < 0:
            raise InvalidArgument(f"Trying to create tensor with negative dimension {n}: {list(size)}")
    return tuple(int(n) for n in size)


def _size(shape) -> str:
    return f"torch.Size({list(shape)})"


def _shape_of(x):
    return tuple(x.shape) if type(x) is Tensor else type(x).__name__


class _NoRules:
    """Stands in for the VJP entry of an op that has none: every input raises NoDerivative."""

    saves = "all"
    variadic = False
    shared = None

    @staticmethod
    def for_input(argnum):
        return None


_NO_RULES = _NoRules()
_new_tuple = tuple.__new__  # a NamedTuple made directly: tuple.__new__(Meta, (shape, dtype))


def _explain(name, inputs, params, error) -> Exception:
    """Turn a NumPy error inside op ``name`` into a typed error naming the op and the shapes."""
    shapes = [_shape_of(x) for x in inputs]
    text = str(error)
    if ("non-broadcastable output operand" in text or "could not broadcast input array" in text) and name.endswith("_"):
        # an in-place op whose other operands would grow its tensor (x.add_(y), x.copy_(y) with y larger)
        tensor_shapes = [s for s in shapes if isinstance(s, tuple)]
        try:
            out = np.broadcast_shapes(*tensor_shapes)
        except ValueError:  # shapes that do not broadcast at all: PyTorch's words for that, below
            text = "could not be broadcast"
        else:
            if out != shapes[0]:
                return ShapeError(f"{name}: output with shape {list(shapes[0])} doesn't match the broadcast shape {list(out)}")
    if "could not be broadcast" in text and len(shapes) >= 2:
        a = shapes[0]  # broadcast one operand after another, as PyTorch's: a is what the ones before make
        for b in shapes[1:]:
            if not (isinstance(a, tuple) and isinstance(b, tuple)):
                break
            for i in range(1, max(len(a), len(b)) + 1):
                m = a[-i] if i <= len(a) else 1
                n = b[-i] if i <= len(b) else 1
                if m != n and m != 1 and n != 1:
                    dim = max(len(a), len(b)) - i
                    return ShapeError(
                        f"{name}: The size of tensor a ({m}) must match the size of tensor b ({n}) at non-singleton "
                        f"dimension {dim} (shapes {a} and {b})"
                    )
            a = np.broadcast_shapes(a, b)
        return ShapeError(f"{name}: shapes {', '.join(map(str, shapes))} cannot be broadcast together")
    if name == "matmul" and ("mismatch" in text or "not aligned" in text or "matmul" in text):
        return ShapeError(f"matmul: {_matmul_mismatch(*shapes)}")
    if "too many indices for array" in text and isinstance(shapes[0], tuple):
        return IndexOutOfRange(f"{name}: too many indices for tensor of dimension {len(shapes[0])}")
    if name == "reshape" and "cannot reshape" in text:
        return ShapeError(f"reshape: shape '{list(params.get('shape', ()))}' is invalid for input of size {math_prod(shapes[0])}")
    if "duplicate value in 'axis'" in text:  # a reduction over a dim named twice
        dims = [d % max(len(shapes[0]), 1) for d in params.get("dim", ())] if isinstance(shapes[0], tuple) else []
        twice = next((d for i, d in enumerate(dims) if d in dims[:i]), None)
        if twice is not None:
            return InvalidArgument(f"{name}: dim {twice} appears multiple times in the list of dims")
    if ("of an empty sequence" in text or ("zero-size array to reduction" in text and "no identity" in text)
            or (name in ("median", "nanmedian") and "out of bounds" in text)) and isinstance(shapes[0], tuple) and 0 in shapes[0]:
        # max, min, argmax, amax, median, ... along an empty dim: no value to give, as PyTorch says
        dim = params.get("dim")
        if dim is None:
            return IndexOutOfRange(f"{name}: {name}(): Expected reduction dim to be specified for input.numel() == 0.")
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        empty = next((d for d in dims if shapes[0][d] == 0), dims[0])
        shown = empty if name in ("amax", "amin") else empty % max(len(shapes[0]), 1)  # (amax and amin name it as given)
        return IndexOutOfRange(f"{name}: {name}(): Expected reduction dim {shown} to have non-zero size.")
    if isinstance(error, np.exceptions.AxisError) and error.ndim is not None:
        n = max(error.ndim, 1)  # a 0-d tensor takes dim 0 and -1, as PyTorch's
        return IndexOutOfRange(f"{name}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {error.axis})")
    if " not implemented for '" in text:  # an op's refusal of a dtype in PyTorch's words: its NotImplementedError
        return KernelNotImplemented(f"{name}: {text} (input shapes {', '.join(map(str, shapes))})")
    if isinstance(error, IndexError):  # NumPy's words, in PyTorch's (an axis is a dimension there)
        return IndexOutOfRange(f"{name}: {text.replace(' for axis ', ' for dimension ')} (input shape {shapes[0]})")
    return InvalidArgument(f"{name}: {text} (input shapes {', '.join(map(str, shapes))})")


def _matmul_mismatch(a, b) -> str:
    """PyTorch's words for the product of shapes ``a`` and ``b`` that do not fit, by the kernel its matmul picks."""
    if not a or not b:
        return f"both arguments to matmul need to be at least 1D, but they are {len(a)}D and {len(b)}D"
    if len(a) == 1 and len(b) == 1:
        return (f"inconsistent tensor size, expected tensor [{a[0]}] and src [{b[0]}] to have the same number of elements, but got "
                f"{a[0]} and {b[0]} elements respectively")
    if len(a) == 2 and len(b) == 1:
        return f"size mismatch, got input ({a[0]}), mat ({a[0]}x{a[1]}), vec ({b[0]})"
    if len(a) == 3 and len(b) == 3 and a[0] == b[0]:
        return f"Expected size for first two dimensions of batch2 tensor to be: [{a[0]}, {a[2]}] but got: [{b[0]}, {b[1]}]."
    return f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, a))} and {'x'.join(map(str, b))})"


def arange_length(start, end, step, dtype) -> int:
    """The length of ``arange(start, end, step)`` in ``dtype``, as PyTorch counts it: an int64 one from its bounds and
    step truncated toward zero, any other from them as given (an integer one's values then take the truncated start
    and step: ``arange(0, 5, 1.5, dtype=uint8)`` is 0, 1, 2, 3). Refuses a zero step and bounds the step leads away from."""
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise InvalidArgument(f"unsupported range: {start} -> {end}")
    if dtype == np.int64:
        start, end, step = (int(v) for v in (start, end, step))
    if step == 0:
        raise InvalidArgument("step must be nonzero")
    if (end - start) * step < 0:
        raise InvalidArgument("upper bound and lower bound inconsistent with step sign")
    return max(0, math.ceil((end - start) / step))


def math_prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _drive(walk, hooks):
    """Run a backward walk to its end in process, calling ``hooks[i]``'s function at its stop i; its result."""
    changed = None
    while True:
        try:
            index, grad = walk.send(changed)
        except StopIteration as end:
            return end.value
        changed = hooks[index][1](grad)
