"""The loss modules of ``gradwire.nn``, PyTorch's: each calls its ``gradwire.nn.functional`` loss with its settings."""

from __future__ import annotations

from . import functional as F
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss", "NLLLoss"]


class _Loss(Module):
    def __init__(self, reduction="mean", **settings):
        super().__init__()
        self.reduction = reduction
        self._settings = settings

    def forward(self, input, target):
        return self._loss(input, target, reduction=self.reduction, **self._settings)


class CrossEntropyLoss(_Loss):
    """``F.cross_entropy`` of class scores against class indices."""

    _loss = staticmethod(F.cross_entropy)

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing)
        self.ignore_index = ignore_index


class NLLLoss(_Loss):
    """``F.nll_loss`` of log-probabilities against class indices."""

    _loss = staticmethod(F.nll_loss)

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(reduction, weight=weight, ignore_index=ignore_index)
        self.ignore_index = ignore_index


class MSELoss(_Loss):
    """``F.mse_loss``: the mean (or summed, or elementwise) squared error."""

    _loss = staticmethod(F.mse_loss)

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(reduction)


class BCELoss(_Loss):
    """``F.binary_cross_entropy`` of probabilities against targets of their shape."""

    _loss = staticmethod(F.binary_cross_entropy)

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(reduction, weight=weight)


class BCEWithLogitsLoss(_Loss):
    """``F.binary_cross_entropy_with_logits``: the sigmoid and the binary cross-entropy in one stable op."""

    _loss = staticmethod(F.binary_cross_entropy_with_logits)

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(reduction, weight=weight, pos_weight=pos_weight)
