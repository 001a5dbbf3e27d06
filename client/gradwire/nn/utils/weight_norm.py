"""``weight_norm`` and ``remove_weight_norm``: PyTorch's weight normalisation by forward pre-hook (the old API).

``weight = g * v / ||v||`` (the norm over every dim but ``dim``); ``weight_g`` and ``weight_v`` become the
module's parameters and a forward pre-hook recomputes ``weight`` from them before each call, so gradients
reach g and v through ordinary ops on the server.
"""

from __future__ import annotations

import warnings

from ..parameter import Parameter


def _norm_except_dim(v, dim):
    """``torch.norm_except_dim(v, 2, dim)``: the 2-norm over every dim but ``dim``, kept as size-1 dims; with
    ``dim=-1`` the norm of all of v (a 0-d tensor), as PyTorch's."""
    if dim == -1:
        return v.norm()
    return v.norm(2, tuple(d for d in range(v.ndim) if d != dim), keepdim=True)


def _weight_norm(v, g, dim):
    """``torch._weight_norm``: ``v * (g / norm_except_dim(v, 2, dim))``."""
    return v * (g / _norm_except_dim(v, dim))


def _pre_hooks(module):
    return list(module.__dict__.get("_hooks", {}).get("forward_pre", {}).values())


class WeightNorm:
    """The forward pre-hook of ``weight_norm``: sets ``module.<name>`` from ``<name>_g`` and ``<name>_v``."""

    def __init__(self, name, dim):
        if dim is None:
            dim = -1
        self.name, self.dim = name, dim
        self.handle = None

    def compute_weight(self, module):
        return _weight_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    @staticmethod
    def apply(module, name, dim):
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of `torch.nn.utils.parametrizations.weight_norm`.",
                      FutureWarning, stacklevel=3)
        for hook in _pre_hooks(module):
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, fn.dim).detach()))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        fn.handle = module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        module.__dict__.pop(self.name, None)
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Weight normalisation of ``module.<name>``, as ``torch.nn.utils.weight_norm`` (deprecated there in favour of
    ``parametrizations.weight_norm``, and warned of as it is): parameters ``<name>_g`` (the magnitude, shaped by
    ``dim``; ``dim=None``: one number) and ``<name>_v`` (the direction); returns the module."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo ``weight_norm``: ``<name>`` is a plain parameter again, holding the current normalised weight."""
    for hook in _pre_hooks(module):
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            hook.handle.remove()
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
