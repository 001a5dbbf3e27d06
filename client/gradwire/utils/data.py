"""``gradwire.utils.data``: PyTorch's ``Dataset``, ``TensorDataset``, ``DataLoader`` and ``random_split``.

A ``TensorDataset`` of gradwire tensors keeps its data on the server: each batch the loader makes is one
index op per tensor there (the batch's row numbers are all that crosses the network), so a training loop
need not upload its data every epoch. Other datasets are read sample by sample in this process and each
batch is collated as PyTorch's ``default_collate`` does: gradwire tensors stacked on the server, NumPy arrays
and numbers stacked here and uploaded to the session (``session=``, or the only open one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .. import errors
from ..session import resolve_session
from ..tensor import Tensor, stack

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split"]


class Dataset:
    """A map-style dataset: ``__getitem__(index)`` and ``__len__``, as ``torch.utils.data.Dataset``."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")


class TensorDataset(Dataset):
    """Samples are index ``i`` of each tensor (gradwire tensors, NumPy arrays, or anything ``np.asarray`` takes),
    which share their first dim."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        if any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("Size mismatch between tensors")
        self.tensors = tuple(t if isinstance(t, Tensor) else np.asarray(t) for t in tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, as ``torch.utils.data.Subset``."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Disjoint ``Subset``s of the given lengths (or fractions summing to 1, the remainder spread one at a time
    from the first, as PyTorch's), in an order drawn by ``generator`` (a NumPy ``Generator`` or a seed)."""
    total = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [int(math.floor(total * fraction)) for fraction in lengths]
        for i in range(total - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != total:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = np.random.default_rng(generator).permutation(total).tolist()
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[start : start + length]))
        start += length
    return subsets


def default_collate(samples, session=None):
    """A batch from a list of samples, as PyTorch's: tuples and lists collated field by field, dicts key by key;
    gradwire tensors stacked (on their server); NumPy arrays and numbers stacked here and uploaded."""
    first = samples[0]
    if isinstance(first, Tensor):
        return stack(list(samples))
    if isinstance(first, Mapping):
        return {key: default_collate([s[key] for s in samples], session) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a named tuple stays one
        return type(first)(*(default_collate(list(field), session) for field in zip(*samples)))
    if isinstance(first, Sequence) and not isinstance(first, (str, bytes)):
        if any(len(s) != len(first) for s in samples):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(field), session) for field in zip(*samples)]
    if isinstance(first, (str, bytes)):
        return list(samples)
    values = np.stack([np.asarray(s) for s in samples])
    if values.dtype.kind not in "biuf":
        raise TypeError(f"default_collate: batch must contain tensors, NumPy arrays, numbers, dicts or lists; found {values.dtype}")
    return resolve_session(session).tensor(values)


class DataLoader:
    """Batches of ``dataset``, as ``torch.utils.data.DataLoader``: ``batch_size`` samples (None: one sample at a
    time, not collated), in order or, with ``shuffle``, in an order drawn each epoch by ``generator`` (a NumPy
    ``Generator`` or a seed); ``drop_last`` leaves out a short last batch. A ``TensorDataset`` of gradwire
    tensors is batched on the server (one index op per tensor); other datasets through ``collate_fn``
    (``default_collate``). ``num_workers`` and the other loading options of PyTorch's are accepted and ignored."""

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0, collate_fn=None,
                 pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None, generator=None, *, session=None, **ignored):
        if sampler is not None or batch_sampler is not None:
            raise errors.UnimplementedError("DataLoader: sampler and batch_sampler are not supported; use shuffle=, or a Subset")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.collate_fn, self.num_workers = collate_fn, num_workers
        self._rng = np.random.default_rng(generator)
        self._session = session

    def __len__(self):
        if self.batch_size is None:
            return len(self.dataset)
        whole, rest = divmod(len(self.dataset), self.batch_size)
        return whole + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        order = self._rng.permutation(len(self.dataset)) if self.shuffle else np.arange(len(self.dataset))
        if self.batch_size is None:
            for index in order:
                yield self.dataset[int(index)]
            return
        on_server = isinstance(self.dataset, TensorDataset) and self.collate_fn is None and all(isinstance(t, Tensor) for t in self.dataset.tensors)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            if len(rows) < self.batch_size and self.drop_last:
                return
            if on_server:  # one index op per tensor; contiguous rows in order are a slice (a view, no index upload)
                key = slice(int(rows[0]), int(rows[-1]) + 1) if not self.shuffle else rows.astype(np.int64)
                yield tuple(t[key] for t in self.dataset.tensors)
            else:
                samples = [self.dataset[int(i)] for i in rows]
                yield (self.collate_fn or (lambda batch: default_collate(batch, self._session)))(samples)
