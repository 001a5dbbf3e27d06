"""``gradwire.func``: PyTorch's function transforms (``torch.func``): ``grad``, ``grad_and_value``, ``vjp``, ``jvp``,
``jacrev``, ``jacfwd``, ``hessian``, ``linearize``, ``vmap``, ``functional_call`` and ``stack_module_state`` (model
ensembles: ``vmap`` over the stacked parameters of several copies of a model).

    loss = lambda params, x, y: ((gw.func.functional_call(model, params, (x,)) - y) ** 2).mean()
    grads = gw.func.grad(loss)(dict(model.named_parameters()), x, y)

How they are computed, and what differs from torch.func. The transforms run on the server's reverse mode: each call
differentiates with respect to fresh copies of its inputs (``gw.autograd.grad``), so they nest (``grad(grad(f))``,
``jacrev(jacrev(f))``) by recording the inner gradients (``create_graph``) when an input already requires grad. As
torch.func's, they differentiate inside ``no_grad()`` too (and then record nothing).

- ``jvp`` uses the double-vjp trick (two backward passes, see ``gw.autograd.forward_ad``); ``jacfwd`` gives the same
  matrix as ``jacrev``, computed by reverse mode (one pipelined backward pass per output element).
- ``vmap`` is a loop over the batch: it calls the function once per element and stacks the results; ``chunk_size``
  is accepted and changes nothing; ``randomness`` as torch's ("error" refuses random ops, "different" draws anew for each
  element, "same" the same samples for all); an in-place change to an unbatched tensor is refused (``_VmapWatch``).
- A tensor the function closes over (rather than takes as an argument) is a constant to the transforms unless one of
  their inputs requires grad: only then are the results recorded, differentiable again.
- Inputs, outputs and ``aux`` may be tuples, lists and dicts of tensors (torch's pytrees of those kinds).
"""

from __future__ import annotations

import functools

import numpy as np

from . import errors
from .autograd.forward_ad import tangents as _tangents
from .autograd.functional import _zeros_used
from .autograd.functional import grad as _grad
from .grad_mode import enable_grad, is_grad_enabled
from .tensor import Tensor, stack

__all__ = ["debug_unwrap", "functional_call", "functionalize", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "linearize",
           "replace_all_batch_norm_modules_", "stack_module_state", "vjp", "vmap"]


# --- pytrees: tuples, lists and dicts of leaves ------------------------------------------------------------------


def _flatten(tree):
    """(leaves, spec): spec rebuilds the tree from its leaves (``_unflatten``)."""
    if isinstance(tree, (tuple, list)):
        leaves, specs = [], []
        for item in tree:
            more, spec = _flatten(item)
            leaves += more
            specs.append(spec)
        return leaves, (type(tree), specs)
    if isinstance(tree, dict):
        leaves, specs = [], []
        for item in tree.values():
            more, spec = _flatten(item)
            leaves += more
            specs.append(spec)
        return leaves, (dict, list(tree.keys()), specs)
    return [tree], None


def _unflatten(spec, leaves):
    it = iter(leaves)
    return _build(spec, it)


def _build(spec, it):
    if spec is None:
        return next(it)
    if spec[0] is dict:
        return {key: _build(s, it) for key, s in zip(spec[1], spec[2])}
    items = [_build(s, it) for s in spec[1]]
    kind = spec[0]
    return kind(*items) if hasattr(kind, "_fields") else kind(items)  # a namedtuple takes its fields as arguments


def _structure(spec):
    """A tree's structure for an error message: ``*`` for each leaf, as torch's TreeSpec draws it."""
    if spec is None:
        return "*"
    if spec[0] is dict:
        return "{" + ", ".join(f"{k!r}: {_structure(s)}" for k, s in zip(spec[1], spec[2])) + "}"
    inner = ", ".join(_structure(s) for s in spec[1])
    return f"({inner},)" if spec[0] is tuple and len(spec[1]) == 1 else ("(" + inner + ")" if spec[0] is tuple else "[" + inner + "]")


