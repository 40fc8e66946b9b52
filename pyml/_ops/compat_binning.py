"""Grouping values into bins or segments: histogram, histogramdd (NumPy's semantics, as torch) and segment_reduce.

histogram(dd): each dimension's edges are either given or linspace(min, max, bins + 1) in the input's dtype
(min/max from range= or from the data; an empty range is widened by 0.5 each way, as NumPy does). A value
falls in bin i when edges[i] <= x < edges[i + 1], the last bin also taking x == edges[-1]; the bin is found
by a binary search over the stored edges (searchsorted), so values sitting on an edge land exactly where
NumPy puts them. Counts (or summed weights) are accumulated with one index_add over the flat bin index.

segment_reduce: segments are runs of `lengths` (or offsets[i]..offsets[i+1]) consecutive elements along
`axis`, one set per leading index (lengths has shape data.shape[:axis] + (S,)). Leading index b and segment
s become one flat slot b * S + s, so every reduction is a single index_add / index_reduce along dim 0 of
data viewed as (B * L, ...); gradients come from those ops.
"""
import builtins
import collections

import pyml
from .. import _dtype as D
from .._tensor import Tensor, export
from .compat_util import need, as_int, wrap_dim, store_out

_histogram_result = collections.namedtuple("histogram", ["hist", "bin_edges"])
_histogramdd_result = collections.namedtuple("histogramdd", ["hist", "bin_edges"])


# ---------------------------------------------------------------------------- edges and bin indices
def _check_input(op, input, weight):
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: expects a floating point input tensor, got {input.dtype}")
    if weight is not None:
        need(weight, op, "weight")
        if weight.dtype is not input.dtype:
            raise TypeError(f"{op}: if weight tensor is provided, input tensor and weight tensor should have the "
                            f"same dtype, got input({input.dtype}) and weight({weight.dtype})")


def _auto_edges(op, col, bins, lo_hi, i):
    """linspace edges for one dimension: the given range, or the data's min and max."""
    if bins <= 0:
        raise ValueError(f"{op}: bins must be > 0, got {bins} for dimension {i}")
    if lo_hi is not None:
        lo, hi = builtins.float(lo_hi[0]), builtins.float(lo_hi[1])
    elif col.numel():
        lo, hi = col.min().item(), col.max().item()
    else:
        lo, hi = 0.0, 1.0
    if lo > hi:
        raise ValueError(f"{op}: min should not exceed max, got min {lo} max {hi} for dimension {i}")
    if not (abs(lo) < float("inf") and abs(hi) < float("inf")):
        raise ValueError(f"{op}: dimension {i}'s range [{lo}, {hi}] is not finite")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return pyml.linspace(lo, hi, bins + 1, dtype=col.dtype, device=col.device)


def _bin_index(col, edges):
    """(bin index, inside mask) of each value against sorted edges (the last bin closed on the right)."""
    nb = edges.numel() - 1
    pos = pyml.searchsorted(edges, col.contiguous(), right=True) - 1
    pos = pyml.where(col == edges[-1], pyml.full_like(pos, nb - 1), pos)
    inside = (col >= edges[0]) & (col <= edges[-1]) & (pos >= 0) & (pos < nb)
    return pos, inside


def _dd(op, x, bins, range, weight, density):
    """x: (N, D). Returns (hist, edges) with hist of shape (bins_0, ..., bins_{D-1})."""
    n_dims = x.shape[1]
    edges = _edges_per_dim(op, x, bins, range, n_dims)
    flat = pyml.zeros(x.shape[0], dtype=D.int64, device=x.device)
    keep = pyml.ones(x.shape[0], dtype=D.bool_, device=x.device)
    for i, e in enumerate(edges):
        pos, inside = _bin_index(x[:, i], e)
        flat = flat * (e.numel() - 1) + pyml.where(inside, pos, pyml.zeros_like(pos))
        keep = keep & inside
    sizes = [e.numel() - 1 for e in edges]
    w = pyml.ones(x.shape[0], dtype=x.dtype, device=x.device) if weight is None else weight.reshape(-1)
    hist = pyml.zeros(builtins.max(_prod(sizes), 0), dtype=x.dtype, device=x.device)
    hist = hist.index_add(0, flat[keep], w[keep]).reshape(sizes)
    if density:
        hist = _density(hist, edges)
    return hist, edges


