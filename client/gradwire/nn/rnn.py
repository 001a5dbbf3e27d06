"""Recurrent layers, as PyTorch's ``torch.nn.RNN``, ``LSTM`` and ``GRU`` and their cells: the same
parameters under the same names (state dicts load either way) and the same gate formulas, run as
ops on the server. Each layer and direction projects the whole input sequence in one ``linear``;
each time step then queues a handful of ops, pipelined like any others.
"""

from __future__ import annotations

import math

import numpy as np

from .. import errors
from ..amp import autocast_mode as _amp
from ..tensor import _TENSOR_TYPE_NAMES, Tensor, cat, int64, stack
from . import functional as F
from . import init
from .layers import _new_parameter
from .module import Module, resolve_session

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _step(mode, x_part, h, c, weight_hh, bias_hh, weight_hr=None):
    """One time step of one cell: ``x_part`` is the input's projection (W_ih x + b_ih) for this step; an LSTM with
    projections (``weight_hr``) gives h = W_hr (o * tanh(c)), as PyTorch's ``proj_size``."""
    h_part = F.linear(h, weight_hh, bias_hh)
    if mode == "LSTM":
        gates = x_part + h_part
        i, f, g, o = gates.chunk(4, -1)
        c = i.sigmoid() * g.tanh() + f.sigmoid() * c
        h = o.sigmoid() * c.tanh()
        return (h if weight_hr is None else F.linear(h, weight_hr)), c
    if mode == "GRU":
        x_r, x_z, x_n = x_part.chunk(3, -1)
        h_r, h_z, h_n = h_part.chunk(3, -1)
        r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        return n + z * (h - n), None  # (1 - z) * n + z * h
    total = x_part + h_part
    return (total.tanh() if mode == "RNN_TANH" else total.relu()), None


def _stacked(mode, input, h0, c0, weights, num_layers, directions, dropout, train, running=None):
    """The stacked recurrence, as ATen's ``apply_layer_stack``, shared by the layers and ``torch.lstm`` & co.: ``input``
    time first (time, batch, features); ``weights[k]`` (w_ih, w_hh, b_ih, b_hh, w_hr, None where absent) and ``h0[k]``,
    ``c0[k]`` (LSTM only) for layer k // directions, direction k % directions; ``running`` a packed run's (time, batch, 1)
    mask or None; dropout on each layer's output but the last when ``train``. Returns (output, h_n, c_n), c_n None but for an LSTM."""
    length = input.shape[0]
    h_n, c_n, layer_input = [], [], input
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            k = layer * directions + direction
            weight_ih, weight_hh, bias_ih, bias_hh, weight_hr = weights[k]
            projected = F.linear(layer_input, weight_ih, bias_ih)  # every step's input part at once
            h, c = h0[k], (c0[k] if c0 is not None else None)
            steps = [None] * length
            for t in (reversed(range(length)) if direction else range(length)):
                if running is None:
                    h, c = _step(mode, projected[t], h, c, weight_hh, bias_hh, weight_hr)
                    steps[t] = h
                    continue
                h_new, c_new = _step(mode, projected[t], h, c, weight_hh, bias_hh, weight_hr)
                keep = running[t]  # past its end a sequence keeps its state and outputs zeros, as PyTorch's packed run
                steps[t] = h_new * keep
                h = steps[t] + h * (1.0 - keep)
                c = c_new * keep + c * (1.0 - keep) if c is not None else None
            outputs.append(stack(steps))
            h_n.append(h)
            c_n.append(c)
        layer_input = outputs[0] if directions == 1 else cat(outputs, -1)
        if dropout and train and layer + 1 < num_layers:
            layer_input = F.dropout(layer_input, dropout)
    return layer_input, stack(h_n), (stack(c_n) if mode == "LSTM" else None)


def _check_state(mode, h0, c0, count, batch, hidden_size, out_size):
    """The initial state's shapes, refused in PyTorch's words: an LSTM's state is hidden[0] (h, ``out_size`` wide:
    proj_size with projections) and hidden[1] (c), the others' one hidden."""
    checks = ((("hidden[0]", h0, out_size), ("hidden[1]", c0, hidden_size)) if mode == "LSTM" else (("hidden", h0, hidden_size),))
    for name, state, size in checks:
        if tuple(state.shape) != (count, batch, size):
            raise errors.InvalidArgumentError(f"Expected {name} size {(count, batch, size)}, got {list(state.shape)}")