def _map(fn, tree):
    leaves, spec = _flatten(tree)
    return _unflatten(spec, [fn(x) for x in leaves])


# --- the shared machinery ---------------------------------------------------------------------------------------


def _fresh(x, record):
    """``x`` as a tensor to differentiate with respect to: a new leaf cut from any graph, or, where the results are
    recorded and ``x`` requires grad (an outer transform's input, or the caller's), a view of it so that the result
    stays differentiable with respect to ``x``."""
    if not isinstance(x, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    return x.view_as(x) if record and x.requires_grad else x.detach().requires_grad_()


def _argnums(argnums, args):
    """The positions to differentiate, checked as torch checks them (negative ones count from the end)."""
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        positions = (argnums,)
    elif isinstance(argnums, tuple) and all(isinstance(a, int) and not isinstance(a, bool) for a in argnums):
        if not argnums:
            raise errors.InvalidArgumentError("argnums must be non-empty")
        if len(set(argnums)) != len(argnums):
            raise errors.InvalidArgumentError(f"argnums elements must be unique, got {argnums}")
        positions = argnums
    else:
        raise errors.InvalidArgumentError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for a in positions:
        if not -len(args) <= a < len(args):
            raise errors.InvalidArgumentError(f"Got argnum={a}, but only {len(args)} positional inputs")
    return tuple(a % len(args) for a in positions)


class _Prepared:
    """The arguments with those at ``argnums`` replaced by fresh tensors (``_fresh``): ``leaves`` are those tensors, in
    order; ``record`` whether the results must be recorded (an input already required grad: an outer transform's)."""

    def __init__(self, args, argnums):
        self.positions = _argnums(argnums, args)
        self.single = isinstance(argnums, int)
        self.args = list(args)
        self.leaves, self.specs = [], []
        # recorded where some argument requires grad and grad mode is on (outside the transform: inside, it always is)
        self.record = is_grad_enabled() and any(isinstance(x, Tensor) and x.requires_grad for arg in args for x in _flatten(arg)[0])
        for a in self.positions:
            leaves, spec = _flatten(args[a])
            fresh = [_fresh(x, self.record) for x in leaves]
            self.leaves += fresh
            self.specs.append((spec, len(fresh)))
            self.args[a] = _unflatten(spec, fresh)

    def shaped(self, flat):
        """Per-leaf results arranged as the differentiated arguments: one tree (an int ``argnums``), else a tuple."""
        trees, start = [], 0
        for spec, count in self.specs:
            trees.append(_unflatten(spec, flat[start:start + count]))
            start += count
        return trees[0] if self.single else tuple(trees)

    def out(self, value):
        """A result as the caller sees it: detached unless recorded."""
        return value if self.record or not isinstance(value, Tensor) else value.detach()


def _split_aux(output, has_aux, name):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise errors.InvalidArgumentError(f"{name}: output of function f should be a tuple: (output, aux) if has_aux is True")
    for x in _flatten(output[1])[0]:
        if not isinstance(x, Tensor):
            raise errors.InvalidArgumentError(f"Expected tensors, got unsupported type {type(x)}")
    return output


# --- grad and grad_and_value -------------------------------------------------------------------------------------


def grad_and_value(func, argnums=0, has_aux=False):
    """``torch.func.grad_and_value``: a function that returns ``(gradient, value)`` of ``func``, whose output must be
    a 0-d tensor, with respect to the arguments at ``argnums`` (an int: one gradient of that argument's structure; a
    tuple: a tuple of them). With ``has_aux``, ``func`` returns ``(output, aux)`` and this ``(gradient, (value, aux))``."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        prepared = _Prepared(args, argnums)
        with enable_grad():  # a transform differentiates even under no_grad(), as torch.func's
            output, aux = _split_aux(func(*prepared.args, **kwargs), has_aux, "grad_and_value(f)(*args)")
            if not isinstance(output, Tensor):
                raise errors.InvalidArgumentError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got {type(output)}")
            if output.dim() != 0:
                raise errors.InvalidArgumentError(
                    f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor with {output.dim()} dims. "
                    "Maybe you wanted to use the vjp or jacrev APIs instead?")
            tied = output + _zeros_used(prepared.leaves)  # every input reached: a zero gradient where unused, no round trip
            found = _grad(tied, prepared.leaves, create_graph=prepared.record)
            gradients = prepared.shaped([prepared.out(g) for g in found])
            value = prepared.out(output)
            return (gradients, (value, _map(prepared.out, aux))) if has_aux else (gradients, value)

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """``torch.func.grad``: a function that returns the gradient of ``func`` (a 0-d output) with respect to the
    arguments at ``argnums``; with ``has_aux``, ``(gradient, aux)``. See ``grad_and_value``."""
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradients, value = inner(*args, **kwargs)
        return (gradients, value[1]) if has_aux else gradients

    return wrapper


# --- vjp and jvp -------------------------------------------------------------------------------------------------


def _tensor_outputs(output, call):
    """``output`` flattened (leaves, structure), every leaf a tensor, as torch.func's transforms require."""
    outputs, spec = _flatten(output)
    for y in outputs:
        if not isinstance(y, Tensor):
            raise errors.InvalidArgumentError(f"{call}: expected f(*primals) to return only tensors, got unsupported type {type(y)}")
    return outputs, spec


def vjp(func, *primals, has_aux=False):
    """``torch.func.vjp``: ``(func(*primals), vjp_fn)`` (with ``has_aux``: and ``aux``); ``vjp_fn(cotangents)``, with
    ``cotangents`` of the output's structure and shapes, returns a tuple with ``v^T J`` for each primal. ``vjp_fn`` may
    be called again: the graph is kept while it lives."""
    if not primals:  # nothing to differentiate: f() (a TypeError where f takes arguments, as torch's), and no products
        output, aux = _split_aux(func(), has_aux, "vjp(f, *primals)")
        return (output, lambda cotangents: (), aux) if has_aux else (output, lambda cotangents: ())
    prepared = _Prepared(primals, tuple(range(len(primals))))
    with enable_grad():  # a transform differentiates even under no_grad(), as torch.func's
        output, aux = _split_aux(func(*prepared.args), has_aux, "vjp(f, *primals)")
    outputs, spec = _tensor_outputs(output, "vjp(f, *primals)")

    def vjp_fn(cotangents):
        given, given_spec = _flatten(cotangents)
        if _structure(given_spec) != _structure(spec):
            raise errors.InvalidArgumentError(
                f"Expected pytree structure of cotangents to be the same as pytree structure of outputs to the function. "
                f"cotangents: {_structure(given_spec)}, primal output: {_structure(spec)}")
        for k, (v, y) in enumerate(zip(given, outputs)):
            if tuple(v.shape) != tuple(y.shape):
                raise errors.InvalidArgumentError(
                    f"Mismatch in shape: grad_output[{k}] has a shape of {v.shape!r} and output[{k}] has a shape of {y.shape!r}.")
        ys = list(outputs)
        with enable_grad():
            ys[0] = ys[0] + _zeros_used(prepared.leaves)  # every primal reached: zeros where unused, no round trip
            found = _grad(ys, prepared.leaves, list(given), retain_graph=True, create_graph=prepared.record)
        return prepared.shaped([prepared.out(g) for g in found])  # a tuple, one tree per primal

    result = _unflatten(spec, [prepared.out(y) for y in outputs])
    return (result, vjp_fn, _map(prepared.out, aux)) if has_aux else (result, vjp_fn)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``torch.func.jvp``: ``(func(*primals), J @ tangents)`` (with ``has_aux``: and ``aux``), ``primals`` and
    ``tangents`` tuples of the same structure and shapes. By the double-vjp trick (two backward passes); an output that
    does not depend on the primals gets a zero tangent."""
    if not isinstance(primals, tuple):
        raise errors.InvalidArgumentError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    p_leaves, p_spec = _flatten(primals)
    t_leaves, t_spec = _flatten(tangents)
    if _structure(p_spec) != _structure(t_spec) or not isinstance(tangents, tuple):
        raise errors.InvalidArgumentError(
            "jvp(f, primals, tangents): Expected primals and tangents to have the same python structure. For example, if primals is a tuple of "
            f"3 tensors, tangents also must be. Got primals with structure {_structure(p_spec)} and tangents with structure {_structure(t_spec)}")
    if not p_leaves:
        raise errors.InvalidArgumentError("jvp(f, primals, tangents): Expected primals to contain at least one Tensor.")
    for p, t in zip(p_leaves, t_leaves):
        if not isinstance(p, Tensor) or not isinstance(t, Tensor):
            raise errors.InvalidArgumentError(f"jvp(f, primals, tangents): Expected primals and tangents to only contain Tensors, got {type(p)}")
        if tuple(p.shape) != tuple(t.shape):
            raise errors.InvalidArgumentError(
                "Trying to set a forward gradient that has a different size than that of the original Tensor, this is not supported. "
                f"Tensor is of size {list(p.shape)} while the given forward gradient is of size {list(t.shape)}.")
    prepared = _Prepared(primals, tuple(range(len(primals))))
    record = prepared.record or (is_grad_enabled() and any(t.requires_grad for t in t_leaves))
    with enable_grad():  # a transform differentiates even under no_grad(), as torch.func's
        output, aux = _split_aux(func(*prepared.args), has_aux, "jvp(f, primals, tangents)")
        outputs, spec = _tensor_outputs(output, "jvp(f, primals, tangents)")
        products = _tangents(outputs, prepared.leaves, t_leaves, create_graph=record)
    out = (lambda y: y) if record else (lambda y: y.detach() if isinstance(y, Tensor) else y)
    result = (_unflatten(spec, [out(y) for y in outputs]), _unflatten(spec, products))
    return (*result, _map(out, aux)) if has_aux else result


def linearize(func, *primals):
    """``torch.func.linearize``: ``(func(*primals), jvp_fn)``, ``jvp_fn(*tangents)`` (tangents of the primals'
    structure, shapes and dtypes) giving ``J @ tangents`` at ``primals``. As torch's, it evaluates ``func`` again for
    the products: here once per ``jvp_fn`` call (``jvp``, by the double-vjp trick)."""
    output = func(*primals)
    flat_primals, primals_spec = _flatten(primals)
    shapes = [tuple(p.shape) for p in flat_primals]
    dtypes = [p.dtype for p in flat_primals]

    def jvp_fn(*tangents):
        flat_tangents, tangents_spec = _flatten(tangents)
        if _structure(tangents_spec) != _structure(primals_spec):
            raise errors.InvalidArgumentError(
                f"Expected the tangents {_structure(tangents_spec)} to have the same argspec as the primals {_structure(primals_spec)}")
        for idx, t in enumerate(flat_tangents):
            if tuple(t.shape) != shapes[idx]:
                raise errors.InvalidArgumentError(f"tangent:{idx} with shape {t.shape} in flattened pytree doesn't match the shape "
                                                  f"{flat_primals[idx].shape} of the corresponding primal.")
            if t.dtype != dtypes[idx]:
                raise errors.InvalidArgumentError(f"tangent:{idx} with dtype {t.dtype} in flattened pytree doesn't match the dtype "
                                                  f"{dtypes[idx]} of the corresponding primal.")
        return jvp(func, tuple(primals), tuple(tangents))[1]

    return output, jvp_fn


# --- Jacobians and the Hessian -----------------------------------------------------------------------------------


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """``torch.func.jacrev``: a function that returns the Jacobian of ``func`` with respect to the arguments at
    ``argnums``, each block shaped ``output.shape + input.shape``: for an output tree, that tree of them; for a
    tuple ``argnums``, a tuple per output. One pipelined backward pass per output element (``chunk_size`` is
    accepted and changes nothing). With ``has_aux``: ``(jacobian, aux)``."""
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        prepared = _Prepared(args, argnums)
        with enable_grad():
            output, aux = _split_aux(func(*prepared.args, **kwargs), has_aux, "jacrev(f, ...)(*args)")
            outputs, spec = _flatten(output)
            blocks = []
            for y in outputs:
                if not isinstance(y, Tensor):
                    raise errors.InvalidArgumentError(f"jacrev(f, ...)(*args): expected f(*args) to return only tensors, got unsupported type {type(y)}")
                blocks.append(prepared.shaped([prepared.out(j) for j in _jacobian(y, prepared.leaves, prepared.record)]))
            jacobians = _unflatten(spec, blocks)
            return (jacobians, _map(prepared.out, aux)) if has_aux else jacobians

    return wrapper


def _jacobian(y, leaves, record):
    """d y / d leaves, one block per leaf shaped ``y.shape + leaf.shape``: a backward pass per element of ``y``."""
    tied = y + _zeros_used(leaves)  # every leaf reached (zeros where unused); and y requires grad even if constant
    n = y.numel()
    rows = []
    for k in range(n):
        seed = np.zeros(n, dtype=y.dtype)
        seed[k] = 1
        rows.append(_grad(tied, leaves, y._session.tensor(seed.reshape(tuple(y.shape))), retain_graph=True, create_graph=record))
    if not rows:  # an empty output: an empty Jacobian
        return [y._session.zeros(*(tuple(y.shape) + tuple(x.shape)), dtype=x.dtype) for x in leaves]
    return [stack([row[j] for row in rows]).reshape(tuple(y.shape) + tuple(x.shape)) for j, x in enumerate(leaves)]


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """``torch.func.jacfwd``: the Jacobian of ``func`` with respect to the arguments at ``argnums``, as ``jacrev``
    gives it: here computed by reverse mode (the same matrix; the server has no forward mode to make it cheaper where
    there are fewer inputs than outputs)."""
    if randomness not in ("error", "different", "same"):
        raise errors.InvalidArgumentError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    """``torch.func.hessian``: the Hessian of a 0-d ``func`` with respect to the arguments at ``argnums``
    (``jacfwd(jacrev(func))``, each block ``input.shape + input.shape``), by double backward."""
    return jacfwd(jacrev(func, argnums), argnums)


# --- vmap ----------------------------------------------------------------------------------------------------------


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``torch.func.vmap``: ``func`` mapped over a dimension of its inputs (``in_dims``: an int, or None for an
    unbatched input, or a tuple of them matching the arguments), the results stacked at ``out_dims``.

    Implemented as a loop over the batch: ``func`` is called once per element, on the slices of the batched inputs,
    and its outputs are stacked (gradients flow through both). So, unlike torch's, ``func`` sees unbatched tensors
    it may even read (``.item()``); ``chunk_size`` changes nothing; and an output with ``out_dims=None`` is taken from
    the first element, unchecked. ``randomness`` is torch's: "error" (the default) refuses a random op, "different"
    draws anew for each element, "same" reseeds the session's generator with one seed for every element. An in-place
    change to an unbatched tensor (an ``in_dims=None`` input, or one the function closes over) is refused: by a batched
    operand in torch's words, by unbatched ones alone because the loop would make it once per element. Nests (``vmap(vmap(f))``); keyword arguments are passed through unbatched."""
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    if randomness not in ("error", "different", "same"):
        raise errors.InvalidArgumentError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    name = getattr(func, "__name__", repr(func))

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
        if not args:
            raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying to vmap over a function "
                             "with no inputs. The latter is unsupported.")
        if not (in_dims is None or isinstance(in_dims, (int, tuple))):
            raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
        leaves, spec = _flatten(args)
        dims = _broadcast_dims(in_dims, args, spec, where)
        sizes = []
        for x, d in zip(leaves, dims):
            if d is None:
                continue
            if not isinstance(x, Tensor):
                raise ValueError(f"{where}: Got in_dim={d} for an input but the input is of type {type(x)}. We cannot vmap over non-Tensor "
                                 "arguments, please use None as the respective in_dim")
            if not -x.dim() <= d < x.dim():
                raise ValueError(f"{where}: Got in_dim={d} for some input, but that input is a Tensor of dimensionality {x.dim()} so expected "
                                 f"in_dim to satisfy -{x.dim()} <= in_dim < {x.dim()}.")
            sizes.append(x.shape[d])
        if not sizes:
            raise ValueError("vmap: Expected at least one Tensor to vmap over")
        if len(set(sizes)) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes {sizes} for the mapped dimension")
        size = sizes[0]
        session = next(x._session for x, d in zip(leaves, dims) if d is not None)
        watch = _VmapWatch(session, randomness, size)
        same_seed = session._fork_seed() if randomness == "same" else None
        results = []
        session._watch = watch
        try:
            for b in range(size):
                watch.start = session._next_handle  # what the function makes from here on (its slices too) counts as batched
                if same_seed is not None:  # every element draws the same samples
                    session._reseed(same_seed)
                sliced = [x if d is None else x[(slice(None),) * (d % x.dim()) + (b,)] for x, d in zip(leaves, dims)]
                results.append(func(*_unflatten(spec, sliced), **kwargs))
        finally:
            session._watch = watch.outer
            if same_seed is not None:
                session._reseed(session._fork_seed())  # what follows draws anew
        return _stack_outputs(results, out_dims, name)

    return wrapper


