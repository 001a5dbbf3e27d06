"""``gradwire.utils.data``: PyTorch's ``Dataset``, ``IterableDataset``, ``TensorDataset``, ``ConcatDataset``,
``ChainDataset``, ``StackDataset``, ``DataLoader``, ``random_split``, ``default_collate``, ``default_convert``,
``get_worker_info`` and the samplers (``SequentialSampler``, ``RandomSampler``, ``SubsetRandomSampler``,
``WeightedRandomSampler``, ``BatchSampler``, ``DistributedSampler``).

A ``TensorDataset`` of gradwire tensors keeps its data on the server: each batch the loader makes is one
index op per tensor there (the batch's row numbers are all that crosses the network), so a training loop
need not upload its data every epoch. Other datasets are read sample by sample in this process and each
batch is collated as PyTorch's ``default_collate`` does: gradwire tensors stacked on the server, NumPy arrays
and numbers stacked here and uploaded to the session (``session=``, or the only open one).

Randomness (shuffling, samplers, ``random_split``) is NumPy's here, from a ``generator`` that is a NumPy
``Generator``, a seed, or a ``gw.Generator`` (each pass then seeds NumPy's with a number drawn from it, on the
server: one round trip a pass, and ``g.manual_seed(n)`` repeats the orders). With no generator each pass draws its
seed from the open session's default generator, so ``gw.manual_seed(n)`` repeats them too, as ``torch.manual_seed``
does. The same seed gives the same order, not the order of PyTorch's generator.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..generator import Generator
from ..session import open_sessions, resolve_session
from ..tensor import Tensor, stack

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler", "IterableDataset", "RandomSampler", "Sampler",
           "SequentialSampler", "StackDataset", "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "default_collate",
           "default_convert", "get_worker_info", "random_split"]


class Dataset:
    """A map-style dataset: ``__getitem__(index)`` and ``__len__``, as ``torch.utils.data.Dataset``."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: ``__iter__`` (no ``__getitem__``), as ``torch.utils.data.IterableDataset``. A ``DataLoader``
    reads it in its own order, with no sampler, ``batch_size`` samples to a batch."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        return ChainDataset([self, other])


class ConcatDataset(Dataset):
    """Map-style datasets one after another, as ``torch.utils.data.ConcatDataset``: index ``i`` is found through
    ``cumulative_sizes`` (the running totals of their lengths)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[which][idx - (self.cumulative_sizes[which - 1] if which else 0)]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another, as ``torch.utils.data.ChainDataset``."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


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


class StackDataset(Dataset):
    """Datasets of one length side by side, as ``torch.utils.data.StackDataset``: sample ``i`` is the tuple of their
    samples ``i`` (datasets given by position) or the dict of them (given by keyword)."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like input/output, but both types are given.")
        datasets = args or tuple(kwargs.values())
        if not datasets:
            raise ValueError("At least one dataset should be passed")
        self._length = len(datasets[0])
        if any(self._length != len(dataset) for dataset in datasets):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args if args else dict(kwargs)

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: dataset[index] for key, dataset in self.datasets.items()}
        return tuple(dataset[index] for dataset in self.datasets)

    def __len__(self):
        return self._length


def get_worker_info():
    """None: the samples are read in this process, as ``torch.utils.data.get_worker_info`` answers in the main process
    (a ``DataLoader`` here takes ``num_workers`` and loads in this process all the same)."""
    return None


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


class _Draws:
    """Where a sampler's NumPy generator comes from, pass by pass: fixed when ``generator`` is a NumPy ``Generator``
    or a seed; a fresh one each pass seeded by a number drawn from a ``gw.Generator``; with no generator, drawn from
    the open session's default generator, so that ``gw.manual_seed(n)`` repeats the orders, as ``torch.manual_seed``
    does (fresh entropy when no session, or several, are open)."""

    def __init__(self, generator):
        self.generator = generator
        self.rng = None if generator is None or isinstance(generator, Generator) else np.random.default_rng(generator)

    def __call__(self) -> np.random.Generator:
        if self.rng is not None:
            return self.rng
        if self.generator is not None:
            return np.random.default_rng(_draw_seed(self.generator._session, self.generator))
        open_now = open_sessions()
        return np.random.default_rng(_draw_seed(open_now[0]) if len(open_now) == 1 else None)


