"""pyml.func's reverse-mode transforms: grad, grad_and_value, vjp, jvp, built on pyml's tape autograd.

Each call is one differentiation level (_Level): the differentiated inputs (pytrees of tensors) get
fresh stand-ins that require grad (a view of the caller's tensor when that one is differentiable, so
outer levels and ordinary autograd see through; else a detached alias, so the caller's tensor is
never touched), f runs on them under enable_grad, and autograd.grad differentiates its output.
The graph of the results is kept only when f's output reaches a leaf outside this level (an outer
transform's stand-in, a caller's tensor that requires grad, a closure's parameter): that is what makes
grad(grad(f)) and grad(vmap(f)) compose, while a plain call returns detached tensors like torch.func.
jvp uses the double-vjp trick: J t = d/du <J^T u, t>, two reverse passes and no forward mode. Both
that and nesting need f's ops to have differentiable backward formulas (not once_differentiable).
"""
import functools

import pyml
from ._tensor import Tensor
from ._func_pytree import tree_flatten, tree_unflatten, tree_map
from .autograd import grad_mode
from .autograd.engine_api import grad as _autograd_grad
from .autograd.graph import AccumulateGrad, _edge, grad_accumulator

__all__ = ["grad", "grad_and_value", "vjp", "jvp"]


def check_argnums(argnums, n_args):
    """argnums (int or non-empty tuple of distinct ints, negatives counted from the end) -> same form,
    non-negative."""
    as_tuple = isinstance(argnums, tuple)
    nums = argnums if as_tuple else (argnums,)
    if not nums:
        raise RuntimeError("argnums: must be non-empty, got ()")
    for a in nums:
        if isinstance(a, bool) or not isinstance(a, int):
            raise RuntimeError(f"argnums: must be an int or a tuple of ints, got {type(a).__name__} ({a!r})")
        if not -n_args <= a < n_args:
            raise RuntimeError(f"argnums: must satisfy -{n_args} <= argnum < {n_args} (the number of positional "
                               f"inputs), got argnum={a}, but only {n_args} positional inputs")
    wrapped = tuple(a % n_args for a in nums)
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError(f"argnums: elements must be unique, got {argnums}")
    return wrapped if as_tuple else wrapped[0]


def split_aux(result, has_aux, op):
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise RuntimeError(f"{op}: output of function f should be a tuple: (output, aux) if has_aux is True, got "
                           f"{type(result).__name__}")
    return result


def check_outputs(outs, op):
    """f's flattened output must be a non-empty list of floating-point tensors."""
    if not outs:
        raise RuntimeError(f"{op}: expected f to return a non-empty Tensor or pytree of Tensors, got no Tensors")
    for o in outs:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{op}: expected f(*primals) to return only Tensors, got {type(o).__name__}")
        if not o.is_floating_point():
            raise RuntimeError(f"{op}: all outputs of f must be floating-point Tensors, got dtype {o.dtype}")


def _check_inputs(leaves, op):
    for x in leaves:
        if not isinstance(x, Tensor):
            raise ValueError(f"{op}: inputs to differentiate must be Tensors, got {type(x).__name__}")
        if not x.is_floating_point():
            raise RuntimeError(f"{op}: inputs to differentiate must be floating-point Tensors, got dtype {x.dtype}")


