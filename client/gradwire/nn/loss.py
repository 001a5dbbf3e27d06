"""The loss modules of ``gradwire.nn``, PyTorch's: each calls its ``gradwire.nn.functional`` loss with its settings."""

from __future__ import annotations

import dataclasses
import math
import warnings

from .. import errors
from ..tensor import Tensor
from . import functional as F
from .layers import Linear
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CTCLoss", "CosineEmbeddingLoss", "CrossEntropyLoss", "GaussianNLLLoss", "HingeEmbeddingLoss", "HuberLoss",
           "KLDivLoss", "L1Loss", "MSELoss", "MarginRankingLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss", "NLLLoss", "PoissonNLLLoss", "SmoothL1Loss", "SoftMarginLoss", "TripletMarginLoss",
           "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss", "LinearCrossEntropyLoss", "LinearCrossEntropyOptions"]


_BUFFERS = ("weight", "pos_weight")  # tensors a loss holds as buffers, as PyTorch's: in its state dict, moved by to()


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean", **settings):
        super().__init__()
        if size_average is not None or reduce is not None:  # the deprecated forms, honoured as PyTorch's
            reduction = F.legacy_get_string(size_average, reduce)
        self.reduction = reduction
        # (a list or an array stays a setting, converted at each call as the functional converts it)
        self._buffered = [name for name in _BUFFERS if name in settings and (settings[name] is None or isinstance(settings[name], Tensor))]
        for name in self._buffered:
            self.register_buffer(name, settings.pop(name))
        self._settings = settings

    def forward(self, input, target):
        return self._loss(input, target, reduction=self.reduction, **self._settings, **{name: getattr(self, name) for name in self._buffered})


class CrossEntropyLoss(_Loss):
    """``F.cross_entropy`` of class scores against class indices."""

    _loss = staticmethod(F.cross_entropy)

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean", label_smoothing=0.0):
        super().__init__(size_average, reduce, reduction, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing)
        self.ignore_index = ignore_index


class NLLLoss(_Loss):
    """``F.nll_loss`` of log-probabilities against class indices."""

    _loss = staticmethod(F.nll_loss)

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, weight=weight, ignore_index=ignore_index)
        self.ignore_index = ignore_index


class NLLLoss2d(NLLLoss):
    """Deprecated (as in PyTorch): ``NLLLoss``, which takes (N, C, H, W) inputs itself."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
                      "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.", FutureWarning, stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class MSELoss(_Loss):
    """``F.mse_loss``: the mean (or summed, or elementwise) squared error."""

    _loss = staticmethod(F.mse_loss)

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)


class BCELoss(_Loss):
    """``F.binary_cross_entropy`` of probabilities against targets of their shape."""

    _loss = staticmethod(F.binary_cross_entropy)

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, weight=weight)


class BCEWithLogitsLoss(_Loss):
    """``F.binary_cross_entropy_with_logits``: the sigmoid and the binary cross-entropy in one stable op."""

    _loss = staticmethod(F.binary_cross_entropy_with_logits)

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction, weight=weight, pos_weight=pos_weight)


class L1Loss(_Loss):
    """``F.l1_loss``: the mean (or summed, or elementwise) absolute error."""

    _loss = staticmethod(F.l1_loss)

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)


class SmoothL1Loss(_Loss):
    """``F.smooth_l1_loss``: squared below ``beta``, absolute above."""

    _loss = staticmethod(F.smooth_l1_loss)

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction, beta=beta)
        self.beta = beta


class HuberLoss(_Loss):
    """``F.huber_loss``: squared below ``delta``, linear above."""

    _loss = staticmethod(F.huber_loss)

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction, delta=delta)
        self.delta = delta


class KLDivLoss(_Loss):
    """``F.kl_div`` of log-probabilities against probabilities (or log-probabilities, ``log_target``)."""

    _loss = staticmethod(F.kl_div)

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction, log_target=log_target)
        self.log_target = log_target


class _PairLoss(_Loss):
    """A loss of two inputs and a target (or of three inputs): ``forward(input1, input2, target)``."""

    def forward(self, input1, input2, target):
        return self._loss(input1, input2, target, reduction=self.reduction, **self._settings)


class MarginRankingLoss(_PairLoss):
    _loss = staticmethod(F.margin_ranking_loss)

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, margin=margin)
        self.margin = margin


class CosineEmbeddingLoss(MarginRankingLoss):
    _loss = staticmethod(F.cosine_embedding_loss)


class TripletMarginLoss(_PairLoss):
    _loss = staticmethod(F.triplet_margin_loss)

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, margin=margin, p=p, eps=eps, swap=swap)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap


class HingeEmbeddingLoss(_Loss):
    _loss = staticmethod(F.hinge_embedding_loss)

    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, margin=margin)
        self.margin = margin


class SoftMarginLoss(_Loss):
    _loss = staticmethod(F.soft_margin_loss)

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)


class PoissonNLLLoss(_Loss):
    _loss = staticmethod(F.poisson_nll_loss)

    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, log_input=log_input, full=full, eps=eps)
        self.log_input, self.full, self.eps = log_input, full, eps


class GaussianNLLLoss(_Loss):
    _loss = staticmethod(F.gaussian_nll_loss)

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction=reduction, full=full, eps=eps)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return self._loss(input, target, var, reduction=self.reduction, **self._settings)


class MultiLabelSoftMarginLoss(_Loss):
    _loss = staticmethod(F.multilabel_soft_margin_loss)

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, weight=weight)


class MultiMarginLoss(_Loss):
    _loss = staticmethod(F.multi_margin_loss)

    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, p=p, margin=margin, weight=weight)
        self.p, self.margin = p, margin


class CTCLoss(_Loss):
    """``F.ctc_loss``: the Connectionist Temporal Classification loss of (T, N, C) log-probabilities against
    padded or concatenated targets, given each sample's input and target lengths."""

    _loss = staticmethod(F.ctc_loss)

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__(reduction=reduction, blank=blank, zero_infinity=zero_infinity)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return self._loss(log_probs, targets, input_lengths, target_lengths, reduction=self.reduction, **self._settings)


