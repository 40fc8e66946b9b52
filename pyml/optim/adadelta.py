"""Adadelta (Zeiler 2012) like torch.optim.Adadelta.

Per element: v = rho v + (1 - rho) g^2; delta = sqrt(u + eps) / sqrt(v + eps) * g;
u = rho u + (1 - rho) delta^2; p -= lr * delta. State: step, square_avg (v), acc_delta (u).
"""
from .optimizer import Optimizer, _check, _step_tensor
from ._common import flag_defaults, reject_differentiable, signed_grad

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta with optional weight decay and maximize, like torch.optim.Adadelta."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        _check(lr >= 0.0, f"Invalid learning rate: {lr}")
        _check(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
        _check(eps >= 0.0, f"Invalid epsilon value: {eps}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        reject_differentiable("Adadelta", differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                        **flag_defaults(foreach, maximize, differentiable, capturable))
        super().__init__(params, defaults)

    def _update(self, p, grad, g, state):
        if len(state) == 0:
            state["step"] = _step_tensor(0.0)
            state["square_avg"] = self._zeros(p)
            state["acc_delta"] = self._zeros(p)
        self._next_step(state)
        rho, eps = g["rho"], g["eps"]
        grad = signed_grad(p, grad, g)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        std = square_avg.add(eps).sqrt_()
        delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
        acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.add_(delta, alpha=-g["lr"])
