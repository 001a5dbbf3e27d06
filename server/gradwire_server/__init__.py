"""gradwire's server: the gRPC service around the autograd engine."""

__version__ = "0.1.0"
