"""Derivatives of reductions, scans, the sort family and softmax (pyml/_ops/reduce.py)."""
import math

import pyml
from .formulas import sum_to, _cast
from .wrap import differentiable


def _dim_keep(A, ndim):
    """Normalised reduced dims (sorted, non-negative) and keepdim from a call's arguments."""
    dim = A.get("axis") if A.get("axis") is not None else A.get("dim")
    keep = A.get("keepdims") if A.get("keepdims") is not None else A.get("keepdim", False)
    if dim is None or dim == () or dim == []:
        dims = list(range(ndim))
    elif isinstance(dim, (list, tuple)):
        dims = sorted(d % max(ndim, 1) for d in dim)
    else:
        dims = [dim % max(ndim, 1)]
    return dims, bool(keep)


def _unreduce(g, shape, dims, keepdim):
    """Broadcast a reduced gradient back over the input's shape."""
    if not keepdim and len(shape) > 0:
        for d in dims:
            g = g.unsqueeze(d)
    return g.expand(*shape) if len(shape) else g.reshape(())


def _count(shape, dims):
    n = 1
    for d in dims:
        n *= shape[d] if len(shape) else 1
    return n


def _sum_f(ctx, g):
    shape = ctx.in_meta[0][0]
    dims, keep = _dim_keep(ctx.args, len(shape))
    return (_cast(_unreduce(g, shape, dims, keep), ctx.in_meta[0]),)


def _mean_f(ctx, g):
    shape = ctx.in_meta[0][0]
    dims, keep = _dim_keep(ctx.args, len(shape))
    return (_cast(_unreduce(g, shape, dims, keep) / _count(shape, dims), ctx.in_meta[0]),)


def _nansum_f(ctx, g):
    x = ctx.inputs[0]
    dims, keep = _dim_keep(ctx.args, x.ndim)
    ge = _unreduce(g, tuple(x.shape), dims, keep)
    return (_cast(pyml.where(pyml.isnan(x), pyml.zeros_like(ge), ge), ctx.in_meta[0]),)


def _nanmean_f(ctx, g):
    x = ctx.inputs[0]
    dims, keep = _dim_keep(ctx.args, x.ndim)
    valid = ~pyml.isnan(x)
    n = valid.sum(dim=dims, keepdim=True).to(x.dtype)
    ge = _unreduce(g, tuple(x.shape), dims, keep) / n
    return (_cast(pyml.where(valid, ge, pyml.zeros_like(ge)), ctx.in_meta[0]),)


def _prod_others(x, dim):
    """For each element, the product of the other elements along dim (exact with zeros)."""
    n = x.shape[dim]
    ones = pyml.ones_like(x.narrow(dim, 0, 1))
    left = pyml.cat([ones, pyml.cumprod(x.narrow(dim, 0, n - 1), dim=dim)], dim=dim) if n > 1 else ones
    xf = pyml.flip(x, [dim])
    right = pyml.cat([ones, pyml.cumprod(xf.narrow(dim, 0, n - 1), dim=dim)], dim=dim) if n > 1 else ones
    return left * pyml.flip(right, [dim])


def _prod_f(ctx, g):
    x = ctx.inputs[0]
    shape = tuple(x.shape)
    dims, keep = _dim_keep(ctx.args, x.ndim)
    ge = _unreduce(g, shape, dims, keep)
    if x.ndim == 0:
        return (_cast(ge, ctx.in_meta[0]),)
    # move the reduced dims to the end and flatten them into one
    rest = [d for d in range(x.ndim) if d not in dims]
    xp = x.permute(*(rest + dims))
    flat = xp.reshape(*[shape[d] for d in rest], -1)
    others = _prod_others(flat, flat.ndim - 1).reshape(*xp.shape)
    inv = [0] * x.ndim
    for i, d in enumerate(rest + dims):
        inv[d] = i
    return (_cast(ge * others.permute(*inv), ctx.in_meta[0]),)


def _evenly(x, out, g, dims, keep):
    """amax/amin/max()/median(): the gradient is shared evenly among the tied extreme elements."""
    shape = tuple(x.shape)
    o = _unreduce(out, shape, dims, keep)
    mask = (x == o).to(x.dtype)
    count = mask.sum(dim=dims, keepdim=True) if x.ndim else mask
    return _unreduce(g, shape, dims, keep) * mask / count


def _amax_f(ctx, g):
    x, out = ctx.inputs[0], ctx.outputs[0]
    dims, keep = _dim_keep(ctx.args, x.ndim)
    return (_cast(_evenly(x, out, g, dims, keep), ctx.in_meta[0]),)


