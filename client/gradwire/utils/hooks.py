"""``RemovableHandle``, as ``torch.utils.hooks``: what registering a hook returns."""

from __future__ import annotations

import itertools


class RemovableHandle:
    """``remove()`` takes the hook away again (also on leaving a ``with`` block)."""

    _ids = itertools.count(1)

    def __init__(self, table: dict, hook):
        self.id = next(RemovableHandle._ids)
        self._table = table
        table[self.id] = hook

    def remove(self):
        self._table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
