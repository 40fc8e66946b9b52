"""Derivatives of indexing and layout ops (pyml/_ops/index.py) and of Tensor.__getitem__/__setitem__."""
import pyml
from .._tensor import Tensor, wrap
from . import grad_mode
from .formulas import sum_to, _cast, _fit, before_inplace, _inplace, record_view
from .function import record, needs_grad
from .wrap import differentiable, make_wrapper


def _index_select_f(ctx, g):
    x, = [ctx.in_meta[0]]
    A = ctx.args
    z = pyml.zeros(x[0], dtype=g.dtype, device=g.device)
    return (_cast(pyml.index_add(z, A["dim"], A["index"], g), x), None)


def _gather_f(ctx, g):
    meta = ctx.in_meta[0]
    A = ctx.args
    z = pyml.zeros(meta[0], dtype=g.dtype, device=g.device)
    return (_cast(pyml.scatter_add(z, A["dim"], A["index"], g), meta), None)


def _scatter_f(ctx, g):
    A = ctx.args
    if A.get("reduce") is not None:
        raise RuntimeError("scatter: backward with reduce= is not implemented in pyml")
    gi = pyml.scatter(g, A["dim"], A["index"], value=0.0)
    gs = pyml.gather(g, A["dim"], A["index"]) if isinstance(A.get("src"), Tensor) else None
    return (gi, None, gs) if isinstance(A.get("src"), Tensor) else (gi, None)


def _scatter_add_f(ctx, g):
    A = ctx.args
    return (g, None, pyml.gather(g, A["dim"], A["index"]))


def _index_add_f(ctx, g):
    A = ctx.args
    return (g, None, pyml.index_select(g, A["dim"], A["index"]) * A.get("alpha", 1))


def _index_copy_f(ctx, g):
    A = ctx.args
    return (pyml.index_fill(g, A["dim"], A["index"], 0.0), None, pyml.index_select(g, A["dim"], A["index"]))


def _index_fill_f(ctx, g):
    A = ctx.args
    return (pyml.index_fill(g, A["dim"], A["index"], 0.0), None) + ((None,) if isinstance(A.get("value"), Tensor) else ())


def _masked_fill_f(ctx, g):
    A = ctx.args
    mask = A["mask"]
    gi = _fit(pyml.where(mask, pyml.zeros_like(g), g), ctx.in_meta[0])
    if isinstance(A.get("value"), Tensor):
        return (gi, None, pyml.where(mask, g, pyml.zeros_like(g)).sum().reshape(ctx.in_meta[2][0]))
    return (gi, None)


def _masked_select_f(ctx, g):
    meta, mask = ctx.in_meta[0], ctx.args["mask"]
    shape = pyml.broadcast_shapes(meta[0], tuple(mask.shape))
    z = pyml.zeros(shape, dtype=g.dtype, device=g.device)
    return (_fit(pyml.masked_scatter(z, mask.expand(*shape), g), meta), None)


def _masked_scatter_f(ctx, g):
    A = ctx.args
    mask = A["mask"].expand(*g.shape)
    picked = pyml.masked_select(g, mask)
    n_src = ctx.in_meta[2][0]
    total = 1
    for s in n_src:
        total *= s
    gs = pyml.cat([picked, pyml.zeros(total - picked.numel(), dtype=g.dtype)]).reshape(n_src)
    return (pyml.where(mask, pyml.zeros_like(g), g), None, gs)


def _where_f(ctx, g):
    A = ctx.args
    cond = A["condition"]
    zero = pyml.zeros_like(g)
    gx = _fit(pyml.where(cond, g, zero), ctx.in_meta[1]) if ctx.in_meta[1] is not None else None
    gy = _fit(pyml.where(cond, zero, g), ctx.in_meta[2]) if ctx.in_meta[2] is not None else None
    return (None, gx, gy)


def _index_put_f(ctx, g):
    A = ctx.args
    idx = tuple(A["indices"])
    if A.get("accumulate"):
        gi = g
    else:
        mask = pyml.ones_like(g)
        with grad_mode.no_grad():
            mask[idx] = 0.0
        gi = g * mask
    gv = sum_to(g[idx], ctx.in_meta[-1][0])
    return (gi,) + (None,) * (len(ctx.in_meta) - 2) + (_cast(gv, ctx.in_meta[-1]),)


def _take_f(ctx, g):
    meta = ctx.in_meta[0]
    n = 1
    for s in meta[0]:
        n *= s
    idx = pyml.remainder(ctx.args["index"].reshape(-1), n) if n else ctx.args["index"].reshape(-1)
    z = pyml.zeros(n, dtype=g.dtype, device=g.device)
    return (pyml.index_add(z, 0, idx, g.reshape(-1)).reshape(meta[0]), None)


