"""``LKJCholesky``: the LKJ distribution of the lower Cholesky factors of correlation matrices (after NumPyro's)."""

from __future__ import annotations

import math

import numpy as np

from .. import grad_mode
from ..tensor import Size, cat, where
from . import constraints
from .distribution import Distribution, _numbers
from .gamma import Beta
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """The LKJ distribution of ``dim`` x ``dim`` lower Cholesky factors L of correlation matrices, with
    ``concentration`` eta: the density of the correlation matrix L L^T is proportional to det(L L^T)^(eta - 1)
    (eta = 1: uniform), as ``torch.distributions.LKJCholesky``. ``sample`` is the onion method (Lewandowski,
    Kurowicka and Joe, 2009, section 3.2), vectorized as PyTorch's: one Beta draw per row for its squared
    off-diagonal norm, a uniform direction on the hypersphere for the row; no ``rsample``.

    Row k's Beta is Beta(k / 2, eta + (dim - 2) / 2 - (k - 1) / 2), the paper's (and NumPyro's). PyTorch's first
    concentration is k - 1/2, right for row 1 only: from dim 3 its draws are not LKJ-distributed (the correlations
    below the first are too spread: variance 0.3, not 0.25, at dim 3 and eta 1), so it is not copied; and so an
    invalid concentration is reported as LKJCholesky's, not as the Dirichlet's of PyTorch's Beta."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        given = _numbers(concentration=concentration)
        super().__init__(self.concentration.shape, (dim, dim), validate_args, _numbers=given)
        # the Beta of the vectorized onion method (section 3.2): row k's squared norm below the diagonal is
        # Beta(k / 2, eta + (dim - 2) / 2 - (k - 1) / 2), row 0 a placeholder
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = 0.5 * self.concentration._session.arange(self.dim - 1, dtype=self.concentration.dtype)
        offset = cat([offset.new_zeros(1), offset])
        self._beta = Beta(offset + 0.5, marginal_conc.unsqueeze(-1) - offset, validate_args=False)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.dim = self.dim
        new.concentration = self.concentration.expand(*batch_shape)
        new._beta = self._beta.expand((*batch_shape, self.dim))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=()):
        # The onion method with PyTorch's simplifications: vectorized over rows (and heterogeneous eta), and only
        # the Cholesky factor's rows w are made: w_k = sqrt(y_k) u_k (u_k uniform on the sphere of the first k
        # coordinates), the diagonal sqrt(1 - |w_k|^2)
        with grad_mode.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = y._session.randn(*self._extended_shape(sample_shape), dtype=y.dtype).tril(-1)
            norm = u_normal.norm(dim=-1, keepdim=True)
            first_row = (y._session.arange(self.dim) == 0).reshape(self.dim, 1)
            u_hypersphere = where(first_row, 0.0, u_normal / where(first_row, 1.0, norm))  # row 0 has no entries
            w = y.sqrt() * u_hypersphere
            tiny = float(np.finfo(w.dtype).tiny)
            diag_elems = (1 - w.pow(2).sum(-1)).clamp(min=tiny).sqrt()
            return w + diag_elems.diag_embed()

    def log_prob(self, value):
        # (Stan's Cholesky LKJ density) det(L L^T)^(eta - 1) = prod L_ii^(2 eta - 2), times the Jacobian of
        # L -> L L^T, prod L_ii^(D - i): so prod L_ii^(2 eta - 2 + D - i) over i = 2 .. D
        self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = self.concentration._session.arange(2, self.dim + 1, dtype=self.concentration.dtype)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = (order * diag_elems.log()).sum(-1)
        # the normalizing constant (page 1999 of the paper): multigammaln's pi term is (D - 1)(D - 2) / 4 log(pi), the
        # paper's D (D - 1) / 4 log(pi), so (D - 1) / 2 log(pi) is added
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = alpha.lgamma() * dm1
        numerator = (alpha - 0.5).mvlgamma(dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized_log_pdf - (pi_constant + numerator - denominator)