def _scatter_back(g, idx, shape, dim, keep, dtype):
    """Gradient of values picked at idx along dim (max(dim), sort, topk, ...)."""
    if len(shape) == 0:
        return g.reshape(())
    if not keep:
        g, idx = g.unsqueeze(dim), idx.unsqueeze(dim)
    z = pyml.zeros(shape, dtype=dtype, device=g.device)
    return pyml.scatter_add(z, dim, idx, g)


def _maxdim_f(ctx, gv, gi=None):
    x = ctx.inputs[0]
    A = ctx.args
    dim = A.get("axis") if A.get("axis") is not None else A.get("dim")
    if dim is None:  # max(x): a single value, shared among ties
        return (_cast(_evenly(x, ctx.outputs[0], gv, list(range(x.ndim)), False), ctx.in_meta[0]),)
    dims, keep = _dim_keep(A, x.ndim)
    idx = ctx.outputs[1]
    return (_scatter_back(gv, idx, tuple(x.shape), dims[0], keep, x.dtype),)


def _var_std_common(ctx, x, dims, keep):
    A = ctx.args
    corr = A.get("correction")
    if corr is None:
        corr = 0 if A.get("unbiased") is False else 1
    n = _count(tuple(x.shape), dims)
    mean = x.mean(dim=dims, keepdim=True) if x.ndim else x
    return x - mean, max(n - corr, 0)


def _var_f(ctx, g):
    x = ctx.inputs[0]
    dims, keep = _dim_keep(ctx.args, x.ndim)
    d, denom = _var_std_common(ctx, x, dims, keep)
    return (_cast(_unreduce(g, tuple(x.shape), dims, keep) * 2 * d / denom, ctx.in_meta[0]),)


def _std_f(ctx, g):
    x, out = ctx.inputs[0], ctx.outputs[0]
    dims, keep = _dim_keep(ctx.args, x.ndim)
    d, denom = _var_std_common(ctx, x, dims, keep)
    shape = tuple(x.shape)
    return (_cast(_unreduce(g, shape, dims, keep) * d / (denom * _unreduce(out, shape, dims, keep)), ctx.in_meta[0]),)


def _moments_f(is_std):
    def f(ctx, gv, gm):
        x = ctx.inputs[0]
        dims, keep = _dim_keep(ctx.args, x.ndim)
        shape = tuple(x.shape)
        d, denom = _var_std_common(ctx, x, dims, keep)
        if is_std:
            gx = _unreduce(gv, shape, dims, keep) * d / (denom * _unreduce(ctx.outputs[0], shape, dims, keep))
        else:
            gx = _unreduce(gv, shape, dims, keep) * 2 * d / denom
        gx = gx + _unreduce(gm, shape, dims, keep) / _count(shape, dims)
        return (_cast(gx, ctx.in_meta[0]),)
    return f


def _logsumexp_f(ctx, g):
    x, out = ctx.inputs[0], ctx.outputs[0]
    dims, keep = _dim_keep(ctx.args, x.ndim)
    shape = tuple(x.shape)
    return (_unreduce(g, shape, dims, keep) * pyml.exp(x - _unreduce(out, shape, dims, keep)),)


def _norm_f(ctx, g):
    x, out = ctx.inputs[0], ctx.outputs[0]
    A = ctx.args
    p = A.get("p", "fro")
    dims, keep = _dim_keep(A, x.ndim)
    shape = tuple(x.shape)
    ge = _unreduce(g, shape, dims, keep)
    o = _unreduce(out, shape, dims, keep)
    if p in ("fro", 2, 2.0, None):
        safe = pyml.where(o == 0, pyml.ones_like(o), o)
        return (pyml.where(o == 0, pyml.zeros_like(x), x / safe) * ge,)
    if p in (1, 1.0):
        return (pyml.sign(x) * ge,)
    if p in (math.inf, -math.inf, "inf", "-inf"):
        a = pyml.abs(x)
        mask = (a == o).to(x.dtype)
        return (pyml.sign(x) * mask / mask.sum(dim=dims, keepdim=True) * ge,)
    if p == 0:
        return (x * 0 * ge,)
    a = pyml.abs(x)
    safe = pyml.where(o == 0, pyml.ones_like(o), o)
    return (pyml.where(o == 0, pyml.zeros_like(x), x * a ** (p - 2) / safe ** (p - 1)) * ge,)


def _dim_of(A):
    return A.get("axis") if A.get("axis") is not None else A.get("dim")


def _cumsum_f(ctx, g):
    d = _dim_of(ctx.args)
    return (_cast(pyml.flip(pyml.cumsum(pyml.flip(g, [d]), dim=d), [d]), ctx.in_meta[0]),)


