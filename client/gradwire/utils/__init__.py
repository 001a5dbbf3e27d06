"""``gradwire.utils``: PyTorch's ``torch.utils`` where a training loop needs it (``data``, ``hooks``)."""

from . import data, hooks

__all__ = ["data", "hooks"]
