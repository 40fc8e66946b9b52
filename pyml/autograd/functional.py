"""pyml.autograd.functional: vjp, jvp (by double vjp), jacobian, hessian, hvp, vhp."""
import pyml
from .engine_api import grad as _grad
from . import grad_mode


def _tup(x):
    return (x,) if isinstance(x, pyml.Tensor) else tuple(x)


def _prep(inputs, create_graph):
    ins = _tup(inputs)
    return tuple((x if create_graph else x.detach()).requires_grad_(True) if not x.requires_grad or not create_graph
                 else x for x in ins)


def _fill_none(grads, like):
    return tuple(pyml.zeros_like(t) if g is None else g for g, t in zip(grads, like))


def _unwrap(res, was_tensor):
    return res[0] if was_tensor else res


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J)."""
    single = isinstance(inputs, pyml.Tensor)
    with grad_mode.enable_grad():
        ins = _prep(inputs, create_graph)
        out = func(*ins)
        outs = _tup(out)
        vs = None if v is None else _tup(v)
        g = _grad(outs, ins, vs, create_graph=create_graph, allow_unused=True)
    g = _fill_none(g, ins)
    if not create_graph:
        out = out.detach() if isinstance(out, pyml.Tensor) else tuple(o.detach() for o in outs)
        g = tuple(x.detach() for x in g)
    return out, _unwrap(g, single)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v) computed by the double-vjp trick."""
    single = isinstance(inputs, pyml.Tensor)
    with grad_mode.enable_grad():
        ins = _prep(inputs, True)
        out = func(*ins)
        outs = _tup(out)
        us = tuple(pyml.zeros_like(o).requires_grad_(True) for o in outs)
        g = _grad(outs, ins, us, create_graph=True, allow_unused=True)
        g = _fill_none(g, ins)
        vs = tuple(pyml.ones_like(x) for x in ins) if v is None else _tup(v)
        jv = _grad(g, us, vs, create_graph=create_graph, allow_unused=True)
    jv = _fill_none(jv, outs)
    if not create_graph:
        jv = tuple(x.detach() for x in jv)
        out = out.detach() if isinstance(out, pyml.Tensor) else tuple(o.detach() for o in outs)
    return out, (jv[0] if isinstance(out, pyml.Tensor) else jv)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """J[out][in] with shape out.shape + in.shape, one backward per output element."""
    single_in = isinstance(inputs, pyml.Tensor)
    with grad_mode.enable_grad():
        ins = _prep(inputs, create_graph)
        out = func(*ins)
        single_out = isinstance(out, pyml.Tensor)
        outs = _tup(out)
        result = []
        for o in outs:
            flat = o.reshape(-1)
            rows = [[] for _ in ins]
            for j in range(o.numel()):
                gs = _grad(flat[j], ins, retain_graph=True, create_graph=create_graph, allow_unused=True)
                gs = _fill_none(gs, ins)
                for k, g in enumerate(gs):
                    rows[k].append(g if create_graph else g.detach())
            per_in = []
            for k, x in enumerate(ins):
                if rows[k]:
                    per_in.append(pyml.stack(rows[k]).reshape(tuple(o.shape) + tuple(x.shape)))
                else:
                    per_in.append(pyml.zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype))
            result.append(per_in[0] if single_in else tuple(per_in))
    return result[0] if single_out else tuple(result)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """Hessian of a scalar function: jacobian of its gradient."""
    single = isinstance(inputs, pyml.Tensor)

    def grad_fn(*ins):
        out = func(*ins)
        if out.numel() != 1:
            raise ValueError(f"hessian: the function must return a single-element tensor, got shape {tuple(out.shape)}")
        g = _grad(out, ins, create_graph=True, allow_unused=True)
        g = _fill_none(g, ins)
        return g[0] if single else g
    return jacobian(grad_fn, inputs, create_graph=create_graph)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar func (H is symmetric, so this equals vhp)."""
    single = isinstance(inputs, pyml.Tensor)
    with grad_mode.enable_grad():
        ins = _prep(inputs, True)
        out = func(*ins)
        g = _fill_none(_grad(out, ins, create_graph=True, allow_unused=True), ins)
        vs = _tup(v) if v is not None else tuple(pyml.ones_like(x) for x in ins)
        hv = _grad(g, ins, vs, create_graph=create_graph, allow_unused=True)
    hv = _fill_none(hv, ins)
    if not create_graph:
        hv = tuple(x.detach() for x in hv)
    return out.detach(), _unwrap(hv, single)


vhp = hvp
