"""``gradwire.utils``: PyTorch's ``torch.utils`` where a training loop needs it (``data``, ``hooks``, ``checkpoint``)."""

from . import checkpoint, data, hooks

__all__ = ["checkpoint", "data", "hooks"]