def _draw_seed(session, generator=None) -> int:
    """A seed drawn from ``generator`` or the session's default one (a round trip), as PyTorch's samplers draw theirs."""
    return int(session.randint(0, 2**53, (1,), generator=generator).item())


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
    order = _Draws(generator)().permutation(total).tolist()
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[start : start + length]))
        start += length
    return subsets


# --- samplers: the order in which a loader reads a dataset's indices -------------------------------------------


class Sampler:
    """An iterable of dataset indices (``torch.utils.data.Sampler``); subclasses give ``__iter__`` and ``__len__``."""

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


def _positive(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


def _boolean(name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{name} should be a boolean value, but got {name}={value}")


class RandomSampler(Sampler):
    """A fresh permutation each pass (or ``num_samples`` draws, with ``replacement``)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        _boolean("replacement", replacement)
        self.data_source, self.replacement, self._num_samples = data_source, replacement, num_samples
        _positive("num_samples", self.num_samples)
        self.generator, self._draws = generator, _Draws(generator)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, rng = len(self.data_source), self._draws()
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        whole, rest = divmod(self.num_samples, n)  # more samples than the data: whole permutations, then part of one
        return iter([i for _ in range(whole) for i in rng.permutation(n).tolist()] + rng.permutation(n)[:rest].tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a fresh random order each pass."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator, self._draws = list(indices), generator, _Draws(generator)

    def __iter__(self):
        return iter([self.indices[i] for i in self._draws().permutation(len(self.indices))])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (with or without replacement)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        _positive("num_samples", num_samples)
        _boolean("replacement", replacement)
        weights = np.asarray(weights.numpy() if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(weights.shape)}")
        if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0, or a negative or non-finite weight)")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        self.weights, self.num_samples, self.replacement = weights, num_samples, replacement
        self.generator, self._draws = generator, _Draws(generator)

    def __iter__(self):
        chosen = self._draws().choice(len(self.weights), self.num_samples, replace=self.replacement, p=self.weights / self.weights.sum())
        return iter(chosen.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``; ``drop_last`` leaves out a short last one."""

    def __init__(self, sampler, batch_size, drop_last):
        _positive("batch_size", batch_size)
        _boolean("drop_last", drop_last)
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        whole, rest = divmod(len(self.sampler), self.batch_size)
        return whole + (1 if rest and not self.drop_last else 0)


class DistributedSampler(Sampler):
    """This replica's share of a dataset's indices, as ``torch.utils.data.DistributedSampler`` (``num_replicas`` and
    ``rank`` given: gradwire has no process group): every ``num_replicas``-th index from ``rank``, the list first
    padded with its own head to a multiple of ``num_replicas`` (or cut to one, ``drop_last``). ``shuffle`` orders
    it by a NumPy permutation seeded with ``seed + epoch`` (``set_epoch``): the same on every replica, a new one
    each epoch, but not torch's order."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            raise ValueError("Default process group has not been initialized, please make sure to call init_process_group.")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank, self.epoch, self.drop_last = dataset, num_replicas, rank, 0, drop_last
        if drop_last and len(dataset) % num_replicas != 0:
            self.num_samples = math.ceil((len(dataset) - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(len(dataset) / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle, self.seed = shuffle, seed

    def __iter__(self):
        n = len(self.dataset)
        indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist() if self.shuffle else list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """The epoch whose order ``shuffle`` gives (call it before each epoch's iterator, as with torch's)."""
        self.epoch = epoch


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


def default_convert(data, session=None):
    """``torch.utils.data.default_convert``: NumPy arrays and NumPy numbers turned into tensors of the session
    (``session=``, or the only open one), one by one (nothing stacked), inside dicts, named tuples and lists (a plain
    tuple becomes a list, as torch's); arrays of strings or objects, Python numbers and everything else left as they are."""
    if isinstance(data, (np.ndarray, np.generic)):
        if data.dtype.kind in "biuf":
            return resolve_session(session).tensor(np.asarray(data))
        return data
    if isinstance(data, Mapping):
        try:
            return type(data)({key: default_convert(value, session) for key, value in data.items()})
        except TypeError:
            return {key: default_convert(value, session) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d, session) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d, session) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d, session) for d in data])
        except TypeError:
            return [default_convert(d, session) for d in data]
    return data


