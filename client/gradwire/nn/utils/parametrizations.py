"""``parametrizations``: PyTorch's ``orthogonal``, ``weight_norm`` and ``spectral_norm`` as parametrizations
(``gradwire.nn.utils.parametrize``), their state dict keys PyTorch's.

- ``weight_norm``: ``parametrizations.<name>.original0`` is g (the magnitude), ``original1`` v (the direction);
  ``module.<name>`` is ``g * v / ||v||``.
- ``spectral_norm``: ``parametrizations.<name>.original`` is the weight, ``parametrizations.<name>.0._u`` and
  ``._v`` the power iteration's vectors (a step of it at each read in training mode); ``module.<name>`` is the
  weight over its largest singular value's estimate.
- ``orthogonal``: ``module.<name>`` is an orthogonal matrix (or one with orthonormal columns or rows), the image of
  ``original`` by the matrix exponential, the Cayley map or Householder reflections; with ``use_trivialization``
  (the default) times ``parametrizations.<name>.0.base``, the orthogonalized weight the parametrization started
  from (a non-square one completed with random columns, drawn here: not torch's draws).
"""

from __future__ import annotations

import numpy as np

from ... import errors, linalg
from ...grad_mode import no_grad
from ...tensor import Tensor, cat, int32, where
from .. import functional as F
from ..module import Module
from . import parametrize
from .weight_norm import _norm_except_dim, _weight_norm

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Weight normalisation of ``module.<name>``, as ``torch.nn.utils.parametrizations.weight_norm``:
    ``parametrizations.<name>.original0`` is g (the norm over every dim but ``dim``; ``dim=None``: of all of it)
    and ``original1`` is v; ``module.<name>`` is ``g * v / ||v||``, computed when read. Returns the module."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise errors.InvalidIndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            with no_grad():
                weight_mat = self._reshape_weight_to_matrix(weight)
                h, w = weight_mat.shape
                session = weight._session
                u = session.randn(h, dtype=weight.dtype)  # (the session's generator: not torch's draws)
                v = session.randn(w, dtype=weight.dtype)
                self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
                self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
                self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)

    def _power_method(self, weight_mat, n_power_iterations):
        with no_grad():
            for _ in range(n_power_iterations):  # in place: the buffers keep the estimate
                self._u.copy_(F.normalize(weight_mat.mv(self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(weight_mat.t().mv(self._u), dim=0, eps=self.eps))

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * weight_mat.mv(v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Spectral normalisation of ``module.<name>``, as ``torch.nn.utils.parametrizations.spectral_norm``: the weight
    over the estimate of its largest singular value ``u^T W v`` (``dim``: the one kept as rows, 1 for transposed
    convolutions, else 0), ``n_power_iterations`` of the power method at each read in training mode (15 at the
    start, from random vectors drawn here). A 1-D weight is normalised instead. Returns the module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


_MAPS = ("matrix_exp", "cayley", "householder")


def _eye(like, n, k=None):
    return like._session.tensor(np.eye(n, n if k is None else k, dtype=like.dtype))


def _make_orthogonal(A):
    """The Q of A's QR decomposition, its columns signed so that R's diagonal is positive (unique: as torch's)."""
    Q, R = linalg.qr(A)
    return Q * R.diagonal(0, -2, -1).sign().unsqueeze(-2)


def _is_orthogonal(Q):
    n, k = Q.shape[-2:]
    eps = 10.0 * n * np.finfo(Q.dtype).eps
    return bool((Q.mT @ Q).allclose(_eye(Q, k), atol=eps))


class _Orthogonal(Module):
    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2:]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:
                X = cat([X, X._session.zeros(tuple(X.shape[:-2]) + (n, n - k), dtype=X.dtype)], -1)
            A = X - X.mT
            if self.orthogonal_map == "matrix_exp":
                Q = linalg.matrix_exp(A)
            else:
                eye = _eye(A, n)
                Q = linalg.solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(-2))
            Q = linalg.householder_product(A, tau)
            Q = Q * X.diagonal(0, -2, -1).to(int32).unsqueeze(-2)  # the signs of the diagonal (truncated, as torch's .int())
        if self._buffers.get("base") is not None:
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q):
        if tuple(Q.shape) != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape {tuple(Q.shape)}.")
        Q_init = Q
        n, k = Q.shape[-2:]
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n
        if "base" not in self._buffers:
            if self.orthogonal_map != "householder":
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley parametrizations when use_trivialization=False.")
            # Householder form: geqrf's reflectors, the diagonal the signs of R's (so that R's is positive), and the
            # sign flipped where LAPACK used no reflection (tau exactly 0)
            A, tau = linalg.geqrf(Q)
            signs = A.diagonal(0, -2, -1).sign()
            signs = where(tau == 0.0, -signs, signs)
            A = A.tril(-1) + A.triu(1) + _eye(A, n, k) * signs.unsqueeze(-2)
            return A.mT if transpose else A
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:  # completed into an n x n orthogonal matrix with random columns
            N = Q._session.randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype)
            Q = _make_orthogonal(cat([Q, N], -1))
        self.base = Q
        # -I: the diagonal of the Householder parametrization is read for its signs; householder(-I) = I too
        return (-_eye(Q_init, *Q_init.shape[-2:])).expand(*Q_init.shape).clone()


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Make ``module.<name>`` orthogonal (orthonormal columns or rows where it is not square), as
    ``torch.nn.utils.parametrizations.orthogonal``: ``orthogonal_map`` "matrix_exp" (the default for a square
    matrix), "cayley" or "householder" (the default otherwise). See the module's docstring. Returns the module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
