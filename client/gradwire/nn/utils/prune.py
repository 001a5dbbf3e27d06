"""``gradwire.nn.utils.prune``: PyTorch's pruning of a module's parameters by masks.

Pruning ``module.weight`` moves the parameter to ``weight_orig`` (the same Parameter object), adds the buffer
``weight_mask`` (0 where pruned, 1 elsewhere), and makes ``module.weight`` the plain tensor ``weight_orig *
weight_mask``, computed again before each forward by a forward pre-hook (the method object), as torch's. Pruning a
pruned tensor again prunes among what is left (``PruningContainer``); ``remove`` makes the pruned values permanent.

Masks are computed here, in NumPy, from the importance scores (the parameter's values unless given), read from the
server once per call, and uploaded; random ones draw from the session's generator (not torch's draws).
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod

import numpy as np

from ...tensor import Tensor
from .weight_norm import _pre_hooks

__all__ = ["BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured", "LnStructured", "PruningContainer", "RandomStructured",
           "RandomUnstructured", "custom_from_mask", "global_unstructured", "identity", "is_pruned", "l1_unstructured", "ln_structured",
           "random_structured", "random_unstructured", "remove"]


def _array(t):
    return t.detach().numpy() if isinstance(t, Tensor) else np.asarray(t)


def _validate_pruning_amount_init(amount):
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _validate_pruning_amount(amount, tensor_size):
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={tensor_size}")


def _compute_nparams_toprune(amount, tensor_size):
    if isinstance(amount, numbers.Integral):
        return int(amount)
    return round(amount * tensor_size)


def _validate_structured_pruning(t):
    if len(t.shape) <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. Found tensor of shape "
                         f"torch.Size({list(t.shape)}) with {len(t.shape)} dims")


def _validate_pruning_dim(t, dim):
    if dim >= t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size torch.Size({list(t.shape)})")


def _random(session, shape):
    """Uniform draws from the session's generator, read here."""
    return session.rand(*shape, dtype="float64").numpy() if shape else session.rand(1, dtype="float64").numpy()[0]


class BasePruningMethod(ABC):
    """A way of computing a mask (``torch.nn.utils.prune.BasePruningMethod``): subclasses give ``PRUNING_TYPE``
    ("unstructured", "structured" or "global") and ``compute_mask(t, default_mask)``, which takes and returns NumPy
    arrays here (the importance scores and the mask so far). The object is also the forward pre-hook that
    recomputes ``module.<name>`` before each forward."""

    _tensor_name: str | None = None
    session = None  # where the random methods draw (set when applied)

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The new mask (a NumPy array of ``t``'s shape) from the scores ``t`` and the mask so far."""

    def apply_mask(self, module):
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return orig * mask.to(orig.dtype)

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new ``cls(*args, **kwargs)``, combined with any pruning already there."""
        old_method = None
        found = 0
        for hook in _pre_hooks(module):
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                old_method = hook
                found += 1
        if found > 1:
            raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} of module {module}. Use a PruningContainer.")
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old_method is not None:
            container = old_method if isinstance(old_method, PruningContainer) else PruningContainer(old_method)
            container.add_pruning_method(method)
            _remove_hook(module, old_method)
            method = container
        orig = getattr(module, name)
        method.session = orig._session
        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(orig.shape):
                raise ValueError(f"importance_scores should have the same shape as parameter {name} of {module}")
        else:
            importance_scores = orig
        if not isinstance(method, PruningContainer) or old_method is None:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = np.ones(tuple(orig.shape), dtype=np.dtype(orig.dtype))
        else:
            default_mask = _array(getattr(module, name + "_mask"))
        mask = method.compute_mask(_array(importance_scores), default_mask=default_mask)
        module.register_buffer(name + "_mask", orig._session.tensor(np.asarray(mask, dtype=np.dtype(orig.dtype))))
        object.__setattr__(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """The tensor ``t`` with this method's mask applied (its values times the mask), as torch's."""
        scores = t if importance_scores is None else importance_scores
        default = np.ones(tuple(t.shape)) if default_mask is None else _array(default_mask)
        self.session = t._session
        return t * t._session.tensor(np.asarray(self.compute_mask(_array(scores), default), dtype=np.dtype(t.dtype)))

    def remove(self, module):
        """Make the pruning permanent: ``<name>`` a parameter again (the ``_orig`` object), holding the pruned values."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be removed")
        weight = self.apply_mask(module)
        module.__dict__.pop(self._tensor_name, None)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.detach()
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        module.register_parameter(self._tensor_name, orig)


def _remove_hook(module, method):
    table = module.__dict__.get("_hooks", {}).get("forward_pre", {})
    for key, hook in list(table.items()):
        if hook is method:
            del table[key]


