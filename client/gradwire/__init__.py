"""gradwire: remote autograd with PyTorch's tensor API."""

__version__ = "0.1.0"
