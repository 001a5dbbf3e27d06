"""Optimizer steps, on the server: PyTorch's SGD, Adam (AdamW), Adamax, RAdam, NAdam, RMSprop, Adagrad, Adadelta,
Rprop, ASGD, Adafactor and Muon, in place on the parameters.

An ``Optimizer`` holds only state (momentum buffers, Adam's moments and step counts), keyed
by whatever the caller names each parameter with (the service uses the client's handle). The
hyperparameters arrive with every step, as the client's ``param_groups`` hold them then.

The maths follows ``torch.optim``'s single-tensor code path line by line, so results agree
with PyTorch's to rounding (SGD's to the bit on NumPy: see ``backend.axpy``). Each update is a
few NumPy/CuPy ufuncs writing into existing arrays (``out=``): no array is allocated per
parameter beyond a temporary or two, and nothing leaves the device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .backend import axpy
from .dtypes import is_floating
from .errors import GraphError, InvalidArgument, NotForComplex, ShapeError
from .tensor import Tensor

KINDS = ("sgd", "adam", "rmsprop", "adagrad", "adamax", "radam", "nadam", "adadelta", "rprop", "asgd", "adafactor", "muon")  # AdamW is Adam with decoupled_weight_decay

# the tensors of each kind's per-parameter state, and its numbers
STATE_TENSORS = {
    "sgd": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    "rmsprop": ("square_avg", "momentum_buffer", "grad_avg"),
    "adagrad": ("sum",),
    "adamax": ("exp_avg", "exp_inf"),
    "radam": ("exp_avg", "exp_avg_sq"),
    "nadam": ("exp_avg", "exp_avg_sq"),
    "adadelta": ("square_avg", "acc_delta"),
    "rprop": ("prev", "step_size"),
    "asgd": ("ax",),
    "adafactor": ("row_var", "col_var", "variance"),  # the row and column factors of a matrix's, a vector's own
    "muon": ("momentum_buffer",),
}
STATE_NUMBERS = {
    "sgd": (), "adam": ("step",), "rmsprop": ("step",), "adagrad": ("step",), "adamax": ("step",), "radam": ("step",),
    "nadam": ("step", "mu_product"), "adadelta": ("step",), "rprop": ("step",), "asgd": ("step", "eta", "mu"),
    "adafactor": ("step",),
    "muon": (),
}


@dataclass
class Group:
    """One param group's hyperparameters for one step (PyTorch's names)."""

    params: list  # (key, Tensor) pairs
    lr: float = 1e-3
    weight_decay: float = 0.0
    maximize: bool = False
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    amsgrad: bool = False
    decoupled_weight_decay: bool = False
    alpha: float = 0.99
    centered: bool = False
    lr_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    momentum_decay: float = 4e-3
    rho: float = 0.9
    etaminus: float = 0.5
    etaplus: float = 1.2
    step_size_min: float = 1e-6
    step_size_max: float = 50.0
    lambd: float = 1e-4
    t0: float = 1e6
    beta2_decay: float = -0.8  # Adafactor
    eps1: float | None = None  # Adafactor: None, the parameter dtype's eps
    eps2: float = 1e-3  # Adafactor
    d: float = 1.0  # Adafactor
    ns_coefficients: tuple = (3.4445, -4.775, 2.0315)  # Muon
    ns_steps: int = 5  # Muon
    adjust_lr_fn: str | None = None  # Muon: None or "original", or "match_rms_adamw"


def state_shape(kind, name, shape):
    """The shape of a state tensor of a parameter of ``shape``: the parameter's, but for Adafactor's factors."""
    if kind == "adafactor" and name == "row_var":
        return tuple(shape[:-1]) + (1,)
    if kind == "adafactor" and name == "col_var":
        return tuple(shape[:-2]) + (1,) + tuple(shape[-1:])
    return tuple(shape)


class Optimizer:
    """The state of one optimizer; ``step(groups)`` updates the parameters in place."""

    def __init__(self, kind: str, xp):
        if kind not in KINDS:
            raise InvalidArgument(f"unknown optimizer {kind!r}; known: {', '.join(KINDS)}")
        self.kind = kind
        self.xp = xp
        self.state: dict = {}  # key -> {name: array or number}

    def step(self, groups: list[Group]):
        update = _UPDATES[self.kind]
        for group in groups:
            for key, param in group.params:
                if param.grad_fn is not None:
                    raise GraphError("can't optimize a non-leaf Tensor")
                if param.grad is None:  # as PyTorch: a parameter without a gradient is left alone
                    continue
                if param.dtype.kind == "c" and self.kind not in _REAL_ONLY:  # as PyTorch: a complex one as its real view
                    _complex_update(self.xp, update, param.array, param.grad.array, self.state.setdefault(key, {}), group)
                    param._version[0] += 1
                    continue
                if not is_floating(param.dtype) or param.dtype.kind == "c":
                    raise InvalidArgument(f"an optimizer can only update floating point parameters, got {param.dtype}")
                update(self.xp, param.array, param.grad.array, self.state.setdefault(key, {}), group)
                param._version[0] += 1  # an in-place change: a pending backward that saved it will say so

    # --- state, for state_dict() / load_state_dict() -------------------------------------
    def get(self, key, name):
        """A state tensor's array or a state number, or None where this parameter has none."""
        return self.state.get(key, {}).get(name)

    def load(self, entries):
        """Replace all state with ``(key, param, name, value)`` entries; arrays are copied and cast
        to the parameter's dtype, as PyTorch's ``load_state_dict`` does."""
        tensors, numbers = STATE_TENSORS[self.kind], STATE_NUMBERS[self.kind]
        state = {}
        for key, param, name, value in entries:
            if name in tensors:
                if not isinstance(value, Tensor):
                    raise InvalidArgument(f"optimizer state {name!r} must be a tensor")
                expected = state_shape(self.kind, name, param.shape)
                if tuple(value.shape) != expected:
                    whose = "its parameter has shape" if expected == tuple(param.shape) else "it must have shape"
                    raise ShapeError(f"loaded state {name!r} has shape {list(value.shape)}, but {whose} {list(expected)}")
                array = value.array.astype(param.dtype, copy=True)
            elif name in numbers:
                if isinstance(value, Tensor):
                    raise InvalidArgument(f"optimizer state {name!r} must be a number")
                array = float(value)
            else:
                known = ", ".join(tensors + numbers)
                raise InvalidArgument(f"{self.kind} has no state named {name!r}; its state: {known}")
            state.setdefault(key, {})[name] = array
        self.state = state

    def nbytes(self) -> int:
        return sum(v.nbytes for s in self.state.values() for v in s.values() if not isinstance(v, float))


