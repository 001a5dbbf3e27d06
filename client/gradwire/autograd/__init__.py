"""``gradwire.autograd``: functional gradients, as ``torch.autograd`` (``grad``, ``backward``, ``functional.jacobian``,
``vjp``, ``jvp``, ``hvp``, ``vhp`` and ``hessian``), custom functions (``Function``), ``gradcheck`` and
``gradgradcheck``, and anomaly detection (``detect_anomaly``, ``set_detect_anomaly``)."""

from ..grad_mode import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from . import function, functional
from .function import Function, FunctionCtx
from .functional import backward, grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["Function", "FunctionCtx", "GradcheckError", "backward", "detect_anomaly", "function", "functional", "grad", "gradcheck",
           "gradgradcheck", "is_anomaly_check_nan_enabled", "is_anomaly_enabled", "set_detect_anomaly"]
