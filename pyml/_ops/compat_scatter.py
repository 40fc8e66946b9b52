"""Scatter-style writes PyTorch has beyond index.py: index_reduce (prod/mean/amax/amin, include_self), put/put_
(flat indices, accumulate), select_scatter, slice_scatter, diagonal_scatter, as_strided_scatter.

index_reduce runs the engine's scatter_reduce_ with the 1-D index broadcast over source, as one autograd
node whose backward is PyTorch's: prod divides the result by each factor (replacing a lone zero by one and
recomputing), mean divides by the counts, amax/amin share the gradient evenly among the tied maxima.
The *_scatter ops write src into the matching view of a clone of input, so the view machinery of autograd
gives both gradients (input's outside the view, src's inside it).
"""
import builtins

import pyml
from .. import _dtype as D
from .._tensor import Tensor, export
from .compat_util import need, as_int, wrap_dim, store_out, apply, method, inplace

_REDUCE = ("prod", "mean", "amax", "amin")


# ---------------------------------------------------------------------------- index_reduce
def _check_index(op, index, n_src, size):
    need(index, op, "index")
    if index.ndim > 1:
        raise IndexError(f"{op}: index is supposed to be a vector, got shape {tuple(index.shape)}")
    if index.dtype not in (D.int32, D.int64):
        raise TypeError(f"{op}: expected dtype int32/int64 for index, got {index.dtype}")
    if index.numel() != n_src:
        raise ValueError(f"{op}: number of indices ({index.numel()}) should be equal to source.size(dim) ({n_src})")
    if index.numel() and builtins.bool(((index < 0) | (index >= size)).any()):
        raise IndexError(f"{op}: index out of range in self: indices must lie in [0, {size}), got "
                         f"[{index.min().item()}, {index.max().item()}]")


def _check_source(op, self, d, source):
    need(source, op, "source")
    if source.dtype is not self.dtype:
        raise TypeError(f"{op}: self ({self.dtype}) and source ({source.dtype}) must have the same dtype")
    s_shape, t_shape = list(self.shape), list(source.shape)
    if self.ndim != source.ndim or s_shape[:d] + s_shape[d + 1:] != t_shape[:d] + t_shape[d + 1:]:
        raise ValueError(f"{op}: source shape must match self shape except in dim {d}; self {tuple(self.shape)}, "
                         f"source {tuple(source.shape)}")


def _full_index(index, d, like):
    shape = [1] * like.ndim
    shape[d] = index.numel()
    return index.to(D.int64).reshape(shape).expand(like.shape)


def _reduce_fwd(self, source, d, index, reduce, include_self):
    full = _full_index(index, d, source)
    return self.clone().scatter_reduce_(d, full, source, reduce, include_self=include_self)


def _picked(t, d, index):
    return t.index_select(d, index)


def _prod_grads(self, source, d, index, include_self, result, g):
    masked_self = self.masked_fill(self == 0, 1)
    g_self = g * _reduce_fwd(masked_self, source, d, index, "prod", include_self) / masked_self
    src_zero = source == 0
    zeros = pyml.zeros_like(self).index_add(d, index, src_zero.to(self.dtype))
    lone = src_zero & (_picked(zeros, d, index) == 1)  # the only zero factor of its slot
    others = _reduce_fwd(self, source.masked_fill(lone, 1), d, index, "prod", include_self)
    g_src = pyml.where(lone, _picked(g * others, d, index),
                       _picked(g * result, d, index) / source.masked_fill(src_zero, 1))
    return g_self, g_src


def _mean_grads(self, source, d, index, include_self, g):
    counts = pyml.ones_like(self) if include_self else pyml.zeros_like(self)
    counts = counts.index_add(d, index, pyml.ones_like(source))
    share = g / counts.masked_fill(counts == 0, 1)
    return share, _picked(share, d, index)


def _extreme_grads(self, source, d, index, include_self, result, g):
    self_hit = (self == result).to(g.dtype)
    if not include_self:
        self_hit = self_hit.index_fill(d, index, 0)
    src_hit = (source == _picked(result, d, index)).to(g.dtype)
    ties = self_hit.index_add(d, index, src_hit)
    share = g / ties.masked_fill(ties == 0, 1)
    return self_hit * share, src_hit * _picked(share, d, index)


def _index_reduce_bwd(ctx, g):
    self, _, source = ctx.inputs
    d, index, reduce, include_self = ctx.params
    if reduce == "prod":
        g_self, g_src = _prod_grads(self, source, d, index, include_self, ctx.out, g)
    elif reduce == "mean":
        g_self, g_src = _mean_grads(self, source, d, index, include_self, g)
    else:
        g_self, g_src = _extreme_grads(self, source, d, index, include_self, ctx.out, g)
    if not include_self:
        g_self = g_self.index_fill(d, index, 0)
    return g_self, None, g_src