def _sgd(xp, p, grad, state, group):
    """torch.optim.SGD: weight decay, (Nesterov) momentum with dampening, then p -= lr * update.

    Every ``x.add_(y, alpha=a)`` of PyTorch's is ``axpy``: in place, one pass, fused as PyTorch's.
    """
    g = xp.negative(grad, out=xp.empty_like(grad)) if group.maximize else grad  # an array even when 0-d
    if group.weight_decay != 0:
        g = g.copy() if g is grad else g  # a new array: the parameter's .grad stays as it was
        axpy(xp, group.weight_decay, p, g)
    momentum = group.momentum
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = g.copy()
        else:
            xp.multiply(buf, momentum, out=buf)
            axpy(xp, 1 - group.dampening, g, buf)
        if group.nesterov:
            g = g.copy() if g is grad else g
            axpy(xp, momentum, buf, g)
        else:
            g = buf
    axpy(xp, -group.lr, g, p)


def _adam(xp, p, grad, state, group):
    """torch.optim.Adam (and AdamW: decoupled weight decay): bias-corrected moments, optional AMSGrad."""
    if not state:
        state["step"] = 0.0
        state["exp_avg"] = xp.zeros_like(p)
        state["exp_avg_sq"] = xp.zeros_like(p)
    if group.amsgrad and "max_exp_avg_sq" not in state:
        state["max_exp_avg_sq"] = xp.zeros_like(p)
    state["step"] = step = state["step"] + 1
    lr, beta1, beta2 = group.lr, group.beta1, group.beta2
    g = xp.negative(grad, out=xp.empty_like(grad)) if group.maximize else grad  # an array even when 0-d
    if group.weight_decay != 0:
        if group.decoupled_weight_decay:
            xp.multiply(p, 1 - lr * group.weight_decay, out=p)
        else:
            g = g.copy() if g is grad else g  # .grad stays as it was
            axpy(xp, group.weight_decay, p, g)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    # exp_avg.lerp_(g, 1 - beta1), with PyTorch's two formulas for the two halves of the weight's range
    weight = 1 - beta1
    tmp = xp.subtract(g, exp_avg, out=xp.empty_like(p))  # out=: an array even for a 0-d parameter
    if weight < 0.5:
        axpy(xp, weight, tmp, exp_avg)  # exp_avg + weight * (g - exp_avg)
    else:
        xp.copyto(exp_avg, g)
        axpy(xp, -(1 - weight), tmp, exp_avg)  # g - (g - exp_avg) * (1 - weight)
    # exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    xp.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
    xp.multiply(g, g, out=tmp)
    axpy(xp, 1 - beta2, tmp, exp_avg_sq)
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = math.sqrt(1 - beta2**step)
    step_size = lr / bias_correction1
    if group.amsgrad:
        second = state["max_exp_avg_sq"]
        xp.maximum(second, exp_avg_sq, out=second)
    else:
        second = exp_avg_sq
    # denom = second.sqrt() / bias_correction2_sqrt + eps; p.addcdiv_(exp_avg, denom, value=-step_size)
    denom = xp.sqrt(second, out=tmp)
    denom /= bias_correction2_sqrt
    denom += group.eps
    update = xp.multiply(exp_avg, -step_size, out=xp.empty_like(p))  # PyTorch's order: (value * t1) / t2
    xp.divide(update, denom, out=update)
    p += update