def _edges_per_dim(op, x, bins, range, n_dims):
    if range is not None:
        range = [builtins.float(v) for v in range]
        if len(range) != 2 * n_dims:
            raise ValueError(f"{op}: expected {2 * n_dims} range values (min and max per dimension), got "
                             f"{len(range)}")
    if isinstance(bins, (Tensor, builtins.int)) or not isinstance(bins, (list, tuple)):
        bins = [bins] * n_dims
    if len(bins) != n_dims:
        raise ValueError(f"{op}: expected {n_dims} bin specifications (one per dimension), got {len(bins)}")
    edges = []
    for i, b in enumerate(bins):
        if isinstance(b, Tensor):
            if b.ndim != 1 or b.numel() < 1:
                raise ValueError(f"{op}: bins tensor for dimension {i} must be 1-D and non-empty, got shape "
                                 f"{tuple(b.shape)}")
            edges.append(b.to(x.dtype))
        else:
            lo_hi = None if range is None else range[2 * i:2 * i + 2]
            edges.append(_auto_edges(op, x[:, i], as_int(b, op, "bins"), lo_hi, i))
    return edges


def _prod(sizes):
    r = 1
    for s in sizes:
        r *= s
    return r


def _density(hist, edges):
    """hist / (total * bin volume)."""
    vol = None
    for i, e in enumerate(edges):
        shape = [1] * len(edges)
        shape[i] = e.numel() - 1
        w = pyml.diff(e).reshape(shape)
        vol = w if vol is None else vol * w
    return hist / (hist.sum() * vol)


# ---------------------------------------------------------------------------- histogram / histogramdd
def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """(hist, bin_edges): counts (or summed weights) of input's values in `bins` equal bins over range (or
    over the data's min..max), or in the bins a 1-D tensor of edges gives; density=True normalises to a
    probability density."""
    _check_input("histogram", input, weight)
    if isinstance(bins, Tensor) and bins.ndim != 1:
        raise ValueError(f"histogram: bins must be an int or a 1-D tensor of edges, got shape {tuple(bins.shape)}")
    hist, edges = _dd("histogram", input.reshape(-1, 1), [bins], range, weight, density)
    r = _histogram_result(hist, edges[0])
    if out is not None:
        return _histogram_result(store_out(r[0], out[0], "histogram"), store_out(r[1], out[1], "histogram"))
    return r


def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    """(hist, bin_edges) of the D-dimensional points in input (..., D); bins is an int, one int per dimension
    or one tensor of edges per dimension; range is [min_0, max_0, min_1, max_1, ...]."""
    _check_input("histogramdd", input, weight)
    if input.ndim < 2:
        raise ValueError(f"histogramdd: input tensor should have at least 2 dimensions, got shape "
                         f"{tuple(input.shape)}")
    x = input.reshape(-1, input.shape[-1])  # (N, D)
    hist, edges = _dd("histogramdd", x, bins, range, weight, density)
    return _histogramdd_result(hist, tuple(edges))


# ---------------------------------------------------------------------------- segment_reduce
_SEGMENT = {"sum": "sum", "mean": "mean", "max": "amax", "amax": "amax", "min": "amin", "amin": "amin",
            "prod": "prod"}


def _segment_lengths(op, data, lengths, offsets, axis):
    if lengths is None and offsets is None:
        raise ValueError(f"{op}: either lengths or offsets must be defined")
    t = lengths if lengths is not None else offsets
    need(t, op, "lengths" if lengths is not None else "offsets")
    if t.dtype not in (D.int32, D.int64):
        raise TypeError(f"{op}: lengths and offsets must be int32 or int64 tensors, got {t.dtype}")
    if t.ndim != axis + 1 or tuple(t.shape[:axis]) != tuple(data.shape[:axis]):
        raise ValueError(f"{op}: expected axis ({axis}) to be the last dimension of lengths/offsets, whose leading "
                         f"dims match data's; data {tuple(data.shape)}, lengths/offsets {tuple(t.shape)}")
    lens = (t if lengths is not None else pyml.diff(t, dim=-1)).to(D.int64)
    if lens.numel() and builtins.bool((lens < 0).any()):
        raise ValueError(f"{op}: lengths contains negative value")
    return lens


