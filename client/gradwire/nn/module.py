"""``Module``: PyTorch's base class for models, over tensors that live on a gradwire server.

Parameters, buffers and submodules are registered by assigning them as
attributes; ``parameters()``, ``state_dict()``, ``train()``/``eval()`` and the rest
walk that tree as PyTorch's do.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping
import functools
import inspect
import warnings

import numpy as np

from ..floats import is_floating
from .. import dtypes, errors
from ..autograd.function import Function
from ..grad_mode import is_grad_enabled, no_grad
from ..session import resolve_session  # noqa: F401 - layers take it from here
from ..tensor import Tensor, _check_placement, _device_type, _to_dtype, as_dtype
from ..utils.hooks import RemovableHandle
from .parameter import Buffer, Parameter

class _IncompatibleKeys(namedtuple("_IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self):
        return "<All keys matched successfully>" if not self.missing_keys and not self.unexpected_keys else super().__repr__()

    __str__ = __repr__


def _taking_device(init):
    """A layer's ``__init__`` that takes PyTorch's ``device=`` too: checked as the factories check it (the parameters
    are made on the session's device all the same, as its tensors are)."""

    @functools.wraps(init)
    def __init__(self, *args, device=None, **kwargs):
        _check_placement(device)
        init(self, *args, **kwargs)

    signature = inspect.signature(init)
    parameters = list(signature.parameters.values())
    at = next((i for i, p in enumerate(parameters) if p.kind is inspect.Parameter.VAR_KEYWORD), len(parameters))
    parameters.insert(at, inspect.Parameter("device", inspect.Parameter.KEYWORD_ONLY, default=None))
    __init__.__signature__ = signature.replace(parameters=parameters)
    return __init__


class Module:
    """Base class of all models: subclass it, assign layers and ``Parameter`` s in ``__init__``, write ``forward``."""

    training: bool

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and cls.__module__.startswith("gradwire.nn."):  # the layers: PyTorch's device= beside dtype=
            parameters = inspect.signature(init).parameters
            if "dtype" in parameters and "device" not in parameters:
                cls.__init__ = _taking_device(init)

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        hooks = self.__dict__.get("_hooks")
        if not (hooks or _global_forward_pre_hooks or _global_forward_hooks or _global_backward_hooks or _global_backward_pre_hooks):
            return self.forward(*args, **kwargs)  # the usual case
        return self._call_with_hooks(hooks or _no_hooks(), args, kwargs)

    def _call_with_hooks(self, hooks, args, kwargs):
        """PyTorch's ``Module._call_impl``: the global hooks, then the module's, in the same order and with the same
        checks; a forward that raises still runs the forward hooks registered with ``always_call``."""
        result = None
        called = set()  # the always_call hooks that ran

        def inner():
            nonlocal result, args, kwargs
            backward_hooks = [*_global_backward_hooks.values(), *hooks["backward"].values()]
            backward_pre_hooks = [*_global_backward_pre_hooks.values(), *hooks["backward_pre"].values()]
            for hook_id, hook in (*_global_forward_pre_hooks.items(), *hooks["forward_pre"].items()):
                if hook_id in hooks["forward_pre_kwargs"]:
                    changed = hook(self, args, kwargs)
                    if changed is not None:
                        if isinstance(changed, tuple) and len(changed) == 2:
                            args, kwargs = changed
                        else:
                            raise RuntimeError(f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got {changed}.")
                else:
                    changed = hook(self, args)
                    if changed is not None:
                        args = changed if isinstance(changed, tuple) else (changed,)
            backward = None
            if backward_hooks or backward_pre_hooks:
                backward = _BackwardHook(self, backward_hooks, backward_pre_hooks)
                args = backward.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for hook_id, hook in (*_global_forward_hooks.items(), *hooks["forward"].items()):
                if hook_id in hooks["forward_always"] or hook_id in _global_forward_hooks_always_called:
                    called.add(hook_id)
                if hook_id in hooks["forward_kwargs"] or hook_id in _global_forward_hooks_with_kwargs:
                    changed = hook(self, args, kwargs, result)
                else:
                    changed = hook(self, args, result)
                if changed is not None:
                    result = changed
            if backward is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of Tensors"
                                  f" but received {type(result)}", stacklevel=3)
                result = backward.setup_output_hook(result)
            return result

        try:
            return inner()
        except Exception:
            # as PyTorch's: the global ones without kwargs (even those registered with_kwargs), errors silenced
            for hook_id, hook in _global_forward_hooks.items():
                if hook_id in _global_forward_hooks_always_called and hook_id not in called:
                    try:
                        changed = hook(self, args, result)
                        if changed is not None:
                            result = changed
                    except Exception as e:
                        warnings.warn("global module forward hook with ``always_call=True`` raised an exception that was silenced as "
                                      f"another error was raised in forward: {e}", stacklevel=2)
            for hook_id, hook in hooks["forward"].items():
                if hook_id in hooks["forward_always"] and hook_id not in called:
                    try:
                        changed = hook(self, args, kwargs, result) if hook_id in hooks["forward_kwargs"] else hook(self, args, result)
                        if changed is not None:
                            result = changed
                    except Exception as e:
                        warnings.warn("module forward hook with ``always_call=True`` raised an exception that was silenced as another "
                                      f"error was raised in forward: {e}", stacklevel=2)
            raise

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` before each forward; what it returns (not None) replaces the args (a value that is not
        a tuple: the one arg). With ``with_kwargs``, ``hook(module, args, kwargs)``, which returns None or ``(args,
        kwargs)``. ``prepend``: before the hooks registered already. Returns a handle with ``remove()``."""
        hooks = self._hook_tables()
        handle = RemovableHandle(hooks["forward_pre"], hook, extra=(hooks["forward_pre_kwargs"],))
        if with_kwargs:
            hooks["forward_pre_kwargs"][handle.id] = True
        if prepend:
            hooks["forward_pre"].move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output)`` after each forward (``with_kwargs``: ``hook(module, args, kwargs, output)``);
        what it returns (not None) replaces the output. ``always_call``: also when forward raises (its error is
        raised after). ``prepend``: before the hooks registered already."""
        hooks = self._hook_tables()
        handle = RemovableHandle(hooks["forward"], hook, extra=(hooks["forward_kwargs"], hooks["forward_always"]))
        if with_kwargs:
            hooks["forward_kwargs"][handle.id] = True
        if always_call:
            hooks["forward_always"][handle.id] = True
        if prepend:
            hooks["forward"].move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` once a backward pass has the gradients of the module's inputs: one
        entry per positional argument (None for one that is not a tensor), one per output. What it returns (not None)
        replaces grad_input. As PyTorch's, an identity custom Function on the tensor inputs (``BackwardHookFunction``)
        gathers their gradients, and another on the outputs gathers grad_output."""
        hooks = self._hook_tables()
        handle = RemovableHandle(hooks["backward"], hook)
        if prepend:
            hooks["backward"].move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` once a backward pass has the gradients of the module's outputs; what it
        returns (not None) replaces grad_output."""
        hooks = self._hook_tables()
        handle = RemovableHandle(hooks["backward_pre"], hook)
        if prepend:
            hooks["backward_pre"].move_to_end(handle.id, last=False)
        return handle

    def register_backward_hook(self, hook):
        """PyTorch's deprecated form, whose grad_input are those of the module's last op: not supported."""
        raise errors.UnimplementedError("register_backward_hook: the deprecated form is not supported; use register_full_backward_hook")

    def _hook_tables(self):
        hooks = self.__dict__.get("_hooks")
        if hooks is None:
            hooks = _no_hooks()
            object.__setattr__(self, "_hooks", hooks)
        return hooks

    # --- registration by attribute -----------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign attributes before Module.__init__() call")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name, keep=params)  # a parameter reassigned keeps its place, as PyTorch's dict assignment
            self.register_parameter(name, value)
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' (gradwire.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._forget(name, keep=modules)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' (gradwire.nn.Module or None expected)")
            modules[name] = None
        elif isinstance(value, Buffer):  # torch.nn.Buffer: registered, persistent as it says
            self.register_buffer(name, value, value.persistent)
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' (gradwire.Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep):
        """``name`` out of the instance's attributes and every table but ``keep``, as PyTorch's ``remove_from``."""
        self.__dict__.pop(name, None)
        for table in (self._parameters, self._buffers, self._modules):
            if table is not keep:
                table.pop(name, None)
        if keep is not self._buffers and name in getattr(self, "_non_persistent", ()):
            object.__setattr__(self, "_non_persistent", self._non_persistent - {name})

    def __getattr__(self, name):
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def _check_name(self, name, kind, table):
        """PyTorch's checks of a name to register a parameter, buffer or module under (its messages)."""
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f"{kind} name can't contain \".\"" + (f", got: {name}" if kind == "module" else ""))
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in table:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name, param):
        """Add ``param`` (a ``Parameter``, or None) to the module as ``name``, as PyTorch's."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' (gradwire.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is part of the module's state (and ``state_dict``, unless not ``persistent``) but not a parameter."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' (gradwire.Tensor or None required)")
        self._buffers[name] = tensor
        if not persistent:
            object.__setattr__(self, "_non_persistent", getattr(self, "_non_persistent", set()) | {name})
        elif name in getattr(self, "_non_persistent", ()):
            object.__setattr__(self, "_non_persistent", self._non_persistent - {name})

    def add_module(self, name, module):
        """Add ``module`` (or None) as the child ``name``, as PyTorch's."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if hasattr(self, name) and name not in self._modules:  # (PyTorch checks this before the name's form)
            raise KeyError(f"attribute '{name}' already exists")
        self._check_name(name, "module", self._modules)
        self._modules[name] = module

    register_module = add_module

    # --- walking the tree ----------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, table, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(name, Parameter) pairs, named by their path (``"0.weight"``), each parameter once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn):
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # --- modes and gradients -----------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (``mode=True``) or evaluation mode, for this module and every submodule (Dropout reads it)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        object.__setattr__(self, "training", mode)
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's ``.grad``: to None (the default), or to zeros in place."""
        params = [p for p in self.parameters() if p._has_grad]  # (not p.grad: reading .grad queues a command)
        if set_to_none:
            if params:
                params[0]._session._set_grads_to_none(params)
            return
        with no_grad():
            for param in params:
                param.grad.zero_()

    # --- state -------------------------------------------------------------------------------
    def get_extra_state(self):
        """What ``state_dict`` keeps under ``"_extra_state"`` besides tensors: override it (and ``set_extra_state``)."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called. Please file an issue at "
            "https://github.com/pytorch/pytorch/issues/new?template=bug-report.yml to report this bug."
        )

    def set_extra_state(self, state):
        """Restore what ``get_extra_state`` returned, from a state dict's ``"_extra_state"``: override it."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called. Please file an issue at "
            "https://github.com/pytorch/pytorch/issues/new?template=bug-report.yml to report this bug."
        )

    def _state_hooks(self, kind):
        table = self.__dict__.get("_state_dict_hooks")
        if table is None:
            table = {"pre": {}, "post": {}, "load_pre": {}, "load_post": {}}
            object.__setattr__(self, "_state_dict_hooks", table)
        return table[kind]

    def register_state_dict_pre_hook(self, hook):
        """``hook(module, prefix, keep_vars)`` before ``state_dict`` saves this module's entries."""
        return RemovableHandle(self._state_hooks("pre"), hook)

    def register_state_dict_post_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata)`` once this module's entries are in; it edits the dict in place
        and returns None."""
        return RemovableHandle(self._state_hooks("post"), (hook, True))

    def _register_state_dict_hook(self, hook):
        """PyTorch's private form of the post hook: what it returns (not None) is the state dict from then on."""
        return RemovableHandle(self._state_hooks("post"), (hook, False))

    def register_load_state_dict_pre_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)`` before
        ``load_state_dict`` loads this module's entries; it may edit ``state_dict``."""
        return RemovableHandle(self._state_hooks("load_pre"), hook)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        """PyTorch's private form: ``hook(state_dict, prefix, ...)``, the module first with ``with_module``."""
        return self.register_load_state_dict_pre_hook(hook if with_module else (lambda module, *args: hook(*args)))

    def register_load_state_dict_post_hook(self, hook):
        """``hook(module, incompatible_keys)`` after ``load_state_dict``, before a strict load raises: it may clear
        ``incompatible_keys.missing_keys``/``unexpected_keys`` in place; it returns None."""
        return RemovableHandle(self._state_hooks("load_post"), hook)

    def _has_extra_state(self):
        return type(self).get_extra_state is not Module.get_extra_state

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        skip = getattr(self, "_non_persistent", ())
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in skip:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        if self._has_extra_state():
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """An ordered dict of every parameter and persistent buffer by name (a module shared under two names: under
        both, as PyTorch's), values detached unless ``keep_vars``; ``get_extra_state()`` under ``"_extra_state"`` where
        a module overrides it; its ``_metadata`` holds each module's version. The state-dict hooks run as PyTorch's."""
        if args:  # PyTorch's positional form (destination, prefix, keep_vars)
            destination, prefix, keep_vars = (list(args) + [destination, prefix, keep_vars][len(args):])[:3]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        hooks = self.__dict__.get("_state_dict_hooks") or {"pre": {}, "post": {}}
        local_metadata = {"version": getattr(type(self), "_version", 1)}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in list(hooks["pre"].values()):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook, public in list(hooks["post"].values()):
            result = hook(self, destination, prefix, local_metadata)
            if public and result is not None:
                raise RuntimeError("state_dict post-hook must return None")
            if result is not None:
                destination = result
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values into this module's parameters and buffers, in place (under ``no_grad``).

        Values may be gradwire Tensors (of any session), NumPy arrays, or anything
        ``numpy.asarray`` reads (PyTorch CPU tensors). With ``strict``, missing and unexpected
        keys raise, as in PyTorch; sizes must match always. With ``assign``, the module takes the given tensors
        themselves (a parameter keeps its ``requires_grad``) instead of copying into its own. The load-state-dict
        hooks run as PyTorch's. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)  # (the hooks edit a copy)
        if metadata is not None:
            state_dict._metadata = metadata
        missing, unexpected, problems = [], [], []
        pairs = []  # (module, table, name, target, value): copied once every check has passed

        def load(module, local, prefix=""):
            local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
            hooks = module.__dict__.get("_state_dict_hooks")
            for hook in list(hooks["load_pre"].values()) if hooks else ():  # (strict: True, as PyTorch passes it)
                hook(module, local, prefix, local_metadata, True, missing, unexpected, problems)
            module._load_own(local, prefix, local_metadata, missing, unexpected, problems, pairs)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    load(child, {k: v for k, v in local.items() if k.startswith(child_prefix)}, child_prefix)
            incompatible = _IncompatibleKeys(missing, unexpected)
            for hook in list(hooks["load_post"].values()) if hooks else ():  # they may edit the lists in place
                if hook(module, incompatible) is not None:
                    raise AssertionError(
                        "Hooks registered with ``register_load_state_dict_post_hook`` are not expected to return new values, "
                        "if incompatible_keys need to be modified, it should be done inplace."
                    )

        load(self, state_dict)
        if strict:
            if unexpected:
                problems.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                problems.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if problems:
            raise errors.InvalidArgumentError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(problems))
        with no_grad():
            for module, table, name, target, value in pairs:
                if table is None:
                    module.set_extra_state(value)
                elif assign:
                    value = _as_tensor_of(value, target)
                    if table == "_parameters" and not isinstance(value, Parameter):
                        value = Parameter(value, target.requires_grad)
                    getattr(module, table)[name] = value
                else:
                    target.copy_(_in_session(value, target))
        return _IncompatibleKeys(missing, unexpected)

    def _load_own(self, state_dict, prefix, local_metadata, missing, unexpected, problems, pairs):
        """PyTorch's ``_load_from_state_dict``: this module's own entries checked, and put in ``pairs`` to be copied;
        a module overrides it to read an older version's checkpoint (``local_metadata["version"]``)."""
        skip = getattr(self, "_non_persistent", ())
        own = [(t, n, v) for t in ("_parameters", "_buffers") for n, v in getattr(self, t).items()
               if v is not None and not (t == "_buffers" and n in skip)]
        for table, name, target in own:
            key = prefix + name
            if key not in state_dict:
                missing.append(key)
                continue
            value = state_dict[key]
            shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
            if getattr(target, "_uninitialized", False):  # a lazy module's tensor takes the checkpoint's shape, as PyTorch's
                target.materialize(shape)
            elif shape != tuple(target.shape):
                problems.append(
                    f"size mismatch for {key}: copying a param with shape {_size(shape)} from checkpoint, "
                    f"the shape in current model is {_size(target.shape)}."
                )
                continue
            pairs.append((self, table, name, target, value))
        extra = prefix + "_extra_state"
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra in state_dict:
                pairs.append((self, None, None, None, state_dict[extra]))
            else:
                missing.append(extra)
        elif extra in state_dict:
            unexpected.append(extra)
        names = {n for _, n, _ in own}
        for key in state_dict:
            if key.startswith(prefix) and key != extra:
                first, *rest = key[len(prefix):].split(".", 1)
                if (first not in self._modules) if rest else (first not in names):
                    unexpected.append(key)

    # --- dtype and device ----------------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, non_blocking=False, memory_format=None):
        """``to(dtype)``, ``to(device)`` or both. A new dtype converts each floating-point parameter and buffer in place,
        as PyTorch's (the same objects: an optimizer made before keeps training them). ``non_blocking`` and
        ``memory_format`` change nothing (every op is sent without waiting; the server lays out tensors in C order)."""
        _check_placement(memory_format=memory_format)
        dtype = _to_dtype(args, dtype, device)  # a device is checked; the parameters stay on their server's device
        if dtype is None:
            return self
        dtype = as_dtype(dtype)
        if not is_floating(dtype):
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtypes.public(dtype)}")
        return self._cast(dtype, floating_only=True)

    def _cast(self, dtype, floating_only):
        """PyTorch's ``Module._apply`` for a dtype: each parameter and buffer (floating-point ones only, with
        ``floating_only``) takes its values converted, as ``param.data = param.to(dtype)`` does (its grad too)."""
        for module in self.modules():
            for table in (module._parameters, module._buffers):
                for tensor in table.values():
                    if tensor is None:
                        continue
                    if getattr(tensor, "_uninitialized", False):  # a lazy module's placeholder: materialized in the new dtype
                        tensor.to(dtype)
                    elif tensor.dtype != dtype and (is_floating(tensor.dtype) or not floating_only):
                        _convert_in_place(tensor, dtype)
        return self

    def cpu(self):
        """The model itself: its tensors live on the server, on the device the server chose."""
        return self

    def cuda(self, device=None):
        """The model itself, as ``cpu()``; ``to("cuda")`` checks that the server has the device."""
        return self

    def half(self):
        return self.to("float16")

    def bfloat16(self):
        """Floating-point parameters and buffers cast to bfloat16, as ``torch.nn.Module.bfloat16``."""
        return self.to("bfloat16")

    def get_submodule(self, target: str):
        """The submodule at the dotted path ``target`` ("" is this module), as PyTorch's."""
        module = self
        for name in target.split(".") if target else ():
            if name not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
            module = module._modules[name]
        return module

    def set_submodule(self, target: str, module, strict: bool = False):
        """Put ``module`` at the dotted path ``target`` (its parent must exist), as PyTorch's; with ``strict``, only in
        place of a submodule that is there already."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        atoms = target.split(".")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent = self.get_submodule(".".join(atoms[:-1]))
        name = atoms[-1]
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def to_empty(self, *, device, recurse=True):
        """Each parameter and buffer in place of new, uninitialized memory of its shape and dtype (zeros here: no
        uninitialized memory leaves the server), as PyTorch's (the parameters stay the same objects)."""
        _device_type(device)
        modules = self.modules() if recurse else (self,)
        with no_grad():
            for module in modules:
                for table in (module._parameters, module._buffers):
                    for tensor in table.values():
                        if tensor is not None and not getattr(tensor, "_uninitialized", False):
                            tensor.zero_()
        return self

    def type(self, dst_type):
        """Every parameter and buffer (integer ones too, as PyTorch's) converted to ``dst_type`` in place."""
        return self._cast(as_dtype(dst_type), floating_only=False)

    def share_memory(self):
        """The model itself: its tensors live on the server already, where every process that holds the session
        reaches them (``Tensor.share_memory_``)."""
        return self

    def compile(self, *args, **kwargs):
        """In place, as PyTorch's; a no-op past ``gw.compile``'s checks of its arguments (the server runs each op as it
        arrives: nothing to compile). Returns None."""
        from ..backends import compile as compile_fn

        compile_fn(self, *args, **kwargs)

    def get_parameter(self, target: str):
        return self._member(target, "_parameters", "parameter")

    def get_buffer(self, target: str):
        return self._member(target, "_buffers", "buffer")

    def _member(self, target, table, what):
        """The parameter or buffer at the dotted path ``target``, as PyTorch's ``get_parameter``/``get_buffer``."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        members = getattr(module, table)
        if name not in members:
            raise AttributeError(f"{type(module).__name__} has no {what} `{name}`")
        return members[name]

    def float(self):
        return self.to("float32")

    def double(self):
        return self.to("float64")

    # --- printing -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = []
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        extra = self.extra_repr().split("\n") if self.extra_repr() else []
        if not lines and len(extra) <= 1:
            return f"{type(self).__name__}({''.join(extra)})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(extra + lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


def _size(shape) -> str:
    return f"torch.Size({list(shape)})"


def _convert_in_place(tensor, dtype):
    """``tensor.data = tensor.to(dtype)``: the same object, an optimizer made before keeps it, takes the handle of a
    converted copy (the data setter keeps a dtype); its grad is converted too, as PyTorch's ``_apply``."""
    with no_grad():
        grad = tensor.grad.to(dtype) if tensor._has_grad else None
        converted = tensor.detach().to(dtype)
    session, old = tensor._session, tensor._handle
    tensor._handle, tensor._dtype = converted._handle, converted._dtype
    converted._handle = 0  # the tensor's handle now: not released with the copy
    session._release(old)
    tensor._has_grad, tensor._grad_alias, tensor._grad_graph = False, None, None
    if tensor._requires_grad:
        session._set_requires_grad(tensor, True)
    if grad is not None:
        tensor.grad = grad


