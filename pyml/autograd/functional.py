"""pyml.autograd.functional: vjp, jvp (by the double-vjp trick), jacobian, hessian, hvp, vhp, with
torch.autograd.functional's signatures and return structure (a Tensor where a Tensor was given, a
tuple where a tuple was given). Inputs are never modified: each gets a fresh differentiable alias
(a view when create_graph keeps the caller's graph, else a detached copy of the reference)."""
import pyml
from .engine_api import grad as _grad
from . import grad_mode


def _tup(x, what="inputs"):
    if isinstance(x, pyml.Tensor):
        return (x,)
    if isinstance(x, (tuple, list)) and all(isinstance(t, pyml.Tensor) for t in x):
        return tuple(x)
    raise TypeError(f"autograd.functional: {what} must be a Tensor or a tuple of Tensors, got {type(x).__name__}")


def _prep(inputs, create_graph):
    """Differentiable stand-ins for the inputs: keep the caller's graph only under create_graph."""
    out = []
    for x in _tup(inputs):
        if create_graph and x.requires_grad:
            out.append(x.view_as(x))
        else:
            out.append(x.detach().requires_grad_(True))
    return tuple(out)


def _grads(outs, ins, vs, create_graph, strict, what):
    """d(outs)/d(ins) weighted by vs; None grads become zeros (or raise in strict mode)."""
    live = [(o, v) for o, v in zip(outs, vs if vs is not None else [None] * len(outs)) if o.requires_grad]
    if live:
        gs = _grad([o for o, _ in live], ins, [v for _, v in live] if vs is not None else None,
                   retain_graph=True, create_graph=create_graph, allow_unused=True)
    else:
        gs = (None,) * len(ins)
    res = []
    for i, (g, x) in enumerate(zip(gs, ins)):
        if g is None:
            if strict:
                raise RuntimeError(f"{what}: the output of the user-provided function is independent of input {i}. "
                                   "This is not allowed in strict mode.")
            g = pyml.zeros_like(x)
        res.append(g)
    return tuple(res)


def _finish(xs, create_graph):
    return tuple(x if create_graph else x.detach() for x in xs)


def _like(structure, xs):
    return xs[0] if isinstance(structure, pyml.Tensor) else tuple(xs)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): v has the outputs' shapes (may be None for a single-element output)."""
    with grad_mode.enable_grad():
        ins = _prep(inputs, create_graph)
        out = func(*ins)
        outs = _tup(out, "outputs")
        vs = None if v is None else _tup(v, "v")
        g = _grads(outs, ins, vs, create_graph, strict, "vjp")
    return _like(out, _finish(outs, create_graph)), _like(inputs, _finish(g, create_graph))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): v has the inputs' shapes (may be None for a single-element input).
    J v = d/du (u^T J v) with u a dummy grad_output: two reverse passes, no forward mode needed."""
    with grad_mode.enable_grad():
        ins = _prep(inputs, create_graph)
        out = func(*ins)
        outs = _tup(out, "outputs")
        us = tuple(pyml.zeros_like(o).requires_grad_(True) for o in outs)
        g = _grads(outs, ins, us, True, strict, "jvp")
        if v is None:
            if len(ins) != 1 or ins[0].numel() != 1:
                raise RuntimeError("jvp: the vector v can only be None if the input to the user-provided function "
                                   "is a single Tensor with a single element")
            vs = (pyml.ones_like(ins[0]),)
        else:
            vs = _tup(v, "v")
        live = [(gi, vi) for gi, vi in zip(g, vs) if gi.requires_grad]
        if live:
            jv = _grad([gi for gi, _ in live], us, [vi for _, vi in live], create_graph=create_graph,
                       allow_unused=True)
        else:
            jv = (None,) * len(us)
        jv = tuple(pyml.zeros_like(o) if j is None else j for j, o in zip(jv, outs))
    return _like(out, _finish(outs, create_graph)), _like(out, _finish(jv, create_graph))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """J[out][in] of shape out.shape + in.shape, one reverse pass per output element."""
    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: only strategy='reverse-mode' is supported, got {strategy!r}")
    with grad_mode.enable_grad():
        ins = _prep(inputs, create_graph)
        out = func(*ins)
        outs = _tup(out, "outputs")
        result = []
        for o in outs:
            flat = o.reshape(-1)
            rows = [[] for _ in ins]
            for j in range(o.numel()):
                onehot = pyml.zeros(o.numel(), dtype=o.dtype)
                onehot[j] = 1.0
                gs = _grads([flat], ins, [onehot], create_graph, strict, "jacobian")
                for k, g in enumerate(gs):
                    rows[k].append(g if create_graph else g.detach())
            per_in = []
            for k, x in enumerate(ins):
                if rows[k]:
                    per_in.append(pyml.stack(rows[k]).reshape(tuple(o.shape) + tuple(x.shape)))
                else:
                    per_in.append(pyml.zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype))
            result.append(_like(inputs, per_in))
    return _like(out, result)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """Hessian of a scalar function: the jacobian of its gradient (H[i][j]: in_i.shape + in_j.shape)."""
    def grad_fn(*ins):
        out = func(*ins)
        if not isinstance(out, pyml.Tensor) or out.numel() != 1:
            raise RuntimeError("hessian: the function given to hessian should return a single element Tensor, got "
                               f"{tuple(out.shape) if isinstance(out, pyml.Tensor) else type(out).__name__}")
        g = _grads((out.reshape(()),), ins, None, True, strict, "hessian")
        return _like(inputs, g)
    return jacobian(grad_fn, inputs, create_graph=create_graph, strict=strict)


def _second(func, inputs, v, create_graph, strict, what):
    with grad_mode.enable_grad():
        ins = _prep(inputs, create_graph)
        out = func(*ins)
        if not isinstance(out, pyml.Tensor) or out.numel() != 1:
            raise RuntimeError(f"{what}: the function given to {what} should return a single element Tensor")
        g = _grads((out.reshape(()),), ins, None, True, strict, what)
        vs = _tup(v, "v") if v is not None else tuple(pyml.ones_like(x) for x in ins)
        live = [(gi, vi) for gi, vi in zip(g, vs) if gi.requires_grad]
        if live:
            hv = _grad([gi for gi, _ in live], ins, [vi for _, vi in live], create_graph=create_graph,
                       allow_unused=True)
        else:
            hv = (None,) * len(ins)
        hv = tuple(pyml.zeros_like(x) if h is None else h for h, x in zip(hv, ins))
    res_out = out if create_graph else out.detach()
    return res_out, _like(inputs, _finish(hv, create_graph))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar func."""
    return _second(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar func: equal to vhp because the Hessian is symmetric."""
    return _second(func, inputs, v, create_graph, strict, "hvp")
