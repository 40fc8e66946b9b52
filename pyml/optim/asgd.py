"""ASGD (averaged SGD, Polyak-Juditsky) like torch.optim.ASGD.

Per step t (from 1): p = p (1 - lambd eta) - eta g; ax = p while mu == 1, else ax += mu (p - ax);
then eta = lr / (1 + lambd lr t)^alpha and mu = 1 / max(1, t - t0). eta and mu are 0-dim tensors
holding values rounded like torch.as_tensor (the default dtype), so trajectories match torch's.
State: step, eta, mu, ax (the running average of the parameter).
"""
from .optimizer import Optimizer, _check, _step_tensor
from ._common import as_default_scalar, flag_defaults, reject_differentiable, signed_grad

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged stochastic gradient descent, like torch.optim.ASGD."""

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        _check(lr >= 0.0, f"Invalid learning rate: {lr}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        reject_differentiable("ASGD", differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        **flag_defaults(foreach, maximize, differentiable, capturable))
        super().__init__(params, defaults)

    def _update(self, p, grad, g, state):
        if len(state) == 0:
            state["step"] = _step_tensor(0.0)
            state["eta"] = _step_tensor(g["lr"])
            state["mu"] = _step_tensor(1.0)
            state["ax"] = self._zeros(p)
        step = self._next_step(state)
        lr, lambd = g["lr"], g["lambd"]
        grad = signed_grad(p, grad, g)
        eta = state["eta"].item()
        p.mul_(1 - lambd * eta)
        p.add_(grad, alpha=-eta)
        mu, ax = state["mu"].item(), state["ax"]
        if mu != 1:
            ax.add_(p.sub(ax).mul_(mu))
        else:
            ax.copy_(p)
        state["eta"].fill_(as_default_scalar(lr / ((1 + lambd * lr * step) ** g["alpha"])))
        state["mu"].fill_(as_default_scalar(1 / max(1, step - g["t0"])))