class _Level:
    """Stand-ins for the differentiated arguments of one call, and the gradients with respect to them.
    Build it before entering enable_grad: under no_grad the caller's autograd must not see the results."""

    def __init__(self, args, argnums, op):
        self.outer = grad_mode.is_grad_enabled()
        diff = args[argnums] if isinstance(argnums, int) else tuple(args[i] for i in argnums)
        leaves, self.spec = tree_flatten(diff)
        _check_inputs(leaves, op)
        self.inputs = [self._stand_in(x) for x in leaves]
        self.internal = {grad_accumulator(s) for s in self.inputs if s.grad_fn is None}
        new = tree_unflatten(self.inputs, self.spec)
        args = list(args)
        if isinstance(argnums, int):
            args[argnums] = new
        else:
            for i, v in zip(argnums, new):
                args[i] = v
        self.args = tuple(args)

    def _stand_in(self, x):
        if self.outer and x.requires_grad:
            return x.view_as(x)
        return x.detach().requires_grad_(True)

    def reaches_outside(self, tensors):
        """Whether the graph of any of `tensors` reaches a leaf that is not one of this level's stand-ins."""
        if not self.outer:
            return False
        stack = [e[0] for e in map(_edge, tensors) if e is not None]
        seen = set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if isinstance(node, AccumulateGrad):
                if node not in self.internal:
                    return True
                continue
            stack.extend(e[0] for e in node.next_functions if e is not None)
        return False

    def unwrap(self, tree):
        """Tensors of `tree` as the caller sees them: detached unless they depend on something outside."""
        return tree_map(lambda t: t if not isinstance(t, Tensor) or self.reaches_outside([t]) else t.detach(), tree)

    def grads(self, outs, cotangents, create_graph):
        """Flat d(outs)/d(inputs) weighted by the cotangents (None: 1 for a scalar); zeros where unused."""
        live = [(o, c) for o, c in zip(outs, cotangents) if o.requires_grad]
        got = [None] * len(self.inputs)
        if live and self.inputs:
            got = _autograd_grad([o for o, _ in live], self.inputs, [c for _, c in live], retain_graph=True,
                                 create_graph=create_graph, allow_unused=True)
        return [pyml.zeros_like(x) if g is None else g for g, x in zip(got, self.inputs)]

    def pushforward(self, outs, tangents, create_graph, strict=False):
        """Flat J t for each output: d/du <J^T u, t> with a dummy cotangent u per output."""
        us = [pyml.zeros_like(o).requires_grad_(True) for o in outs]
        back = self.grads(outs, us, create_graph=True)
        live = [(b, t) for b, t in zip(back, tangents) if b.requires_grad]
        got = [None] * len(us)
        if live:
            got = _autograd_grad([b for b, _ in live], us, [t for _, t in live], retain_graph=True,
                                 create_graph=create_graph, allow_unused=True)
        if strict and any(g is None for g in got):
            raise RuntimeError("jvp(f, primals, tangents, strict=True): the output of f must depend on the inputs, "
                               "got an output that is independent of them")
        return [pyml.zeros_like(o) if g is None else g for g, o in zip(got, outs)]


def _check_scalar(output):
    if not isinstance(output, Tensor):
        raise RuntimeError(f"grad_and_value(f)(*args): expected f(*args) to return a scalar Tensor, got "
                           f"{type(output).__name__}")
    if output.dim() != 0:
        raise RuntimeError("grad_and_value(f)(*args): expected f(*args) to return a scalar Tensor, got tensor with "
                           f"{output.dim()} dims (shape {tuple(output.shape)}). Maybe you wanted to use the vjp or "
                           "jacrev APIs instead?")
    if not output.is_floating_point():
        raise RuntimeError(f"grad_and_value(f)(*args): f must return a floating-point Tensor, got dtype {output.dtype}")


def _grad_and_value(func, argnums, has_aux, args, kwargs):
    level = _Level(args, check_argnums(argnums, len(args)), "grad_and_value")
    with grad_mode.enable_grad():
        output, aux = split_aux(func(*level.args, **kwargs), has_aux, "grad_and_value(f)(*args)")
        _check_scalar(output)
        keep = level.reaches_outside([output])
        flat = level.grads([output], [None], create_graph=keep)
        value, aux = (output if keep else output.detach()), level.unwrap(aux)
    return tree_unflatten(flat, level.spec), value, aux