def _check_loading_options(num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context):
    """PyTorch's refusals of the worker options, in its words."""
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 to enable "
                         "multiprocessing, otherwise set prefetch_factor to None.")
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    if multiprocessing_context is not None and num_workers == 0:
        raise ValueError("multiprocessing_context can only be used with multi-process loading (num_workers > 0), but got "
                         f"num_workers={num_workers}")


class DataLoader:
    """Batches of ``dataset``, as ``torch.utils.data.DataLoader``: ``batch_size`` samples (None: one sample at a
    time, not collated), in order, shuffled each epoch (``shuffle``, drawn by ``generator``: a NumPy ``Generator``,
    a seed or a ``gw.Generator``), in the order of a ``sampler``, or as a ``batch_sampler``'s lists; ``drop_last`` leaves out a short
    last batch. A ``TensorDataset`` of gradwire tensors is batched on the server (one index op per tensor); other
    datasets through ``collate_fn`` (``default_collate``). ``num_workers`` and the other loading options of
    PyTorch's are checked as PyTorch checks them, and the samples are then read in this process (``worker_init_fn``
    is not called)."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0, collate_fn=None,
                 pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="", in_order=True, session=None):
        _check_loading_options(num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context)
        self.pin_memory, self.timeout, self.worker_init_fn, self.prefetch_factor = pin_memory, timeout, worker_init_fn, prefetch_factor
        self.persistent_workers, self.in_order = persistent_workers, in_order
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:  # read in the dataset's own order: no sampler, as PyTorch's
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (False, None):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, but got {name}={value}")
        elif sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        # batches of consecutive rows, in order: slices of a TensorDataset's tensors
        self._in_order = batch_sampler is None and type(sampler) is SequentialSampler
        if batch_size is not None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn, self.num_workers = collate_fn, num_workers
        self._session = session

    def __len__(self):
        if self._iterable:  # the dataset's own length, where it has one (a TypeError otherwise), in batches
            length = len(self.dataset)
            if self.batch_size is None:
                return length
            return length // self.batch_size if self.drop_last else -(-length // self.batch_size)
        return len(self.batch_sampler) if self.batch_sampler is not None else len(self.sampler)

    def __iter__(self):
        if self._iterable:
            yield from self._iterate_stream()
            return
        if self.batch_sampler is None:  # batch_size=None: samples one at a time, not collated
            for index in self.sampler:
                yield self.dataset[int(index)]
            return
        on_server = isinstance(self.dataset, TensorDataset) and self.collate_fn is None and all(isinstance(t, Tensor) for t in self.dataset.tensors)
        for batch in self.batch_sampler:
            rows = np.asarray(batch, dtype=np.int64)
            if on_server:  # one index op per tensor; in order, a batch's rows are a slice (a view, no index upload)
                key = slice(int(rows[0]), int(rows[-1]) + 1) if self._in_order else rows
                yield [t[key] for t in self.dataset.tensors]  # a list, as default_collate makes of tuple samples
            else:
                samples = [self.dataset[int(i)] for i in rows]
                yield (self.collate_fn or (lambda batch: default_collate(batch, self._session)))(samples)

    def _iterate_stream(self):
        """An IterableDataset's samples as they come: one at a time (``batch_size=None``), or ``batch_size`` to a batch
        through ``collate_fn``, the short last one left out with ``drop_last``."""
        samples = iter(self.dataset)
        if self.batch_size is None:
            yield from samples
            return
        collate = self.collate_fn or (lambda batch: default_collate(batch, self._session))
        while True:
            batch = list(itertools.islice(samples, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield collate(batch)