class PruningContainer(BasePruningMethod):
    """Successive prunings of one tensor: each new method prunes among the entries (or channels) left by the
    mask so far."""

    def __init__(self, *args):
        self._pruning_methods: tuple = ()
        if len(args) == 1 and not isinstance(args[0], BasePruningMethod):
            args = tuple(args[0])
        for method in args:
            if len(args) == 1:
                self._tensor_name = method._tensor_name
            self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named '{self._tensor_name}' to PruningContainer {self}. "
                             f"Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        method = self._pruning_methods[-1]
        method.session = self.session
        new_mask = np.array(default_mask, dtype=t.dtype)
        if method.PRUNING_TYPE == "unstructured":
            slc = default_mask == 1
        elif method.PRUNING_TYPE == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError("Pruning methods of PRUNING_TYPE 'structured' need to have the attribute `dim` defined.")
            dim = method.dim % t.ndim
            keep = default_mask.sum(axis=tuple(d for d in range(t.ndim) if d != dim)) != 0
            slc = tuple(keep if d == dim else slice(None) for d in range(t.ndim))
        elif method.PRUNING_TYPE == "global":
            slc = (slice(None),) * t.ndim
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")
        new_mask[slc] = method.compute_mask(t[slc], default_mask=default_mask[slc])
        return new_mask


class Identity(BasePruningMethod):
    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        size = t.size
        _validate_pruning_amount(self.amount, size)
        k = _compute_nparams_toprune(self.amount, size)
        mask = np.array(default_mask, copy=True)
        if k:
            draws = np.asarray(_random(self.session, (size,))).reshape(-1)
            mask.reshape(-1)[np.argsort(-draws, kind="stable")[:k]] = 0  # the k largest draws
        return mask

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        size = t.size
        _validate_pruning_amount(self.amount, size)
        k = _compute_nparams_toprune(self.amount, size)
        mask = np.array(default_mask, copy=True)
        if k:
            mask.reshape(-1)[np.argsort(np.abs(t).reshape(-1), kind="stable")[:k]] = 0  # the k smallest |t|
        return mask

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


def _channel_mask(t, dim, keep):
    mask = np.zeros(t.shape, dtype=t.dtype)
    mask[tuple(keep if d == dim else slice(None) for d in range(t.ndim))] = 1
    return mask


class RandomStructured(BasePruningMethod):
    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _validate_pruning_amount_init(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t, default_mask):
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        n = t.shape[self.dim]
        k = _compute_nparams_toprune(self.amount, n)
        _validate_pruning_amount(self.amount, n)
        if k == 0:
            return default_mask
        draws = np.asarray(_random(self.session, (n,))).reshape(-1)
        threshold = np.sort(draws)[k - 1]  # kthvalue
        return _channel_mask(t, self.dim % t.ndim, draws > threshold) * default_mask

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _validate_pruning_amount_init(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t, default_mask):
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        channels = t.shape[self.dim]
        k = _compute_nparams_toprune(self.amount, channels)
        keep_count = channels - k
        _validate_pruning_amount(self.amount, channels)
        dim = self.dim % t.ndim
        flat = np.moveaxis(np.abs(t), dim, 0).reshape(channels, -1)
        n = self.n
        if n == "fro":
            n = 2
        if np.isinf(n):
            norm = flat.max(axis=1) if n > 0 else flat.min(axis=1)
        elif n == 0:
            norm = (flat != 0).sum(axis=1).astype(t.dtype)
        else:
            norm = (flat**n).sum(axis=1) ** (1.0 / n)
        if k == 0:
            return default_mask
        keep = np.zeros(channels, dtype=bool)
        keep[np.argsort(-norm, kind="stable")[:keep_count]] = True  # the channels of the largest norms
        return _channel_mask(t, dim, keep) * default_mask

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise AssertionError("the mask's shape is not the tensor's")
        return default_mask * _array(self.mask).astype(default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def identity(module, name):
    """Prune nothing of ``module.<name>``: the ``<name>_orig``/``<name>_mask`` layout with a mask of ones."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` entries (a count, or a fraction of them) of ``module.<name>`` at random."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries (a count, or a fraction) of ``module.<name>`` of the smallest |value| (or score)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` channels (a count, or a fraction) along ``dim`` of ``module.<name>`` at random."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` channels along ``dim`` of ``module.<name>`` of the smallest L``n`` norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` where ``mask`` is 0."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune the ``(module, name)`` pairs of ``parameters`` together: ``pruning_method`` (an unstructured method's
    class, e.g. ``L1Unstructured``, and its ``kwargs``) applied to all their entries as one vector."""
    if not hasattr(parameters, "__iter__") or isinstance(parameters, Tensor):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = np.concatenate([_array(importance_scores.get((module, name), getattr(module, name))).reshape(-1) for module, name in parameters])
    masks = np.concatenate([_array(getattr(module, name + "_mask", None)).reshape(-1) if hasattr(module, name + "_mask")
                            else np.ones(getattr(module, name).numel(), dtype=scores.dtype) for module, name in parameters])
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    method.session = getattr(*parameters[0])._session
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method {pruning_method} of type {method.PRUNING_TYPE}')
    container = PruningContainer()
    container._tensor_name = "temp"
    container.add_pruning_method(method)
    container.session = method.session
    final = container.compute_mask(scores, masks)
    pointer = 0
    for module, name in parameters:
        param = getattr(module, name)
        count = param.numel()
        custom_from_mask(module, name, mask=final[pointer : pointer + count].reshape(tuple(param.shape)))
        pointer += count


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent: ``<name>`` is a parameter again, with the pruned values."""
    for hook in _pre_hooks(module):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            _remove_hook(module, hook)
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")


def is_pruned(module) -> bool:
    """Whether ``module`` or any of its submodules has a pruned tensor."""
    return any(isinstance(hook, BasePruningMethod) for _, sub in module.named_modules() for hook in _pre_hooks(sub))