def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient of func w.r.t. args[argnums], func's value); with has_aux,
    (gradient, (value, aux)). func must return a 0-dim tensor (with has_aux: (that tensor, aux))."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value, aux = _grad_and_value(func, argnums, has_aux, args, kwargs)
        return (g, (value, aux)) if has_aux else (g, value)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """A function returning the gradient of the scalar func w.r.t. args[argnums] (a pytree like that
    argument; a tuple of them for a tuple argnums); with has_aux, (gradient, aux)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, _, aux = _grad_and_value(func, argnums, has_aux, args, kwargs)
        return (g, aux) if has_aux else g
    return wrapper


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn[, aux]): vjp_fn(cotangents) -> a tuple with one gradient per primal,
    cotangents shaped like func's output. vjp_fn may be called any number of times (its graph is always
    kept: retain_graph is accepted for torch's signature)."""
    level = _Level(primals, tuple(range(len(primals))), "vjp")
    with grad_mode.enable_grad():
        out, aux = split_aux(func(*level.args), has_aux, "vjp(f, *primals)")
        outs, out_spec = tree_flatten(out)
        check_outputs(outs, "vjp(f, *primals)")
        keep = level.reaches_outside(outs)
        out_seen, aux = level.unwrap(out), level.unwrap(aux)

    def vjp_fn(cotangents, *, retain_graph=True, create_graph=None):
        cots, spec = tree_flatten(cotangents)
        if spec != out_spec:
            raise RuntimeError("vjp_fn: the pytree structure of cotangents must be the structure of the function's "
                               f"outputs, got cotangents: {spec}, primal output: {out_spec}")
        for c in cots:
            if not isinstance(c, Tensor):
                raise RuntimeError(f"vjp_fn: cotangents must be Tensors, got {type(c).__name__}")
        if create_graph is None:  # cotangents that require grad count only where autograd records
            create_graph = keep or (grad_mode.is_grad_enabled() and any(c.requires_grad for c in cots))
        with grad_mode.enable_grad():
            return tree_unflatten(level.grads(outs, cots, create_graph), level.spec)

    return (out_seen, vjp_fn, aux) if has_aux else (out_seen, vjp_fn)


def _check_tangents(primals, tangents):
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): expected primals to be a tuple (f(*primals) must be valid), "
                           f"got {type(primals).__name__}")
    p_leaves, p_spec = tree_flatten(primals)
    t_leaves, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError("jvp(f, primals, tangents): expected primals and tangents to have the same python "
                           f"structure, got primals with structure {p_spec} and tangents with structure {t_spec}")
    if not p_leaves:
        raise RuntimeError("jvp(f, primals, tangents): expected primals to contain at least one Tensor, got none")
    for p, t in zip(p_leaves, t_leaves):
        if not isinstance(p, Tensor) or not isinstance(t, Tensor):
            raise RuntimeError("jvp(f, primals, tangents): expected primals and tangents to only contain Tensors, "
                               f"got {type(p).__name__} and {type(t).__name__}")
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError("jvp(f, primals, tangents): expected each tangent to have its primal's shape, got "
                               f"tangent {tuple(t.shape)} for primal {tuple(p.shape)}")
    return t_leaves


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), J·tangents[, aux]): the Jacobian-vector product, tangents shaped like primals."""
    t_leaves = _check_tangents(primals, tangents)
    level = _Level(primals, tuple(range(len(primals))), "jvp")
    with grad_mode.enable_grad():
        out, aux = split_aux(func(*level.args), has_aux, "jvp(f, primals, tangents)")
        outs, out_spec = tree_flatten(out)
        check_outputs(outs, "jvp(f, primals, tangents)")
        keep = level.reaches_outside(outs) or (level.outer and any(t.requires_grad for t in t_leaves))
        jv = level.pushforward(outs, t_leaves, create_graph=keep, strict=strict)
        out_seen, aux = level.unwrap(out), level.unwrap(aux)
    jv = tree_unflatten(jv if keep else [j.detach() for j in jv], out_spec)
    return (out_seen, jv, aux) if has_aux else (out_seen, jv)