def _lerp(xp, start, end, weight, tmp):
    """``start.lerp_(end, weight)`` in place, with PyTorch's two formulas for the two halves of the weight's range."""
    xp.subtract(end, start, out=tmp)
    if weight < 0.5:
        axpy(xp, weight, tmp, start)  # start + weight * (end - start)
    else:
        xp.copyto(start, end)
        axpy(xp, -(1 - weight), tmp, start)  # end - (end - start) * (1 - weight)


def _decayed(xp, p, grad, group):
    """The gradient a step uses: negated with ``maximize``, plus ``weight_decay * p`` (a new array; .grad stays)."""
    g = xp.negative(grad, out=xp.empty_like(grad)) if group.maximize else grad  # an array even when 0-d
    if group.weight_decay != 0:
        g = g.copy() if g is grad else g
        axpy(xp, group.weight_decay, p, g)
    return g


def _rmsprop(xp, p, grad, state, group):
    """torch.optim.RMSprop: a running average of the squared gradient (centered: minus the squared average
    gradient), its square root plus eps dividing the step, optionally with momentum."""
    if not state:
        state["step"] = 0.0
        state["square_avg"] = xp.zeros_like(p)
    if group.momentum > 0 and "momentum_buffer" not in state:
        state["momentum_buffer"] = xp.zeros_like(p)
    if group.centered and "grad_avg" not in state:
        state["grad_avg"] = xp.zeros_like(p)
    state["step"] += 1
    alpha = group.alpha
    g = _decayed(xp, p, grad, group)
    square_avg = state["square_avg"]
    tmp = xp.multiply(g, g, out=xp.empty_like(p))  # square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)
    xp.multiply(square_avg, alpha, out=square_avg)
    axpy(xp, 1 - alpha, tmp, square_avg)
    if group.centered:
        grad_avg = state["grad_avg"]
        _lerp(xp, grad_avg, g, 1 - alpha, tmp)
        avg = xp.multiply(grad_avg, grad_avg, out=tmp)  # square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        xp.subtract(square_avg, avg, out=avg)
        xp.sqrt(avg, out=avg)
    else:
        avg = xp.sqrt(square_avg, out=tmp)
    avg += group.eps
    if group.momentum > 0:
        buf = state["momentum_buffer"]
        xp.multiply(buf, group.momentum, out=buf)  # buf.mul_(momentum).addcdiv_(g, avg)
        buf += g / avg
        axpy(xp, -group.lr, buf, p)
    else:
        p += _scaled_ratio(xp, -group.lr, g, avg)  # p.addcdiv_(g, avg, value=-lr)