_RANDOM_COMMANDS = frozenset(("rand", "randn", "dropout", "dropout_"))  # the commands that draw from a generator


class _VmapWatch:
    """What ``vmap`` checks of the commands its function issues, as torch's vmap refuses them: a random op in the
    "error" randomness mode, and an in-place change to an unbatched tensor (one made before the element's call: an
    ``in_dims=None`` input, or one the function closes over) by a batched one (one made during the call, the
    element's slices included: a tensor made there from no input counts too, which torch would call unbatched). An
    in-place change to an unbatched tensor by unbatched operands alone, which torch makes once, is refused as well:
    this loop would make it once per element."""

    def __init__(self, session, randomness, size):
        self.session, self.randomness, self.size = session, randomness, size
        self.outer = session._watch  # (an enclosing vmap's, checked too)
        self.start = session._next_handle

    def command(self, label):
        if label in _RANDOM_COMMANDS and self.randomness == "error":
            raise errors.InvalidArgumentError(
                "vmap: called random operation while in randomness error mode. Please either use the 'same' or 'different' randomness "
                "flags on vmap or perform the randomness operation out of vmap")
        if self.outer is not None:
            self.outer.command(label)

    def inplace(self, op, target, others):
        if 0 < target._handle < self.start:
            batched = [x for x in others if isinstance(x, Tensor) and x._handle >= self.start]
            if batched:
                if op == "add":  # torch's add_ broadcasts first, and says so
                    try:
                        shape = [self.size, *np.broadcast_shapes(tuple(target.shape), *(tuple(x.shape) for x in batched))]
                    except ValueError:
                        shape = None
                    if shape is not None:
                        raise errors.InvalidArgumentError(f"output with shape {list(target.shape)} doesn't match the broadcast shape {shape}")
                raise errors.InvalidArgumentError(
                    "vmap: inplace arithmetic(self, *extra_args) is not possible because there exists a Tensor `other` in extra_args that "
                    "has more elements than `self`. This happened due to `other` being vmapped over but `self` not being vmapped over in a "
                    "vmap. Please try to use out-of-place operators instead of inplace arithmetic. If said operator is being called inside "
                    "the PyTorch framework, please file a bug report instead.")
            raise errors.UnimplementedError(
                f"vmap: {op}_ on a tensor the vmapped function did not make (an unbatched input, or one it closes over): gradwire's vmap "
                "calls the function once per element, so the change would be made once per element, where torch's makes it once. "
                "Make it outside vmap, or use an out-of-place op.")
        if self.outer is not None:
            self.outer.inplace(op, target, others)


