"""``gradwire.utils``: PyTorch's ``torch.utils`` where a training loop needs it (``data``)."""

from . import data

__all__ = ["data"]