def _adagrad(xp, p, grad, state, group):
    """torch.optim.Adagrad: the summed squared gradient's square root plus eps divides a step of a decaying rate."""
    if not state:
        state["step"] = 0.0
        state["sum"] = xp.full_like(p, group.initial_accumulator_value)
    state["step"] = step = state["step"] + 1
    g = _decayed(xp, p, grad, group)
    decay = 1 + (step - 1) * group.lr_decay
    if decay == 0:  # only a negative lr_decay (which the SDK refuses, as PyTorch does) gets here
        raise InvalidArgument(f"adagrad: lr_decay {group.lr_decay} makes the rate infinite at step {int(step)}")
    clr = group.lr / decay
    total = state["sum"]
    tmp = xp.multiply(g, g, out=xp.empty_like(p))  # sum.addcmul_(g, g, value=1)
    total += tmp
    std = xp.sqrt(total, out=tmp)
    std += group.eps
    p += _scaled_ratio(xp, -clr, g, std)  # p.addcdiv_(g, std, value=-clr)


def _adamax(xp, p, grad, state, group):
    """torch.optim.Adamax: Adam with the infinity norm: the step divides the bias-corrected first moment by a
    decaying maximum of |g| (plus eps)."""
    if not state:
        state["step"] = 0.0
        state["exp_avg"] = xp.zeros_like(p)
        state["exp_inf"] = xp.zeros_like(p)
    state["step"] = step = state["step"] + 1
    g = _decayed(xp, p, grad, group)
    exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
    tmp = xp.empty_like(p)
    _lerp(xp, exp_avg, g, 1 - group.beta1, tmp)
    xp.multiply(exp_inf, group.beta2, out=exp_inf)  # torch.maximum(exp_inf.mul_(beta2), |g| + eps)
    xp.abs(g, out=tmp)
    tmp += group.eps
    xp.maximum(exp_inf, tmp, out=exp_inf)
    clr = group.lr / (1 - group.beta1**step)
    p += _scaled_ratio(xp, -clr, exp_avg, exp_inf)  # p.addcdiv_(exp_avg, exp_inf, value=-clr)


def _adam_moments(xp, p, grad, state, group):
    """RAdam's and NAdam's common start: the step count, weight decay (decoupled: p shrinks; else added to
    the gradient) and both moments updated in place; (step, the gradient used, a scratch array of p's shape)."""
    if "exp_avg" not in state:  # the first step (NAdam's mu_product may be there already)
        state["step"] = 0.0
        state["exp_avg"] = xp.zeros_like(p)
        state["exp_avg_sq"] = xp.zeros_like(p)
    state["step"] = step = state["step"] + 1
    if group.weight_decay != 0 and group.decoupled_weight_decay:
        xp.multiply(p, 1 - group.lr * group.weight_decay, out=p)
        g = xp.negative(grad, out=xp.empty_like(grad)) if group.maximize else grad
    else:
        g = _decayed(xp, p, grad, group)
    exp_avg, exp_avg_sq, tmp = state["exp_avg"], state["exp_avg_sq"], xp.empty_like(p)
    _lerp(xp, exp_avg, g, 1 - group.beta1, tmp)
    xp.multiply(exp_avg_sq, group.beta2, out=exp_avg_sq)  # exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    xp.multiply(g, g, out=tmp)
    axpy(xp, 1 - group.beta2, tmp, exp_avg_sq)
    return step, g, tmp


