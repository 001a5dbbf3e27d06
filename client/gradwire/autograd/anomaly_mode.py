"""``gradwire.autograd.anomaly_mode``, as ``torch.autograd.anomaly_mode``: ``detect_anomaly`` and ``set_detect_anomaly``."""

from ..grad_mode import detect_anomaly, set_detect_anomaly

__all__ = ["detect_anomaly", "set_detect_anomaly"]
