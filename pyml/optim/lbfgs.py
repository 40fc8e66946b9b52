"""L-BFGS like torch.optim.LBFGS: one parameter group, all parameters seen as one flat vector.

step(closure) runs up to max_iter iterations: the direction is the two-loop recursion over the last
history_size pairs (s = t d, y = g_new - g_old; a pair is kept only when y.s > 1e-10), scaled by
H_diag = y.s / y.y; the step is lr (lr * min(1, 1/|g|_1) on the very first iteration), or comes from
the strong-Wolfe line search (_line_search.py). The iteration state lives in the state of the first
parameter (torch's keys: func_evals, n_iter, d, t, old_dirs, old_stps, ro, H_diag, prev_flat_grad,
prev_loss, al), so state_dict round-trips it. Scalars derived from dot products stay 0-dim tensors of
the parameters' dtype, as in torch, so float32 runs round the same way.
"""
import pyml
from ..autograd.grad_mode import no_grad, enable_grad
from .optimizer import Optimizer, _check
from ._line_search import strong_wolfe

__all__ = ["LBFGS"]

_MEMORY = ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss")


def _check_line_search(fn):
    if fn not in (None, "strong_wolfe"):
        raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {fn!r}")


class LBFGS(Optimizer):
    """Limited-memory BFGS with an optional strong-Wolfe line search; step() requires a closure."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        _check(lr >= 0.0, f"Invalid learning rate: {lr}")
        _check_line_search(line_search_fn)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups), got "
                             f"{len(self.param_groups)} groups")
        for p in self._params:
            if p.dtype.is_complex:
                raise TypeError(f"LBFGS: parameters must be real, got {p.dtype}")

    @property
    def _params(self):
        return self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # ---- the parameters as one flat vector

    def _flat_grad(self):
        views = [pyml.zeros(p.numel(), dtype=p.dtype, device=p.device) if p.grad is None else p.grad.reshape(-1)
                 for p in self._params]
        return pyml.cat(views, 0)

    def _add_grad(self, step, update):
        """p += step * update (the slice of the flat vector that is p)."""
        offset = 0
        for p in self._params:
            n = p.numel()
            p.add_(update[offset:offset + n].view(p.shape), alpha=float(step))
            offset += n

    def _directional_evaluate(self, closure, x, t, d):
        """(loss, flat gradient) at x + t d; the parameters are put back to x."""
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._flat_grad()
        for p, saved in zip(self._params, x):
            p.copy_(saved)
        return loss, flat_grad

    # ---- the step

    def step(self, closure=None):
        """Up to max_iter L-BFGS iterations; returns the loss the closure gave at the starting point."""
        if closure is None:
            raise TypeError("LBFGS.step: a closure (re-evaluates the model, returns the loss) is required, "
                            "got None")
        _check_line_search(self.param_groups[0]["line_search_fn"])

        def evaluate():
            with enable_grad():
                return closure()
        with no_grad():
            return self._step(evaluate, self.param_groups[0])

    def _step(self, evaluate, group):
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = evaluate()
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if flat_grad.abs().max() <= group["tolerance_grad"]:
            return orig_loss
        mem = {k: state.get(k) for k in _MEMORY}
        self._iterate(evaluate, group, state, mem, float(orig_loss), flat_grad)
        state.update(mem)
        return orig_loss

    def _iterate(self, evaluate, group, state, mem, loss, flat_grad):
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        evals, n_iter = 1, 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            mem["d"] = self._direction(state, mem, flat_grad, group["history_size"])
            d = mem["d"]
            if mem["prev_flat_grad"] is None:
                mem["prev_flat_grad"] = flat_grad.clone()
            else:
                mem["prev_flat_grad"].copy_(flat_grad)
            mem["prev_loss"] = loss
            t = min(1.0, 1.0 / flat_grad.abs().sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)  # the slope along d
            if gtd > -tol_change:
                mem["t"] = t
                break
            if group["line_search_fn"] is not None:
                loss, flat_grad, t, ls_evals = self._line_search(evaluate, t, d, loss, flat_grad, gtd,
                                                                 max_eval - evals)
                self._add_grad(t, d)
                opt_cond = flat_grad.abs().max() <= tol_grad
            else:
                self._add_grad(t, d)
                ls_evals = 0
                if n_iter != max_iter:  # the last iteration's point is not evaluated (torch's rule)
                    loss = float(evaluate())
                    flat_grad = self._flat_grad()
                    opt_cond = flat_grad.abs().max() <= tol_grad
                    ls_evals = 1
            mem["t"] = t
            evals += ls_evals
            state["func_evals"] += ls_evals
            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if d.mul(t).abs().max() <= tol_change or abs(loss - mem["prev_loss"]) < tol_change:
                break

    def _line_search(self, evaluate, t, d, loss, flat_grad, gtd, max_ls):
        x_init = [p.clone() for p in self._params]

        def obj_func(x, step, direction):
            return self._directional_evaluate(evaluate, x, step, direction)
        return strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_ls)

    def _direction(self, state, mem, flat_grad, history_size):
        """-H g: steepest descent on the first iteration, else the L-BFGS two-loop recursion."""
        if state["n_iter"] == 1:
            mem.update(old_dirs=[], old_stps=[], ro=[], H_diag=1)
            return flat_grad.neg()
        self._remember(mem, flat_grad, history_size)
        dirs, stps, ro = mem["old_dirs"], mem["old_stps"], mem["ro"]
        if "al" not in state:
            state["al"] = [None] * history_size
        al = state["al"]
        q = flat_grad.neg()
        for i in range(len(dirs) - 1, -1, -1):
            al[i] = stps[i].dot(q) * ro[i]
            q.add_(dirs[i], alpha=-float(al[i]))
        r = q.mul(mem["H_diag"])
        for i in range(len(dirs)):
            be_i = dirs[i].dot(r) * ro[i]
            r.add_(stps[i], alpha=float(al[i] - be_i))
        return r

    @staticmethod
    def _remember(mem, flat_grad, history_size):
        """Push the newest (y, s) pair when the curvature y.s is positive enough; drop the oldest."""
        y = flat_grad.sub(mem["prev_flat_grad"])
        s = mem["d"].mul(mem["t"])
        ys = y.dot(s)
        if not ys > 1e-10:
            return
        if len(mem["old_dirs"]) == history_size:
            for k in ("old_dirs", "old_stps", "ro"):
                mem[k].pop(0)
        mem["old_dirs"].append(y)
        mem["old_stps"].append(s)
        mem["ro"].append(1.0 / ys)
        mem["H_diag"] = ys / y.dot(y)