def _radam(xp, p, grad, state, group):
    """torch.optim.RAdam: Adam whose adaptive step is rectified by the variance of its estimate, and plain
    momentum SGD while that variance is undefined (the first steps)."""
    step, g, tmp = _adam_moments(xp, p, grad, state, group)
    lr, beta1, beta2 = group.lr, group.beta1, group.beta2
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    bias_correction1, bias_correction2 = 1 - beta1**step, 1 - beta2**step
    corrected = exp_avg / bias_correction1
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        root = xp.sqrt(exp_avg_sq, out=tmp)
        root += group.eps
        adaptive = bias_correction2**0.5 / root
        p -= corrected * lr * adaptive * rect  # PyTorch's order of the products
    else:
        p -= corrected * lr


def _scaled_ratio(xp, value, numerator, denominator):
    """``value * numerator / denominator`` in PyTorch's addcdiv order, in one new array."""
    out = xp.multiply(numerator, value, out=xp.empty_like(numerator))
    return xp.divide(out, denominator, out=out)


def _nadam(xp, p, grad, state, group):
    """torch.optim.NAdam: Adam with Nesterov momentum, its momentum coefficient on a warming schedule
    (``momentum_decay``) whose running product corrects the first moment's bias."""
    state.setdefault("mu_product", 1.0)
    step, g, tmp = _adam_moments(xp, p, grad, state, group)
    lr, beta1, beta2 = group.lr, group.beta1, group.beta2
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * group.momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * group.momentum_decay))
    state["mu_product"] = mu_product = state["mu_product"] * mu
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    denom = xp.sqrt(exp_avg_sq / (1 - beta2**step))
    denom += group.eps
    p += g / denom * (-lr * (1.0 - mu) / (1.0 - mu_product))  # PyTorch's two addcdiv_ steps, in its order
    p += exp_avg / denom * (-lr * mu_next / (1.0 - mu_product * mu_next))


def _adadelta(xp, p, grad, state, group):
    """torch.optim.Adadelta: the step is the gradient scaled by the ratio of two running root-mean-squares,
    of the past updates and of the gradients (each plus eps), times ``lr``."""
    if not state:
        state["step"] = 0.0
        state["square_avg"] = xp.zeros_like(p)
        state["acc_delta"] = xp.zeros_like(p)
    state["step"] += 1
    rho = group.rho
    g = _decayed(xp, p, grad, group)
    square_avg, acc_delta = state["square_avg"], state["acc_delta"]
    tmp = xp.multiply(g, g, out=xp.empty_like(p))  # square_avg.mul_(rho).addcmul_(g, g, value=1 - rho)
    xp.multiply(square_avg, rho, out=square_avg)
    axpy(xp, 1 - rho, tmp, square_avg)
    std = xp.add(square_avg, group.eps, out=tmp)  # square_avg.add(eps).sqrt_()
    xp.sqrt(std, out=std)
    delta = xp.add(acc_delta, group.eps, out=xp.empty_like(p))  # acc_delta.add(eps).sqrt_().div_(std).mul_(g)
    xp.sqrt(delta, out=delta)
    xp.divide(delta, std, out=delta)
    xp.multiply(delta, g, out=delta)
    xp.multiply(delta, delta, out=tmp)  # acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
    xp.multiply(acc_delta, rho, out=acc_delta)
    axpy(xp, 1 - rho, tmp, acc_delta)
    axpy(xp, -group.lr, delta, p)


