"""``gradwire.nn.utils.memory_format``: PyTorch's converters of convolution weights to a memory format. The server
keeps every tensor in one layout (``is_contiguous(memory_format=...)`` holds for each), so there is nothing to
convert; the module comes back as it was, as PyTorch returns it."""

from __future__ import annotations

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def convert_conv2d_weight_memory_format(module, memory_format):
    """``module`` itself (the 2-d convolutions' weights need no conversion here)."""
    return module


def convert_conv3d_weight_memory_format(module, memory_format):
    """``module`` itself (the 3-d convolutions' weights need no conversion here)."""
    return module
