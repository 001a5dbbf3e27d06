"""``gw.amp.GradScaler``: torch's loss scaling for float16 training, with the unscale and the inf/NaN check on the server.

The scale and the growth tracker are numbers on the client (torch keeps them as device tensors, and syncs to read
them); ``unscale_`` is one command over the optimizer's .grads (``ClipGrad`` with ``unscale``), whose found_inf stays
on the server until ``step`` reads it: the one sync per step, where torch syncs too.
"""

from __future__ import annotations

import enum
import warnings

import numpy as np


class OptState(enum.Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state():
    return {"stage": OptState.READY, "found_inf": None, "found_inf_value": None}


def _f32(value):
    """A number rounded to float32, as torch's scale tensor holds it."""
    return float(np.float32(value))


class GradScaler:
    """``torch.amp.GradScaler(device="cuda", init_scale=2.**16, growth_factor=2.0, backoff_factor=0.5,
    growth_interval=2000, enabled=True)``: multiplies the loss by the scale (``scale``), divides the optimizer's
    gradients by it on the server and checks them for inf/NaN (``unscale_``), skips ``optimizer.step()`` where one was
    found (``step``), and backs the scale off then, or grows it after ``growth_interval`` clean steps (``update``).

    As torch's, ``GradScaler("cuda")`` warns and disables itself where CUDA is not available: here, where no open
    session's server computes on CUDA (create it after ``gw.connect``). Use ``GradScaler("cpu")`` with a CPU server.
    """

    def __init__(self, device="cuda", init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = enabled
        if device == "cuda" and enabled:
            from ..cuda import is_available

            if not is_available():
                warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.", stacklevel=2)
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None  # a float32 value, set by the first scale()
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = {}

    def _optimizer_state(self, optimizer):
        return self._per_optimizer_states.setdefault(id(optimizer), _refresh_per_optimizer_state())

    def _check_scale_growth_tracker(self, funcname):
        fix = "This may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration."
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)

    def _lazy_init_scale_growth_tracker(self):
        self._scale = _f32(self._init_scale)
        self._growth_tracker = int(self._init_growth_tracker)

    def scale(self, outputs):
        """``outputs`` (a tensor, or tensors nested in lists and tuples) multiplied by the scale; as they are when disabled."""
        if not self._enabled:
            return outputs
        from ..tensor import Tensor

        if self._scale is None:
            self._lazy_init_scale_growth_tracker()

        def apply_scale(value):
            if isinstance(value, Tensor):
                return value * self._scale
            if isinstance(value, (list, tuple)):
                return type(value)(map(apply_scale, value))
            if hasattr(value, "__iter__"):
                return map(apply_scale, value)
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def unscale_(self, optimizer):
        """Divide ``optimizer``'s gradients by the scale in place (one command; call it before clipping them). It checks
        them for inf/NaN on the server as it goes; ``step`` reads the result."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        optimizer_state = self._optimizer_state(optimizer)
        if optimizer_state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if any(p.grad.dtype == np.float16 for p in params):
            raise ValueError("Attempting to unscale FP16 gradients.")
        if params:  # (none: no check recorded, and step() says so, as torch's)
            inv_scale = _f32(1.0 / float(self._scale))  # torch's: the reciprocal in double, rounded to float32
            optimizer_state["found_inf"] = params[0]._session._unscale_grads(params, inv_scale)
        optimizer_state["stage"] = OptState.UNSCALED

    def _found_inf(self, optimizer_state):
        """found_inf as a number: the sync point (the value leaves the server once)."""
        if optimizer_state["found_inf_value"] is None:
            optimizer_state["found_inf_value"] = float(optimizer_state["found_inf"].item())
        return optimizer_state["found_inf_value"]

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` on unscaled gradients, skipped where any held an inf or a NaN; returns what
        it returned (None where skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        optimizer_state = self._optimizer_state(optimizer)
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if optimizer_state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if optimizer_state["found_inf"] is None and optimizer_state["found_inf_value"] is None:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None
        if not self._found_inf(optimizer_state):
            retval = optimizer.step(*args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None):
        """The scale for the next iteration: ``new_scale`` where given; else backed off (times ``backoff_factor``)
        where this iteration found an inf or a NaN, grown (times ``growth_factor``) after ``growth_interval`` clean
        iterations in a row, as torch's ``_amp_update_scale_``."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                self._scale = _f32(new_scale)
            else:
                reason = "new_scale should be a float or a 1-element torch.cuda.FloatTensor or torch.FloatTensor with requires_grad=False."
                if getattr(new_scale, "requires_grad", False) or getattr(new_scale, "numel", lambda: 0)() != 1:
                    raise AssertionError(reason)
                self._scale = _f32(new_scale.item())
        else:
            states = [s for s in self._per_optimizer_states.values() if s["found_inf"] is not None or s["found_inf_value"] is not None]
            if not states:
                raise AssertionError("No inf checks were recorded prior to update.")
            if sum(self._found_inf(s) for s in states):
                self._scale = _f32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    grown = _f32(self._scale * self._growth_factor)
                    if np.isfinite(grown):  # torch keeps the scale where growing it would overflow float32
                        self._scale = grown
                    successful = 0
                self._growth_tracker = successful
        self._per_optimizer_states = {}

    def get_scale(self):
        """The scale as a Python float (1.0 where disabled; ``init_scale`` before the first ``scale``)."""
        if self._enabled:
            return self._init_scale if self._scale is None else self._scale
        return 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if self._enabled:
            return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker
        return 0

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """``scale growth_factor backoff_factor growth_interval _growth_tracker`` as torch's (empty where disabled)."""
        if self._enabled:
            return {
                "scale": self.get_scale(),
                "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker(),
            }
        return {}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler."
            )
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale = _f32(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker = int(state_dict["_growth_tracker"])

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._enabled:
            if self._per_optimizer_states:
                raise AssertionError(
                    "A GradScaler instance may only be pickled at the beginning of an iteration, or at the end after scaler.update()."
                )
            state["_per_optimizer_states"] = {}
        return state
