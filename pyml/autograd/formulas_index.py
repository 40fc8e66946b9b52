"""Derivatives of indexing and layout ops (pyml/_ops/index.py), their in-place forms, and of
Tensor.__getitem__/__setitem__. Index tensors, masks and conditions are constants (no gradient);
gradients of gathers are scatters with accumulation, so duplicate indices add up like in PyTorch."""
import functools
import inspect

import pyml
from .._tensor import Tensor
from . import grad_mode
from .formulas import sum_to, _cast, _fit, before_inplace, _inplace, record_view, _embed
from .function import record, needs_grad
from .wrap import differentiable, _flatten


def _index_select_f(ctx, g):
    meta, A = ctx.in_meta[0], ctx.args
    z = pyml.zeros(meta[0], dtype=g.dtype, device=g.device)
    return (_cast(pyml.index_add(z, A["dim"], A["index"], g), meta), None)


def _gather_f(ctx, g):
    meta, A = ctx.in_meta[0], ctx.args
    z = pyml.zeros(meta[0], dtype=g.dtype, device=g.device)
    return (_cast(pyml.scatter_add(z, A["dim"], A["index"], g), meta), None)


def _scatter_f(ctx, g):
    A = ctx.args
    if A.get("reduce") is not None:
        raise RuntimeError("scatter: backward with reduce= is not implemented in pyml; use scatter_reduce")
    gi = pyml.scatter(g, A["dim"], A["index"], value=0.0)
    gs = pyml.gather(g, A["dim"], A["index"]) if ctx.in_meta[2] is not None else None
    return (gi, None, gs)


def _scatter_add_f(ctx, g):
    A = ctx.args
    return (g, None, pyml.gather(g, A["dim"], A["index"]))


def _index_add_f(ctx, g):
    A = ctx.args
    gs = pyml.index_select(g, A["dim"], A["index"])
    alpha = A.get("alpha", 1)
    return (g, None, _fit(gs if alpha == 1 else gs * alpha, ctx.in_meta[2]))


def _index_copy_f(ctx, g):
    A = ctx.args
    return (pyml.index_fill(g, A["dim"], A["index"], 0.0), None, pyml.index_select(g, A["dim"], A["index"]))


def _index_fill_f(ctx, g):
    A = ctx.args
    gi = pyml.index_fill(g, A["dim"], A["index"], 0.0)
    vmeta = ctx.in_meta[2]
    if vmeta is None:
        return (gi, None, None)
    filled = pyml.index_fill(pyml.zeros_like(g), A["dim"], A["index"], 1.0)  # duplicates count once, like torch
    return (gi, None, _cast((g * filled).sum().reshape(vmeta[0]), vmeta))


def _masked_fill_f(ctx, g):
    mask = ctx.args["mask"]
    zero = pyml.zeros_like(g)
    gi = _fit(pyml.where(mask, zero, g), ctx.in_meta[0])
    vmeta = ctx.in_meta[2]
    gv = None if vmeta is None else _cast(pyml.where(mask, g, zero).sum().reshape(vmeta[0]), vmeta)
    return (gi, None, gv)


def _masked_select_f(ctx, g):
    meta, mask = ctx.in_meta[0], ctx.args["mask"]
    shape = pyml.broadcast_shapes(meta[0], tuple(mask.shape))
    z = pyml.zeros(shape, dtype=g.dtype, device=g.device)
    return (_fit(pyml.masked_scatter(z, mask.expand(*shape), g), meta), None)


def _masked_scatter_f(ctx, g):
    mask = ctx.args["mask"].expand(*g.shape)
    picked = pyml.masked_select(g, mask)
    smeta = ctx.in_meta[2]
    pad = pyml.zeros(_numel(smeta[0]) - picked.numel(), dtype=g.dtype, device=g.device)
    gs = _cast(pyml.cat([picked, pad]).reshape(smeta[0]), smeta)
    return (_fit(pyml.where(mask, pyml.zeros_like(g), g), ctx.in_meta[0]), None, gs)


def _where_f(ctx, g):
    cond = ctx.args["condition"]
    zero = pyml.zeros_like(g)
    gx = _fit(pyml.where(cond, g, zero), ctx.in_meta[1]) if ctx.in_meta[1] is not None else None
    gy = _fit(pyml.where(cond, zero, g), ctx.in_meta[2]) if ctx.in_meta[2] is not None else None
    return (None, gx, gy)


def _index_put_f(ctx, g):
    A = ctx.args
    key = tuple(slice(None) if i is None else i for i in A["indices"])  # None: the whole dim
    gi = g
    if not A.get("accumulate"):
        with grad_mode.no_grad():
            keep = pyml.ones(tuple(g.shape), dtype=pyml.bool, device=g.device)
            _RAW_SETITEM(keep, key, False)
        gi = pyml.where(keep, g, pyml.zeros_like(g))
    vmeta = ctx.in_meta[-1]
    gv = None if vmeta is None else _fit(g[key], vmeta)
    return (gi,) + (None,) * (len(ctx.in_meta) - 2) + (gv,)


