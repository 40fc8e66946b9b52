"""Helpers shared by the optimizers written with pyml tensor ops (adadelta, rprop, asgd, adafactor, lbfgs):
torch's flag handling and the scalar-state rounding those optimizers rely on.

These optimizers run their update rules as ordinary pyml tensor ops under no_grad (no fused engine
kernel), in the same order as torch.optim's single-tensor implementations, so trajectories match.
"""
from .optimizer import _f32, _scalar_dtype


def reject_differentiable(name, differentiable):
    """differentiable=True would need the step recorded in the autograd graph, which pyml's steps never do."""
    if differentiable:
        raise ValueError(f"{name}: differentiable=True is not supported (pyml optimizer steps record no "
                         f"autograd graph), got differentiable={differentiable}")


def flag_defaults(foreach=None, maximize=False, differentiable=False, capturable=None):
    """The flag entries torch keeps in every param group (foreach and capturable have no effect here)."""
    d = dict(foreach=foreach, maximize=maximize, differentiable=differentiable)
    if capturable is not None:
        d["capturable"] = capturable
    return d


def signed_grad(p, grad, group):
    """The gradient the update descends: negated when maximizing, plus weight_decay * p (torch's order)."""
    if group["maximize"]:
        grad = -grad
    wd = group.get("weight_decay", 0)
    if wd != 0:
        grad = grad.add(p, alpha=wd)
    return grad


def as_default_scalar(x):
    """x rounded like torch.as_tensor(x) (default dtype), as a Python float."""
    from .. import float64
    return float(x) if _scalar_dtype() == float64 else _f32(float(x))
