"""Gradients of any order for fused ops whose backward kernel records nothing.

A fused op (layer_norm, batch_norm, cross_entropy, attention, ...) computes its gradients with one
backward kernel, fast but opaque to autograd: a gradient taken with create_graph=True (gradient
penalties, MAML, Hessians, pyml.func transforms) could not be differentiated again. Decorating the
backward with composite_backward(composite) keeps the kernel when no graph is being built, and under
create_graph re-runs the op as a composite of recorded ops on fresh aliases of its inputs and
differentiates that with a local backward that ends at the aliases (so it neither walks the inputs'
history nor fires their hooks). The composite's first derivative is the kernel's; its graph supplies
every higher one.
"""
import functools

from . import grad_mode
from .graph import _edge


def composite_backward(composite):
    """composite(ctx) -> (inputs, fn): the op's tensor inputs at their forward positions (None where an
    argument is not a tensor) and fn(*inputs) -> output computing the forward from recorded ops."""
    def deco(backward):
        @functools.wraps(backward)
        def wrapper(ctx, *grads):
            if not grad_mode.is_grad_enabled():
                return backward(ctx, *grads)
            return _differentiate(ctx, composite, grads)
        return wrapper
    return deco


def _differentiate(ctx, composite, grads):
    from .engine_api import run_backward
    inputs, fn = composite(ctx)
    need = ctx.needs_input_grad
    want = [i for i, t in enumerate(inputs) if t is not None and need[i]]
    with grad_mode.enable_grad():
        aliases = list(inputs)
        for i in want:
            aliases[i] = inputs[i].view_as(inputs[i])  # a fresh node per input: the local backward ends there
        outs = fn(*aliases)
    outs = outs if isinstance(outs, tuple) else (outs,)
    roots = [(e, g) for e, g in zip(map(_edge, outs), grads) if g is not None and e is not None]
    result = [None] * len(need)
    if not want:
        return tuple(result)
    got = {}
    if roots:
        got = run_backward([r for r, _ in roots], [g for _, g in roots], True, True,
                           targets=[_edge(aliases[i]) for i in want], accumulate=False, stop_at_targets=True)
    for k, i in enumerate(want):
        g = got.get(k)
        result[i] = g if g is not None else inputs[i].new_zeros(inputs[i].shape)  # the kernel's zeros (nearest)
    return tuple(result)
