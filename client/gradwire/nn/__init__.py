"""``gradwire.nn``: PyTorch's ``torch.nn`` over tensors that live on a gradwire server.

    import gradwire as gw
    from gradwire import nn
    import gradwire.nn.functional as F

    s = gw.connect()
    model = nn.Sequential(nn.Linear(64, 32, session=s), nn.ReLU(), nn.Linear(32, 10, session=s))
    loss = F.cross_entropy(model(x), targets)

Layers with weights take ``session=``; without it they use the only open
session (and raise when none or several are open). Their weights are drawn on
the server from the session's seeded generator (``session.manual_seed``).
"""

from . import functional, init, utils
from .layers import (
    AvgPool1d, Conv1d, MaxPool1d, Hardtanh, ReLU6, Unflatten, AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, ELU, GELU, Conv2d, Dropout, Embedding, Flatten, Identity, LayerNorm, LeakyReLU, Linear, LogSoftmax, MaxPool2d, ModuleDict,
    ModuleList, ReLU, Sequential, SiLU, Sigmoid, Softmax, Softplus, Tanh,
)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from .module import Module, resolve_session
from .parameter import Parameter

__all__ = [
    "AvgPool1d", "Conv1d", "MaxPool1d", "AdaptiveAvgPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv2d", "CrossEntropyLoss", "Dropout", "ELU", "Embedding", "Flatten", "GELU", "Hardtanh", "HuberLoss", "L1Loss", "ReLU6", "SmoothL1Loss", "Unflatten",
    "Identity", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module", "ModuleDict",
    "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "SiLU", "Sigmoid", "Softmax", "Softplus", "Tanh",
    "functional", "init", "resolve_session", "utils",
]