def _take_f(ctx, g):
    meta = ctx.in_meta[0]
    n = _numel(meta[0])
    idx = ctx.args["index"].reshape(-1)
    idx = pyml.where(idx < 0, idx + n, idx)
    z = pyml.zeros(n, dtype=g.dtype, device=g.device)
    return (pyml.index_add(z, 0, idx, g.reshape(-1)).reshape(meta[0]), None)


def _take_along_dim_f(ctx, g):
    A, meta = ctx.args, ctx.in_meta[0]
    idx = A["indices"]
    if A.get("dim") is None:
        z = pyml.zeros(_numel(meta[0]), dtype=g.dtype, device=g.device)
        return (pyml.index_add(z, 0, idx.reshape(-1), g.reshape(-1)).reshape(meta[0]), None)
    shape, nd = list(meta[0]), len(meta[0])
    d = A["dim"] % max(nd, 1)
    if nd == 0:
        return (g.reshape(()), None)
    # the forward broadcast input and indices over every dim but d: scatter into the broadcast shape, then reduce
    common = list(pyml.broadcast_shapes(shape[:d] + [1] + shape[d + 1:], list(idx.shape[:d]) + [1] +
                                        list(idx.shape[d + 1:])))
    idx = idx.expand(*(common[:d] + [idx.shape[d]] + common[d + 1:]))
    idx = pyml.where(idx < 0, idx + shape[d], idx)
    z = pyml.zeros(common[:d] + [shape[d]] + common[d + 1:], dtype=g.dtype, device=g.device)
    return (sum_to(pyml.scatter_add(z, d, idx, g), meta[0]), None)


def _cat_f(ctx, g):
    A = ctx.args
    d = A.get("axis") if A.get("axis") is not None else A.get("dim", 0)
    grads = []
    start = 0
    for meta in ctx.in_meta:
        shape = meta[0]
        if len(shape) == 1 and shape[0] == 0 and g.ndim != 1:
            grads.append(pyml.zeros(shape, dtype=meta[1], device=meta[2]))  # legacy: empty 1-D inputs are skipped
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
    """split/chunk/tensor_split: unused pieces arrive as zeros (the engine materialises them)."""
    g = pyml.cat(list(grads), dim=ctx.args.get("dim", 0))
    return tuple(None if m is None else g for m in ctx.in_meta)  # the tensor argument is "input" or "tensor"


def _flip_f(ctx, g):
    dims = ctx.args["dims"]
    if isinstance(dims, tuple) and len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = dims[0]  # x.flip((0, 1))
    return (pyml.flip(g, dims),)


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
    n = x_shape[dim] if dim is not None else _numel(x_shape)
    src = pyml.repeat_interleave(pyml.arange(n, device=g.device), reps, dim=0)  # output position -> source
    if dim is None:
        z = pyml.zeros(n, dtype=g.dtype, device=g.device)
        return (pyml.index_add(z, 0, src, g.reshape(-1)).reshape(x_shape), None)
    z = pyml.zeros(x_shape, dtype=g.dtype, device=g.device)
    return (pyml.index_add(z, dim, src, g), None)


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _pad_f(ctx, g):
    A = ctx.args
    pad = list(A["pad"])
    mode = A.get("mode", "constant")
    shape = ctx.in_meta[0][0]
    if mode == "constant":
        return (pyml.pad(g, [-p for p in pad]),)
    # reflect/replicate/circular: route each output position back to its source with a linear index map
    idx = pyml.arange(_numel(shape), dtype=pyml.float64, device=g.device).reshape(shape)
    src = pyml.pad(idx, pad, mode=mode).to(pyml.int64)
    z = pyml.zeros(_numel(shape), dtype=g.dtype, device=g.device)
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
    return (_embed(g, shape, lambda z: pyml.diagonal(z, off)),)


def _diag_embed_f(ctx, g):
    A = ctx.args
    return (pyml.diagonal(g, A.get("offset", 0), A.get("dim1", -2), A.get("dim2", -1)),)


# ---------------------------------------------------------------------------------- __getitem__ / __setitem__
def _put_into_zeros(g, shape, key):
    """zeros(shape) with g added at the positions x[key] reads (duplicate indices add up); differentiable in g
    (its backward reads gz[key] again)."""
    z = pyml.zeros(shape, dtype=g.dtype, device=g.device)
    view, adv = _I._parse(z, key)
    if adv is None:
        pyml._C.copy_(view, g._impl)
    else:
        pyml._C.index_put_(view, adv, g._impl, True)
    if needs_grad(g):
        record("IndexBackwardBackward", lambda ctx, gz: (gz[ctx.args],), [g], [z], key, save_inputs=False)
    return z


def _getitem_f(ctx, g):
    return (_put_into_zeros(g, ctx.in_meta[0][0], ctx.args),)


