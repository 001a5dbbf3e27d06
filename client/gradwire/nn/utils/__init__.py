"""``gradwire.nn.utils``: PyTorch's gradient clipping, one command on the server whatever the model's size;
``parameters_to_vector``/``vector_to_parameters``; ``rnn``: padded and packed sequences; ``weight_norm``,
``spectral_norm`` (forward pre-hooks); ``parametrize`` (PyTorch's parametrizations of a module's tensors) and
``parametrizations`` built on it (``orthogonal``, ``weight_norm``, ``spectral_norm``); ``prune``; ``fusion``
(a batch norm folded into the convolution or linear layer before it); ``skip_init``; the memory-format converters.

    loss.backward()
    gw.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()

The gradients never cross the network: the server scales (or clamps) them in place.
"""

from __future__ import annotations

__all__ = [
    "clip_grad", "clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "convert_conv2d_weight_memory_format",
    "convert_conv3d_weight_memory_format", "convert_parameters", "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
    "fuse_linear_bn_weights", "fusion", "get_total_norm", "memory_format", "pad_sequence", "parameters_to_vector", "parametrizations",
    "parametrize", "prune", "remove_spectral_norm", "remove_weight_norm", "rnn", "skip_init", "spectral_norm", "stateless",
    "vector_to_parameters", "weight_norm",
]

from . import clip_grad, convert_parameters, fusion, init, memory_format  # PyTorch's submodules, under its names
from .clip_grad import clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights
from .init import skip_init
from .memory_format import convert_conv2d_weight_memory_format, convert_conv3d_weight_memory_format
from . import parametrizations, parametrize, prune, rnn, stateless
from .rnn import pad_sequence
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm
