"""Run tests written for the CPU again on the GPU, by importing them rather than copying them.

A test function imported into a module of tests/gpu is collected there, and its
fixtures are looked up from there: ``engine`` becomes tests/gpu's CuPy engine and
``server``/``session`` its server on the GPU (see conftest.py).
"""

from __future__ import annotations

import inspect


def _is_fixture(obj) -> bool:
    # pytest >= 8.4 wraps fixtures in FixtureFunctionDefinition; older versions mark the function
    return type(obj).__name__ == "FixtureFunctionDefinition" or hasattr(obj, "_pytestfixturefunction")


def _parameters(fixture) -> set:
    function = fixture._get_wrapped_function() if hasattr(fixture, "_get_wrapped_function") else getattr(fixture, "__wrapped__", fixture)
    return set(inspect.signature(function).parameters)


def reuse(module, namespace: dict, uses: set, skip: dict) -> list:
    """Copy into ``namespace`` every ``test_*`` function of ``module`` that takes one of the
    fixtures in ``uses``, except those named in ``skip`` (name -> why it is CPU-only), and
    every fixture ``module`` defines (a reused test may need one). Returns the names copied.

    A name in ``skip`` that ``module`` no longer has raises, so the list cannot go stale.
    """
    stale = sorted(set(skip) - set(vars(module)))
    if stale:
        raise LookupError(f"{module.__name__} has no test(s) {stale}: update the skip list")
    # a fixture of the module's own that takes one of ``uses`` (a module-scoped session, say) counts as one of them:
    # it is copied too, and then serves every test of the namespace, so such a module gets a namespace of its own
    uses = uses | {name for name, obj in vars(module).items() if _is_fixture(obj) and uses & _parameters(obj)}
    copied = []
    for name, obj in vars(module).items():
        if _is_fixture(obj) and name not in namespace:
            namespace[name] = obj
        elif name.startswith("test_") and callable(obj) and name not in skip:
            if uses & set(inspect.signature(obj).parameters):
                namespace[name] = obj
                copied.append(name)
    return copied