class RNNBase(Module):
    """The recurrent layers' base, as ``torch.nn.RNNBase``: ``mode`` one of "LSTM", "GRU", "RNN_TANH", "RNN_RELU"."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, *, session=None, dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        if not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element being zeroed")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError("hidden_size must be greater than zero" if hidden_size <= 0 else "num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        session = resolve_session(session)
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.proj_size = proj_size
        gates = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        out_size = proj_size or hidden_size  # h's size (PyTorch's real_hidden_size)
        self._all_weights = []  # each layer and direction's parameter names, in PyTorch's order
        for layer in range(num_layers):
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                width = input_size if layer == 0 else out_size * directions
                shapes = {"weight_ih": (gates, width), "weight_hh": (gates, out_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for name, shape in shapes.items():
                    setattr(self, name + suffix, _new_parameter(session, shape, dtype))
                self._all_weights.append([name + suffix for name in shapes])
        self._flat_weights_names = [name for names in self._all_weights for name in names]
        self.reset_parameters()

    @property
    def all_weights(self):
        """Each layer and direction's parameters, a list of lists, as PyTorch's."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    def flatten_parameters(self):
        """Nothing to do: PyTorch packs the weights into one buffer for cuDNN; here each is a tensor on the server."""

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = lambda name: getattr(self, name + suffix) if self.bias or name.startswith("weight") else None  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), (get("weight_hr") if self.proj_size else None)

    def _run(self, input, hx=None):  # the layers' forward (torch's RNNBase itself has none)
        from .utils.rnn import PackedSequence  # noqa: PLC0415

        packed = input if isinstance(input, PackedSequence) else None
        if packed is not None:  # the padded steps, time first; each sequence's state held past its end (see _step's use)
            input = packed.padded
            if self.batch_first:
                input = input.transpose(0, 1)
        batched = input.ndim == 3
        if input.ndim not in (2, 3):
            raise errors.InvalidArgumentError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.ndim}D instead")
        weight_dtype = getattr(self, self._flat_weights_names[0]).dtype
        if input.dtype != weight_dtype and not _amp.state.active:  # (PyTorch's ValueError, its advice included)
            raise ValueError(f"RNN input dtype (torch.{input.dtype.name}) does not match weight dtype (torch.{weight_dtype.name}). Convert input: "
                             f"input.to(torch.{weight_dtype.name}), or convert model: model.to(torch.{input.dtype.name})")
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        if input.shape[-1] != self.input_size:
            raise errors.InvalidArgumentError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {input.shape[-1]}")
        batch = input.shape[1]
        directions = 2 if self.bidirectional else 1
        h0, c0 = self._initial_state(hx, batch, directions, batched, input)
        running = packed.mask(input) if packed is not None else None  # (time, batch, 1): 1 while a sequence runs
        weights = [self._weights(layer, direction) for layer in range(self.num_layers) for direction in range(directions)]
        output, h_n, c_n = _stacked(self.mode, input, h0, c0, weights, self.num_layers, directions, self.dropout, self.training, running)
        if packed is not None:
            output = type(packed)(output, packed.lengths, packed.sorted_indices, packed.unsorted_indices)
        elif not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, ((h_n, c_n) if self.mode == "LSTM" else h_n)

    def _initial_state(self, hx, batch, directions, batched, like):
        count = self.num_layers * directions
        out_size = self.proj_size or self.hidden_size
        if hx is None:
            zeros = like._session.zeros(count, batch, self.hidden_size, dtype=like.dtype)
            h0 = zeros if out_size == self.hidden_size else like._session.zeros(count, batch, out_size, dtype=like.dtype)
            return h0, (zeros if self.mode == "LSTM" else None)
        h0, c0 = hx if self.mode == "LSTM" else (hx, None)
        if not batched:
            h0, c0 = h0.unsqueeze(1), (c0.unsqueeze(1) if c0 is not None else None)
        _check_state(self.mode, h0, c0, count, batch, self.hidden_size, out_size)
        return h0, c0

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


