"""``Module``: PyTorch's base class for models, over tensors that live on a gradwire server.

Parameters, buffers and submodules are registered by assigning them as
attributes; ``parameters()``, ``state_dict()``, ``train()``/``eval()`` and the rest
walk that tree as PyTorch's do.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from ..floats import is_floating
from .. import errors
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


class Module:
    """Base class of all models: subclass it, assign layers and ``Parameter`` s in ``__init__``, write ``forward``."""

    training: bool

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        hooks = self.__dict__.get("_hooks")
        if not hooks:  # the usual case
            return self.forward(*args, **kwargs)
        for hook in list(hooks["forward_pre"].values()):
            changed = hook(self, args)
            if changed is not None:
                args = changed if isinstance(changed, tuple) else (changed,)
        backward = None
        if (hooks["backward"] or hooks["backward_pre"]) and is_grad_enabled():
            backward = _BackwardHooks(self, hooks, args)
            args = backward.inputs
        output = self.forward(*args, **kwargs)
        for hook in list(hooks["forward"].values()):
            changed = hook(self, args, output)
            if changed is not None:
                output = changed
        if backward is not None:
            backward.watch(output)
        return output

    def register_forward_pre_hook(self, hook):
        """``hook(module, args)`` before each forward; what it returns (not None) replaces the args. Returns a handle with ``remove()``."""
        return self._add_hook("forward_pre", hook)

    def register_forward_hook(self, hook):
        """``hook(module, args, output)`` after each forward; what it returns (not None) replaces the output."""
        return self._add_hook("forward", hook)

    def register_full_backward_hook(self, hook):
        """``hook(module, grad_input, grad_output)`` once a backward pass has the gradient of the module's input
        (None where it needs none); what it returns (not None) replaces grad_input. On tensor hooks
        (``Tensor.register_hook``): for a module called with one tensor that requires grad and one tensor out."""
        return self._add_hook("backward", hook)

    def register_full_backward_pre_hook(self, hook):
        """``hook(module, grad_output)`` once a backward pass has the gradient of the module's output; what it
        returns (not None) replaces grad_output."""
        return self._add_hook("backward_pre", hook)

    def register_backward_hook(self, hook):
        """PyTorch's deprecated form, whose grad_input are those of the module's last op: not supported."""
        raise errors.UnimplementedError("register_backward_hook: the deprecated form is not supported; use register_full_backward_hook")

    def _add_hook(self, kind, hook):
        hooks = self.__dict__.setdefault("_hooks", {"forward_pre": {}, "forward": {}, "backward": {}, "backward_pre": {}})
        return RemovableHandle(hooks[kind], hook)

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
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' (gradwire.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._forget(name, keep=modules)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' (gradwire.nn.Module or None expected)")
            modules[name] = None
        elif isinstance(value, Buffer):  # torch.nn.Buffer: registered, persistent as it says
            self.register_buffer(name, value, value.persistent)
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (gradwire.Tensor or None expected)")
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
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' (gradwire.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is part of the module's state (and ``state_dict``, unless not ``persistent``) but not a parameter."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (gradwire.Tensor or None required)")
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
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
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


class _BackwardHooks:
    """One call's full backward (pre-)hooks, on tensor hooks: the output's gradient is grad_output, and the
    gradient reaching the input through an identity (``view_as``) taken for this call alone is grad_input."""

    def __init__(self, module, hooks, args):
        self.module, self.hooks = module, hooks
        tensors = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.wanting = [i for i in tensors if args[i].requires_grad]
        if len(self.wanting) > 1:
            raise errors.UnimplementedError(
                "register_full_backward_hook: a module called with more than one tensor that requires grad (gradwire "
                "computes each input's gradient apart, not at once); hook the tensors themselves (Tensor.register_hook)"
            )
        self.tensor_args = tensors
        inputs = list(args)
        for i in self.wanting:
            inputs[i] = args[i].view_as(args[i])
            inputs[i].register_hook(self._input_grad)
        self.inputs = tuple(inputs)
        self.grad_output = None

    def watch(self, output):
        if not isinstance(output, Tensor):
            raise errors.UnimplementedError(
                f"register_full_backward_hook: a module whose output is a {type(output).__name__}, not one tensor"
            )
        if output.requires_grad:
            output.register_hook(self._output_grad)

    def _output_grad(self, grad):
        for hook in list(self.hooks["backward_pre"].values()):
            changed = hook(self.module, (grad,))
            if changed is not None:
                grad = changed[0] if isinstance(changed, (tuple, list)) else changed
        self.grad_output = (grad,)
        if not self.wanting:  # no input needs a gradient: the hooks run now, as PyTorch's do
            self._run_hooks([None] * len(self.tensor_args))
        return grad

    def _input_grad(self, grad):
        return self._run_hooks([grad if i in self.wanting else None for i in self.tensor_args])[self.tensor_args.index(self.wanting[0])]

    def _run_hooks(self, grad_input):
        grad_input = tuple(grad_input)
        for hook in list(self.hooks["backward"].values()):
            changed = hook(self.module, grad_input, self.grad_output)
            if changed is not None:
                changed = tuple(changed) if isinstance(changed, (tuple, list)) else (changed,)
                if len(changed) != len(grad_input):
                    raise errors.InvalidArgumentError(
                        f"Backward hook returned an invalid number of grad_input, got {len(changed)}, but expected {len(grad_input)}"
                    )
                grad_input = changed
        return grad_input