def _segment_slots(lens, n_pos, unsafe, op):
    """Flat slot b * S + s of every position along the axis, and which positions belong to a segment."""
    n_batch, n_seg = _prod(lens.shape[:-1]), lens.shape[-1]
    lens2 = lens.reshape(n_batch, n_seg)
    ends = lens2.cumsum(-1)  # (B, S)
    if not unsafe and n_seg and builtins.bool((ends[:, -1] != n_pos).any()):
        raise ValueError(f"{op}: expected all rows of lengths along axis to sum to data.size(axis) ({n_pos}) when "
                         f"unsafe=False, got sums {ends[:, -1].tolist()}")
    pos = pyml.arange(n_pos, device=lens.device).expand(n_batch, n_pos).contiguous()
    seg = pyml.searchsorted(ends.contiguous(), pos, right=True) if n_seg else pyml.zeros_like(pos)  # (B, L)
    valid = seg < n_seg
    slots = seg + pyml.arange(n_batch, device=lens.device).reshape(n_batch, 1) * n_seg
    return slots.reshape(-1), valid.reshape(-1), n_batch * n_seg


def _segment_reduce(rows, slots, n_slots, reduce, initial):
    """rows (M, R...) reduced into n_slots slots."""
    shape = (n_slots,) + tuple(rows.shape[1:])
    if reduce in ("sum", "mean"):
        total = pyml.zeros(shape, dtype=rows.dtype, device=rows.device).index_add(0, slots, rows)
        if initial is not None:
            total = total + initial
        if reduce == "sum":
            return total
        count = pyml.zeros(n_slots, dtype=rows.dtype, device=rows.device).index_add(
            0, slots, pyml.ones(slots.numel(), dtype=rows.dtype, device=rows.device))
        count = count.reshape((n_slots,) + (1,) * (rows.ndim - 1))
        if initial is not None:  # torch: (initial + sum) / count, and initial itself for an empty segment
            count = count.masked_fill(count == 0, 1)
        return total / count  # (an empty segment without initial: 0 / 0 = NaN, as torch)
    ident = {"amax": -float("inf"), "amin": float("inf"), "prod": 1.0}[reduce]
    start = pyml.full(shape, ident if initial is None else initial, dtype=rows.dtype, device=rows.device)
    return pyml.index_reduce(start, 0, slots, rows, reduce, include_self=initial is not None)


def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0, unsafe=False, initial=None):
    """Reduce ('sum', 'mean', 'max', 'min', 'prod') runs of consecutive elements of data along axis, the runs
    given by lengths or offsets; an empty segment gives initial if given, else 0 / NaN / -inf / inf / 1."""
    op = "segment_reduce"
    need(data, op, "data")
    if reduce not in _SEGMENT:
        raise ValueError(f"{op}: reduce argument must be either sum, prod, mean, max (amax) or min (amin), got "
                         f"{reduce!r}")
    if indices is not None:
        raise NotImplementedError(f"{op}: indices based reduction is not supported yet (as in torch)")
    if not data.dtype.is_floating_point:
        raise TypeError(f"{op}: expects a floating point data tensor, got {data.dtype}")
    axis = wrap_dim(axis, data.ndim, op)
    lens = _segment_lengths(op, data, lengths, offsets, axis)
    n_pos = data.shape[axis]
    slots, valid, n_slots = _segment_slots(lens, n_pos, builtins.bool(unsafe), op)
    rows = data.reshape((-1,) + tuple(data.shape[axis + 1:]))  # (B * L, rest)
    r = _segment_reduce(rows[valid], slots[valid], n_slots, _SEGMENT[reduce], initial)
    return r.reshape(tuple(data.shape[:axis]) + (lens.shape[-1],) + tuple(data.shape[axis + 1:]))


Tensor.histogram = lambda self, bins=100, *, range=None, weight=None, density=False, out=None: pyml.histogram(
    self, bins, range=range, weight=weight, density=density, out=out)
__all__ = export(globals())
