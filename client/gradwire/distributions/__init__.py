"""``gradwire.distributions``: PyTorch's ``torch.distributions`` as compositions of gradwire ops: sampling
(``sample``/``rsample``), ``log_prob``, ``cdf``/``icdf``, ``entropy``, the moments, ``constraints``, ``transforms``
and ``kl_divergence`` with PyTorch's formulas, differentiable where PyTorch's are. The families PyTorch derives from
``ExponentialFamily`` derive from it here (Bernoulli, Beta, Chi2, ContinuousBernoulli, Dirichlet, Exponential, Gamma,
Normal, Poisson, Wishart), with its Bregman-divergence entropy and KL; PyTorch's submodules (``beta``, ``studentT``,
``von_mises``, ...) are modules here too, so that ``from gradwire.distributions.beta import Beta`` works.

Differences from PyTorch, each for a reason:

- Samples come from the session's generator on the server: reproducible under ``manual_seed``, distributed as
  PyTorch's, not PyTorch's sequence.
- Validation (``validate_args``): Python-number arguments are checked by default, as PyTorch checks everything;
  tensor arguments and ``log_prob``'s value only with ``validate_args=True`` or after
  ``Distribution.set_default_validate_args(True)``, since each check reads the server (see ``Distribution``). So too
  PyTorch's unconditional checks of a tensor: Wishart's ``df`` against the dimension (a number is always checked).
- Gamma draws (and so ``Chi2``, ``Beta``, ``Dirichlet``, ``StudentT``, ``FisherSnedecor``, Wishart's Bartlett
  decomposition and LKJCholesky's onion method) are Marsaglia and Tsang's method in ops; their ``rsample`` gradient
  is PyTorch's implicit one, from a series (see ``gamma``); Poisson and Binomial draws invert the cdf over a window
  (see ``poisson``); VonMises draws are Best and Fisher's rejection sampler in float64, as PyTorch's, with a few
  proposals per element at once (see ``von_mises``).
- Where PyTorch's formula is wrong it is not copied: ``Kumaraswamy.mode`` (PyTorch's is NaN or inf for every
  concentration0 >= 1), ``LKJCholesky.sample`` (PyTorch's onion method draws rows 2 and on from the wrong Beta, so
  from dimension 3 its draws are not LKJ-distributed) and ``Wishart.rsample``'s check of singular draws (PyTorch's
  is inverted: it warns at every call and draws every regular sample again).
"""

from . import constraints, transforms
from .bernoulli import Bernoulli
from .binomial import Binomial
from .categorical import Categorical
from .constraint_registry import biject_to, transform_to
from .cauchy import Cauchy
from .continuous_bernoulli import ContinuousBernoulli
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .fishersnedecor import FisherSnedecor
from .gamma import Beta, Chi2, Dirichlet, Gamma, StudentT
from .generalized_pareto import GeneralizedPareto
from .geometric import Geometric
from .gumbel import Gumbel
from .half_normal import HalfCauchy, HalfNormal
from .independent import Independent
from .kl import kl_divergence, register_kl
from .kumaraswamy import Kumaraswamy
from .laplace import Laplace
from .lkj_cholesky import LKJCholesky
from .log_normal import LogNormal
from .logistic_normal import LogisticNormal
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
    AbsTransform, AffineTransform, CatTransform, ComposeTransform, CorrCholeskyTransform, CumulativeDistributionTransform,
    ExpTransform, IndependentTransform, LowerCholeskyTransform, PositiveDefiniteTransform, PowerTransform, ReshapeTransform,
    SigmoidTransform, SoftmaxTransform, SoftplusTransform, StackTransform, StickBreakingTransform, TanhTransform, Transform,
    identity_transform,
)
from .uniform import Uniform
from .von_mises import VonMises
from .wishart import Wishart

# PyTorch's submodules whose classes live in a module of another name here (``import gradwire.distributions.beta``)
from . import (  # noqa: E402,F401
    beta, chi2, continuous_bernoulli, dirichlet, exp_family, fishersnedecor, generalized_pareto, half_cauchy, inverse_gamma,
    kumaraswamy, lkj_cholesky, logistic_normal, relaxed_bernoulli, relaxed_categorical, studentT, von_mises, weibull, wishart,
)

__all__ = [
    "AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "CatTransform", "Categorical", "Cauchy", "Chi2",
    "ComposeTransform", "ContinuousBernoulli", "CorrCholeskyTransform", "CumulativeDistributionTransform", "Dirichlet",
    "Distribution", "ExpRelaxedCategorical", "ExpTransform", "Exponential", "ExponentialFamily", "FisherSnedecor", "Gamma",
    "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent", "IndependentTransform",
    "InverseGamma", "Kumaraswamy", "LKJCholesky", "Laplace", "LogNormal", "LogisticNormal", "LogitRelaxedBernoulli",
    "LowRankMultivariateNormal", "LowerCholeskyTransform", "MixtureSameFamily", "Multinomial", "MultivariateNormal",
    "NegativeBinomial", "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Pareto", "Poisson",
    "PositiveDefiniteTransform", "PowerTransform", "RelaxedBernoulli", "RelaxedOneHotCategorical", "ReshapeTransform",
    "SigmoidTransform", "SoftmaxTransform", "SoftplusTransform", "StackTransform", "StickBreakingTransform", "StudentT",
    "TanhTransform", "Transform", "TransformedDistribution", "Uniform", "VonMises", "Weibull", "Wishart", "biject_to",
    "constraints", "identity_transform", "kl_divergence", "register_kl", "transform_to", "transforms",
]
