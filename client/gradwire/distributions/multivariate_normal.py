"""``MultivariateNormal``: N(loc, Sigma) over the last dim, from a covariance, a precision or a Cholesky factor."""

from __future__ import annotations

import math

import numpy as np

from .. import linalg
from ..tensor import Size
from . import constraints
from .distribution import Distribution
from .utils import lazy_property

__all__ = ["MultivariateNormal"]


def _eye_like(m):
    return m._session.eye(m.shape[-1], dtype=m.dtype)


def _solve_lower(tril, rhs, lower_only=True):
    """tril^-1 rhs over broadcast batches: a general solve of the lower triangle (the engine has no triangular
    solve), so that, as PyTorch's, it neither reads the upper triangle nor gives it a gradient."""
    batch = np.broadcast_shapes(tuple(tril.shape[:-2]), tuple(rhs.shape[:-2]))
    tril = tril.tril() if lower_only else tril
    return linalg.solve(tril.expand(*batch, *tril.shape[-2:]), rhs.expand(*batch, *rhs.shape[-2:]))


def _batch_mahalanobis(tril, diff):
    """|| tril^-1 diff ||^2 over the last dim, batches broadcast."""
    return _solve_lower(tril, diff.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


def _precision_to_scale_tril(precision):
    # With J the reversal, P = U U^T for U = J chol(J P J) J (upper triangular); so Sigma = P^-1 = L L^T with
    # L = (U^T)^-1, lower triangular: no inverse of P itself is formed
    flipped = linalg.cholesky(precision.flip(-2, -1))
    l_inv = flipped.flip(-2, -1).mT
    return _solve_lower(l_inv, _eye_like(precision))


def _scale_tril_of(scale_tril, covariance_matrix, precision_matrix):
    """The lower Cholesky factor of the scale matrix given as one of the three (the others None)."""
    if scale_tril is not None:
        return scale_tril
    if covariance_matrix is not None:
        return linalg.cholesky(covariance_matrix)
    return _precision_to_scale_tril(precision_matrix)


class MultivariateNormal(Distribution):
    """N(loc, Sigma) over the last dim of ``loc``, Sigma given as exactly one of ``covariance_matrix``,
    ``precision_matrix`` or ``scale_tril`` (its lower Cholesky factor), as ``torch.distributions.MultivariateNormal``:
    ``rsample`` is loc + L eps."""

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        if scale_tril is not None:
            if scale_tril.dim() < 2:
                raise ValueError("scale_tril matrix must be at least two-dimensional, with optional leading batch dimensions")
            matrix, name = scale_tril, "scale_tril"
        elif covariance_matrix is not None:
            if covariance_matrix.dim() < 2:
                raise ValueError("covariance_matrix must be at least two-dimensional, with optional leading batch dimensions")
            matrix, name = covariance_matrix, "covariance_matrix"
        else:
            if precision_matrix.dim() < 2:
                raise ValueError("precision_matrix must be at least two-dimensional, with optional leading batch dimensions")
            matrix, name = precision_matrix, "precision_matrix"
        batch_shape = Size(np.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1])))
        setattr(self, name, matrix.expand(*batch_shape, -1, -1))
        self.loc = loc.expand(*batch_shape, -1)
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        self._unbroadcasted_scale_tril = _scale_tril_of(scale_tril, covariance_matrix, precision_matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.loc = self.loc.expand(*batch_shape, *self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(*batch_shape, *self.event_shape, *self.event_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(*self._batch_shape, *self._event_shape, *self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        tril = self._unbroadcasted_scale_tril
        return (tril @ tril.mT).expand(*self._batch_shape, *self._event_shape, *self._event_shape)

    @lazy_property
    def precision_matrix(self):
        # (L L^T)^-1 of the whole factor, as PyTorch's cholesky_inverse differentiates it
        inverse = _solve_lower(self._unbroadcasted_scale_tril, _eye_like(self._unbroadcasted_scale_tril), lower_only=False)
        return (inverse.mT @ inverse).expand(*self._batch_shape, *self._event_shape, *self._event_shape)

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(*self._batch_shape, *self._event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = self.loc._session.randn(*shape, dtype=self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        self._validate_sample(value)
        diff = value - self.loc
        m = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + m) - half_log_det

    def entropy(self):
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        h = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return h.expand(*self._batch_shape) if len(self._batch_shape) else h
