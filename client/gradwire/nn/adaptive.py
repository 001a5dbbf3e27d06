"""``torch.nn.AdaptiveLogSoftmaxWithLoss`` (Grave et al.'s adaptive softmax): the frequent classes in a head, the
rest in clusters, each a smaller projection, with PyTorch's parameters, names, values and gradients.

PyTorch picks each cluster's rows with ``nonzero`` (a data-dependent shape: here a round trip to the server per
cluster); this one reads once which clusters the targets fall in (and whether any is out of range, refused in
PyTorch's words), then runs each of those clusters over the whole batch and keeps its rows with ``where``. The values
and gradients are PyTorch's (a cluster no target falls in is not run: its weights get no gradient, as PyTorch's); the
server computes more for a large batch, the client waits once per forward instead of once per cluster."""

from __future__ import annotations

from collections import namedtuple

from .. import errors
from ..tensor import cat, stack, where
from . import functional as F
from .layers import Linear, ModuleList, Sequential
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """``forward(input, target)``: each target's log-probability and their mean negated (``output``, ``loss``);
    ``log_prob(input)``: every class's; ``predict(input)``: the most likely class."""

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, *, session=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1 or len(set(cutoffs)) != len(cutoffs)
                or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing order, where each "
                             "value is between 1 and n_classes-1")
        self.in_features, self.n_classes, self.cutoffs = in_features, n_classes, cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, session=session, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, session=session, dtype=dtype),
                                        Linear(hidden, self.cutoffs[i + 1] - self.cutoffs[i], bias=False, session=session, dtype=dtype)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def forward(self, input_, target_):
        if target_.ndim == 1:
            if input_.shape[0] != target_.shape[0]:
                raise errors.InvalidArgumentError("Input and target should have the same size in the batch dimension.")
            if input_.ndim != 2:
                raise errors.InvalidArgumentError(f"1D target tensor expects 2D input tensors, but found inputs with size {input_.shape}")
        elif target_.ndim == 0:
            if input_.ndim != 1:
                raise errors.InvalidArgumentError(f"0D target tensor expects 1D input tensors, but found inputs with size {input_.shape}")
        else:
            raise errors.InvalidArgumentError("0D or 1D target tensor expected, multi-target not supported")
        batched = target_.ndim > 0
        input = input_ if batched else input_.unsqueeze(0)
        target = target_ if batched else target_.unsqueeze(0)
        clusters = [(target >= low) & (target < high) for low, high in zip(self.cutoffs, self.cutoffs[1:])]
        *used, out_of_range = stack([rows.any() for rows in clusters] + [((target < 0) | (target >= self.n_classes)).any()]).tolist()
        if out_of_range:
            raise errors.InvalidArgumentError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                                              f"[{target.min().item()}, {target.max().item()}] were found. ")
        head_index = target  # a cluster's rows read their cluster's head column instead (below)
        output = None
        for i, (low, high) in enumerate(zip(self.cutoffs, self.cutoffs[1:])):
            if not used[i]:
                continue
            rows = clusters[i]
            head_index = where(rows, self.shortlist_size + i, head_index)
            local = F.log_softmax(self.tail[i](input), dim=1).gather(1, (target - low).clamp(0, high - low - 1).unsqueeze(1)).squeeze(1)
            part = where(rows, local, 0.0)
            output = part if output is None else output + part
        head = F.log_softmax(self.head(input), dim=1).gather(1, head_index.unsqueeze(1)).squeeze(1)
        output = head if output is None else output + head
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input, head_output):
        head = F.log_softmax(head_output, dim=1)
        parts = [head[:, : self.shortlist_size]]
        for i in range(self.n_clusters):
            parts.append(F.log_softmax(self.tail[i](input), dim=1) + head[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, dim=1)

    def log_prob(self, input):
        """Every class's log-probability, (batch, n_classes)."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input):
        """The most likely class of each row: the head's where it is a shortlist class, else the full distribution's."""
        head_output = self.head(input)
        output = head_output.argmax(dim=1)
        return where(output >= self.shortlist_size, self._get_full_log_prob(input, head_output).argmax(dim=1), output)
