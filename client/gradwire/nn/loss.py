"""The loss modules of ``gradwire.nn``, PyTorch's: each calls its ``gradwire.nn.functional`` loss with its settings."""

from __future__ import annotations

from . import functional as F
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss", "MSELoss", "NLLLoss", "SmoothL1Loss"]


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


class L1Loss(_Loss):
    """``F.l1_loss``: the mean (or summed, or elementwise) absolute error."""

    _loss = staticmethod(F.l1_loss)

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(reduction)


class SmoothL1Loss(_Loss):
    """``F.smooth_l1_loss``: squared below ``beta``, absolute above."""

    _loss = staticmethod(F.smooth_l1_loss)

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(reduction, beta=beta)
        self.beta = beta


class HuberLoss(_Loss):
    """``F.huber_loss``: squared below ``delta``, linear above."""

    _loss = staticmethod(F.huber_loss)

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction, delta=delta)
        self.delta = delta


class KLDivLoss(_Loss):
    """``F.kl_div`` of log-probabilities against probabilities (or log-probabilities, ``log_target``)."""

    _loss = staticmethod(F.kl_div)

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(reduction, log_target=log_target)
        self.log_target = log_target
