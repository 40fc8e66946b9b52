"""Muon (Jordan et al. 2024) like torch.optim.Muon (torch 2.13): momentum orthogonalised by Newton-Schulz.

Per 2-D parameter p (A, B) with gradient g: buf = lerp(buf, g, 1 - momentum) (i.e. momentum*buf +
(1-momentum)*g); the update u = lerp(g, buf, momentum) with nesterov, else buf. O = NS(u): in bfloat16
(as torch), transpose to make rows <= cols, X = u / max(||u||_F, eps), then ns_steps times
G = X X^T; X = a X + (b G + c G G) X, and transpose back. Decoupled weight decay p *= 1 - lr*wd, then
p -= lr' O with lr' = lr * sqrt(max(1, A/B)) ("original", the default) or 0.2 * lr * sqrt(max(A, B))
("match_rms_adamw"). Muon is for 2-D hidden-layer weights only; biases and embeddings go to AdamW.
"""
import math

import pyml
from .optimizer import Optimizer, _check

__all__ = ["Muon"]

EPS = 1e-7
DEFAULT_A, DEFAULT_B, DEFAULT_C = 3.4445, -4.7750, 2.0315
DEFAULT_NS_STEPS = 5


def _zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """An approximately orthogonal matrix U S' V^T (S' ~ 1) from grad (A, B), computed in bfloat16."""
    if ns_steps >= 100:
        raise ValueError(f"Muon: ns_steps must be less than 100 for computational efficiency, got {ns_steps}")
    if grad.ndim != 2:
        raise ValueError(f"Muon: the Newton-Schulz input must be a 2-D matrix, got shape {tuple(grad.shape)}")
    if len(ns_coefficients) != 3:
        raise ValueError(f"Muon: ns_coefficients must hold exactly 3 values, got {tuple(ns_coefficients)}")
    a, b, c = ns_coefficients
    tall = grad.size(0) > grad.size(1)
    x = grad.bfloat16()
    if tall:
        x = x.T                                                         # (min, max): the Gram matrix stays small
    x = x / x.norm().clamp(min=eps)                                     # spectral norm <= 1
    for _ in range(ns_steps):
        gram = x @ x.T                                                  # (min, min)
        gram_update = pyml.addmm(gram, gram, gram, beta=b, alpha=c)
        x = pyml.addmm(x, gram_update, x, beta=a)
    return x.T if tall else x


def _adjust_lr(lr, adjust_lr_fn, shape):
    A, B = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, A / B))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(A, B))
    return lr


class Muon(Optimizer):
    """Muon for 2-D parameters, like torch.optim.Muon (state: momentum_buffer)."""

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C), eps=EPS, ns_steps=DEFAULT_NS_STEPS,
                 adjust_lr_fn=None):
        if isinstance(lr, pyml.Tensor) and lr.numel() != 1:
            raise ValueError(f"Muon: a Tensor lr must have 1 element, got shape {tuple(lr.shape)}")
        _check(0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}")
        _check(0.0 <= momentum, f"momentum should be >= 0 but is: {momentum}")
        _check(0.0 <= weight_decay, f"weight decay should be >= 0 but is: {weight_decay}")
        _check(adjust_lr_fn in (None, "original", "match_rms_adamw"),
               f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        for p in group["params"]:
            if p.ndim != 2:
                raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                 f"{tuple(p.shape)}")

    def _update(self, p, grad, g, state):
        if p.dtype.is_complex:
            raise RuntimeError(f"Muon does not support complex parameters, got {p.dtype}")
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = self._zeros(grad)
        buf = state["momentum_buffer"]
        buf.lerp_(grad, 1 - g["momentum"])
        update = grad.lerp(buf, g["momentum"]) if g["nesterov"] else buf
        update = _zeropower_via_newtonschulz(update, g["ns_coefficients"], g["ns_steps"], g["eps"])
        lr = float(g["lr"])
        p.mul_(1 - lr * g["weight_decay"])
        p.add_(update.to(p.dtype), alpha=-_adjust_lr(lr, g["adjust_lr_fn"], p.shape))