def _broadcast_dims(in_dims, args, spec, where):
    """One in_dim per leaf of ``args``: an int or None for all, or a tuple with an entry per argument (itself an int,
    None, or a tree matching that argument)."""
    leaves, _ = _flatten(args)
    if in_dims is None or isinstance(in_dims, int):
        return [in_dims] * len(leaves)
    if len(in_dims) != len(args):
        raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has structure "
                         f"{_structure(_flatten(in_dims)[1])} but inputs has structure {_structure(spec)}.")
    dims = []
    for arg, d in zip(args, in_dims):
        arg_leaves, arg_spec = _flatten(arg)
        if d is None or isinstance(d, int):
            dims += [d] * len(arg_leaves)
            continue
        d_leaves, d_spec = _flatten(d)
        if _structure(d_spec) != _structure(arg_spec):
            raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has structure "
                             f"{_structure(_flatten(in_dims)[1])} but inputs has structure {_structure(spec)}.")
        dims += d_leaves
    return dims


def _stack_outputs(results, out_dims, name):
    first, spec = _flatten(results[0]) if results else ([], None)
    if isinstance(out_dims, int) or out_dims is None:
        dims = [out_dims] * len(first)
    else:
        d_leaves, d_spec = _flatten(out_dims)
        if _structure(d_spec) != _structure(spec):
            raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the structure of `outputs`. "
                             f"out_dims has structure {_structure(d_spec)} but outputs has structure {_structure(spec)}.")
        dims = d_leaves
    columns = [_flatten(r)[0] for r in results]
    stacked = []
    for k, d in enumerate(dims):
        if d is None:
            stacked.append(first[k])
            continue
        column = [c[k] for c in columns]
        for y in column:
            if not isinstance(y, Tensor):
                raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(y)}. Did you mean to set out_dims= to None for output?")
        stacked.append(stack(column, dim=d))
    return _unflatten(spec, stacked)


