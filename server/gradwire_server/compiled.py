"""The server modules that setup.py compiles with Cython, and the guard that keeps a stale build from running.

The compiled modules are the same Python source, run with less interpreter overhead per command, op
and backward node. The build records a digest of each module's source beside its extension
(``_compiled.json``). An editable install leaves the extension beside the source, and Python prefers
it, so after an edit (or a checkout) it would run the old code: ``guard()``, called as the package is
imported, loads every module whose source no longer matches its record from that source, with a
warning. ``GRADWIRE_PURE_PYTHON=1`` loads them all from source, quietly (a debugger, coverage).

A leaf module: standard library only, so that setup.py can read ``MODULES`` before anything is built.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings

# per op and per command, the most Python: decode and dispatch, apply and record, the backward walk, the network
# primitives' forwards and rules, the optimizers' steps
MODULES = (
    "gradwire_server.commands",
    "gradwire_server.runstream",
    "gradwire_server.sessions",
    "gradwire_server.quotas",
    "gradwire_server.engine.engine",
    "gradwire_server.engine.graph",
    "gradwire_server.engine.tensor",
    "gradwire_server.engine.vjps",
    "gradwire_server.engine.ops",
    "gradwire_server.engine.backend",
    "gradwire_server.engine.dtypes",
    "gradwire_server.engine.nn",
    "gradwire_server.engine.optim",
)
RECORD = "_compiled.json"  # module -> the sha256 of the source it was compiled from
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def source_path(module: str, root: str = os.path.dirname(_PACKAGE_DIR)) -> str:
    return os.path.join(root, *module.split(".")) + ".py"


def digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _extension(module: str) -> str | None:
    base = source_path(module)[: -len(".py")]
    return next((base + suffix for suffix in importlib.machinery.EXTENSION_SUFFIXES if os.path.exists(base + suffix)), None)


def _recorded() -> dict:
    try:
        with open(os.path.join(_PACKAGE_DIR, RECORD)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class _FromSource:
    """A meta path finder that loads the named modules from their .py files, extension or not."""

    def __init__(self, modules):
        self.modules = set(modules)

    def find_spec(self, name, path=None, target=None):
        if name not in self.modules:
            return None
        return importlib.util.spec_from_file_location(name, source_path(name))


_state: dict[str, str] = {}  # module -> "compiled" or "source", as guard() decided


def guard():
    """Decide, before any of them is imported, which compiled modules may load their extension."""
    if _state:
        return
    pure = bool(os.environ.get("GRADWIRE_PURE_PYTHON"))
    recorded = _recorded()
    stale, from_source = [], []
    for module in MODULES:
        if _extension(module) is None:
            _state[module] = "source"  # never compiled (no compiler at install time): the default import finds the .py
            continue
        current = not pure and os.path.exists(source_path(module)) and recorded.get(module) == digest(source_path(module))
        _state[module] = "compiled" if current else "source"
        if not current:
            from_source.append(module)
            if not pure:
                stale.append(module)
    if from_source:
        sys.meta_path.insert(0, _FromSource(from_source))
    if stale:
        warnings.warn(
            f"gradwire_server: {', '.join(stale)} changed since they were compiled; running their Python source "
            "(`pip install -e .` compiles them again)", RuntimeWarning, stacklevel=3,
        )


def status() -> dict[str, str]:
    """Each compiled module: "compiled" when its extension runs, "source" when its Python source does."""
    return dict(_state)
