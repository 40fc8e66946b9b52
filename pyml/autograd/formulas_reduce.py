"""Derivatives of reductions, scans, the sort family and softmax (pyml/_ops/reduce.py)."""
import math

import pyml
from .. import _C
from .._tensor import wrap
from .formulas import sum_to, _cast
from . import grad_mode
from .wrap import differentiable


def _dim_keep(A, ndim):
    """Normalised reduced dims (sorted, non-negative) and keepdim from a call's arguments."""
    dim = A.get("axis") if A.get("axis") is not None else A.get("dim")
    keep = A.get("keepdims") if A.get("keepdims") is not None else A.get("keepdim", False)
    if isinstance(dim, bool):  # legacy var(x, unbiased) / std(x, unbiased): all dims
        dim = None
    if dim is None or dim == () or dim == []:
        dims = list(range(ndim))
    elif isinstance(dim, (list, tuple)):
        dims = sorted(d % max(ndim, 1) for d in dim)
    else:
        dims = [dim % max(ndim, 1)]
    return dims, bool(keep)


def _unreduce(g, shape, dims, keepdim):
    """Broadcast a reduced gradient back over the input's shape (a stride-0 view, never a copy)."""
    if not grad_mode._state.enabled:  # no graph of the backward to record: engine views directly
        kept = list(shape)
        for d in dims:
            if d < len(kept):  # (a 0-dim input reduced over dim 0 or -1 has no dim to keep)
                kept[d] = 1
        return wrap(_C.expand(_C.reshape(g._impl, kept), list(shape)))
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
    if x.numel() == 0:
        return (pyml.zeros(shape, dtype=ctx.in_meta[0][1], device=g.device),)
    # move the reduced dims to the end and flatten them into one; the product of the other elements
    # of each slice comes from an exclusive cumprod from both ends (exact with zeros, no division)
    rest = [d for d in range(x.ndim) if d not in dims]
    xp = x.permute(*(rest + dims))
    flat = xp.reshape(*[shape[d] for d in rest], -1)
    others = _prod_others(flat, flat.ndim - 1).reshape(*xp.shape)
    inv = [0] * x.ndim
    for i, d in enumerate(rest + dims):
        inv[d] = i
    return (_cast(ge * others.permute(*inv), ctx.in_meta[0]),)


def _nan_aware_mask(x, o):
    """x == o, where a NaN result selects the NaN elements (PyTorch's evenly_distribute_backward)."""
    return (x == o) | (pyml.isnan(x) & pyml.isnan(o))


def _evenly(x, out, g, dims, keep, nan_aware=False):
    """The gradient is shared evenly among the tied extreme elements. amax/amin: PyTorch's
    scale_grad_by_count (a NaN result gives NaN gradients); max()/min()/median() of all elements:
    evenly_distribute_backward (a NaN result sends the gradient to the NaN elements)."""
    shape = tuple(x.shape)
    o = _unreduce(out, shape, dims, keep)
    mask = (_nan_aware_mask(x, o) if nan_aware else (x == o)).to(x.dtype)
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
        return (_cast(_evenly(x, ctx.outputs[0], gv, list(range(x.ndim)), False, nan_aware=True),
                      ctx.in_meta[0]),)
    dims, keep = _dim_keep(A, x.ndim)
    idx = ctx.outputs[1]
    return (_scatter_back(gv, idx, tuple(x.shape), dims[0], keep, x.dtype),)


