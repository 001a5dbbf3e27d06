"""``ExpRelaxedCategorical`` and ``RelaxedOneHotCategorical`` (defined in ``relaxed``), importable from here as from
``torch.distributions.relaxed_categorical``."""

from .relaxed import ExpRelaxedCategorical, RelaxedOneHotCategorical

__all__ = ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"]
