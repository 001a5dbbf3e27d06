"""Recurrent layers, as PyTorch's ``torch.nn.RNN``, ``LSTM`` and ``GRU`` and their cells: the same
parameters under the same names (state dicts load either way) and the same gate formulas, run as
ops on the server. Each layer and direction projects the whole input sequence in one ``linear``;
each time step then queues a handful of ops, pipelined like any others.
"""

from __future__ import annotations

import math

from .. import errors
from ..tensor import cat, stack
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
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        if input.shape[-1] != self.input_size:
            raise errors.InvalidArgumentError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {input.shape[-1]}")
        length, batch = input.shape[:2]
        directions = 2 if self.bidirectional else 1
        h0, c0 = self._initial_state(hx, batch, directions, batched, input)
        running = packed.mask(input) if packed is not None else None  # (time, batch, 1): 1 while a sequence runs
        h_n, c_n, layer_input = [], [], input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                weight_ih, weight_hh, bias_ih, bias_hh, weight_hr = self._weights(layer, direction)
                projected = F.linear(layer_input, weight_ih, bias_ih)  # every step's input part at once
                k = layer * directions + direction
                h, c = h0[k], (c0[k] if c0 is not None else None)
                steps = [None] * length
                for t in (reversed(range(length)) if direction else range(length)):
                    if running is None:
                        h, c = _step(self.mode, projected[t], h, c, weight_hh, bias_hh, weight_hr)
                        steps[t] = h
                        continue
                    h_new, c_new = _step(self.mode, projected[t], h, c, weight_hh, bias_hh, weight_hr)
                    keep = running[t]  # past its end a sequence keeps its state and outputs zeros, as PyTorch's packed run
                    steps[t] = h_new * keep
                    h = steps[t] + h * (1.0 - keep)
                    c = c_new * keep + c * (1.0 - keep) if c is not None else None
                outputs.append(stack(steps))
                h_n.append(h)
                c_n.append(c)
            layer_input = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout and self.training and layer + 1 < self.num_layers:
                layer_input = F.dropout(layer_input, self.dropout)
        output, h_n = layer_input, stack(h_n)
        c_n = stack(c_n) if self.mode == "LSTM" else None
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
        # PyTorch's words: an LSTM's state is hidden[0] (h, proj_size wide with projections) and hidden[1] (c)
        checks = ((("hidden[0]", h0, out_size), ("hidden[1]", c0, self.hidden_size)) if self.mode == "LSTM"
                  else (("hidden", h0, self.hidden_size),))
        for name, state, size in checks:
            if tuple(state.shape) != (count, batch, size):
                raise errors.InvalidArgumentError(f"Expected {name} size {(count, batch, size)}, got {list(state.shape)}")
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
