"""``Optimizer``: PyTorch's optimizer API, with the step run on the server as one command.

The client keeps what PyTorch users edit (``param_groups``: the parameters and the
hyperparameters of each group); for the built-in optimizers the server keeps the state
(momentum buffers, Adam's moments) and updates the parameters in place. ``step()`` queues one
``OptimizerStep`` command carrying every group's parameter handles and hyperparameters, so
neither the parameters nor the state cross the network, and a scheduler's new ``lr`` applies
to the next step. Reading that state (``state``, ``state_dict()``) is a sync point.

A subclass written as PyTorch's are (its own ``step()`` with ops on ``self.state[p]``) keeps
its state on the client, in ``self.state``, a ``defaultdict(dict)`` as PyTorch's, whose
tensors are server tensors like any other; so does ``LBFGS``.
"""

from __future__ import annotations

import functools
from collections import OrderedDict, defaultdict
from itertools import chain

import numpy as np

from .. import defaults as _defaults
from .. import errors
from ..factories import typename
from ..grad_mode import enable_grad
from ..tensor import Tensor, stack
from ..utils.hooks import RemovableHandle
from ..v1 import gradwire_pb2 as pb

_global_optimizer_pre_hooks: OrderedDict = OrderedDict()
_global_optimizer_post_hooks: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    """``hook(optimizer, args, kwargs)`` before every optimizer's ``step`` (before the optimizer's own pre hooks);
    what it returns (not None) is ``(new_args, new_kwargs)``. Returns a handle with ``remove()``."""
    return RemovableHandle(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """``hook(optimizer, args, kwargs)`` after every optimizer's ``step`` (after the optimizer's own post hooks)."""
    return RemovableHandle(_global_optimizer_post_hooks, hook)


def _with_step_hooks(step):
    """``step`` wrapped to run the step hooks (as PyTorch's ``profile_hook_step``): on the client, around the queued
    step command (a post hook that reads a parameter waits for the step). ``args`` holds the optimizer first."""

    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        self = args[0]
        if self.__dict__.get("_in_step"):  # a subclass's step calling its base's: the hooks run once
            return step(*args, **kwargs)
        for hook in chain(_global_optimizer_pre_hooks.values(), self._hook_table("step_pre").values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), but got {result}.")
        self._in_step = True
        try:
            out = step(*args, **kwargs)
        finally:
            self._in_step = False
        if "_opt_called" in self.__dict__:  # a scheduler watches it (its "step() before optimizer.step()" warning)
            self._opt_called = True
        for hook in chain(self._hook_table("step_post").values(), _global_optimizer_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    wrapper._with_step_hooks = True
    return wrapper



_UNORDERED = (
    "optimizer parameters need to be organized in ordered collections, but the ordering of tensors "
    "in sets will change between runs. Please use a list instead."
)


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base of gradwire's optimizers (``torch.optim.Optimizer``'s API).

    Parameters
    ----------
    params : an iterable of leaf Tensors, of ``(name, Tensor)`` pairs, or of dicts
        (param groups: ``{"params": [...], "lr": ...}``), all in one session.
    defaults : the hyperparameters of a group that does not name them.
    """

    _kind = ""  # the server's optimizer: "sgd", "adam", ...; none for one the SDK steps with ops (LBFGS)
    _state_tensors: tuple = ()  # names of the per-parameter state tensors the server may hold

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_with_step_hooks", False):
            cls.step = _with_step_hooks(step)

    def _hook_table(self, kind) -> OrderedDict:
        tables = self.__dict__.setdefault("_hooks", {})
        return tables.setdefault(kind, OrderedDict())

    def _add_hook(self, kind, hook, prepend=False):
        handle = RemovableHandle(self._hook_table(kind), hook)
        if prepend:
            self._hook_table(kind).move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` before each ``step`` (``args`` holds the optimizer first); what it returns
        (not None) is ``(new_args, new_kwargs)``. Runs here, before the step command is queued."""
        return self._add_hook("step_pre", hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` after each ``step`` (the step command queued: reading a parameter waits for it)."""
        return self._add_hook("step_post", hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer)`` before ``state_dict`` builds the dict."""
        return self._add_hook("state_dict_pre", hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` on the dict ``state_dict`` built; what it returns (not None) is returned instead."""
        return self._add_hook("state_dict_post", hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` before ``load_state_dict``; what it returns (not None) is loaded instead."""
        return self._add_hook("load_state_dict_pre", hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer)`` once ``load_state_dict`` has loaded."""
        return self._add_hook("load_state_dict_post", hook, prepend)

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.param_groups: list[dict] = []
        self._session = None
        self._handle = 0
        self._step_fields = None  # the fields of the last step's groups, and its message
        self._step_message = None
        self._client_state = defaultdict(dict)  # the state of an optimizer stepped here (a subclass's own step, LBFGS)
        self._state_read = None  # a server optimizer's state as last read, and its items then (see _flush_state)
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, but got " + typename(params))
        param_groups = list(params)  # (a set is listed, as PyTorch does; only a group's own set is refused)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)
        session = self.param_groups[0]["params"][0]._session
        self._session = session
        if not self._kind:  # stepped on the client: no optimizer on the server
            return
        self._handle = session._handle()
        with session._lock:
            command = session._command(type(self).__name__)
            command.optimizer_create.optimizer = self._handle
            command.optimizer_create.kind = self._kind

    def __del__(self):
        try:
            if self._handle:
                self._session._release(self._handle)  # the server frees the state with the next batch
        except Exception:
            pass

    def __repr__(self):
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n" + "".join(f"    {key}: {group[key]}\n" for key in sorted(group) if key != "params")
        return text + ")"

    # --- param groups ----------------------------------------------------------------
    def add_param_group(self, param_group: dict):
        """Add a group of parameters (with its own hyperparameters), as ``torch.optim.Optimizer``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(_UNORDERED)
        else:
            params = list(params)
        names = None
        if params and isinstance(params[0], tuple):
            names = [name for name, _ in params]
            params = [p for _, p in params]
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            session = self._session or (self.param_groups[0]["params"][0]._session if self.param_groups else param._session)
            if param._session is not session:
                raise errors.InvalidArgumentError("an optimizer's parameters must all live in one session")
        group = {"params": params, **({"param_names": names} if names is not None else {})}
        for key, value in param_group.items():
            if key not in ("params",):
                group[key] = value
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {key}")
            group.setdefault(key, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # --- the step ----------------------------------------------------------------------
    def step(self, closure=None):
        """One optimization step over every group: ONE command, run on the server.

        ``closure`` (optional) re-evaluates the model and returns the loss, which ``step`` returns.
        A subclass of ``Optimizer`` of one's own defines ``step`` itself, as in PyTorch.
        """
        if not self._kind:
            raise NotImplementedError
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        session = self._session
        self._check_capturable()
        self._flush_state()
        # the step message is built again only when what it says changes (a scheduler's lr, a new
        # group, other params): the fields are read from param_groups at every step and compared
        fields = [self._group_fields(group) for group in self.param_groups]
        if fields != self._step_fields:
            self._step_message = pb.OptimizerStep(optimizer=self._handle, groups=[pb.OptimizerGroup(**f) for f in fields])
            self._step_fields = fields
        with session._lock:
            command = session._command(type(self).__name__ + ".step")
            command.optimizer_step.CopyFrom(self._step_message)
            session._sent_command(command)
        self._state_read = None  # the step may add state: read again when asked
        return loss

    def _group_fields(self, group) -> dict:
        """The fields of the ``OptimizerGroup`` message for ``group``, by name (``params``: the handles)."""
        raise NotImplementedError

    # what PyTorch's capturable=True refuses on a CPU at the step: the state it names, and the devices it allows
    _capturable_refusal = ("params and state_steps", "['cuda', 'xpu', 'hpu', 'privateuseone', 'xla']")

    def _check_capturable(self):
        if self._session.device != "cpu":
            return
        for group in self.param_groups:
            if group.get("capturable") and any(p._has_grad for p in group["params"]):
                what, devices = self._capturable_refusal
                raise AssertionError(f"If capturable=True, {what} must be on supported devices: {devices}.")

    def zero_grad(self, set_to_none: bool = True):
        """Reset every parameter's ``.grad``: to None (the default), or to zeros in place."""
        params = [p for group in self.param_groups for p in group["params"] if p._has_grad]
        if set_to_none:
            if params:
                self._session._set_grads_to_none(params)  # one command for all of them
            return
        for p in params:
            p.grad.zero_()

    # --- state --------------------------------------------------------------------------
    def _params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def state(self) -> defaultdict:
        """{parameter: {name: Tensor}}, a ``defaultdict(dict)`` as PyTorch's (a parameter without state: ``{}``).

        A built-in optimizer's is read from the server (a sync point) and kept until its next step. Its
        tensors are the server's own (an in-place change to one is the optimizer's); what is assigned into it
        (``state[p][name] = t``, ``state[p] = {...}``, ``del``, or ``optimizer.state = ...``) replaces the
        server's state at the next step. Its numbers (``step``) are 0-d tensors made from the server's: one
        changed in place is not sent back, assign it instead.
        """
        if not self._handle:
            return self._client_state
        if self._state_read is None:
            state = self._read_state()
            self._state_read = (state, _items(state))
        return self._state_read[0]

    @state.setter
    def state(self, value):
        if not self._handle:
            self._client_state = value
        else:  # sent to the server at the next step, as an assignment into it is
            self._state_read = (value, None)

    def _flush_state(self):
        """What was assigned into a server optimizer's ``state`` since it was read: the whole state sent back
        (the server replaces its state at once, so the one command carries every entry)."""
        if self._state_read is None:
            return
        state, items = self._state_read
        now = _items(state)
        if items is not None and len(now) == len(items) and all(a[0] is b[0] and a[1] == b[1] and a[2] is b[2] for a, b in zip(now, items)):
            return
        self._send_state(now)
        self._state_read = None

    def _read_state(self) -> defaultdict:
        """{parameter: {name: Tensor}} for every parameter with state, in the parameters' order (a sync point)."""
        session = self._session
        params = self._params()
        with session._lock:
            command = session._command(type(self).__name__ + ".state_dict")
            get = command.optimizer_get_state
            get.optimizer = self._handle
            for p in params:
                for name in self._state_tensors:
                    get.slots.add(param=p._handle, name=name, handle=session._handle())
            session._wait()
            answer = session._answers.pop(command.id).optimizer_state
        index_of = {p._handle: i for i, p in enumerate(params)}
        # PyTorch's numbers are 0-d tensors of its scalar dtype (float64 only under a float64 default)
        scalar = np.dtype("float64") if _defaults.current == np.dtype("float64") else np.dtype("float32")
        state: dict = {}
        for entry in answer.entries:
            index = index_of[entry.param]
            p = params[index]
            if entry.WhichOneof("value") == "number":
                value = session.tensor(entry.number, dtype=scalar)
            else:
                value = Tensor(session, entry.handle, self._state_shape(entry.name, p._shape), p._dtype)
            state.setdefault(index, {})[entry.name] = value
        # PyTorch's order within a parameter's state: the step count (NAdam's mu_product, ASGD's eta and mu) first, then the tensors
        order = {name: i for i, name in enumerate(_STATE_NUMBERS + self._state_tensors)}
        ordered = ((params[i], dict(sorted(s.items(), key=lambda kv: order.get(kv[0], 99)))) for i, s in sorted(state.items()))
        return defaultdict(dict, ordered)

    def _send_state(self, items):
        """Replace the server's state with ``(parameter, name, value)`` items (tensors copied there, as PyTorch's
        load casts them; numbers, PyTorch's 0-d tensors, fetched together)."""
        session = self._session
        items = [item for item in items if isinstance(item[0], Tensor)]  # (not a key of a parameter's: kept in state only)
        numbered = [i for i, (_, name, _) in enumerate(items) if name in _STATE_NUMBERS]
        here = [v.item() if isinstance(v, Tensor) and v._session is not session else v for v in (items[i][2] for i in numbered)]
        numbers = dict(zip(numbered, _numbers(*here)))
        keep = []  # uploaded state tensors live until the command is queued
        entries = []
        for i, (param, name, value) in enumerate(items):
            if i in numbers:
                entries.append(pb.OptimizerStateEntry(param=param._handle, name=name, number=numbers[i]))
                continue
            if not isinstance(value, Tensor) or value._session is not session:
                value = session.tensor(value)  # a tensor of another session, a torch tensor or an array: copied
            keep.append(value)
            entries.append(pb.OptimizerStateEntry(param=param._handle, name=name, handle=value._handle))
        with session._lock:
            command = session._command(type(self).__name__ + ".load_state_dict")
            command.optimizer_set_state.optimizer = self._handle
            command.optimizer_set_state.entries.extend(entries)
            session._sent_command(command)

    def _state_shape(self, name, shape):
        """The shape of state tensor ``name`` of a parameter of ``shape`` (the parameter's, but for Adafactor's)."""
        return shape

    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``, as PyTorch's.

        The state's tensors are the optimizer's own (a later step changes them, as in PyTorch); ``step``
        and the other counts are 0-d tensors, as PyTorch's.
        """
        for hook in list(self._hook_table("state_dict_pre").values()):
            hook(self)
        index_of = {id(p): i for i, p in enumerate(self._params())}
        state = {(index_of[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        state_dict = {"state": state, "param_groups": self._packed_groups()}
        for hook in list(self._hook_table("state_dict_post").values()):
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def _packed_groups(self) -> list:
        """``param_groups`` as a state dict holds them: each parameter by its index over all groups."""
        groups, start = [], 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = list(range(start, start + len(group["params"])))
            start += len(group["params"])
            groups.append(packed)
        return groups

    def load_state_dict(self, state_dict: dict):
        """Restore hyperparameters and state saved by ``state_dict()``: a built-in optimizer's state tensors are
        copied to the server's; one stepped on the client keeps them, cast to each parameter's dtype, as PyTorch's."""
        for hook in list(self._hook_table("load_state_dict_pre").values()):
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        self._load_state_dict(state_dict)
        for hook in list(self._hook_table("load_state_dict_post").values()):
            hook(self)

    def _load_state_dict(self, state_dict: dict):
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's group")
        id_map = {}
        for group, saved in zip(groups, saved_groups):
            id_map.update(zip(saved["params"], group["params"]))
        state = defaultdict(dict)
        for index, values in state_dict["state"].items():
            param = index if isinstance(index, Tensor) else id_map.get(int(index))  # (gw.load gives the indices back as text)
            if param is None:
                state[index] = values
            elif self._handle:
                state[param] = dict(values)
            else:
                state[param] = {name: self._cast(param, value, name) for name, value in values.items()}
        if self._handle:
            self._send_state(_items(state))
            self._state_read = None
        else:
            self._client_state = state
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            new = {k: (tuple(v) if k == "betas" else v) for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                new["param_names"] = group["param_names"]
            new_groups.append(new)
        self.param_groups = new_groups

    def _cast(self, param, value, name):
        """A loaded state value as PyTorch's ``load_state_dict`` makes it: tensors (in lists too) in the
        parameter's session and, but for ``step``, its floating dtype; anything else as it is."""
        if isinstance(value, (list, tuple)):
            return type(value)(self._cast(param, v, name) for v in value)
        if isinstance(value, dict):
            return {k: self._cast(param, v, k) for k, v in value.items()}
        if not isinstance(value, Tensor):
            if not (hasattr(value, "shape") and hasattr(value, "dtype")) or isinstance(value, np.generic):
                return value
            value = self._session.tensor(value)  # a torch tensor or an array
        elif value._session is not self._session:
            value = self._session.tensor(value)
        if name != "step" and param.is_floating_point() and value.dtype != param.dtype:
            value = value.to(param.dtype)
        return value


def _numbers(*values):
    """Python floats of scalar tensors (and numbers), fetched together: one sync point."""
    tensors = [v.detach().reshape(()).to("float64") for v in values if isinstance(v, Tensor)]
    fetched = iter(stack(tensors).tolist() if tensors else [])
    return [next(fetched) if isinstance(v, Tensor) else float(v) for v in values]


def _items(state) -> list:
    """``(parameter, name, value)`` for each entry of an optimizer's state, in order."""
    return [(p, name, value) for p, values in state.items() for name, value in values.items()]


def _check_fused(foreach, fused):
    """PyTorch's refusal of both (SGD, Adam, AdamW, Adagrad; both change nothing here)."""
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


_STATE_NUMBERS = ("step", "mu_product", "eta", "mu")  # the state that is a number on the server (a 0-d tensor in PyTorch's state dicts)


Optimizer.step = _with_step_hooks(Optimizer.step)
