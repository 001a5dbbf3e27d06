"""gradwire's server: the gRPC service around the autograd engine."""

from . import compiled

compiled.guard()  # before any compiled module is imported: a stale extension must not load

__version__ = "0.1.0"
