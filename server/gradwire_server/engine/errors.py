"""Typed engine errors. The server maps each class to a gRPC status in one place.

All are ``RuntimeError`` subclasses, as PyTorch raises ``RuntimeError`` for the
same mistakes, so ``except RuntimeError`` keeps working.
"""


class EngineError(RuntimeError):
    """Base of every error the engine raises on purpose."""


class InvalidArgument(EngineError):
    """Bad input: unknown op, wrong arity, a bad parameter or value."""


class ShapeError(InvalidArgument):
    """Shapes that an op cannot combine; the message names the op and the shapes."""


class IndexOutOfRange(InvalidArgument, IndexError):
    """An index or a dim outside the tensor: an ``IndexError`` too, as PyTorch's is."""


class LinAlgError(InvalidArgument):
    """A matrix that a decomposition or inverse cannot take (singular, not positive-definite): PyTorch's
    ``torch.linalg.LinAlgError``, a ``RuntimeError``."""


class DTypeError(InvalidArgument):
    """A dtype the engine does not support, or one an op cannot take."""


class KernelNotImplemented(DTypeError, NotImplementedError):
    """PyTorch has no kernel of the op for this dtype (its '"<kernel>" not implemented for '<Type>''): a
    ``NotImplementedError``, as PyTorch's is."""


class DeviceError(InvalidArgument):
    """A device this engine does not have."""


class GraphError(EngineError):
    """The graph cannot do what was asked: freed, modified in place, or no grad to follow."""


class NoDerivative(EngineError, NotImplementedError):
    """An op has no backward rule for one of its inputs."""


class NotForComplex(EngineError, NotImplementedError):
    """An op PyTorch does not implement for complex tensors (an order, a clamp, ...): its words."""


class AnomalyError(GraphError):
    """A backward node made a NaN input gradient while anomaly detection is on (``autograd.detect_anomaly``).
    ``trace``: the id of the op command that recorded the node, when it was issued under anomaly detection too."""

    def __init__(self, message, trace=0):
        super().__init__(message)
        self.trace = trace