def _getitem(self, key):
    out = _RAW_GETITEM(self, key)
    if not isinstance(out, Tensor):
        return out
    if out._impl.storage_id == self._impl.storage_id:  # basic indexing: a view
        return record_view(self, out, lambda z, key=key: z[key])
    if self._requires_grad and grad_mode.is_grad_enabled() and out.dtype._diff:
        record("IndexBackward", _getitem_f, [self], [out], key, save_inputs=False)
    return out


def _setitem_f(ctx, g):
    key, vmeta = ctx.args
    with grad_mode.no_grad():
        keep = pyml.ones(tuple(g.shape), dtype=pyml.bool, device=g.device)
        _RAW_SETITEM(keep, key, False)
    gx = pyml.where(keep, g, pyml.zeros_like(g))
    gv = _fit(g[key], vmeta) if vmeta is not None else None
    return (gx, gv)


def _setitem(self, key, value):
    before = before_inplace(self, (value,))
    _RAW_SETITEM(self, key, value)
    if before is not None and self.dtype._diff:
        vmeta = (tuple(value.shape), value.dtype, value.device) if isinstance(value, Tensor) else None
        _inplace(self, "IndexPutBackward", _setitem_f, [before, value if isinstance(value, Tensor) else None],
                 (key, vmeta), save_out=False)


def _inplace_op(name, raw, formula, tensors):
    """x.index_fill_(...) and friends: the out-of-place formula with x's old value as the input."""
    sig = inspect.signature(raw)
    node_name = "".join(p.capitalize() for p in name.strip("_").split("_")) + "Backward"

    @functools.wraps(raw)
    def method(self, *args, **kwargs):
        if not grad_mode.is_grad_enabled():
            return raw(self, *args, **kwargs)
        ba = sig.bind(self, *args, **kwargs)
        ba.apply_defaults()
        A = dict(ba.arguments)
        others = _flatten(A, tensors)[1:]
        before = before_inplace(self, [o for o in others if o is not None])
        with grad_mode.no_grad():
            raw(self, *args, **kwargs)
        if before is not None and self.dtype._diff:
            _inplace(self, node_name, formula, [before] + others, A, save_out=False)
        return self
    method._pyml_ag = True
    return method


def _mark_multi_views(module, name):
    """split/chunk/tensor_split pieces share the input's memory but have one node for all: like PyTorch,
    an in-place change of a piece that requires grad raises (before_inplace checks the mark)."""
    def marking(fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            outs = fn(*args, **kwargs)
            for o in outs:
                if o._requires_grad:
                    o.__dict__["_multi_view"] = True
            return outs
        wrapped._pyml_ag = True
        return wrapped
    for owner in (module, pyml, Tensor):
        if getattr(owner, name, None) is not None:
            setattr(owner, name, marking(getattr(owner, name)))


def _tensor_split_views(raw):
    """PyTorch's tensor_split pieces are separate views (in-place changes of a piece reach the input's graph
    through CopySlices), so under autograd each piece is rebuilt as a narrow() of the input."""
    @functools.wraps(raw)
    def tensor_split(input, indices_or_sections, dim=0):
        if not (grad_mode.is_grad_enabled() and getattr(input, "_requires_grad", False)):
            return raw(input, indices_or_sections, dim)
        with grad_mode.no_grad():
            pieces = raw(input, indices_or_sections, dim)
        d = dim % max(input.ndim, 1)
        step, n = input.stride(d), input.shape[d]
        out = []
        for p in pieces:
            start = (p.storage_offset() - input.storage_offset()) // step if step and p.numel() else 0
            out.append(input.narrow(d, min(max(start, 0), n - p.shape[d]), p.shape[d]))
        return tuple(out)
    tensor_split._pyml_ag = True
    return tensor_split


_RAW_GETITEM = None
_RAW_SETITEM = None
_I = None  # pyml._ops.index, for its key parser


def install():
    global _RAW_GETITEM, _RAW_SETITEM, _I
    from .._ops import index as I
    _I = I
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
    for n in ("split", "chunk"):
        D(I, n, _split_f, tensors=("input", "tensor"), save_inputs=False)
        _mark_multi_views(I, n)
    I.tensor_split = pyml.tensor_split = Tensor.tensor_split = _tensor_split_views(I.tensor_split)
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
    for n, f, t in (("scatter_", _scatter_f, ("self", "index", "src")),
                    ("scatter_add_", _scatter_add_f, ("self", "index", "src")),
                    ("index_add_", _index_add_f, ("self", "index", "source")),
                    ("index_copy_", _index_copy_f, ("self", "index", "source")),
                    ("index_fill_", _index_fill_f, ("self", "index", "value")),
                    ("index_put_", _index_put_f, ("self", "indices", "values")),
                    ("masked_fill_", _masked_fill_f, ("self", "mask", "value")),
                    ("masked_scatter_", _masked_scatter_f, ("self", "mask", "source"))):
        setattr(Tensor, n, _inplace_op(n, getattr(Tensor, n), f, t))
    _RAW_GETITEM = Tensor.__getitem__
    _RAW_SETITEM = Tensor.__setitem__
    Tensor.__getitem__ = _getitem
    Tensor.__setitem__ = _setitem