def _cumprod_f(ctx, g):
    x, out = ctx.inputs[0], ctx.outputs[0]
    d = _dim_of(ctx.args)
    if bool((x == 0).any()):
        raise RuntimeError("cumprod: backward for inputs containing zeros is not implemented in pyml")
    rev = pyml.flip(pyml.cumsum(pyml.flip(g * out, [d]), dim=d), [d])
    return (_cast(rev / x, ctx.in_meta[0]),)


def _cummax_f(ctx, gv, gi):
    x = ctx.inputs[0]
    d = _dim_of(ctx.args)
    if x.ndim == 0:
        return (gv,)
    return (pyml.scatter_add(pyml.zeros_like(x), d, ctx.outputs[1], gv),)


def _logcumsumexp_f(ctx, g):
    x, out = ctx.inputs[0], ctx.outputs[0]
    d = _dim_of(ctx.args)
    # sum_{j >= i} g_j exp(x_i - out_j), evaluated as exp(x_i - m) * revcumsum(g_j exp(m - out_j)), m = max(x)
    m = x.detach().max()
    w = pyml.flip(pyml.cumsum(pyml.flip(g * pyml.exp(m - out), [d]), dim=d), [d])
    return (pyml.exp(x - m) * w,)


def _softmax_f(ctx, g):
    y = ctx.outputs[0]
    d = _dim_of(ctx.args)
    gy = g * y
    return (_cast(gy - y * gy.sum(dim=d, keepdim=True), ctx.in_meta[0]),)


def _log_softmax_f(ctx, g):
    y = ctx.outputs[0]
    d = _dim_of(ctx.args)
    return (_cast(g - pyml.exp(y) * g.sum(dim=d, keepdim=True), ctx.in_meta[0]),)


def _sort_f(ctx, gv, gi):
    x = ctx.inputs[0]
    d = _dim_of(ctx.args)
    if d is None:
        d = -1
    if x.ndim == 0:
        return (gv,)
    return (pyml.scatter_add(pyml.zeros_like(x), d % x.ndim, ctx.outputs[1], gv),)


def _kth_f(ctx, gv, gi=None):
    x = ctx.inputs[0]
    A = ctx.args
    dim = _dim_of(A)
    if dim is None:  # median(x) / nanmedian(x): one value, shared among ties
        return (_cast(_evenly(x, ctx.outputs[0], gv, list(range(x.ndim)), False), ctx.in_meta[0]),)
    keep = A.get("keepdims") if A.get("keepdims") is not None else A.get("keepdim", False)
    return (_scatter_back(gv, ctx.outputs[1], tuple(x.shape), dim % max(x.ndim, 1), bool(keep), x.dtype),)


def _median_all_f(ctx, g):
    x = ctx.inputs[0]
    return (_evenly(x, ctx.outputs[0], g, list(range(x.ndim)), False),)


def _msort_f(ctx, g):
    x = ctx.inputs[0]
    idx = pyml.argsort(x.detach(), dim=0)
    return (pyml.scatter_add(pyml.zeros_like(x), 0, idx, g),)


def install():
    from .._ops import reduce as R
    D = differentiable
    for n in ("sum", "mean", "nansum", "nanmean", "prod"):
        f = {"sum": _sum_f, "mean": _mean_f, "nansum": _nansum_f, "nanmean": _nanmean_f, "prod": _prod_f}[n]
        D(R, n, f, save_inputs=n not in ("sum", "mean"))
    for n in ("amax", "amin"):
        D(R, n, _amax_f, save_outputs=True)
    for n in ("max", "min"):
        D(R, n, _maxdim_f, save_outputs=True)
    D(R, "var", _var_f)
    D(R, "std", _std_f, save_outputs=True)
    D(R, "var_mean", _moments_f(False), save_outputs=True)
    D(R, "std_mean", _moments_f(True), save_outputs=True)
    D(R, "logsumexp", _logsumexp_f, save_outputs=True)
    D(R, "norm", _norm_f, save_outputs=True)
    D(R, "cumsum", _cumsum_f, save_inputs=False)
    D(R, "cumprod", _cumprod_f, save_outputs=True)
    for n in ("cummax", "cummin"):
        D(R, n, _cummax_f, save_outputs=True)
    D(R, "logcumsumexp", _logcumsumexp_f, save_outputs=True)
    D(R, "softmax", _softmax_f, save_inputs=False, save_outputs=True)
    D(R, "log_softmax", _log_softmax_f, save_inputs=False, save_outputs=True)
    D(R, "sort", _sort_f, save_outputs=True)
    D(R, "topk", _sort_f, save_outputs=True)
    for n in ("kthvalue", "median", "nanmedian", "mode"):
        D(R, n, _kth_f, save_outputs=True)
    D(R, "msort", _msort_f)