def _take_along_dim_f(ctx, g):
    A = ctx.args
    meta = ctx.in_meta[0]
    if A.get("dim") is None:
        n = g.numel() and 1
        total = 1
        for s in meta[0]:
            total *= s
        z = pyml.zeros(total, dtype=g.dtype, device=g.device)
        return (pyml.index_add(z, 0, A["indices"].reshape(-1), g.reshape(-1)).reshape(meta[0]), None)
    d = A["dim"]
    idx = A["indices"]
    shape = pyml.broadcast_shapes(tuple(meta[0][:d % len(meta[0])]) + (1,) + tuple(meta[0][d % len(meta[0]) + 1:]),
                                  tuple(idx.shape))
    z = pyml.zeros(meta[0], dtype=g.dtype, device=g.device)
    return (pyml.scatter_add(z, d, idx.expand(*shape), g), None)


def _cat_f(ctx, g):
    A = ctx.args
    d = A.get("axis") if A.get("axis") is not None else A.get("dim", 0)
    grads = []
    start = 0
    for meta in ctx.in_meta:
        shape = meta[0]
        if len(shape) == 1 and shape[0] == 0 and g.ndim != 1:
            grads.append(pyml.zeros(shape, dtype=meta[1]))  # legacy: empty 1-D inputs are skipped
            continue
        dd = d % g.ndim
        grads.append(_cast(g.narrow(dd, start, shape[dd]), meta))
        start += shape[dd]
    return tuple(grads)


def _stack_f(ctx, g):
    A = ctx.args
    d = A.get("axis") if A.get("axis") is not None else A.get("dim", 0)
    return tuple(_cast(t, m) for t, m in zip(g.unbind(d % g.ndim), ctx.in_meta))


def _split_f(ctx, *grads):
    A = ctx.args
    d = A.get("dim", 0)
    return (pyml.cat(list(grads), dim=d),)


def _flip_f(ctx, g):
    return (pyml.flip(g, ctx.args["dims"]),)


def _roll_f(ctx, g):
    A = ctx.args
    sh = A["shifts"]
    neg = [-s for s in sh] if isinstance(sh, (list, tuple)) else -sh
    return (pyml.roll(g, neg, A.get("dims")),)


def _rot90_f(ctx, g):
    A = ctx.args
    return (pyml.rot90(g, -A.get("k", 1), A.get("dims", (0, 1))),)


def _repeat_f(ctx, g):
    A = ctx.args
    sizes = A.get("sizes")
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = tuple(sizes[0])
    in_shape = ctx.in_meta[0][0]
    padded = (1,) * (len(sizes) - len(in_shape)) + tuple(in_shape)
    inter = []
    for r, s in zip(sizes, padded):
        inter += [r, s]
    gr = g.reshape(*inter)
    gr = gr.sum(dim=list(range(0, 2 * len(sizes), 2)))
    return (gr.reshape(in_shape),)


def _repeat_interleave_f(ctx, g):
    A = ctx.args
    meta = ctx.in_meta[0]
    x_shape = meta[0]
    dim = A.get("dim")
    reps = A.get("repeats")
    n = x_shape[dim] if dim is not None else (g.numel() and 1) * _numel(x_shape)
    src = pyml.repeat_interleave(pyml.arange(n), reps if not isinstance(reps, Tensor) else reps, dim=0)
    if dim is None:
        z = pyml.zeros(_numel(x_shape), dtype=g.dtype)
        return (pyml.index_add(z, 0, src, g.reshape(-1)).reshape(x_shape),) + _none_for(reps)
    z = pyml.zeros(x_shape, dtype=g.dtype)
    return (pyml.index_add(z, dim, src, g),) + _none_for(reps)


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _none_for(v):
    return (None,) if isinstance(v, Tensor) else ()


def _pad_f(ctx, g):
    A = ctx.args
    pad = list(A["pad"])
    mode = A.get("mode", "constant")
    shape = ctx.in_meta[0][0]
    if mode == "constant":
        return (pyml.pad(g, [-p for p in pad]),)
    # reflect/replicate/circular: route each output position back to its source with a linear index map
    idx = pyml.arange(_numel(shape), dtype=pyml.float64).reshape(shape)
    src = pyml.pad(idx, pad, mode=mode).to(pyml.int64)
    z = pyml.zeros(_numel(shape), dtype=g.dtype)
    return (pyml.index_add(z, 0, src.reshape(-1), g.reshape(-1)).reshape(shape),)


def _tril_f(ctx, g):
    return (pyml.tril(g, ctx.args.get("diagonal", 0)),)


def _triu_f(ctx, g):
    return (pyml.triu(g, ctx.args.get("diagonal", 0)),)


def _diag_f(ctx, g):
    A = ctx.args
    off = A.get("diagonal", 0)
    shape = ctx.in_meta[0][0]
    if len(shape) == 1:
        return (pyml.diagonal(g, off),)
    from .formulas import _embed
    return (_embed(g, shape, lambda z: pyml.diagonal(z, off)),)


def _diag_embed_f(ctx, g):
    A = ctx.args
    return (pyml.diagonal(g, A.get("offset", 0), A.get("dim1", -2), A.get("dim2", -1)),)


