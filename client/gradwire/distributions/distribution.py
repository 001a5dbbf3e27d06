"""``Distribution``: what every distribution shares, as ``torch.distributions.Distribution``.

Validation differs from PyTorch's in one way. PyTorch checks every argument against ``arg_constraints`` (and every
value given to ``log_prob``/``cdf``/``icdf`` against ``support``) unless ``validate_args=False``. A gradwire
tensor's values live on the server, so checking one costs a round trip: by default (``validate_args=None``) only
Python-number arguments are checked (free), and the shapes of a value; tensors are checked, in PyTorch's words,
with ``validate_args=True`` or after ``Distribution.set_default_validate_args(True)``; ``False`` checks nothing."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .. import grad_mode
from ..tensor import Size, Tensor
from . import constraints
from .utils import broadcast_all, lazy_property

__all__ = ["Distribution"]


def _shape(sample_shape):
    return Size((sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape))


def _formatted(value):
    """A parameter as PyTorch prints it in a message: a number for a one-element tensor of no dims."""
    return f"{value}"


class Distribution:
    """The base of every distribution: ``batch_shape`` (independent, not identically distributed draws),
    ``event_shape`` (the shape of one draw), sampling, scoring and the moments."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = None  # None: Python numbers only (see the module's docstring); True: tensors too; False: nothing

    @staticmethod
    def set_default_validate_args(value):
        """Whether distributions made without ``validate_args=`` check tensor arguments (and ``log_prob``'s value)
        against their constraints: each check reads the server (``False`` turns off even the free checks of numbers)."""
        if value not in [True, False]:
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None, *, _numbers=None):
        self._batch_shape, self._event_shape = Size(tuple(batch_shape)), Size(tuple(event_shape))
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args is False:
            return
        numbers_given = _numbers or {}
        try:
            arg_constraints = self.arg_constraints
        except NotImplementedError:
            arg_constraints = {}
            if self._validate_args:
                warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set `arg_constraints = {{}}` or "
                              "initialize the distribution with `validate_args=False` to turn off validation.", stacklevel=2)
        for param, constraint in arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue  # cannot be checked on its own
            if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                continue  # not made yet
            if param in numbers_given:
                valid = bool(np.all(constraint.check(np.asarray(numbers_given[param]))))
            elif self._validate_args:
                valid = _all_true(constraint.check(getattr(self, param)))
            else:
                continue
            if not valid:
                value = getattr(self, param)
                raise ValueError(f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) "
                                 f"of distribution {self!r} to satisfy the constraint {constraint!r}, "
                                 f"but found invalid values:\n{_formatted(value)}")

    def expand(self, batch_shape, _instance=None):
        """This distribution with its batch broadcast to ``batch_shape`` (the parameters expanded, not copied)."""
        batch_shape = Size(tuple(batch_shape))
        new = _instance if _instance is not None else type(self).__new__(type(self))
        old = len(self._batch_shape)
        lazies = {name for cls in type(self).__mro__ for name, v in vars(cls).items() if isinstance(v, lazy_property)}
        for name, value in self.__dict__.items():
            if isinstance(value, Tensor) and (name in self._params() or name in lazies):
                value = value.expand(*batch_shape, *value.shape[old:])
            new.__dict__.setdefault(name, value)
        new._batch_shape = batch_shape
        return new

    def _params(self):
        try:
            return self.arg_constraints
        except NotImplementedError:
            return {}

    @property
    def batch_shape(self):
        """The shape over which parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self):
        """The shape of a single sample (without batching)."""
        return self._event_shape

    @property
    def arg_constraints(self):
        """Each parameter's name and the constraint it must satisfy."""
        raise NotImplementedError

    @property
    def support(self):
        """The constraint the samples lie in."""
        raise NotImplementedError

    @property
    def mean(self):
        """The mean (NaN or inf where it does not exist, as PyTorch's)."""
        raise NotImplementedError

    @property
    def mode(self):
        """The most likely value."""
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        """The variance."""
        raise NotImplementedError

    @property
    def stddev(self):
        """The standard deviation, the variance's square root."""
        return self.variance.sqrt()

    def sample(self, sample_shape=()):
        """``sample_shape`` draws, out of the graph (a reparameterized one where the distribution has it)."""
        with grad_mode.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        """``sample_shape`` reparameterized draws: differentiable with respect to the parameters."""
        raise NotImplementedError

    def sample_n(self, n):
        """``sample((n,))`` (deprecated, as in PyTorch)."""
        warnings.warn("sample_n will be deprecated. Use .sample((n,)) instead", UserWarning, stacklevel=2)
        return self.sample(Size((n,)))

    def log_prob(self, value):
        """The log density (or log mass) at ``value``, batched."""
        raise NotImplementedError

    def cdf(self, value):
        """The cumulative distribution function at ``value``."""
        raise NotImplementedError

    def icdf(self, value):
        """The inverse of the cdf: the quantile of probability ``value``."""
        raise NotImplementedError

    def enumerate_support(self, expand=True):
        """Every value of a discrete distribution's support along a new first dim (``expand``: broadcast to the
        batch shape)."""
        raise NotImplementedError

    def entropy(self):
        """The entropy, batched (in nats)."""
        raise NotImplementedError

    def perplexity(self):
        """``exp(entropy)``."""
        return self.entropy().exp()

    def _extended_shape(self, sample_shape=()):
        return Size(_shape(sample_shape) + self._batch_shape + self._event_shape)

    def _validate_sample(self, value):
        """The checks of a value to score (``log_prob``, ``cdf``, ``icdf``): a number is refused (as PyTorch,
        unless ``validate_args=False``), shapes are checked (free), and the support only under ``validate_args``."""
        if self._validate_args is False:
            return
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_dim_start = value.ndim - len(self._event_shape)
        if value.shape[event_dim_start:] != self._event_shape:
            raise ValueError(f"The right-most size of value must match event_shape: {value.size()} vs {self._event_shape}.")
        actual_shape, expected_shape = value.size(), Size(tuple(self._batch_shape) + tuple(self._event_shape))
        for i, j in zip(reversed(actual_shape), reversed(expected_shape)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {actual_shape} vs {expected_shape}.")
        if not self._validate_args:
            return
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{self.__class__} does not define `support` to enable sample validation. Please initialize "
                          "the distribution with `validate_args=False` to turn off validation.", stacklevel=2)
            return
        if not _all_true(support.check(value)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be within "
                             f"the support ({support!r}) of the distribution {self!r}, but found invalid values:\n{value}")

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom __init__ "
                                      f"method must also define a custom .expand() method.")
        return type(self).__new__(type(self)) if _instance is None else _instance

    def __repr__(self):
        names = [k for k in self._params() if k in self.__dict__]
        shown = ", ".join(f"{p}: {_formatted(self.__dict__[p]) if self.__dict__[p].numel() == 1 else self.__dict__[p].size()}"
                          for p in names)
        return f"{type(self).__name__}({shown})"


def _all_true(valid):
    """Whether a check holds everywhere: one read of the server for a tensor."""
    if isinstance(valid, Tensor):
        return bool(valid.all().item())
    return bool(np.all(valid))


def _numbers(**arguments):
    """The arguments given as Python numbers: validated here, free of a round trip."""
    return {k: v for k, v in arguments.items() if isinstance(v, numbers.Number)}


class _LocationScale(Distribution):
    """A real distribution of ``loc`` and a positive ``scale``, broadcast together (tensors or numbers), with a
    reparameterized sample: what Normal, Laplace and Cauchy share."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args, _numbers=_numbers(loc=loc, scale=scale))


def _inner_validate_args(validate_args, invalid_number):
    """``validate_args`` for a distribution that PyTorch builds inside another from the outer one's tensors, with
    its default validation whatever the outer one's ``validate_args`` (FisherSnedecor's Gammas):
    here its tensors are read where a number given to the outer one is invalid (so that the error is PyTorch's, the
    inner one's) or where the outer one validates tensors; never where validation is turned off by default."""
    if Distribution._validate_args is False:
        return None
    return True if invalid_number or validate_args else None
