"""``LogitRelaxedBernoulli`` and ``RelaxedBernoulli`` (defined in ``relaxed``), importable from here as from
``torch.distributions.relaxed_bernoulli``."""

from .relaxed import LogitRelaxedBernoulli, RelaxedBernoulli

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli"]