# ---------------------------------------------------------------------------------- __getitem__ / __setitem__
def _linear_map(shape, key):
    """For each element of x[key], its flat position in x (any key: basic, advanced, masks)."""
    lin = wrap(pyml._C.reshape(pyml.arange(_numel(shape))._impl, list(shape))) if len(shape) else pyml.arange(1).reshape(())
    with grad_mode.no_grad():
        return _RAW_GETITEM(lin, key)


def _getitem_f(ctx, g):
    shape = ctx.in_meta[0][0]
    lin = ctx.args
    z = pyml.zeros(_numel(shape), dtype=g.dtype, device=g.device)
    return (pyml.index_add(z, 0, lin.reshape(-1), g.reshape(-1)).reshape(shape),)


def _getitem(self, key):
    out = _RAW_GETITEM(self, key)
    if not isinstance(out, Tensor):
        return out
    if out._impl.storage_id == self._impl.storage_id:  # basic indexing: a view
        return record_view(self, out, lambda z, key=key: z[key])
    if needs_grad(self) and self.dtype.is_floating_point:
        record("IndexBackward", _getitem_f, [self], [out], _linear_map(tuple(self.shape), key), save_inputs=False)
    return out


def _setitem_f(ctx, g):
    key, vmeta = ctx.args
    mask = pyml.ones_like(g)
    with grad_mode.no_grad():
        _RAW_SETITEM(mask, key, 0.0)
    gx = g * mask
    gv = _fit(g[key], vmeta) if vmeta is not None else None
    return (gx, gv)


def _setitem(self, key, value):
    before = before_inplace(self, (value,))
    _RAW_SETITEM(self, key, value)
    if before is not None and self.dtype.is_floating_point:
        vmeta = (tuple(value.shape), value.dtype, value.device) if isinstance(value, Tensor) else None
        _inplace(self, "IndexPutBackward", _setitem_f, [before, value if isinstance(value, Tensor) else None],
                 (key, vmeta), save_out=False)


_RAW_GETITEM = None
_RAW_SETITEM = None


def install():
    global _RAW_GETITEM, _RAW_SETITEM
    from .._ops import index as I
    D = differentiable
    D(I, "index_select", _index_select_f, tensors=("input", "index"), save_inputs=False)
    D(I, "gather", _gather_f, tensors=("input", "index"), save_inputs=False)
    D(I, "scatter", _scatter_f, tensors=("input", "index", "src"), save_inputs=False)
    D(I, "scatter_add", _scatter_add_f, tensors=("input", "index", "src"), save_inputs=False)
    D(I, "index_add", _index_add_f, tensors=("input", "index", "source"), save_inputs=False)
    D(I, "index_copy", _index_copy_f, tensors=("input", "index", "source"), save_inputs=False)
    D(I, "index_fill", _index_fill_f, tensors=("input", "index", "value"), save_inputs=False)
    D(I, "masked_fill", _masked_fill_f, tensors=("input", "mask", "value"), save_inputs=False)
    D(I, "masked_select", _masked_select_f, tensors=("input", "mask"), save_inputs=False)
    D(I, "masked_scatter", _masked_scatter_f, tensors=("input", "mask", "source"), save_inputs=False)
    D(I, "where", _where_f, tensors=("condition", "input", "other"), save_inputs=False, method=False)
    D(I, "index_put", _index_put_f, tensors=("input", "indices", "values"), save_inputs=False)
    D(I, "take", _take_f, tensors=("input", "index"), save_inputs=False)
    D(I, "take_along_dim", _take_along_dim_f, tensors=("input", "indices"), save_inputs=False)
    D(I, "cat", _cat_f, tensors=("tensors",), save_inputs=False, method=False)
    D(I, "stack", _stack_f, tensors=("tensors",), save_inputs=False, method=False)
    for n in ("split", "chunk", "tensor_split"):
        D(I, n, _split_f, tensors=("input", "tensor"), save_inputs=False)
    D(I, "flip", _flip_f, save_inputs=False)
    D(I, "roll", _roll_f, save_inputs=False)
    D(I, "rot90", _rot90_f, save_inputs=False)
    D(I, "repeat", _repeat_f, tensors=("self",), save_inputs=False)
    D(I, "repeat_interleave", _repeat_interleave_f, tensors=("input", "repeats"), save_inputs=False)
    D(I, "pad", _pad_f, save_inputs=False)
    D(I, "tril", _tril_f, save_inputs=False)
    D(I, "triu", _triu_f, save_inputs=False)
    D(I, "diag", _diag_f, save_inputs=False)
    D(I, "diag_embed", _diag_embed_f, save_inputs=False)
    _RAW_GETITEM = Tensor.__getitem__
    _RAW_SETITEM = Tensor.__setitem__
    Tensor.__getitem__ = _getitem
    Tensor.__setitem__ = _setitem