# --- functional_call ---------------------------------------------------------------------------------------------


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """``torch.func.functional_call``: ``module(*args, **kwargs)`` with its parameters and buffers replaced, for this
    call only, by the tensors of ``parameter_and_buffer_dicts`` (a dict by dotted name, or a tuple of such dicts),
    the module's own restored afterwards. With ``tie_weights`` a tensor given for one of several names that share a
    tensor (tied weights) replaces it under every name; ``strict`` requires exactly the module's names."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        given = dict(dicts)
    elif isinstance(dicts, (tuple, list)) and all(isinstance(d, dict) for d in dicts):
        seen, repeated = set(), []
        for d in dicts:
            repeated += [k for k in d if k in seen]
            seen |= set(d)
        if repeated:
            raise ValueError(f"{sorted(set(repeated))} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        given = {k: v for d in dicts for k, v in d.items()}
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got {type(dicts)}")
    for value in given.values():
        if not isinstance(value, Tensor):
            raise TypeError(f"{value} is not an instance of gradwire.Tensor")
    members = list(module.named_parameters(remove_duplicate=False)) + list(module.named_buffers(remove_duplicate=False))
    names = {name for name, _ in members}
    if tie_weights:
        groups = {}
        for name, tensor in members:
            groups.setdefault(id(tensor), []).append(name)
        for group in groups.values():
            chosen = [n for n in group if n in given]
            if len(group) > 1 and chosen:
                if any(given[n] is not given[chosen[0]] for n in chosen):
                    raise ValueError(f"functional_call got multiple values for keys {sorted(chosen)}, which are tied. Consider using tie_weights=False")
                given.update({n: given[chosen[0]] for n in group})
    if strict:
        missing, unexpected = sorted(names - set(given)), sorted(set(given) - names)
        if missing or unexpected:
            lines = ([f"\n\tUnexpected key(s): {', '.join(repr(k) for k in unexpected)}."] if unexpected else []) + \
                    ([f"\n\tMissing key(s): {', '.join(repr(k) for k in missing)}."] if missing else [])
            raise errors.InvalidArgumentError(f"Error(s) in reparametrizing for {type(module).__name__}:" + "".join(lines))
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    saved = []
    try:
        for name, value in given.items():
            saved.append(_swap(module, name, value))
        return module(*args, **(kwargs or {}))
    finally:
        for undo in reversed(saved):
            undo()


_MISSING = object()


def stack_module_state(models):
    """``torch.func.stack_module_state``: the parameters and the buffers of models of one class, each name's tensors
    stacked along a new first dim, as two dicts; the stacked parameters are new leaves (an optimizer steps them), for
    ``vmap(lambda p, b, x: functional_call(models[0], (p, b), (x,)), (0, 0, None))``."""
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named):
        tensors = [dict(named(m)) for m in models]
        return {name: _stacked_leaf([t[name] for t in tensors], name) for name in tensors[0]}

    return stacked(lambda m: m.named_parameters()), stacked(lambda m: m.named_buffers())


def _stacked_leaf(tensors, name):
    requires_grad = [t.requires_grad for t in tensors]
    if any(requires_grad) and not all(requires_grad):
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    result = stack(tensors)
    return result.detach().requires_grad_() if all(requires_grad) else result


def replace_all_batch_norm_modules_(root):
    """``torch.func.replace_all_batch_norm_modules_``: every batch norm in ``root`` (itself included) stops tracking
    running statistics (their buffers set to None), so that ``vmap`` over it uses each batch's own; ``root`` back."""
    from .nn.layers import _BatchNorm  # noqa: PLC0415 - the layers import this module's functional_call users

    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = module.running_var = module.num_batches_tracked = None
            module.track_running_stats = False
    return root


