"""``parametrizations.weight_norm``: PyTorch's weight normalisation as a parametrization.

The module's ``<name>`` parameter is replaced by ``parametrizations.<name>.original0`` (g, the magnitude) and
``original1`` (v, the direction); reading ``module.<name>`` computes ``g * v / ||v||`` from them, each time, as
``torch.nn.utils.parametrize`` does (its state dict keys are PyTorch's). Only what ``weight_norm`` needs of
``torch.nn.utils.parametrize`` is here: one parametrization per tensor, no caching, no removal.
"""

from __future__ import annotations

from ...grad_mode import no_grad
from ..layers import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter
from .weight_norm import _norm_except_dim, _weight_norm

__all__ = ["weight_norm"]


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


class ParametrizationList(ModuleList):
    """The parametrization of one tensor and its originals (``original0``, ``original1``, ...), as PyTorch's."""

    def __init__(self, modules, original):
        super().__init__(modules)
        with no_grad():
            originals = modules[0].right_inverse(original)
        for i, value in enumerate(originals):
            setattr(self, f"original{i}", Parameter(value.detach().clone(), original.requires_grad))
        self._count = len(originals)

    def forward(self):
        return self[0](*(getattr(self, f"original{i}") for i in range(self._count)))

    def right_inverse(self, value):
        """Assigning to the parametrized tensor: its originals copied from the parametrization's right inverse."""
        with no_grad():
            for i, part in enumerate(self[0].right_inverse(value)):
                getattr(self, f"original{i}").copy_(part)


def _register(module, name, parametrization):
    original = module._parameters[name]
    if not isinstance(module.__dict__.get("parametrizations"), ModuleDict):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})
        module.parametrizations = ModuleDict()
    del module._parameters[name]
    module.parametrizations[name] = ParametrizationList([parametrization], original)
    setattr(type(module), name, property(lambda self: self.parametrizations[name](),
                                         lambda self, value: self.parametrizations[name].right_inverse(value)))


def weight_norm(module, name="weight", dim=0):
    """Weight normalisation of ``module.<name>``, as ``torch.nn.utils.parametrizations.weight_norm``:
    ``parametrizations.<name>.original0`` is g (the norm over every dim but ``dim``; ``dim=None``: of all of it)
    and ``original1`` is v; ``module.<name>`` is ``g * v / ||v||``, computed when read. Returns the module."""
    _register(module, name, _WeightNorm(dim))
    return module