class RNN(RNNBase):
    """Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (``nonlinearity="relu"``: relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, *, session=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, session=session, dtype=dtype)
        self.nonlinearity = nonlinearity

    forward = RNNBase._run


class LSTM(RNNBase):
    """Long short-term memory: input, forget, cell and output gates (PyTorch's order in the weights)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False,
                 proj_size=0, *, session=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, proj_size,
                         session=session, dtype=dtype)

    forward = RNNBase._run


class GRU(RNNBase):
    """Gated recurrent unit: reset, update and new gates (PyTorch's order in the weights)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False,
                 *, session=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         session=session, dtype=dtype)

    forward = RNNBase._run


class RNNCellBase(Module):
    """The cells' base, as ``torch.nn.RNNCellBase``: ``num_chunks`` gates' weights (the cells below set ``mode``,
    which their shared forward, ``_run``, reads)."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, *, session=None, dtype=None):
        super().__init__()
        session = resolve_session(session)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates = num_chunks * hidden_size
        self.weight_ih = _new_parameter(session, (gates, input_size), dtype)
        self.weight_hh = _new_parameter(session, (gates, hidden_size), dtype)
        if bias:
            self.bias_ih = _new_parameter(session, (gates,), dtype)
            self.bias_hh = _new_parameter(session, (gates,), dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _run(self, input, hx=None):  # the cells' forward (torch's RNNCellBase itself has none)
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            h = input._session.zeros(input.shape[0], self.hidden_size, dtype=input.dtype)
            c = h if self.mode == "LSTM" else None
        else:
            h, c = hx if self.mode == "LSTM" else (hx, None)
            if not batched:
                h, c = h.unsqueeze(0), (c.unsqueeze(0) if c is not None else None)
        h, c = _step(self.mode, F.linear(input, self.weight_ih, self.bias_ih), h, c, self.weight_hh, self.bias_hh)
        if not batched:
            h, c = h.squeeze(0), (c.squeeze(0) if c is not None else None)
        return (h, c) if self.mode == "LSTM" else h

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", *, session=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, session=session, dtype=dtype)
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity

    forward = RNNCellBase._run


class LSTMCell(RNNCellBase):
    mode = "LSTM"

    def __init__(self, input_size, hidden_size, bias=True, *, session=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, session=session, dtype=dtype)

    forward = RNNCellBase._run


class GRUCell(RNNCellBase):
    mode = "GRU"

    def __init__(self, input_size, hidden_size, bias=True, *, session=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, session=session, dtype=dtype)

    forward = RNNCellBase._run


def _cell_function(mode):
    def cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
        if input.ndim == 1:  # PyTorch's functional cells take a batch only (its check of input.size(1))
            raise errors.InvalidIndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
        h, c = hx if mode == "LSTM" else (hx, None)
        h, c = _step(mode, F.linear(input, w_ih, b_ih), h, c, w_hh, b_hh)
        return (h, c) if mode == "LSTM" else h

    name = {"LSTM": "lstm_cell", "GRU": "gru_cell", "RNN_TANH": "rnn_tanh_cell", "RNN_RELU": "rnn_relu_cell"}[mode]
    cell.__name__ = name
    cell.__doc__ = f"``torch.{name}(input, hx, w_ih, w_hh, b_ih=None, b_hh=None)``: one step of that cell with these weights (``hx``: (h, c) for an LSTM)."
    return cell


# torch's functional cells: torch.lstm_cell(input, (h, c), w_ih, w_hh, b_ih, b_hh), torch.gru_cell, torch.rnn_tanh_cell, ...
CELL_FUNCTIONS = {f.__name__: f for f in map(_cell_function, ("LSTM", "GRU", "RNN_TANH", "RNN_RELU"))}


# torch's whole-sequence functions (ATen's, under nn.RNN/LSTM/GRU): two overloads each, as its argument parser lists them
def _aten_forms(mode):
    """The packed form's and the padded form's parameters, typed as PyTorch's TypeError lists them."""
    hx = "tuple of Tensors hx" if mode == "LSTM" else "Tensor hx"
    rest = ("tuple of Tensors params", "bool has_biases", "int num_layers", "float dropout", "bool train", "bool bidirectional")
    return (("Tensor data", "Tensor batch_sizes", hx, *rest), ("Tensor input", hx, *rest, "bool batch_first"))


def _fits(kind, value):
    """Whether ``value`` passes PyTorch's parser as ``kind`` (a tensor list's elements are checked once the form is known)."""
    if kind == "Tensor":
        return isinstance(value, Tensor)
    if kind == "tuple of Tensors":
        return isinstance(value, (list, tuple))
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, (int, float))  # float


