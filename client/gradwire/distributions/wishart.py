"""``Wishart``: the distribution of positive definite matrices L Z Z^T L^T, Z a df-column standard normal matrix."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import linalg
from ..tensor import Size, stack, where
from . import constraints
from .distribution import Distribution, _numbers
from .exp_family import ExponentialFamily
from .gamma import Chi2
from .multivariate_normal import _eye_like, _scale_tril_of, _solve_lower
from .utils import lazy_property

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x, p):
    """The multivariate digamma function: sum over i < p of digamma(x - i / 2) (PyTorch asserts x > (p - 1) / 2
    first, a read of the server; here x outside that domain gives what digamma gives)."""
    return (x.unsqueeze(-1) - x._session.arange(p, dtype=x.dtype) / 2).digamma().sum(-1)


def _clamp_above_eps(x):
    return x.clamp(min=float(np.finfo(x.dtype).eps))


def _cholesky_solve(rhs, tril):
    """(L L^T)^-1 rhs, batches broadcast, by two general solves of the whole of L: PyTorch's cholesky_solve reads
    only L's lower triangle but differentiates as if all of L were used (a gradient for the upper triangle too),
    and so does this."""
    return _solve_lower(tril.mT, _solve_lower(tril, rhs, lower_only=False), lower_only=False)


class Wishart(ExponentialFamily):
    """The Wishart distribution of ``df`` degrees of freedom (more than the dimension less 1) and a scale matrix
    Sigma given as exactly one of ``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` (its lower Cholesky
    factor), as ``torch.distributions.Wishart``. ``rsample`` is Bartlett's decomposition (chi-squared diagonal,
    standard normal lower triangle), differentiable in Sigma and, through the chi-squared draws, in ``df``.

    ``df`` is checked against the dimension as PyTorch checks it (and a ``df`` below the dimension warned of) when
    it is a number; a tensor ``df`` only where tensors are validated (``validate_args``), since it is a read of the
    server."""

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite, "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        param = next(p for p in (covariance_matrix, precision_matrix, scale_tril) if p is not None)
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, numbers.Number):
            batch_shape = Size(tuple(param.shape[:-2]))
            self.df = param.new_tensor(float(df))
        else:
            batch_shape = Size(np.broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(*batch_shape)
        event_shape = Size(tuple(param.shape[-2:]))
        p = event_shape[-1]
        self._check_df(df, p, validate_args)
        matrix = param.expand(*batch_shape, *event_shape)
        if scale_tril is not None:
            self.scale_tril = matrix
        elif covariance_matrix is not None:
            self.covariance_matrix = matrix
        else:
            self.precision_matrix = matrix
        super().__init__(batch_shape, event_shape, validate_args=validate_args, _numbers=_numbers(df=df))
        self._batch_dims = [-(x + 1) for x in range(len(self._batch_shape))]
        self._unbroadcasted_scale_tril = _scale_tril_of(scale_tril, covariance_matrix, precision_matrix)
        self._dist_chi2 = self._chi2(batch_shape)

    def _check_df(self, df, p, validate_args):
        """PyTorch's checks of ``df`` against the dimension ``p``: free for a number, one read for a tensor (only
        where tensors are validated)."""
        if isinstance(df, numbers.Number):
            too_small, low = df <= p - 1, df < p  # (NaN passes here, as PyTorch's; its constraint refuses it)
        else:
            checking = validate_args if validate_args is not None else Distribution._validate_args
            if not checking:
                return
            too_small, low = (bool(v) for v in stack([(self.df <= p - 1).any(), (self.df < p).any()]).tolist())
        if too_small:
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        if low:
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < ndim.",
                          stacklevel=3)

    def _chi2(self, batch_shape):
        """The chi-squared distributions of Bartlett's decomposition: df - i degrees of freedom for the i-th diagonal."""
        p = self._event_shape[-1]
        offsets = self._unbroadcasted_scale_tril._session.arange(p, dtype=self._unbroadcasted_scale_tril.dtype)
        return Chi2(self.df.unsqueeze(-1) - offsets.expand(*batch_shape, p), validate_args=False)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = Size(tuple(batch_shape))
        cov_shape = (*batch_shape, *self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(*cov_shape)
        new.df = self.df.expand(*batch_shape)
        new._batch_dims = [-(x + 1) for x in range(len(batch_shape))]
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(*cov_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._dist_chi2 = new._chi2(batch_shape)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(*self._batch_shape, *self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        tril = self._unbroadcasted_scale_tril
        return (tril @ tril.mT).expand(*self._batch_shape, *self._event_shape)

    @lazy_property
    def precision_matrix(self):
        tril = self._unbroadcasted_scale_tril
        return _cholesky_solve(_eye_like(tril), tril).expand(*self._batch_shape, *self._event_shape)

    def _df_matrix(self, df=None):
        """``df`` (or another batch-shaped tensor) with two unit dims, to scale matrices."""
        df = self.df if df is None else df
        return df.reshape(*df.shape, 1, 1)

    @property
    def mean(self):
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        return self._df_matrix(where(factor <= 0, math.nan, factor)) * self.covariance_matrix

    @property
    def variance(self):
        v = self.covariance_matrix
        diag_v = v.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (v.pow(2) + diag_v.unsqueeze(-1) * diag_v.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape=()):
        diagonal = _clamp_above_eps(self._dist_chi2.rsample(sample_shape).sqrt()).diag_embed(dim1=-2, dim2=-1)
        lower = diagonal._session.randn(*self._extended_shape(sample_shape), dtype=diagonal.dtype).tril(-1)
        chol = self._unbroadcasted_scale_tril @ (diagonal + lower)
        return chol @ chol.mT

    def rsample(self, sample_shape=(), max_try_correction=None):
        """Bartlett's decomposition. A draw can come out singular (more often where ``df`` is below the dimension):
        as PyTorch's, each is drawn again up to ``max_try_correction`` times (10 by default) and a warning given;
        a singular one may remain, and scores -inf. Checking costs one read of the server per call.

        (PyTorch's check is inverted: it warns of a singular sample at every call and draws every regular one
        again. Here only singular draws are replaced and warned of.)"""
        if max_try_correction is None:
            max_try_correction = 10
        sample = self._bartlett_sampling(sample_shape)
        is_singular = self.support.check(sample).logical_not()
        if bool(is_singular.any().item()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(max_try_correction):
                redrawn = self._bartlett_sampling(sample_shape)
                sample = where(is_singular.unsqueeze(-1).unsqueeze(-1), redrawn, sample)
                is_singular = is_singular & self.support.check(redrawn).logical_not()
                if not bool(is_singular.any().item()):
                    break
        return sample

    def log_prob(self, value):
        self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        tril = self._unbroadcasted_scale_tril
        return -nu * (p * _LOG_2 / 2 + tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)) - (nu / 2).mvlgamma(p) \
            + (nu - p - 1) / 2 * linalg.slogdet(value).logabsdet \
            - _cholesky_solve(value, tril).diagonal(dim1=-2, dim2=-1).sum(-1) / 2

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        return (p + 1) * (p * _LOG_2 / 2 + self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)) \
            + (nu / 2).mvlgamma(p) - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2

    @property
    def _natural_params(self):
        nu, p = self.df, self._event_shape[-1]
        return -self.precision_matrix / 2, (nu - p - 1) / 2

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return (y + (p + 1) / 2) * (-linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p) + (y + (p + 1) / 2).mvlgamma(p)
