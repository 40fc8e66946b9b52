"""Adafactor (Shazeer & Stern 2018) like torch.optim.Adafactor (torch 2.5+ formulation).

Step t: beta2_t = 1 - t^beta2_decay; rho_t = min(lr, 1/sqrt(t)); alpha = max(eps2, RMS(p)) * rho_t.
A parameter with 2+ dims keeps factored second moments over its last two dims: row_var (.., R, 1) and
col_var (.., 1, C), both lerped toward the row/column means of g^2; the estimate is
row_var @ col_var / max(mean(row_var), eps1). A vector keeps a full `variance`. The update
g / sqrt(max(var, eps1^2)) is scaled down by max(1, RMS(update) / d) and applied with step -alpha.
Weight decay is decoupled: p *= 1 - lr * weight_decay. eps1=None means finfo(p.dtype).eps of each
parameter (torch takes the first parameter's dtype for the whole group; they differ only in mixed-dtype
groups).
"""
import pyml
from .optimizer import Optimizer, _check, _step_tensor
from ._common import flag_defaults

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor with factored second moments, like torch.optim.Adafactor."""

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        _check(lr >= 0.0, f"Learning rate should be >= 0 but is: {lr}")
        _check(beta2_decay <= 0.0, f"beta2_decay should be <= 0 but is: {beta2_decay}")
        _check(eps[0] is None or eps[0] >= 0.0, f"epsilon1 should be >= 0 but is: {eps[0]}")
        _check(eps[1] >= 0.0, f"epsilon2 should be >= 0 but is: {eps[1]}")
        _check(d >= 1.0, f"Clipping threshold d should be >= 1 but is: {d}")
        _check(weight_decay >= 0.0, f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, grad, state):
        state["step"] = _step_tensor(0.0)
        if grad.ndim > 1:
            state["row_var"] = grad.new_zeros(list(grad.shape[:-1]) + [1])  # (..., R, 1)
            state["col_var"] = grad.new_zeros(list(grad.shape[:-2]) + [1, grad.shape[-1]])  # (..., 1, C)
        else:
            state["variance"] = self._zeros(grad)

    def _update(self, p, grad, g, state):
        if p.dtype.is_complex:
            raise TypeError(f"Adafactor: parameters must be real, got {p.dtype}")
        if len(state) == 0:
            self._init_state(grad, state)
        if g["maximize"]:
            grad = -grad
        eps1, eps2 = g["eps"]
        if eps1 is None:
            eps1 = pyml.finfo(p.dtype).eps
        step = self._next_step(state)
        lr = g["lr"]
        beta2_t = step ** g["beta2_decay"]  # the weight of the new g^2 (torch's one_minus_beta2_t)
        rho_t = min(lr, 1 / (step ** 0.5))
        alpha = max(eps2, p.norm(2).item() / (p.numel() ** 0.5)) * rho_t
        if g["weight_decay"] != 0:
            p.mul_(1 - lr * g["weight_decay"])
        var = self._factored(grad, state, beta2_t, eps1) if grad.ndim > 1 else self._full(grad, state, beta2_t)
        update = var.clamp_(min=eps1 * eps1).rsqrt_().mul_(grad)  # eps1 squared: it bounds var, not its root
        denom = max(1.0, update.norm(2).item() / ((update.numel() ** 0.5) * g["d"]))
        p.add_(update, alpha=-alpha / denom)

    @staticmethod
    def _factored(grad, state, beta2_t, eps1):
        row_var, col_var = state["row_var"], state["col_var"]
        row_mean = pyml.norm(grad, dim=-1, keepdim=True).square_().div_(grad.shape[-1])  # (..., R, 1)
        row_var.copy_(pyml.lerp(row_var, row_mean, beta2_t))
        col_mean = pyml.norm(grad, dim=-2, keepdim=True).square_().div_(grad.shape[-2])  # (..., 1, C)
        col_var.copy_(pyml.lerp(col_var, col_mean, beta2_t))
        var = row_var @ col_var  # (..., R, C)
        return var.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))

    @staticmethod
    def _full(grad, state, beta2_t):
        variance = state["variance"]
        variance.copy_(pyml.lerp(variance, grad * grad, beta2_t))
        return variance.clone()