def _as_tensor_of(value, target):
    """``value`` as a Tensor of target's session (itself where it is one already), in target's dtype (``assign``)."""
    if isinstance(value, Tensor) and value._session is target._session:
        return value
    return _in_session(value, target)


def _in_session(value, target):
    """``value`` as something ``target.copy_`` takes: a Tensor of target's session, or a scalar."""
    if isinstance(value, Tensor):
        if value._session is target._session:
            return value
        value = value._values()
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    return target._session.tensor(array.astype(target.dtype, copy=False))


class _BackwardHook:
    """One call's full backward (pre-)hooks, as PyTorch's ``torch.utils.hooks.BackwardHook``: the tensor inputs pass
    through an identity custom Function whose node's hook sees all their gradients at once (and may replace them), and
    the outputs through another, whose node's hook sees grad_output first (and runs the pre-hooks)."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module, self.user_hooks, self.user_pre_hooks = module, user_hooks, user_pre_hooks
        self.grad_outputs = None
        self.n_outputs, self.output_tensors_index = -1, None
        self.n_inputs, self.input_tensors_index = -1, None

    @staticmethod
    def _pack_with_none(indices, values, size):
        packed = [None] * size
        for i, value in zip(indices, values):
            packed[i] = value
        return tuple(packed)

    def _set_user_hook(self, grad_fn):
        def hook(grad_input, _):
            if self.grad_outputs is None:  # the gradient reached the inputs without passing the outputs (double backward)
                return None
            packed = self._pack_with_none(self.input_tensors_index, grad_input if isinstance(grad_input, tuple) else (grad_input,), self.n_inputs)
            for user_hook in self.user_hooks:
                out = user_hook(self.module, packed, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(packed):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(out)}, but expected {len(packed)}")
                packed = out
            self.grad_outputs = None
            return tuple(packed[i] for i in self.input_tensors_index)

        grad_fn.register_hook(hook)

    def _apply_on_tensors(self, fn, args):
        indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not (any(args[i].requires_grad for i in indices) and is_grad_enabled()):
            return args, None
        new = BackwardHookFunction.apply(*(args[i] for i in indices))
        grad_fns = [t.grad_fn for t in new if isinstance(t, Tensor) and t.grad_fn is not None]
        fn(grad_fns[0])
        out = list(args)
        for i, value in zip(indices, new):
            out[i] = value
        return tuple(out), indices

    def setup_input_hook(self, args):
        result, self.input_tensors_index = self._apply_on_tensors(self._set_user_hook, args)
        self.n_inputs = len(args)
        return result

    def setup_output_hook(self, output):
        def fn(grad_fn):
            def hook(_, grad_output):
                grad_output = grad_output if isinstance(grad_output, tuple) else (grad_output,)
                self.grad_outputs = self._pack_with_none(self.output_tensors_index, grad_output, self.n_outputs)
                if self.user_pre_hooks:
                    expected = len(self.grad_outputs)
                    for user_pre_hook in self.user_pre_hooks:
                        changed = user_pre_hook(self.module, self.grad_outputs)
                        if changed is None:
                            continue
                        if len(changed) != expected:
                            raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got {len(changed)}, but expected {expected}")
                        self.grad_outputs = changed
                grad_outputs = self.grad_outputs
                if self.input_tensors_index is None:  # no input needs a gradient: the hooks run now, as PyTorch's
                    warnings.warn(
                        "Full backward hook is firing when gradients are computed with respect to module outputs since no inputs "
                        "require gradients. See https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                        "#torch.nn.Module.register_full_backward_hook for more details.", stacklevel=_user_stacklevel())
                    grad_inputs = (None,) * self.n_inputs
                    for user_hook in self.user_hooks:
                        changed = user_hook(self.module, grad_inputs, self.grad_outputs)
                        if changed is not None and not (isinstance(changed, tuple) and all(g is None for g in changed)):
                            raise RuntimeError("Backward hook for Modules where no input requires gradient should always return None "
                                               "or None for all gradients.")
                    self.grad_outputs = None
                if grad_outputs is not None:
                    return tuple(grad_outputs[i] for i in self.output_tensors_index)
                return None

            grad_fn.register_hook(hook)

        is_tuple = isinstance(output, tuple)
        outputs = output if is_tuple else (output,)
        result, self.output_tensors_index = self._apply_on_tensors(fn, outputs)
        self.n_outputs = len(outputs)
        return result if is_tuple else result[0]


class BackwardHookFunction(Function):
    """PyTorch's ``torch.nn.modules._functions.BackwardHookFunction``: the identity, whose node module hooks read."""

    @staticmethod
    def forward(ctx, *args):
        ctx.mark_non_differentiable(*[a for a in args if not a.requires_grad])
        return args

    @staticmethod
    def backward(ctx, *grads):
        return grads