def _bind(form, args, kwargs):
    """``form``'s arguments by name from ``args`` and ``kwargs``, or None where they do not fit it."""
    names = [entry.rsplit(" ", 1)[1] for entry in form]
    if len(args) > len(names) or any(key not in names[len(args):] for key in kwargs):
        return None
    bound = {**dict(zip(names, args)), **kwargs}
    if len(bound) != len(names) or not all(_fits(entry.rsplit(" ", 1)[0], bound[name]) for entry, name in zip(form, names)):
        return None
    return bound


def _parsed(name, mode, args, kwargs):
    """The overload that ``args`` and ``kwargs`` fit, bound; a mismatch refused with PyTorch's TypeError."""
    from ..special import _type_name  # noqa: PLC0415

    forms = _aten_forms(mode)
    for form in forms:
        bound = _bind(form, args, kwargs)
        if bound is not None:
            break
    else:
        kind = lambda v: "Tensor" if isinstance(v, Tensor) else _type_name(v)  # noqa: E731
        got = ", ".join([kind(v) for v in args] + [f"{k}={kind(v)}" for k, v in kwargs.items()])
        raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but expected one of:\n"
                        + "".join(f" * ({', '.join(form)})\n" for form in forms))
    position = [entry.rsplit(" ", 1)[1] for entry in form]
    for key in ("hx", "params") if mode == "LSTM" else ("params",):
        for i, value in enumerate(bound[key]):
            if not isinstance(value, Tensor):
                raise TypeError(f"expected Tensor as element {i} in argument {position.index(key)}, but got {_type_name(value)}")
    return bound


def _padded(name, data, batch_sizes):
    """A packed run's ``data`` (steps, features) and ``batch_sizes`` as the padded (time, batch, features) steps and each
    sequence's length (the batch longest first, as packing sorts it), for ``_stacked``'s masked run."""
    if batch_sizes.dtype != int64:
        raise errors.InvalidArgumentError(f"expected scalar type Long but found {_TENSOR_TYPE_NAMES.get(batch_sizes.dtype, batch_sizes.dtype)}")
    if data.ndim != 2 or batch_sizes.ndim != 1:
        raise errors.InvalidArgumentError(f"{name}: expected packed data (steps, features) and 1D batch_sizes, got {data.ndim}D data "
                                          f"and {batch_sizes.ndim}D batch_sizes")
    sizes = [int(n) for n in batch_sizes.tolist()]
    if not sizes or sizes[-1] <= 0 or any(a < b for a, b in zip(sizes, sizes[1:])) or sum(sizes) != data.shape[0]:
        raise errors.InvalidArgumentError(f"{name}: batch_sizes must be positive and non-increasing and sum to data's {data.shape[0]} "
                                          f"steps, as a PackedSequence's; got {sizes}")
    starts = np.cumsum([0] + sizes[:-1])
    rows = np.full((len(sizes), sizes[0]), data.shape[0])  # past a sequence's end: the zero row appended below
    for t, (start, size) in enumerate(zip(starts, sizes)):
        rows[t, :size] = start + np.arange(size)
    padded = cat([data, data._session.zeros(1, data.shape[1], dtype=data.dtype)])[rows]
    return padded, [sum(size > b for size in sizes) for b in range(sizes[0])]


