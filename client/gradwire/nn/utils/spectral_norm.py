"""``spectral_norm`` and ``remove_spectral_norm``: PyTorch's spectral normalisation by forward pre-hook.

``weight = weight_orig / sigma``, sigma the largest singular value of ``weight_orig`` (as a matrix with
``dim`` first) estimated by power iteration: in training each call runs ``n_power_iterations`` steps that
update the ``weight_u`` and ``weight_v`` buffers in place (no gradient flows through them); in eval mode
the stored u and v give sigma. All of it is ops on the server.
"""

from __future__ import annotations

from ...grad_mode import no_grad
from .. import functional as F
from ..parameter import Parameter
from .weight_norm import _pre_hooks


class SpectralNorm:
    """The forward pre-hook of ``spectral_norm``."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        self.name, self.dim, self.eps = name, dim, eps
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}")
        self.n_power_iterations = n_power_iterations
        self.handle = None

    def reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(F.normalize(weight_mat.t().mv(u), dim=0, eps=self.eps))  # in place: the buffers keep the estimate
                    u.copy_(F.normalize(weight_mat.mv(v), dim=0, eps=self.eps))
                u, v = u.clone(), v.clone()  # sigma's copies: the next step's in-place update is no error
        sigma = u.dot(weight_mat.mv(v))
        return weight / sigma

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        module.__dict__.pop(self.name, None)
        del module._buffers[self.name + "_u"]
        del module._buffers[self.name + "_v"]
        del module._parameters[self.name + "_orig"]
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        for hook in _pre_hooks(module):
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        with no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            session = weight._session
            u = F.normalize(session.randn(h, dtype=weight.dtype), dim=0, eps=fn.eps)  # from the session's seeded generator
            v = F.normalize(session.randn(w, dtype=weight.dtype), dim=0, eps=fn.eps)
        del module._parameters[name]
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        fn.handle = module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Spectral normalisation of ``module.<name>``, as ``torch.nn.utils.spectral_norm``: the parameter becomes
    ``<name>_orig``, buffers ``<name>_u`` and ``<name>_v`` hold the power iteration's vectors (drawn from the
    session's generator), and each call divides by the estimated largest singular value. ``dim`` defaults to 1
    for transposed convolutions, else 0. Returns the module."""
    if dim is None:
        from ..layers import ConvTranspose1d, ConvTranspose2d  # noqa: PLC0415 - layers import this package

        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo ``spectral_norm``: ``<name>`` is a plain parameter again, holding the current normalised weight."""
    for hook in _pre_hooks(module):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            hook.handle.remove()
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