def _max_dispatch(name, w):
    """max(x, other) is the elementwise maximum (recorded by its own formula); the rest goes to w."""
    from .._tensor import Tensor
    from .._ops import elementwise as E
    elem = getattr(E, "maximum" if name == "max" else "minimum")

    def fn(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
        if isinstance(dim, Tensor):
            return elem(input, dim)
        return w(input, dim, keepdim, axis=axis, keepdims=keepdims)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = w.__doc__
    fn._pyml_ag = True
    return fn


def _var_std_common(ctx, x, dims, keep):
    """(x - mean, degrees of freedom n - correction, whether all dims were reduced with dim=None)."""
    A = ctx.args
    dim = A.get("axis") if A.get("axis") is not None else A.get("dim")
    unbiased = A.get("unbiased")
    if isinstance(dim, bool):  # legacy var(x, unbiased)
        dim, unbiased = None, dim
    corr = A.get("correction")
    if corr is None:
        corr = 0 if unbiased is False else 1
    n = _count(tuple(x.shape), dims)
    mean = x.mean(dim=dims, keepdim=True) if x.ndim else x
    return x - mean, n - corr, dim is None or x.ndim == 0


def _var_grad(g, x, d, dof, all_dims):
    """PyTorch's var_backward: 2 (x - mean) / (n - correction); with dim=None and n <= correction the
    gradient is inf (NaN where x equals the mean)."""
    if all_dims and dof <= 0:
        return g * pyml.where(d == 0, pyml.full_like(d, math.nan), pyml.full_like(d, math.inf))
    return g * (2.0 / dof if dof != 0 else math.inf) * d


def _var_f(ctx, g):
    x = ctx.inputs[0]
    dims, keep = _dim_keep(ctx.args, x.ndim)
    d, dof, all_dims = _var_std_common(ctx, x, dims, keep)
    return (_cast(_var_grad(_unreduce(g, tuple(x.shape), dims, keep), x, d, dof, all_dims), ctx.in_meta[0]),)


def _std_to_var_grad(g, out):
    """d std = d var / (2 std), 0 where std == 0 (PyTorch masks it; the safe denominator keeps double
    backward free of NaN)."""
    zero = out == 0
    return pyml.where(zero, pyml.zeros_like(g), g / (2 * pyml.where(zero, pyml.ones_like(out), out)))


def _std_f(ctx, g):
    x, out = ctx.inputs[0], ctx.outputs[0]
    dims, keep = _dim_keep(ctx.args, x.ndim)
    d, dof, all_dims = _var_std_common(ctx, x, dims, keep)
    shape = tuple(x.shape)
    gv = _unreduce(_std_to_var_grad(g, out), shape, dims, keep)
    return (_cast(_var_grad(gv, x, d, dof, all_dims), ctx.in_meta[0]),)


def _moments_f(is_std):
    def f(ctx, gv, gm):
        x = ctx.inputs[0]
        dims, keep = _dim_keep(ctx.args, x.ndim)
        shape = tuple(x.shape)
        d, dof, all_dims = _var_std_common(ctx, x, dims, keep)
        if is_std:
            gv = _std_to_var_grad(gv, ctx.outputs[0])
        gx = _var_grad(_unreduce(gv, shape, dims, keep), x, d, dof, all_dims)
        gx = gx + _unreduce(gm, shape, dims, keep) / _count(shape, dims)
        return (_cast(gx, ctx.in_meta[0]),)
    return f


def _logsumexp_f(ctx, g):
    x, out = ctx.inputs[0], ctx.outputs[0]
    dims, keep = _dim_keep(ctx.args, x.ndim)
    shape = tuple(x.shape)
    return (_cast(_unreduce(g, shape, dims, keep) * pyml.exp(x - _unreduce(out, shape, dims, keep)),
                  ctx.in_meta[0]),)


def _norm_f(ctx, g):
    """PyTorch's norm_backward, case by case."""
    x, out = ctx.inputs[0], ctx.outputs[0]
    A = ctx.args
    p = A.get("p", "fro")
    p = 2.0 if p in ("fro", None) else float(p)
    dims, keep = _dim_keep(A, x.ndim)
    shape = tuple(x.shape)
    ge = _unreduce(g, shape, dims, keep)
    o = _unreduce(out, shape, dims, keep)
    meta = ctx.in_meta[0]
    zero_norm = o == 0
    if p == 0:
        return (pyml.zeros(shape, dtype=meta[1], device=g.device),)
    if p == 1:
        return (_cast(pyml.sign(x) * ge, meta),)
    if p == 2:
        safe = pyml.where(zero_norm, pyml.ones_like(o), o)
        return (_cast(pyml.where(zero_norm, pyml.zeros_like(x), x / safe) * ge, meta),)
    if math.isinf(p):  # the gradient of amax(abs(x)), shared among ties (and NaNs)
        a = pyml.abs(x)
        mask = ((a == o) | pyml.isnan(a)).to(x.dtype)
        count = mask.sum(dim=dims, keepdim=True) if x.ndim else mask
        return (_cast(pyml.sign(x) * (ge / count) * mask, meta),)
    a = pyml.abs(x)
    xz = x == 0
    if p < 1:  # sign(x) |x|^(p-1), 0 at x == 0, times norm^(1-p)
        a_safe = pyml.where(xz, pyml.ones_like(a), a)
        scaled = pyml.where(xz, pyml.zeros_like(x), pyml.sign(x) * a_safe ** (p - 1))
        return (_cast(scaled * ge * o ** (1 - p), meta),)
    # 1 < p: sign(x) |x|^(p-1) / norm^(p-1), 0 where the norm is 0
    scaled = pyml.sign(x) * a ** (p - 1)
    safe = pyml.where(zero_norm, pyml.ones_like(o), o)
    scale = pyml.where(zero_norm, pyml.zeros_like(ge), ge / safe ** (p - 1))
    return (_cast(scaled * scale, meta),)


def _dim_of(A):
    return A.get("axis") if A.get("axis") is not None else A.get("dim")


def _cumsum_f(ctx, g):
    if g.ndim == 0:
        return (_cast(g, ctx.in_meta[0]),)
    return (_cast(_revcumsum(g, _dim_of(ctx.args) % g.ndim), ctx.in_meta[0]),)


def _revcumsum(t, d):
    return pyml.flip(pyml.cumsum(pyml.flip(t, [d]), dim=d), [d])


def _exclusive(t, d, fill):
    """t shifted by one along d, `fill` first: exclusive scans from inclusive ones."""
    n = t.shape[d]
    first = pyml.full_like(t.narrow(d, 0, 1), fill)
    return pyml.cat([first, t.narrow(d, 0, n - 1)], dim=d) if n > 1 else first


def _cumprod_zero_safe(x, y, g, d):
    """dx_k = sum_{i>=k} g_i prod_{j<=i, j!=k} x_j for inputs with zeros, in O(n) per slice. With z1 the
    first zero of a slice: for k < z1 it is revcumsum(g y)_k / x_k (x_k != 0 there, and y vanishes from
    z1 on); for k = z1 it is prod(x[:z1]) * sum_{i>=z1} g_i prod_{z1<j<=i} x_j; for k > z1 it is 0.
    The result is exact, but its own derivative is not cumprod's second derivative at the zeros (as in
    PyTorch): under create_graph _cumprod_quadratic is used instead."""
    zero = x == 0
    cz = pyml.cumsum(zero.to(pyml.int64), dim=d)
    before = cz == 0
    first = zero & (cz == 1)
    part1 = pyml.where(before, _revcumsum(g * y, d) / pyml.where(before, x, pyml.ones_like(x)),
                       pyml.zeros_like(g * y))
    after = pyml.where(before | first, pyml.ones_like(x), x)   # x_j for j > z1, 1 up to z1
    tail = pyml.where(cz >= 1, g * pyml.cumprod(after, dim=d), pyml.zeros_like(part1))
    head = _exclusive(y, d, 1.0)                               # prod(x[:k]) at k
    part2 = pyml.where(first, head * tail.sum(dim=d, keepdim=True), pyml.zeros_like(part1))
    return part1 + part2


def _cumprod_quadratic(x, g, d):
    """The same gradient as an O(n^2)-per-slice polynomial in x, so that it can be differentiated again:
    dx_k = prod(x[:k]) * sum_{i>=k} g_i C[k, i] with C[k, i] = prod_{k<j<=i} x_j."""
    n = x.shape[d]
    xm, gm = x.movedim(d, -1), g.movedim(d, -1)
    ar = pyml.arange(n, device=x.device)
    strictly_after = ar.unsqueeze(0) > ar.unsqueeze(1)     # [k, j]: j > k
    at_or_after = ar.unsqueeze(0) >= ar.unsqueeze(1)       # [k, i]: i >= k
    X = xm.unsqueeze(-2).expand(*xm.shape[:-1], n, n)
    C = pyml.cumprod(pyml.where(strictly_after, X, pyml.ones_like(X)), dim=-1)
    prodgc = C * gm.unsqueeze(-2)
    S = pyml.where(at_or_after, prodgc, pyml.zeros_like(prodgc)).sum(dim=-1)
    head = pyml.cumprod(_exclusive(xm, xm.ndim - 1, 1.0), dim=-1)
    return (head * S).movedim(-1, d)


def _cumprod_f(ctx, g):
    x, out = ctx.inputs[0], ctx.outputs[0]
    meta = ctx.in_meta[0]
    if x.ndim == 0 or x.numel() == 0:
        return (_cast(g, meta),)
    d = _dim_of(ctx.args) % x.ndim
    if x.shape[d] == 1:
        return (_cast(g, meta),)
    if not bool((x == 0).any()):
        return (_cast(_revcumsum(g * out, d) / x, meta),)
    if grad_mode.is_grad_enabled():  # create_graph: a form whose derivative is cumprod's second derivative
        return (_cast(_cumprod_quadratic(x.to(out.dtype), g, d), meta),)
    return (_cast(_cumprod_zero_safe(x.to(out.dtype), out, g, d), meta),)


def _cummax_f(ctx, gv, gi):
    x = ctx.inputs[0]
    d = _dim_of(ctx.args)
    if x.ndim == 0:
        return (gv,)
    return (pyml.scatter_add(pyml.zeros_like(x), d, ctx.outputs[1], gv),)


_LOWEST = {8: -1.7976931348623157e308, 4: -3.4028234663852886e38}


def _lowest(dtype):
    if dtype.name == "float16":
        return -65504.0
    if dtype.name == "bfloat16":
        return -3.3895313892515355e38
    return _LOWEST[dtype.itemsize]


def _logcumsumexp_f(ctx, g):
    """dx_i = sum_{j>=i} g_j exp(x_i - out_j), evaluated in log space separately for the positive and
    negative parts of g (PyTorch's formula), so that large magnitudes neither overflow nor underflow."""
    x, out = ctx.inputs[0], ctx.outputs[0]
    if x.ndim == 0 or x.numel() == 0:
        return (g,)
    d = _dim_of(ctx.args) % x.ndim
    lo = _lowest(g.dtype)
    nz = g != 0
    log_abs = pyml.log(pyml.where(nz, pyml.abs(g), pyml.ones_like(g)))  # no log(0) in a double backward
    lo_t = pyml.full_like(log_abs, lo)
    log_pos = pyml.where(g > 0, log_abs, lo_t)
    log_neg = pyml.where(g < 0, log_abs, lo_t)

    def rev_lcse(t):
        return pyml.flip(pyml.logcumsumexp(pyml.flip(t, [d]), dim=d), [d])
    return (pyml.exp(rev_lcse(log_pos - out) + x) - pyml.exp(rev_lcse(log_neg - out) + x),)


def _fused_softmax_bwd(g, y, d, log):
    """The one-pass engine kernel, when no graph of the backward is built and the rows are the last dim."""
    if pyml.is_grad_enabled() or y.dim() == 0 or d not in (-1, y.dim() - 1) or g.dtype != y.dtype \
            or y.dtype not in (pyml.float32, pyml.float64) or g.shape != y.shape:
        return None
    from .._tensor import wrap
    return wrap(pyml._C.softmax_backward(g._impl, y._impl, d, log))


def _softmax_f(ctx, g):
    y = ctx.outputs[0]
    d = _dim_of(ctx.args)
    fused = _fused_softmax_bwd(g, y, d, False)
    if fused is not None:
        return (_cast(fused, ctx.in_meta[0]),)
    gy = g * y
    return (_cast(gy - y * gy.sum(dim=d, keepdim=True), ctx.in_meta[0]),)


def _log_softmax_f(ctx, g):
    y = ctx.outputs[0]
    d = _dim_of(ctx.args)
    fused = _fused_softmax_bwd(g, y, d, True)
    if fused is not None:
        return (_cast(fused, ctx.in_meta[0]),)
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
    if dim is None:  # median(x) / nanmedian(x): one value, shared among ties (and NaNs if it is NaN)
        return (_cast(_evenly(x, ctx.outputs[0], gv, list(range(x.ndim)), False, nan_aware=True),
                      ctx.in_meta[0]),)
    keep = A.get("keepdims") if A.get("keepdims") is not None else A.get("keepdim", False)
    return (_scatter_back(gv, ctx.outputs[1], tuple(x.shape), dim % max(x.ndim, 1), bool(keep), x.dtype),)


def _msort_f(ctx, g):
    x = ctx.inputs[0]
    idx = pyml.argsort(x.detach(), dim=0)
    return (pyml.scatter_add(pyml.zeros_like(x), 0, idx, g),)


def _not_implemented(name):
    def f(ctx, *grads):
        raise NotImplementedError(f"{name}: the derivative for '{name}' is not implemented (as in PyTorch); "
                                  "detach() its input if no gradient should flow through it")
    return f


def install():
    from .._ops import reduce as R
    from .._tensor import Tensor
    D = differentiable
    for n in ("sum", "mean", "nansum", "nanmean", "prod"):
        f = {"sum": _sum_f, "mean": _mean_f, "nansum": _nansum_f, "nanmean": _nanmean_f, "prod": _prod_f}[n]
        D(R, n, f, save_inputs=n not in ("sum", "mean"))
    for n in ("amax", "amin"):
        D(R, n, _amax_f, save_outputs=True)
    for n in ("max", "min"):
        w = D(R, n, _maxdim_f, save_outputs=True)
        fn = _max_dispatch(n, w)
        setattr(R, n, fn)
        setattr(pyml, n, fn)
        setattr(Tensor, n, fn)
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
    for n in ("unique", "unique_consecutive"):  # like PyTorch: the values have a node that raises
        D(R, n, _not_implemented(n), save_inputs=False)