def _aten_function(mode):
    """``torch.lstm`` & co. for ``mode``: the arguments parsed and checked as ATen's, then the layers' ``_stacked`` run."""
    name = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}[mode]

    def function(*args, **kwargs):
        from .utils.rnn import PackedSequence  # noqa: PLC0415

        a = _parsed(name, mode, args, kwargs)
        packed = "data" in a
        input, params, num_layers = a["data" if packed else "input"], list(a["params"]), a["num_layers"]
        directions = 2 if a["bidirectional"] else 1
        if mode == "LSTM":
            if len(a["hx"]) != 2:
                raise errors.InvalidArgumentError("lstm expects two hidden states")
            h0, c0 = a["hx"]
        else:
            h0, c0 = a["hx"], None
        if packed:
            input, lengths = _padded(name, input, a["batch_sizes"])
        elif input.ndim != 3:  # an IndexError, as PyTorch's (an unbatched sequence fails on a missing dim there)
            raise errors.InvalidIndexError(f"{name}: Expected input to be 3D (a batch: torch.{name} takes no unbatched sequence), "
                                           f"got {input.ndim}D instead")
        elif a["batch_first"]:
            input = input.transpose(0, 1)
        if mode == "LSTM" and (h0.ndim != 3 or c0.ndim != 3):  # (PyTorch's fails on a missing dim too)
            raise errors.InvalidIndexError(f"lstm: Expected hx's two states to be 3D (layers * directions, batch, size), "
                                           f"got {h0.ndim}D and {c0.ndim}D")
        # the weights as ATen gathers them: an LSTM has projections where h and c differ in size
        projections = mode == "LSTM" and h0.shape[2] != c0.shape[2]
        stride = 2 + 2 * a["has_biases"] + projections
        if len(params) % stride:
            raise errors.InvalidArgumentError("got an incorrect number of RNN parameters")
        weights = [(w[0], w[1], *(w[2:4] if a["has_biases"] else (None, None)), (w[-1] if projections else None))
                   for w in (params[i:i + stride] for i in range(0, len(params), stride))]
        count = h0.shape[0] if h0.ndim else 0
        if directions == 2 and (len(weights) % 2 or count % 2):
            raise errors.InvalidArgumentError("Odd number of params or hiddens given to a bidirectional RNN")
        if count // directions != num_layers:
            raise errors.InvalidArgumentError("Expected more hidden states in stacked_rnn")
        if len(weights) // directions != num_layers:
            raise errors.InvalidArgumentError("Expected more weights in stacked_rnn")
        if num_layers <= 0:
            raise errors.InvalidArgumentError("stack expects a non-empty TensorList")
        weight_hh = weights[0][1]
        _check_state(mode, h0, c0, count, input.shape[1], weight_hh.shape[0] // _GATES[mode], weight_hh.shape[1])
        dropout, train = float(a["dropout"]), a["train"]
        if train and dropout != 0 and num_layers > 1 and not 0 <= dropout <= 1:  # ATen checks it where it drops
            raise errors.InvalidArgumentError(f"dropout probability has to be between 0 and 1, but got {dropout}")
        running = PackedSequence(input, lengths).mask(input) if packed else None
        output, h_n, c_n = _stacked(mode, input, h0, c0, weights, num_layers, directions, dropout, train, running)
        if packed:
            output = PackedSequence(output, lengths).data  # back to packed steps (the batch already longest first)
        elif a["batch_first"]:
            output = output.transpose(0, 1)
        return (output, h_n, c_n) if mode == "LSTM" else (output, h_n)

    function.__name__ = function.__qualname__ = name
    state = "(h_0, c_0)" if mode == "LSTM" else "h_0"
    result = "(output, h_n, c_n)" if mode == "LSTM" else "(output, h_n)"
    function.__doc__ = (
        f"``torch.{name}(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)`` -> {result}, and the "
        f"packed form ``torch.{name}(data, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidirectional)``: the "
        f"whole {mode} stack that nn.{'LSTM' if mode == 'LSTM' else 'GRU' if mode == 'GRU' else 'RNN'} runs, over its flat weight "
        f"list (``_flat_weights``) with hx = {state}; a 3D input only, as PyTorch's; dropout between layers when ``train``.")
    return function


# torch.lstm, torch.gru, torch.rnn_tanh, torch.rnn_relu: registered beside the cells (nn/__init__ merges CELL_FUNCTIONS
# into functional.TORCH_FUNCTIONS, hence gw.lstm & co.)
CELL_FUNCTIONS.update({f.__name__: f for f in map(_aten_function, ("LSTM", "GRU", "RNN_TANH", "RNN_RELU"))})
