"""``LBFGS``: limited-memory BFGS with an optional strong-Wolfe line search (``torch.optim.LBFGS``).

PyTorch's algorithm, step for step, stepped by the SDK: the vectors (the flat gradient, the direction,
the history of steps and gradient changes) are tensors on the server, made with ops (``cat`` of the
gradients' views, ``dot``, ``add``), and only scalars cross the network: the loss, the tests of the
stopping conditions and of the line search, where PyTorch's own LBFGS calls ``float``/``item`` too.
Each function evaluation is one sync point (its loss and the numbers the next decision needs, fetched
together), and each iteration two more (the curvature test y.s and the slope along the direction); the
two-loop recursion over the history is streamed without one.
"""

from __future__ import annotations

import math

from ..grad_mode import enable_grad, no_grad
from ..tensor import Tensor, cat
from .optimizer import Optimizer, _numbers


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through two points with their values and slopes, clipped to ``bounds``
    (PyTorch's, ported from torch/optim's polyinterp.lua)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, d_norm, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """PyTorch's strong-Wolfe line search (ported from lswolfe.lua): ``f``, ``gtd`` and the steps are numbers
    here, ``g`` and ``d`` server tensors; ``obj_func(x, t, d)`` returns ``(loss, flat_grad, gtd)``."""
    f_new, g_new, gtd_new = obj_func(x, t, d)
    ls_func_evals = 1
    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # interpolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new, gtd_new = obj_func(x, t, d)
        ls_func_evals += 1
        ls_iter += 1
    if ls_iter == max_ls:  # reached the most iterations
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom phase: a point satisfying the criteria, or a bracket around one, refined until one is found
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:  # the bracket is too small
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # too close to a boundary, twice or on it: evaluate 0.1 of the bracket away from it instead
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new, gtd_new = obj_func(x, t, d)
        ls_func_evals += 1
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo condition not satisfied or not lower than the lowest point
            bracket[high_pos], bracket_f[high_pos], bracket_g[high_pos], bracket_gtd[high_pos] = t, f_new, g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True  # Wolfe conditions satisfied
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high becomes the new low
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos], bracket_gtd[low_pos] = t, f_new, g_new, gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    """``torch.optim.LBFGS``: L-BFGS, its vectors kept on the server; ``step(closure)`` runs up to ``max_iter``
    iterations, re-evaluating the model through ``closure`` (which must zero the grads, compute the loss, call
    ``backward`` and return the loss).

    One parameter group only. ``line_search_fn``: None (a fixed step of ``lr``) or ``'strong_wolfe'``.
    The state, PyTorch's, is kept for the first parameter: ``func_evals``, ``n_iter``, the direction ``d``,
    the step ``t``, the history ``old_dirs``, ``old_stps`` and ``ro``, ``H_diag``, ``prev_flat_grad``,
    ``prev_loss`` and ``al`` (tensors on the server where PyTorch's are tensors).
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9, history_size=100,
                 line_search_fn=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr, "max_iter": max_iter, "max_eval": max_eval, "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change, "history_size": history_size, "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    # --- the flat vectors ---------------------------------------------------------------
    def _flat_params(self):
        return self.param_groups[0]["params"]

    def _gather_flat_grad(self) -> Tensor:
        views = []
        for p in self._flat_params():
            grad = p.grad
            views.append(p.new_zeros(p.numel()) if grad is None else grad.reshape(-1))
        return cat(views, 0)

    def _add_grad(self, step_size, update: Tensor):
        offset = 0
        for p in self._flat_params():
            numel = p.numel()
            p.add_(update[offset:offset + numel].view_as(p), alpha=step_size)
            offset += numel

    def _directional_evaluate(self, closure, x, t, d):
        """The loss, flat gradient and slope along ``d`` at ``x + t d``; the parameters are put back to ``x``."""
        self._add_grad(t, d)
        with enable_grad():
            loss = closure()
        flat_grad = self._gather_flat_grad()
        for p, saved in zip(self._flat_params(), x):
            p.copy_(saved)
        loss, gtd = _numbers(loss, flat_grad.dot(d))
        return loss, flat_grad, gtd

    # --- the step -------------------------------------------------------------------------
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss ``closure`` gave first."""
        with no_grad():
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr = float(group["lr"]) if isinstance(group["lr"], Tensor) else group["lr"]
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        # LBFGS's state is global; it is kept as the first parameter's, as PyTorch's
        state = self.state[self._flat_params()[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        # evaluate the initial f(x) and df/dx; the first iteration's step needs the gradient's 1-norm too
        with enable_grad():
            orig_loss = closure()
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        first = state["n_iter"] == 0
        numbers = _numbers(orig_loss, flat_grad.abs().max(), *((flat_grad.abs().sum().reciprocal(),) if first else ()))
        loss, grad_max = numbers[:2]
        if grad_max <= tolerance_grad:  # optimal already
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # the descent direction
            if state["n_iter"] == 1:
                d = flat_grad.neg()
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                # update the memory
                y = flat_grad.sub(prev_flat_grad)
                s = d.mul(t)
                ys = y.dot(s)
                if ys.item() > 1e-10:
                    if len(old_dirs) == history_size:  # shift the history by one (limited memory)
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)  # the scale of the initial inverse Hessian
                # the two-loop recursion: the approximate inverse Hessian times the gradient (no sync: the
                # coefficients al and be are server scalars)
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = flat_grad.neg()
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q = q - old_dirs[i] * al[i]
                r = q * H_diag
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r = r + old_stps[i] * (al[i] - be_i)
                d = r
            prev_flat_grad = flat_grad
            prev_loss = loss

            # the step length: the first iteration's is at most 1 / |g|_1
            if state["n_iter"] == 1:
                t = min(1.0, numbers[2]) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d).item()  # the directional derivative
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = [p.clone() for p in self._flat_params()]

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                d_norm = d.abs().max().item()
                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd, d_norm,
                                                                  max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                grad_max, step_max = _numbers(flat_grad.abs().max(), d.mul(t).abs().max())
            else:
                # a fixed step; the function is evaluated again unless this is the last iteration
                self._add_grad(t, d)
                if n_iter != max_iter:
                    with enable_grad():
                        loss = closure()
                    flat_grad = self._gather_flat_grad()
                    loss, grad_max, step_max = _numbers(loss, flat_grad.abs().max(), d.mul(t).abs().max())
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # the stopping conditions
            if n_iter == max_iter or current_evals >= max_eval or grad_max <= tolerance_grad:
                break
            if step_max <= tolerance_change or abs(loss - prev_loss) < tolerance_change:  # lack of progress
                break

        state["d"], state["t"] = d, t
        state["old_dirs"], state["old_stps"], state["ro"], state["H_diag"] = old_dirs, old_stps, ro, H_diag
        state["prev_flat_grad"], state["prev_loss"] = prev_flat_grad, prev_loss
        return orig_loss
