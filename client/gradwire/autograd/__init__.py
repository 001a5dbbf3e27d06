"""``gradwire.autograd``: functional gradients, as ``torch.autograd`` (``grad``, ``backward``, ``functional.jacobian``,
``vjp``, ``jvp``, ``hvp``, ``vhp`` and ``hessian``), forward-mode AD (``forward_ad``, by double backward), custom
functions (``Function``), ``gradcheck`` and ``gradgradcheck``, anomaly detection (``detect_anomaly``,
``set_detect_anomaly``), the legacy profiler (``profiler.profile``, ``profiler.record_function``: ``gw.profiler``'s), the
grad-mode switches (``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``, the same objects as ``gw``'s),
the graph's nodes and hooks (``graph``: ``Node``, ``register_multi_grad_hook``, ``save_on_cpu``) and the legacy
``Variable``."""

from ..grad_mode import (
    detect_anomaly, enable_grad, inference_mode, is_anomaly_check_nan_enabled, is_anomaly_enabled, no_grad, set_detect_anomaly,
    set_grad_enabled,
)
from . import anomaly_mode, forward_ad, function, functional, grad_mode, graph, profiler
from .function import Function, FunctionCtx
from .functional import backward, grad
from .grad_mode import is_multithreading_enabled, is_view_replay_enabled, set_multithreading_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .variable import Variable

__all__ = ["Function", "FunctionCtx", "GradcheckError", "Variable", "anomaly_mode", "backward", "detect_anomaly", "enable_grad", "forward_ad",
           "function", "functional", "grad", "graph", "grad_mode", "gradcheck", "gradgradcheck", "inference_mode",
           "is_anomaly_check_nan_enabled", "is_anomaly_enabled", "is_multithreading_enabled", "is_view_replay_enabled", "no_grad", "profiler",
           "set_detect_anomaly", "set_grad_enabled", "set_multithreading_enabled"]
