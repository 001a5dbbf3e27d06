"""What the distributions share: numbers made tensors in the right session, parameters broadcast together,
probabilities and logits each from the other, PyTorch's ``lazy_property``, lower triangles to vectors and back
(``tril_matrix_to_vec``, ``vec_to_tril_matrix``), and the probs-or-logits parameterisation (``_ProbsOrLogits``) of
the distributions of Bernoulli trials and of categories."""

from __future__ import annotations

import numbers

import numpy as np

from .. import defaults
from ..session import resolve_session
from ..tensor import Tensor, broadcast_tensors, cat

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs", "probs_to_logits", "tril_matrix_to_vec",
           "vec_to_tril_matrix"]

euler_constant = 0.57721566490153286060


def _first_tensor(values):
    return next((v for v in values if isinstance(v, Tensor)), None)


def _tensor_like(value, like, session=None):
    """``value`` (a number or an array) as a tensor of ``like``'s session and dtype; with no ``like``, of the only
    open session and the default dtype, as PyTorch makes a number a tensor of its default dtype."""
    if isinstance(value, Tensor):
        return value
    if like is None:
        return resolve_session(session).tensor(np.asarray(value, dtype=defaults.current))
    return like._session.tensor(np.asarray(value, dtype=like.dtype if like.dtype.kind == "f" else defaults.current))


def broadcast_all(*values):
    """``torch.distributions.utils.broadcast_all``: tensors and numbers broadcast to one shape; numbers become
    tensors of the first tensor's session and dtype (none: the only open session and the default dtype)."""
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, torch.Tensor or objects implementing __torch_function__.")
    like = _first_tensor(values)
    if like is not None and like.dtype.kind != "f":
        like = next((v for v in values if isinstance(v, Tensor) and v.dtype.kind == "f"), like)
    tensors = [_tensor_like(v, like) for v in values]
    return tuple(broadcast_tensors(*tensors)) if len(tensors) > 1 else tuple(tensors)


def _sum_rightmost(value, dim):
    """Sum out the ``dim`` rightmost dims."""
    if dim == 0:
        return value
    return value.reshape(*value.shape[: value.ndim - dim], -1).sum(-1)


def clamp_probs(probs):
    """Probabilities kept in [eps, 1 - eps] of their dtype."""
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits, is_binary=False):
    """Sigmoid (binary) or softmax over the last dim."""
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def probs_to_logits(probs, is_binary=False):
    """Logits of probabilities clamped away from 0 and 1: log p - log(1 - p) (binary), else log p."""
    clamped = clamp_probs(probs)
    return clamped.log() - (-clamped).log1p() if is_binary else clamped.log()


def _tril_mask(n, diag):
    """Where j <= i + diag in an n x n matrix: the lower triangle from diagonal ``diag``, in row order."""
    arange = np.arange(n)
    return arange < arange.reshape(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat, diag=0):
    """The lower triangle (from diagonal ``diag``) of the last two dims of ``mat``, in row order, along one last
    dim, as ``torch.distributions.utils.tril_matrix_to_vec`` (an index_select: differentiable)."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    positions = np.flatnonzero(_tril_mask(n, diag))
    return mat.reshape(*mat.shape[:-2], n * n).index_select(-1, mat._session.tensor(positions))


def vec_to_tril_matrix(vec, diag=0):
    """The D x D lower triangular matrices (from diagonal ``diag``, zeros elsewhere) whose triangles are the last dim
    of ``vec`` in row order, as ``torch.distributions.utils.vec_to_tril_matrix`` (differentiable)."""
    # the positive root of D^2 + (1 + 2 diag) D - |diag| (diag + 1) - 2 vec.shape[-1] = 0
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if round(n) - n > float(np.finfo(vec.dtype).eps):
        raise ValueError(f"The size of last dimension is {vec.shape[-1]} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    mask = _tril_mask(n, diag).reshape(-1)
    index = np.full(n * n, vec.shape[-1])  # the zero appended below, off the triangle
    index[mask] = np.arange(int(mask.sum()))
    padded = cat([vec, vec.new_zeros(*vec.shape[:-1], 1)], -1)
    return padded.index_select(-1, vec._session.tensor(index)).reshape(*vec.shape[:-1], n, n)


def _softplus(x):
    return x.clamp(min=0) + (-x.abs()).exp().log1p()


def _bce_with_logits(logits, target):
    """``binary_cross_entropy_with_logits(logits, target, reduction="none")``, its stable form."""
    return logits.clamp(min=0) - logits * target + (-logits.abs()).exp().log1p()


class lazy_property:
    """A property computed on first use and then kept in the instance (PyTorch's ``lazy_property``: ``logits`` of
    a distribution made from ``probs``, and the other way round)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def _check_probs_xor_logits(probs, logits):
    """PyTorch's error when neither or both of ``probs`` and ``logits`` are given."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class _ProbsOrLogits:
    """A distribution given by ``probs`` or by ``logits`` (one of them), the other made on first use, as PyTorch's
    Bernoulli, Binomial, Geometric, NegativeBinomial, LogitRelaxedBernoulli and Categorical each write out.
    ``_param`` is the one given (its shape, dtype and session); ``_binary_logits`` says which logits: log-odds and
    sigmoid (one trial's success), else log-probabilities and softmax over the last dim (categories).
    A base class to list before ``Distribution``."""

    _binary_logits = True

    def _set_probs_or_logits(self, probs, logits, **counts):
        """Sets ``probs`` or ``logits``, whichever is given, broadcast with ``counts`` (each set as an attribute of
        the parameter's dtype, e.g. ``total_count``), and ``_param``; returns ``_param``."""
        _check_probs_xor_logits(probs, logits)
        name, given = ("probs", probs) if probs is not None else ("logits", logits)
        *counted, param = broadcast_all(*counts.values(), given)
        for count_name, count in zip(counts, counted):
            setattr(self, count_name, count.to(param.dtype))
        setattr(self, name, param)
        self._param = param
        return param

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        return new

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=self._binary_logits)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=self._binary_logits)