def _rprop(xp, p, grad, state, group):
    """torch.optim.Rprop: only the gradient's sign counts. Each element's step size grows by ``etaplus`` while the
    sign holds and shrinks by ``etaminus`` when it flips (within the bounds); after a flip that element rests one
    step (its remembered gradient is zeroed)."""
    if not state:
        state["step"] = 0.0
        state["prev"] = xp.zeros_like(p)
        state["step_size"] = xp.full_like(p, group.lr)
    state["step"] += 1
    g = xp.negative(grad, out=xp.empty_like(grad)) if group.maximize else grad.copy()  # a copy: .grad stays
    prev, step_size = state["prev"], state["step_size"]
    sign = xp.sign(xp.multiply(g, prev, out=xp.empty_like(p)))
    factor = xp.where(sign > 0, group.etaplus, xp.where(sign < 0, group.etaminus, 1.0)).astype(p.dtype, copy=False)
    xp.multiply(step_size, factor, out=step_size)  # step_size.mul_(sign).clamp_(min, max)
    xp.clip(step_size, group.step_size_min, group.step_size_max, out=step_size)
    g[sign < 0] = 0  # PyTorch's grad[sign.eq(etaminus)] = 0: the elements whose sign flipped
    p -= xp.sign(g) * step_size  # p.addcmul_(g.sign(), step_size, value=-1)
    xp.copyto(prev, g)


def _asgd(xp, p, grad, state, group):
    """torch.optim.ASGD: SGD with a decaying rate ``eta`` and a decay term ``lambd``, keeping ``ax``, the average of
    the iterates from step ``t0`` on (weighted by ``mu``; before t0 ax is the iterate itself)."""
    if not state:
        state["step"] = 0.0
        state["eta"] = float(group.lr)
        state["mu"] = 1.0
        state["ax"] = xp.zeros_like(p)
    state["step"] = step = state["step"] + 1
    g = _decayed(xp, p, grad, group)
    eta, ax = state["eta"], state["ax"]
    xp.multiply(p, 1 - group.lambd * eta, out=p)  # p.mul_(1 - lambd * eta).add_(g, alpha=-eta)
    axpy(xp, -eta, g, p)
    if state["mu"] != 1:  # ax.add_(p.sub(ax).mul_(mu))
        ax += (p - ax) * state["mu"]
    else:
        xp.copyto(ax, p)
    state["eta"] = group.lr / ((1 + group.lambd * group.lr * step) ** group.alpha)
    state["mu"] = 1 / max(1, step - group.t0)


def _lerp(xp, state, end, weight, tmp):
    """state.lerp_(end, weight), with PyTorch's two formulas for the two halves of the weight's range."""
    xp.subtract(end, state, out=tmp)
    if weight < 0.5:
        tmp *= weight
        state += tmp
    else:
        tmp *= 1 - weight
        xp.subtract(end, tmp, out=state)


def _adafactor(xp, p, grad, state, group):
    """torch.optim.Adafactor (its single-tensor code): the second moment of a matrix's gradient kept as its row and
    column means (of a vector, whole), smoothed with weight step^beta2_decay; an update of RMS at most ``d``, scaled
    by min(lr, 1/sqrt(step)) times the parameter's RMS (at least eps2); decoupled weight decay."""
    if not state:
        state["step"] = 0.0
        if grad.ndim > 1:
            state["row_var"] = xp.zeros(state_shape("adafactor", "row_var", grad.shape), dtype=p.dtype)
            state["col_var"] = xp.zeros(state_shape("adafactor", "col_var", grad.shape), dtype=p.dtype)
        else:
            state["variance"] = xp.zeros_like(p)
    g = xp.negative(grad, out=xp.empty_like(grad)) if group.maximize else grad
    lr, beta2_decay, eps2, d = group.lr, group.beta2_decay, group.eps2, group.d
    eps1 = float(xp.finfo(p.dtype).eps) if group.eps1 is None else group.eps1
    state["step"] = step = state["step"] + 1
    one_minus_beta2_t = step**beta2_decay
    rho_t = min(lr, 1 / step**0.5)
    alpha = max(eps2, float(_vector_norm(xp, p, 2.0)) / max(p.size, 1) ** 0.5) * rho_t
    if group.weight_decay != 0:
        xp.multiply(p, 1 - lr * group.weight_decay, out=p)
    if g.ndim > 1:
        row_var, col_var = state["row_var"], state["col_var"]
        square = g * g
        _lerp(xp, row_var, square.sum(axis=-1, keepdims=True) / g.shape[-1], one_minus_beta2_t, xp.empty_like(row_var))
        _lerp(xp, col_var, square.sum(axis=-2, keepdims=True) / g.shape[-2], one_minus_beta2_t, xp.empty_like(col_var))
        var_estimate = row_var @ col_var
        var_estimate /= xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
    else:
        variance = state["variance"]
        _lerp(xp, variance, g * g, one_minus_beta2_t, xp.empty_like(variance))
        var_estimate = variance.copy()
    # eps1 squared, as the square root is taken after: eps1's own magnitude
    update = xp.maximum(var_estimate, eps1 * eps1, out=var_estimate)
    xp.sqrt(update, out=update)
    xp.divide(1, update, out=update)
    update *= g
    denom = max(1.0, float(_vector_norm(xp, update, 2.0)) / (max(update.size, 1) ** 0.5 * d))
    update *= -alpha / denom
    p += update


