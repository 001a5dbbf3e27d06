"""``ExponentialFamily``: the base of the distributions whose density is exp(<t(x), theta> - F(theta) + k(x))."""

from __future__ import annotations

from ..autograd import grad
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """A distribution of an exponential family, density exp(<t(x), theta> - F(theta) + k(x)) for natural parameters
    theta (``_natural_params``), log normalizer F (``_log_normalizer``) and carrier measure k (its expectation:
    ``_mean_carrier_measure``), as ``torch.distributions.ExponentialFamily``. Its ``entropy`` (and the KL between two
    of one family) is a Bregman divergence of F, F's gradient taken by the engine (Nielsen and Nock, "Entropies and
    cross-entropies of exponential families")."""

    @property
    def _natural_params(self):
        """The natural parameters theta, a tuple of tensors."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        """F(theta): the log normalizer as a function of the natural parameters."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        """E[k(x)]: the expected carrier measure."""
        raise NotImplementedError

    def entropy(self):
        """H = F(theta) - <theta, grad F(theta)> - E[k(x)]. As PyTorch's, the natural parameters are detached
        first: the result is differentiable in them only through F's gradient (``create_graph``)."""
        result = -self._mean_carrier_measure
        natural = [p.detach().requires_grad_() for p in self._natural_params]
        log_normalizer = self._log_normalizer(*natural)
        gradients = grad(log_normalizer.sum(), natural, create_graph=True)
        result = result + log_normalizer
        for param, gradient in zip(natural, gradients):
            result = result - (param * gradient).reshape(*self._batch_shape, -1).sum(-1)
        return result