def _user_stacklevel():
    """The ``stacklevel`` of a warning raised here that names the user's line (the first frame outside gradwire), as
    PyTorch's names the line that called ``backward``."""
    import sys  # noqa: PLC0415

    package = __file__[: -len("nn/module.py")]
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _no_hooks():
    """A module's hook tables: the hooks by handle id, in the order they run, and the flags they were registered with."""
    return {"forward_pre": OrderedDict(), "forward": OrderedDict(), "backward": OrderedDict(), "backward_pre": OrderedDict(),
            "forward_pre_kwargs": {}, "forward_kwargs": {}, "forward_always": {}}


# --- hooks common to all modules (PyTorch's torch.nn.modules.module.register_module_*) --------------------------------
_global_backward_pre_hooks: OrderedDict = OrderedDict()
_global_backward_hooks: OrderedDict = OrderedDict()
_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_forward_hooks_always_called: dict = {}
_global_forward_hooks_with_kwargs: dict = {}


def register_module_forward_pre_hook(hook):
    """``hook(module, args)`` before every module's forward, before the module's own pre-hooks; what it returns (not
    None) replaces the args. For debugging and profiling, as PyTorch's. Returns a handle with ``remove()``."""
    return RemovableHandle(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs, output)``) after every module's
    forward, before the module's own hooks; what it returns (not None) replaces the output. ``always_call``: also when
    forward raises."""
    handle = RemovableHandle(_global_forward_hooks, hook, extra=(_global_forward_hooks_always_called, _global_forward_hooks_with_kwargs))
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook):
    """``hook(module, grad_output)`` for every module, before the module's own, as ``register_full_backward_pre_hook``."""
    return RemovableHandle(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook):
    """``hook(module, grad_input, grad_output)`` for every module, before the module's own, as
    ``register_full_backward_hook``."""
    return RemovableHandle(_global_backward_hooks, hook)


def register_module_backward_hook(hook):
    """PyTorch's deprecated form, whose grad_input are those of a module's last op: not supported."""
    raise errors.UnimplementedError("register_module_backward_hook: the deprecated form is not supported; use register_module_full_backward_hook")


__all__ = ["Module", "register_module_backward_hook", "register_module_forward_hook", "register_module_forward_pre_hook",
           "register_module_full_backward_hook", "register_module_full_backward_pre_hook"]


def _typename(value) -> str:
    """torch.typename's name of a value, as PyTorch's refusals of an assignment quote it (gradwire.FloatTensor, int)."""
    from ..factories import typename  # (factories imports the session, which imports nn)

    return typename(value)
