"""``gradwire.nn.utils.rnn``: PyTorch's padded and packed sequences for the recurrent layers.

A ``PackedSequence`` here keeps the padded (time, batch, ...) tensor and the lengths: an RNN, LSTM or GRU
given one runs every step over the whole batch and masks each sequence's state past its end (its last
state stays, its outputs there are zero), which gives PyTorch's outputs, final states and gradients.
"""

from __future__ import annotations

import numpy as np

from ... import errors
from ...tensor import Tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence", "pad_sequence", "unpack_sequence", "unpad_sequence"]


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Sequences of different lengths (dim 0) stacked into one tensor, padded with ``padding_value``, as
    ``torch.nn.utils.rnn.pad_sequence``: (longest, batch, ...), or (batch, longest, ...) with ``batch_first``."""
    from ...tensor import cat, stack  # noqa: PLC0415

    if padding_side not in ("left", "right"):
        raise errors.InvalidArgumentError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            filler = s._session.full((missing,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype)
            s = cat([s, filler] if padding_side == "right" else [filler, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


class PackedSequence:
    """Sequences of different lengths for a recurrent layer, as ``torch.nn.utils.rnn.PackedSequence``: ``padded``
    (time, batch, ...) and ``lengths`` (one per sequence); ``data`` and ``batch_sizes`` are PyTorch's packed form."""

    def __init__(self, padded: Tensor, lengths, sorted_indices=None, unsorted_indices=None):
        self.padded, self.lengths = padded, [int(n) for n in lengths]
        self.sorted_indices, self.unsorted_indices = sorted_indices, unsorted_indices

    @property
    def batch_sizes(self):
        """How many sequences are still running at each step (int64, as PyTorch's)."""
        counts = [sum(n > t for n in self.lengths) for t in range(max(self.lengths))]
        return self.padded._session.tensor(np.array(counts, dtype=np.int64))

    @property
    def data(self) -> Tensor:
        """The steps of every sequence, step by step, longest sequences first within a step (PyTorch's packed layout)."""
        order = sorted(range(len(self.lengths)), key=lambda b: -self.lengths[b])
        steps, rows = zip(*[(t, b) for t in range(max(self.lengths)) for b in order if self.lengths[b] > t])
        return self.padded[np.array(steps), np.array(rows)]

    def mask(self, like: Tensor) -> Tensor:
        """(time, batch, 1) in ``like``'s dtype: 1 where a sequence is still running, else 0."""
        running = np.arange(self.padded.shape[0])[:, None] < np.array(self.lengths)[None, :]
        return like._session.tensor(running[:, :, None].astype(like.dtype))

    # PyTorch's is a named tuple of these: unpacked, indexed and printed as one here too
    _fields = ("data", "batch_sizes", "sorted_indices", "unsorted_indices")

    def __iter__(self):
        return iter((self.data, self.batch_sizes, self.sorted_indices, self.unsorted_indices))

    def __getitem__(self, index):
        return tuple(self)[index]

    def __len__(self):
        return len(self._fields)

    def __repr__(self):
        return "PackedSequence(" + ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self)) + ")"

    def _asdict(self):
        return dict(zip(self._fields, self))

    @property
    def is_cuda(self) -> bool:
        return self.padded.is_cuda

    def is_pinned(self) -> bool:
        return False  # (the values live on the server)

    def to(self, *args, **kwargs):
        """The sequences with ``data`` converted as ``Tensor.to`` converts it (itself where nothing changes), as PyTorch's."""
        return self._with(self.padded.to(*args, **kwargs))

    def _with(self, padded):
        return self if padded is self.padded else PackedSequence(padded, self.lengths, self.sorted_indices, self.unsorted_indices)


def _converter(name):
    def convert(self, *args, **kwargs):
        return self._with(getattr(self.padded, name)(*args, **kwargs))

    convert.__name__ = convert.__qualname__ = name
    convert.__doc__ = f"The sequences with ``data.{name}()``, as PyTorch's ``PackedSequence.{name}``."
    return convert


for _name in ("cpu", "cuda", "double", "float", "half", "long", "int", "short", "char", "byte", "pin_memory"):
    setattr(PackedSequence, _name, _converter(_name))


def _lengths(lengths):
    if isinstance(lengths, Tensor):
        lengths = lengths.tolist()
    lengths = [int(n) for n in np.asarray(lengths).reshape(-1)]
    if not lengths or min(lengths) <= 0:
        raise errors.InvalidArgumentError("Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0")
    return lengths


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """The padded ``input`` (time, batch, ...) or (batch, time, ...) with each sequence's length, as a ``PackedSequence``."""
    lengths = _lengths(lengths)
    if enforce_sorted and any(a < b for a, b in zip(lengths, lengths[1:])):
        raise errors.InvalidArgumentError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass `enforce_sorted=False` "
            "to pack_padded_sequence and/or pack_sequence to sidestep this requirement if you do not need ONNX exportability."
        )
    padded = input.transpose(0, 1) if batch_first else input
    if len(lengths) != padded.shape[1]:
        raise errors.InvalidArgumentError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} (batch_size={padded.shape[1]})")
    if max(lengths) > padded.shape[0]:
        raise errors.InvalidArgumentError(f"a length ({max(lengths)}) is longer than the padded sequences ({padded.shape[0]})")
    if max(lengths) < padded.shape[0]:
        padded = padded[: max(lengths)]
    order = sorted(range(len(lengths)), key=lambda b: -lengths[b])
    sorted_indices = None if enforce_sorted else padded._session.tensor(np.array(order, dtype=np.int64))
    unsorted_indices = None if enforce_sorted else padded._session.tensor(np.argsort(order).astype(np.int64))
    return PackedSequence(padded, lengths, sorted_indices, unsorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """``(padded, lengths)`` from a ``PackedSequence``: steps past a sequence's end hold ``padding_value``."""
    out = sequence.padded
    if padding_value != 0.0:
        from ...tensor import where  # noqa: PLC0415

        out = where(sequence.mask(out) > 0, out, padding_value)
    if total_length is not None:
        if total_length < out.shape[0]:
            raise errors.InvalidArgumentError(f"Expected total_length to be at least the length of the longest sequence ({out.shape[0]}), got {total_length}")
        if total_length > out.shape[0]:
            from ..functional import pad  # noqa: PLC0415

            out = pad(out, (0, 0) * (out.ndim - 1) + (0, total_length - out.shape[0]), value=padding_value)
    lengths = out._session.tensor(np.array(sequence.lengths, dtype=np.int64))
    return (out.transpose(0, 1) if batch_first else out), lengths


def pack_sequence(sequences, enforce_sorted=True):
    """A list of (length, ...) tensors as a ``PackedSequence``."""
    return pack_padded_sequence(pad_sequence(sequences), [s.shape[0] for s in sequences], enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences, each cut to its length, that ``pad_sequence`` padded, as
    ``torch.nn.utils.rnn.unpad_sequence`` (which transposes a time-first input in place: here it is left alone)."""
    batch = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    lengths = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    if len(lengths) != batch.shape[0]:
        raise ValueError(f"zip() argument 2 is {'shorter' if len(lengths) < batch.shape[0] else 'longer'} than argument 1")
    return [batch[i, : int(n)] for i, n in enumerate(lengths)]


def unpack_sequence(packed_sequences):
    """The list of sequences, in their original order, that a ``PackedSequence`` holds, as
    ``torch.nn.utils.rnn.unpack_sequence``."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
