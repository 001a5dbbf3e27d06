"""Checkpoints: ``gw.save(obj, f)`` and ``gw.load(f, session=None)``, in the safetensors format.

A safetensors file holds named tensors plus a string-to-string metadata map. A model's
state dict (``{name: Tensor}``) is written as exactly those names, so PyTorch reads it
back directly::

    model.load_state_dict(safetensors.torch.load_file("model.safetensors"))

A nested state dict (an optimizer's: ``{"state": {0: {"step": 3.0, "exp_avg": T}},
"param_groups": [...]}``) is flattened: each tensor is stored under the keys of its path
joined with dots (``"state.0.exp_avg"``), and everything else (numbers, strings, lists,
tuples, ``None``, the dicts' key types and order) goes, as JSON, into the metadata entry
``"gradwire.structure"``, in which each tensor stands as ``{"__tensor__": "<its key>"}`` (with
``"requires_grad": true`` for one that required grad, which it does again once loaded, as with torch.load).
``gw.load`` rebuilds the same structure; a file without that entry (one written by
PyTorch) loads as a flat ``{name: Tensor}`` dict.

Tensors travel one at a time on the session's transfer paths (the chunked Upload and
Download streams above ``inline_bytes``), so no message bounds a checkpoint's size.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict

import numpy as np

from .session import Session, resolve_session
from .tensor import Tensor

STRUCTURE_KEY = "gradwire.structure"
FORMAT_KEY = "gradwire.format"
FORMAT = "1"


def save(obj, f) -> None:
    """Write ``obj`` to ``f`` (a path, or a file opened for writing in binary mode), as ``torch.save`` does:
    a state dict (a model's or an optimizer's), a tensor, or any nest of dicts, lists and tuples whose leaves are
    Tensors, NumPy arrays, numbers, strings, bools or None.

    Each tensor's values are read from the server one tensor at a time.
    """
    from safetensors.numpy import save as to_bytes
    from safetensors.numpy import save_file

    arrays: dict[str, np.ndarray] = {}
    # a state dict's tensors keep their own names (PyTorch reads them); a lone tensor is stored as "tensor"
    structure = _flatten(obj, "" if isinstance(obj, (dict, list, tuple)) else "tensor", arrays)
    metadata = {FORMAT_KEY: FORMAT, STRUCTURE_KEY: json.dumps(structure, allow_nan=True)}
    if hasattr(f, "write"):
        f.write(to_bytes(arrays, metadata=metadata))
    else:
        save_file(arrays, os.fspath(f), metadata=metadata)


def load(f, session=None, *, map_location=None, weights_only=True, mmap=None):
    """Read what ``gw.save`` wrote (or any safetensors file) from ``f`` (a path, or a file opened for reading in
    binary mode) into ``session`` (the only open one when not given).

    Returns the structure that was saved, with each tensor now a leaf Tensor of the session that requires grad if the
    saved one did, as torch.load gives it back (a state dict's tensors do not: ``model.load_state_dict`` and
    ``optimizer.load_state_dict`` copy them where they belong). Tensors are uploaded
    one at a time. ``map_location``, ``weights_only`` and ``mmap`` are ``torch.load``'s and change nothing: the
    tensors live on the session's device, and a safetensors file holds no code to run. ``gw.load(f, "cpu")``, the
    map location where torch.load takes it, is understood as such.
    """
    from safetensors import safe_open
    from safetensors.numpy import load as from_bytes

    if session is not None and not isinstance(session, Session):  # gw.load(f, "cpu"): torch.load's second argument
        session, map_location = None, session
    session = resolve_session(session)
    if hasattr(f, "read"):
        data = f.read()
        _refuse_pickle(data[:2], getattr(f, "name", "the file"))
        metadata = _metadata_of(data)
        arrays = from_bytes(data)
        keys = list(arrays)
        tensors = {key: session.tensor(arrays.pop(key)) for key in keys}
    else:
        path = os.fspath(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no checkpoint at {path!r}")
        with open(path, "rb") as opened:
            _refuse_pickle(opened.read(2), repr(path))
        with safe_open(path, framework="numpy") as opened:
            metadata = opened.metadata() or {}
            keys = list(opened.keys())
            tensors = {key: session.tensor(opened.get_tensor(key)) for key in keys}  # one at a time: uploaded, then dropped
    structure = metadata.get(STRUCTURE_KEY)
    if structure is None:
        return OrderedDict((key, tensors[key]) for key in keys)
    return _unflatten(json.loads(structure), tensors)


def _refuse_pickle(head: bytes, name: str):
    """torch.save writes a zip of pickles (its first bytes "PK"): say so, rather than safetensors' header error."""
    if head == b"PK":
        raise ValueError(
            f"{name} was written by torch.save (a pickle archive); gw.load reads safetensors files: convert it with "
            "safetensors.torch.save_file(torch.load(path), new_path) (a model's state dict) or load it with torch and "
            "pass the tensors to gw.tensor"
        )


def _metadata_of(data: bytes) -> dict:
    """The metadata map of a safetensors file's bytes: its header is 8 bytes of length, then that much JSON."""
    try:
        size = int.from_bytes(data[:8], "little")
        return json.loads(data[8 : 8 + size]).get("__metadata__") or {}
    except (ValueError, AttributeError):
        raise ValueError("not a safetensors file: its header does not read as one") from None


# --- the structure, as JSON ---------------------------------------------------------------


def _flatten(value, key: str, arrays: dict):
    if isinstance(value, Tensor) or isinstance(value, np.ndarray) or _is_torch_tensor(value):
        if key in arrays:
            raise ValueError(f"two tensors of the state dict would be stored under the same key {key!r}")
        arrays[key] = _array_of(value)
        return {"__tensor__": key, "requires_grad": True} if getattr(value, "requires_grad", False) else {"__tensor__": key}
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"state dict keys must be str or int, got {type(k).__name__} ({k!r})")
            items.append([k, _flatten(v, f"{key}.{k}" if key else str(k), arrays)])
        return {"__dict__": items}
    if isinstance(value, (list, tuple)):
        items = [_flatten(v, f"{key}.{i}" if key else str(i), arrays) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    raise TypeError(f"gw.save() cannot store a {type(value).__name__} (at {key or 'the top level'!r})")


def _unflatten(node, tensors: dict):
    if isinstance(node, list):
        return [_unflatten(v, tensors) for v in node]
    if isinstance(node, dict):
        if "__tensor__" in node:
            tensor = tensors[node["__tensor__"]]
            return tensor.requires_grad_() if node.get("requires_grad") is True else tensor
        if "__tuple__" in node:
            return tuple(_unflatten(v, tensors) for v in node["__tuple__"])
        if "__dict__" in node:
            return OrderedDict((k, _unflatten(v, tensors)) for k, v in node["__dict__"])
    return node


def _array_of(value) -> np.ndarray:
    if isinstance(value, Tensor):
        array = value._values()  # one tensor's values, on the chunked Download stream when large
    elif isinstance(value, np.ndarray):
        array = value
    else:  # a torch tensor
        array = value.detach().cpu().numpy()
    return np.ascontiguousarray(array) if array.ndim else array


def _is_torch_tensor(value) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")