def _bfloat16(xp, x):
    """x rounded to bfloat16's precision (to nearest, ties to even), held in float32: NumPy has no bfloat16, and
    torch's Muon orthogonalizes in it (each op's float32 result rounded once: torch's on the CPU, to the bit)."""
    bits = xp.array(x, dtype=xp.float32, order="C").view(xp.uint32)  # (a copy, of any shape: 0-d too)
    bits = (bits + (((bits >> 16) & 1) + 0x7FFF)) & 0xFFFF0000
    return bits.view(xp.float32)


def _newton_schulz(xp, g, coefficients, steps, eps):
    """torch.optim.Muon's orthogonalization: a quintic Newton-Schulz iteration on G / ||G||, in bfloat16."""
    a, b, c = coefficients
    x = _bfloat16(xp, g)
    tall = g.shape[0] > g.shape[1]
    if tall:
        x = x.T
    norm = float(xp.sqrt((x * x).sum(dtype=xp.float32)))
    x = _bfloat16(xp, x / float(_bfloat16(xp, xp.asarray(max(norm, eps)))))
    for _ in range(steps):
        gram = _bfloat16(xp, x @ x.T)
        gram_update = _bfloat16(xp, b * gram + c * (gram @ gram))
        x = _bfloat16(xp, a * x + gram_update @ x)
    return x.T if tall else x


def _muon(xp, p, grad, state, group):
    """torch.optim.Muon: momentum (Nesterov's by default), the update orthogonalized by Newton-Schulz in bfloat16,
    a rate scaled by the matrix's shape (sqrt(max(1, rows/cols)), or 0.2 sqrt(max(rows, cols)) for
    "match_rms_adamw"), decoupled weight decay. 2-D parameters only."""
    if grad.ndim != 2:
        raise InvalidArgument("Param gradient must be a 2D matrix")
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = xp.zeros_like(grad)
    buf = state["momentum_buffer"]
    momentum = group.momentum
    _lerp(xp, buf, grad, 1 - momentum, xp.empty_like(buf))
    if group.nesterov:
        update = grad.copy()
        _lerp(xp, update, buf, momentum, xp.empty_like(update))
    else:
        update = buf
    steps = group.ns_steps
    if steps >= 100:
        raise InvalidArgument("Number of steps must be less than 100 for computational efficiency")
    if len(group.ns_coefficients) != 3:
        raise InvalidArgument("Coefficients must be a tuple of exactly 3 values")
    ortho = _newton_schulz(xp, update, tuple(group.ns_coefficients), steps, group.eps)
    rows, columns = p.shape
    ratio = 0.2 * math.sqrt(max(rows, columns)) if group.adjust_lr_fn == "match_rms_adamw" else math.sqrt(max(1, rows / columns))
    xp.multiply(p, 1 - group.lr * group.weight_decay, out=p)
    p += ortho.astype(p.dtype) * (-group.lr * ratio)


_REAL_ONLY = frozenset(("adafactor", "muon"))  # their states and updates read a matrix's shape: no complex parameters