class MultiLabelMarginLoss(_Loss):
    """``F.multilabel_margin_loss``: class scores against each sample's target classes (ended by -1)."""

    _loss = staticmethod(F.multilabel_margin_loss)

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """``F.triplet_margin_with_distance_loss``: ``forward(anchor, positive, negative)``; ``distance_function`` by default a
    ``PairwiseDistance`` (a child module, as PyTorch's)."""

    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} instead")
        from .layers import PairwiseDistance  # noqa: PLC0415

        self.distance_function = distance_function if distance_function is not None else PairwiseDistance()
        self.margin, self.swap = margin, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=self.distance_function, margin=self.margin,
                                                   swap=self.swap, reduction=self.reduction)


@dataclasses.dataclass
class LinearCrossEntropyOptions:
    """``torch.nn.LinearCrossEntropyOptions``: PyTorch's chunking of ``linear_cross_entropy`` to save memory. Taken and
    left aside here: the server makes the logits whole."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None


class LinearCrossEntropyLoss(_Loss):
    """``F.linear_cross_entropy`` with a ``Linear`` of its own (``linear``, its weight kept 2-D and reshaped to
    (num_classes, *out_features, in_features) in forward), as ``torch.nn.LinearCrossEntropyLoss``."""

    def __init__(self, in_features, num_classes, *, out_features=(), bias=False, session=None, dtype=None, reduction="mean",
                 weight=None, ignore_index=None, label_smoothing=0.0, options=None):
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise errors.InvalidArgumentError(f"expected weight shape to be {(num_classes,)}, got {tuple(weight.shape)}")
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise errors.InvalidArgumentError(f"expected label_smoothing to be in range [0, 1], got {label_smoothing}")
        super().__init__(reduction=reduction, weight=weight)
        self.num_classes, self.out_features = num_classes, out_features
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
        self.linear = Linear(in_features, math.prod(out_features, start=num_classes), bias=bias, session=session, dtype=dtype)
        self.options = options

    def forward(self, input, target):
        linear_weight = self.linear.weight.reshape((self.num_classes, *self.out_features, self.linear.in_features))
        linear_bias = None if self.linear.bias is None else self.linear.bias.reshape((self.num_classes, *self.out_features))
        return F.linear_cross_entropy(input, linear_weight, target, linear_bias=linear_bias, weight=self.weight, reduction=self.reduction,
                                      ignore_index=self.ignore_index, label_smoothing=self.label_smoothing, options=self.options)

    def extra_repr(self):
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, out_features={self.out_features}, "
                f"bias={self.linear.bias is not None}, reduction={self.reduction}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}, options={self.options}")
