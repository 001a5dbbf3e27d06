"""``gradwire.distributions``: PyTorch's ``torch.distributions`` as compositions of gradwire ops: sampling
(``sample``/``rsample``), ``log_prob``, ``cdf``/``icdf``, ``entropy``, the moments, ``constraints``, ``transforms``
and ``kl_divergence`` with PyTorch's formulas, differentiable where PyTorch's are.

Differences from PyTorch, each for a reason:

- Samples come from the session's generator on the server: reproducible under ``manual_seed``, distributed as
  PyTorch's, not PyTorch's sequence.
- Validation (``validate_args``): Python-number arguments are checked by default, as PyTorch checks everything;
  tensor arguments and ``log_prob``'s value only with ``validate_args=True`` or after
  ``Distribution.set_default_validate_args(True)``, since each check reads the server (see ``Distribution``).
- Gamma draws (and so ``Chi2``, ``Beta``, ``Dirichlet``, ``StudentT``) are Marsaglia and Tsang's method in ops; their
  ``rsample`` gradient is PyTorch's implicit one, from a series (see ``gamma``); Poisson and Binomial draws invert
  the cdf over a window (see ``poisson``).
"""

from . import constraints, transforms
from .bernoulli import Bernoulli
from .binomial import Binomial
from .categorical import Categorical
from .constraint_registry import biject_to, transform_to
from .cauchy import Cauchy
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Beta, Chi2, Dirichlet, Gamma, StudentT
from .geometric import Geometric
from .gumbel import Gumbel
from .half_normal import HalfCauchy, HalfNormal
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .negative_binomial import NegativeBinomial
from .pareto import InverseGamma, Pareto, Weibull
from .poisson import Poisson
from .relaxed import ExpRelaxedCategorical, LogitRelaxedBernoulli, RelaxedBernoulli, RelaxedOneHotCategorical
from .transformed_distribution import TransformedDistribution
from .transforms import (
    AbsTransform, AffineTransform, ComposeTransform, ExpTransform, IndependentTransform, LowerCholeskyTransform, PowerTransform,
    SigmoidTransform, SoftmaxTransform, SoftplusTransform, StickBreakingTransform, TanhTransform, Transform,
)
from .uniform import Uniform

__all__ = [
    "AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "ComposeTransform",
    "Dirichlet", "Distribution", "ExpRelaxedCategorical", "ExpTransform", "Exponential", "Gamma", "Geometric", "Gumbel",
    "HalfCauchy", "HalfNormal", "Independent", "IndependentTransform", "InverseGamma", "Laplace", "LogNormal", "LogitRelaxedBernoulli", "LowRankMultivariateNormal", "LowerCholeskyTransform",
    "MixtureSameFamily", "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal", "OneHotCategorical",
    "OneHotCategoricalStraightThrough", "Pareto", "Poisson", "PowerTransform", "RelaxedBernoulli", "RelaxedOneHotCategorical",
    "SigmoidTransform", "SoftmaxTransform", "SoftplusTransform", "StickBreakingTransform", "StudentT", "TanhTransform", "Transform", "TransformedDistribution", "Uniform", "Weibull",
    "biject_to", "constraints", "kl_divergence", "register_kl", "transform_to", "transforms",
]