def _complex_update(xp, update, p, grad, state, group):
    """A complex parameter's step as PyTorch's: the update of an elementwise optimizer on its real and imaginary parts as
    real numbers (``view_as_real``); its state tensors kept complex, as PyTorch's."""
    if not p.flags.c_contiguous:
        raise InvalidArgument("an optimizer can only update a complex parameter whose memory is contiguous")
    real = xp.float64 if p.dtype == xp.complex128 else xp.float32

    def as_real(a):
        return a.reshape(-1).view(real)

    views = {k: as_real(v) if getattr(v, "dtype", None) is not None and v.dtype.kind == "c" else v for k, v in state.items()}
    update(xp, as_real(p), as_real(xp.ascontiguousarray(grad)), views, group)
    size = 2 * p.size
    for k, v in views.items():
        if getattr(v, "dtype", None) is not None and v.dtype == real and v.size == size:
            state[k] = v.view(p.dtype).reshape(p.shape)  # (the same memory: later steps change it in place)
        else:
            state[k] = v


_UPDATES = {
    "sgd": _sgd, "adam": _adam, "rmsprop": _rmsprop, "adagrad": _adagrad, "adamax": _adamax, "radam": _radam, "nadam": _nadam,
    "adadelta": _adadelta, "rprop": _rprop, "asgd": _asgd, "adafactor": _adafactor, "muon": _muon,
}


# --- gradient clipping (torch.nn.utils), in place on the .grads before a step -------------------


def clip_grad_norm(xp, grads, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """``torch.nn.utils.clip_grad_norm_`` on arrays: scale them all, in place, so that their total
    ``norm_type``-norm is at most ``max_norm``; return the total norm before clipping (0-d)."""
    norm_type = float(norm_type)
    if not (norm_type > 0 or math.isinf(norm_type)) or math.isnan(norm_type):
        raise InvalidArgument(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    if not grads:
        return xp.zeros((), dtype=xp.float32)  # PyTorch's tensor(0.)
    total = _vector_norm(xp, xp.stack([_vector_norm(xp, g, norm_type) for g in grads]), norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise InvalidArgument(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    coef = xp.minimum(float(max_norm) / (total + 1e-6), 1.0)  # PyTorch's clamp(max=1.0), in the norm's dtype
    for g in grads:
        xp.multiply(g, coef.astype(g.dtype), out=g)
    return total


def clip_grad_value(xp, grads, clip_value):
    """``torch.nn.utils.clip_grad_value_`` on arrays: every element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in grads:
        if g.dtype.kind == "c":
            raise NotForComplex("clamp is not supported for complex types")
    for g in grads:
        xp.clip(g, -clip_value, clip_value, out=g)


def unscale_grads(xp, grads, inv_scale):
    """``GradScaler.unscale_`` on arrays (torch's ``_amp_foreach_non_finite_check_and_unscale_``): each grad checked
    for an inf or a NaN, then multiplied by ``inv_scale`` in place; return found_inf, 0-d float32 (1.0 where one
    held a non-finite value). Device ops only: nothing waits on the GPU here."""
    found = xp.zeros((), dtype=bool)
    for g in grads:
        found = xp.logical_or(found, ~xp.isfinite(g).all())  # checked before the multiply, as torch's kernel
        xp.multiply(g, g.dtype.type(inv_scale), out=g)
    return found.astype(xp.float32)


def _vector_norm(xp, x, p):
    if x.dtype.kind == "c":  # of the magnitudes, as PyTorch's (x * x would square the complex numbers)
        x = xp.abs(x)
    if x.size == 0:
        return xp.zeros((), dtype=x.dtype)
    if math.isinf(p):
        return xp.abs(x).max() if p > 0 else xp.abs(x).min()
    if p == 2:
        return xp.sqrt(xp.vdot(x, x)) if x.dtype.kind == "f" else xp.sqrt((x * x).sum())
    if p == 1:
        return xp.abs(x).sum()
    return (xp.abs(x) ** p).sum() ** (1 / p)