def index_reduce(input, dim, index, source, reduce, *, include_self=True, out=None):
    """input with source's slices reduced into the slices index names along dim: reduce is 'prod', 'mean',
    'amax' or 'amin'; include_self=False leaves input's own values out of the reduced slots."""
    op = "index_reduce"
    if reduce not in _REDUCE:
        raise ValueError(f"{op}: expected reduce to be one of prod, mean, amax or amin, got {reduce!r}")
    x, src = (input.reshape(1), source.reshape(1)) if input.ndim == 0 else (input, source)
    d = wrap_dim(dim, x.ndim, op)
    _check_source(op, x, d, src)
    _check_index(op, index, src.shape[d], x.shape[d])
    idx = index.reshape(-1).to(D.int64)
    r = apply("IndexReduceBackward", lambda s, i, t, *p: _reduce_fwd(s, t, *p), _index_reduce_bwd, x, idx, src,
              params=(d, idx, reduce, builtins.bool(include_self)))
    return store_out(r.reshape(input.shape), out, op)


def _index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    others = [t for t in (source,) if isinstance(t, Tensor)]
    return inplace(self, pyml.index_reduce, others, "index_reduce_", dim, index, source, reduce,
                   include_self=include_self)


# ---------------------------------------------------------------------------- put
def _put_(self, index, source, accumulate=False):
    """Write source into self at flat (row-major) positions index; negative positions count from the end;
    accumulate=True adds, summing repeated positions."""
    op = "put_"
    need(self, op, "self")
    need(index, op, "index")
    need(source, op, "source")
    if index.dtype is not D.int64:
        raise TypeError(f"{op}: expected a long tensor for index, got {index.dtype}")
    if source.dtype is not self.dtype:
        raise TypeError(f"{op}: self and source expected to have the same dtype, got self.dtype = {self.dtype} and "
                        f"source.dtype = {source.dtype}")
    if index.numel() != source.numel():
        raise IndexError(f"{op}: expected source and index to have the same number of elements, got "
                         f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    n = self.numel()
    flat = index.reshape(-1)
    if flat.numel() and builtins.bool(((flat < -n) | (flat >= n)).any()):
        bad = flat[(flat < -n) | (flat >= n)][0].item()
        raise IndexError(f"{op}: out of range: tried to access index {bad} on a tensor of {n} elements")
    flat = pyml.where(flat < 0, flat + n, flat)
    if self.ndim == 0:
        self.reshape(1).index_put_((flat,), source.reshape(-1), builtins.bool(accumulate))
        return self
    coords = pyml.unravel_index(flat, tuple(self.shape))
    return self.index_put_(tuple(coords), source.reshape(-1), builtins.bool(accumulate))


def put(input, index, source, accumulate=False):
    """A copy of input with source written (or added) at the flat positions index."""
    return _put_(input.clone(), index, source, accumulate)


# ---------------------------------------------------------------------------- *_scatter
def _scatter_into(op, input, src, view):
    """A copy of input whose view(copy) holds src (cast to input's dtype); src must match the view's shape."""
    need(src, op, "src")
    out = input.clone()
    part = view(out)
    if tuple(part.shape) != tuple(src.shape):
        raise ValueError(f"{op}: expected src to have a size equal to the slice of self, got src size "
                         f"{tuple(src.shape)} and slice size {tuple(part.shape)}")
    part.copy_(src)
    return out


def select_scatter(input, src, dim, index):
    """A copy of input with input.select(dim, index) replaced by src."""
    d = wrap_dim(dim, input.ndim, "select_scatter")
    return _scatter_into("select_scatter", input, src, lambda t: t.select(d, index))


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of input with input[start:end:step] along dim replaced by src."""
    d = wrap_dim(dim, input.ndim, "slice_scatter")
    step = as_int(step, "slice_scatter", "step")
    if step <= 0:
        raise ValueError(f"slice_scatter: slice step must be positive, got {step}")
    key = (builtins.slice(None),) * d + (builtins.slice(start, end, step),)
    return _scatter_into("slice_scatter", input, src, lambda t: t[key])


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of input with its diagonal (offset, dim1, dim2) replaced by src."""
    return _scatter_into("diagonal_scatter", input, src, lambda t: t.diagonal(offset, dim1, dim2))


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """A copy of input with its as_strided(size, stride, storage_offset) view replaced by src. The geometry is
    read against a contiguous (row-major) copy of input, whose storage offset is 0."""
    offset = 0 if storage_offset is None else as_int(storage_offset, "as_strided_scatter", "storage_offset")
    return _scatter_into("as_strided_scatter", input.contiguous(), src,
                         lambda t: t.as_strided(size, stride, offset))


# ---------------------------------------------------------------------------- methods, in-place forms
for _n in ("index_reduce", "put", "select_scatter", "slice_scatter", "diagonal_scatter", "as_strided_scatter"):
    setattr(Tensor, _n, method(globals()[_n]))
_index_reduce_.__name__, _put_.__name__ = "index_reduce_", "put_"
Tensor.index_reduce_ = _index_reduce_
Tensor.put_ = _put_

__all__ = export(globals())
