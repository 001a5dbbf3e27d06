"""The autograd engine: tensors, one forward table, one VJP table, backward.

It runs in-process and knows nothing of gRPC; the service drives it.
"""

from .backend import Backend
from .dtypes import SUPPORTED as SUPPORTED_DTYPES, parse_dtype
from .engine import Engine, MaxResult, MinResult
from .errors import AnomalyError, DeviceError, DTypeError, EngineError, GraphError, IndexOutOfRange, InvalidArgument, LinAlgError, NoDerivative, ShapeError
from .graph import DROPPED, AccumulateGrad, Node, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .ops import OPS
from .tensor import Tensor
from .vjps import NON_DIFFERENTIABLE, VJPS

__all__ = [
    "AccumulateGrad", "AnomalyError", "Backend", "DROPPED", "DTypeError", "DeviceError", "Engine", "EngineError", "GraphError",
    "IndexOutOfRange", "InvalidArgument", "LinAlgError", "MaxResult", "MinResult", "NON_DIFFERENTIABLE", "NoDerivative", "Node", "OPS",
    "SUPPORTED_DTYPES", "ShapeError", "Tensor", "VJPS", "enable_grad", "is_grad_enabled", "no_grad",
    "parse_dtype", "set_grad_enabled",
]