_REMOVE = ("mutations", "mutations_and_views")


def functionalize(func, *, remove="mutations"):
    """``torch.func.functionalize``: ``func`` with its in-place ops and views replaced by out-of-place ops, for the
    compilers that need that; run eagerly, the results are the same, so here it is ``func`` itself, after torch's check
    of ``remove``."""
    if remove not in _REMOVE:
        raise RuntimeError(
            f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. Valid options are:\n"
            "     remove='mutations': all inplace and out= operators will be removed from the program, and replaced with their "
            "out-of-place equivalents.\n     remove='mutations_and_views': In addition to the above, all aliasing operators {view} "
            "will be replaced with their non-aliasing counterparts, {view}_copy.\n")

    @functools.wraps(func)
    def functionalized(*args, **kwargs):
        return func(*args, **kwargs)

    return functionalized


def debug_unwrap(tensor, *, recurse=True):
    """``torch.func.debug_unwrap``: the tensor under the transforms' wrappers; gradwire's transforms wrap nothing."""
    return tensor


def _swap(module, name, value):
    """Put ``value`` at the dotted ``name`` (a parameter, a buffer, or a plain attribute) and return what restores it."""
    path, _, attr = name.rpartition(".")
    owner = module.get_submodule(path) if path else module
    for table in (owner._parameters, owner._buffers):
        if attr in table:
            old = table[attr]
            table[attr] = value

            def restore(table=table, old=old):
                table[attr] = old

            return restore
    old = owner.__dict__.get(attr, _MISSING)
    object.__setattr__(owner, attr, value)

    def restore_attribute():
        if old is _MISSING:
            owner.__dict__.pop(attr, None)
        else:
            object.__setattr__(owner, attr, old)

    return restore_attribute


# torch.cond and torch.while_loop (top-level names: gw.cond, gw.while_loop), control flow that torch.compile captures
def cond(pred, true_fn, false_fn, operands=()):
    """``torch.cond``: ``true_fn(*operands)`` if ``pred`` (a bool or a one-element tensor: a sync point) else
    ``false_fn(*operands)``, run eagerly, as PyTorch runs it outside ``torch.compile``."""
    if isinstance(pred, Tensor) and pred.numel() != 1:
        raise errors.InvalidArgumentError(f"Expected pred to be bool or single-element tensor, but got {pred!r}.")
    return (true_fn if bool(pred) else false_fn)(*operands)


def while_loop(cond_fn, body_fn, carried_inputs):
    """``torch.while_loop``: ``carried_inputs = body_fn(*carried_inputs)`` while ``cond_fn(*carried_inputs)`` (a sync
    point each time), run eagerly; the last carried values, as a tuple."""
    carried = tuple(carried_inputs)
    while bool(cond_fn(*carried)):
        carried = tuple(body_fn(*carried))
    return carried
