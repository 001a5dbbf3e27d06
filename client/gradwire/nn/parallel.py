"""``gradwire.nn.parallel``: PyTorch's ``DataParallel`` for scripts that wrap their model in it. A session computes on
its server's one device, so the wrapper runs the module as it is, as PyTorch's does on a machine without GPUs
(``device_ids`` empty); its state dict keys carry the ``module.`` prefix, as PyTorch's."""

from __future__ import annotations

from .module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """``module`` wrapped: ``forward`` calls it with the inputs as given (nothing to scatter over one device)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = []

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
