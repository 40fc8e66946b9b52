"""Rprop (resilient backpropagation) like torch.optim.Rprop.

Per element, with s = sign(g * prev): the step size is multiplied by etaplus (s > 0), etaminus (s < 0)
or 1 (s == 0) and clamped to step_sizes; where s < 0 the gradient is taken as 0 (no move, and no sign
change is seen next step); p -= sign(g) * step_size; prev = g. State: step, prev, step_size.
"""
import pyml
from .optimizer import Optimizer, _check, _step_tensor
from ._common import flag_defaults, reject_differentiable

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop with per-element adaptive step sizes, like torch.optim.Rprop."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False,
                 foreach=None, maximize=False, differentiable=False):
        _check(lr >= 0.0, f"Invalid learning rate: {lr}")
        _check(0.0 < etas[0] < 1.0 < etas[1], f"Invalid eta values: {etas[0]}, {etas[1]}")
        reject_differentiable("Rprop", differentiable)
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                        **flag_defaults(foreach, maximize, differentiable, capturable))
        super().__init__(params, defaults)

    def _update(self, p, grad, g, state):
        if len(state) == 0:
            state["step"] = _step_tensor(0.0)
            state["prev"] = self._zeros(p)
            state["step_size"] = pyml.full_like(p, g["lr"])  # in p's layout, as the fused step needs
        self._next_step(state)
        etaminus, etaplus = g["etas"]
        lo, hi = g["step_sizes"]
        if g["maximize"]:
            grad = -grad
        sign = grad.mul(state["prev"]).sign()
        factor = pyml.where(sign < 0, etaminus, pyml.ones_like(sign))  # in sign's dtype, not the default one
        factor = pyml.where(sign > 0, etaplus, factor)
        state["step_size"].mul_(factor).clamp_(lo, hi)
        grad = pyml.where(sign < 0, 0.0, grad)  # a sign change: skip this element now and next step
        p.addcmul_(grad.sign(), state["step_size"], value=-1)
        state["prev"].copy_(grad)
