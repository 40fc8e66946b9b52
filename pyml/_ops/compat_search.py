"""Searching and counting: searchsorted, bucketize, isin, bincount, histc, unravel_index.

searchsorted is a vectorised binary search: every value keeps its own [lo, hi) window and all windows
halve together, one gather + compare per round, for ceil(log2(M + 1)) rounds: O(N log M) work, never an
(N, M) comparison matrix. The comparisons are PyTorch's (lower bound: !(s[mid] >= v), upper bound:
!(s[mid] > v)), so NaNs land where torch puts them. isin sorts the test elements once and searches them.
bincount and histc scatter-add ones (or weights) into zeros with index_add.
"""
import builtins
import math

import pyml
from .. import _dtype as D
from .._tensor import Tensor, export, to_np_shape
from .compat_util import need, as_int, need_number, store_out


# ---------------------------------------------------------------------------- searchsorted / bucketize
def _side(op, right, side):
    if side is None:
        return builtins.bool(right)
    if side not in ("left", "right"):
        raise ValueError(f"{op}: side must be 'left' or 'right', got {side!r}")
    if right and side == "left":
        raise ValueError(f"{op}: side and right can't be set to opposites, got side='left' while right=True")
    return side == "right"


def _search(seq, values, right):
    """Insertion points of values (..., N) in the sorted last dim of seq (..., M) (or 1-D seq)."""
    m = seq.shape[-1]
    lo = pyml.zeros(values.shape, dtype=D.int64, device=values.device)
    hi = pyml.full(values.shape, m, dtype=D.int64, device=values.device)
    if m == 0 or values.numel() == 0:
        return lo
    flat = seq.ndim == 1
    for _ in range(math.ceil(math.log2(m + 1))):
        mid = (lo + hi) // 2  # == lo + (hi - lo) // 2 for non-negative bounds, as in torch
        idx = pyml.clamp(mid, max=m - 1)  # finished windows (lo == hi == m) read a valid element
        s = seq[idx.reshape(-1)].reshape(idx.shape) if flat else pyml.gather(seq, -1, idx)
        go_right = ~(s > values) if right else ~(s >= values)
        active = lo < hi
        lo = pyml.where(active & go_right, mid + 1, lo)
        hi = pyml.where(active & ~go_right, mid, hi)
    return lo


def _check_seq(op, seq, values, sorter):
    if seq.ndim == 0:
        raise ValueError(f"{op}: boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries "
                         f"tensor and input value tensor must match, got a 0-d boundaries tensor")
    if seq.ndim > 1 and (seq.ndim != values.ndim or tuple(seq.shape[:-1]) != tuple(values.shape[:-1])):
        raise ValueError(f"{op}: boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries "
                         f"tensor and input value tensor must match, got boundaries {tuple(seq.shape)} and input "
                         f"value {tuple(values.shape)}")
    if sorter is not None:
        need(sorter, op, "sorter")
        if sorter.dtype is not D.int64 or tuple(sorter.shape) != tuple(seq.shape):
            raise ValueError(f"{op}: sorter must be an int64 tensor of the boundaries' shape {tuple(seq.shape)}, "
                             f"got {sorter.dtype} {tuple(sorter.shape)}")
        seq = pyml.gather(seq, -1, sorter)
    return seq


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None, out=None):
    """Indices where the values of input would be inserted into sorted_sequence's last dim to keep it sorted
    (first such index; the last one with right=True or side='right')."""
    op = "searchsorted"
    need(sorted_sequence, op, "sorted_sequence")
    right = _side(op, right, side)
    scalar = not isinstance(input, Tensor)
    if scalar:
        if sorted_sequence.ndim != 1:
            raise ValueError(f"{op}: input value can be a scalar only when boundaries tensor dimension is 1, got "
                             f"boundaries {tuple(sorted_sequence.shape)}")
        value = need_number(input, op, "input")
        input = pyml.full([], value, device=sorted_sequence.device, dtype=pyml.result_type(sorted_sequence, value))
    seq = _check_seq(op, sorted_sequence, input, sorter)
    with pyml.no_grad():
        r = _search(seq.detach(), input.detach(), right)
    return store_out(r.to(D.int32) if out_int32 else r, out, op)


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each value for 1-D sorted boundaries: i with boundaries[i-1] < x <= boundaries[i]
    (boundaries[i-1] <= x < boundaries[i] with right=True)."""
    need(boundaries, "bucketize", "boundaries")
    if boundaries.ndim != 1:
        raise ValueError(f"bucketize: boundaries tensor must be 1 dimension, got shape {tuple(boundaries.shape)}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


# ---------------------------------------------------------------------------- isin
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """True where an element of `elements` occurs in test_elements (NaN never does); shape of elements."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin: expected at least one Tensor, got {type(elements).__name__} and "
                        f"{type(test_elements).__name__}")
    like = elements if isinstance(elements, Tensor) else test_elements
    e, t = (v if isinstance(v, Tensor) else pyml.tensor(need_number(v, "isin", "element"), device=like.device)
            for v in (elements, test_elements))
    with pyml.no_grad():
        dt = pyml.promote_types(e.dtype, t.dtype)
        e, t = e.detach().to(dt), t.detach().to(dt)
        found = pyml.zeros(e.shape, dtype=D.bool_, device=e.device)
        t = t.reshape(-1)
        if t.dtype.is_floating_point:
            t = t[~pyml.isnan(t)]  # NaN matches nothing, and would break the sorted order the search needs
        if t.numel():
            s = pyml.sort(t).values
            pos = pyml.clamp(_search(s, e, False), max=s.shape[0] - 1)
            found = s[pos.reshape(-1)].reshape(e.shape) == e
    return ~found if invert else found


# ---------------------------------------------------------------------------- bincount / histc
def bincount(input, weights=None, minlength=0):
    """Counts of each value of a 1-D non-negative integer tensor (sums of weights, if given), length
    max(input.max() + 1, minlength)."""
    if input.dtype.is_floating_point or input.dtype is D.bool_:
        raise TypeError(f"bincount: only supports integral inputs, got {input.dtype}")
    if input.ndim != 1:
        raise ValueError(f"bincount: only supports 1-d non-negative integral inputs, got shape {tuple(input.shape)}")
    minlength = as_int(minlength, "bincount", "minlength")
    if minlength < 0:
        raise ValueError(f"bincount: minlength should be >= 0, got {minlength}")
    if weights is not None:
        need(weights, "bincount", "weights")
        if weights.ndim != 1 or weights.shape[0] != input.shape[0]:
            raise ValueError(f"bincount: weights should be 1-d and have the same length as input, got weights "
                             f"{tuple(weights.shape)} and input {tuple(input.shape)}")
    if input.numel() == 0:  # like torch: int64 zeros whatever the weights
        return pyml.zeros(minlength, dtype=D.int64, device=input.device)
    top = builtins.int(input.max().item())
    if builtins.int(input.min().item()) < 0:
        raise ValueError("bincount: only supports 1-d non-negative integral inputs, got negative values")
    n = builtins.max(top + 1, minlength)
    dt = D.int64 if weights is None else (weights.dtype if weights.dtype.is_floating_point else D.float64)
    src = pyml.ones(input.shape, dtype=dt, device=input.device) if weights is None else weights.to(dt)
    return pyml.index_add(pyml.zeros(n, dtype=dt, device=input.device), 0, input.to(D.int64), src)


def histc(input, bins=100, min=0, max=0, *, out=None):
    """Histogram of `bins` equal-width bins over [min, max] (the data's range when both are 0; values outside
    are ignored, max falls in the last bin)."""
    if not input.dtype.is_floating_point:
        raise TypeError(f"histc: expects a floating point input, got {input.dtype}")
    bins = as_int(bins, "histc", "bins")
    if bins <= 0:
        raise ValueError(f"histc: bins must be > 0, got {bins}")
    lo, hi = builtins.float(need_number(min, "histc", "min")), builtins.float(need_number(max, "histc", "max"))
    x = input.detach().reshape(-1)
    if lo == hi and x.numel():
        lo, hi = x.min().item(), x.max().item()
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"histc: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise ValueError(f"histc: max must be larger than min, got min={lo}, max={hi}")
    with pyml.no_grad():
        keep = (x >= lo) & (x <= hi)
        pos = ((x - lo) * bins / (hi - lo)).to(D.int64)  # computed in the input's dtype, as torch
        pos = pyml.clamp(pyml.where(keep, pos, 0), 0, bins - 1)
        counts = pyml.index_add(pyml.zeros(bins, dtype=input.dtype, device=input.device), 0, pos, keep.to(input.dtype))
    return store_out(counts, out, "histc")


# ---------------------------------------------------------------------------- unravel_index
def unravel_index(indices, shape):
    """Coordinates of flat indices in a tensor of `shape` (a tuple of tensors like indices; torch's floor-mod
    arithmetic, so negative or too-large indices wrap)."""
    if not isinstance(indices, Tensor):
        indices = pyml.tensor(as_int(indices, "unravel_index", "indices"))
    if indices.dtype.is_floating_point or indices.dtype is D.bool_:
        raise TypeError(f"unravel_index: expected 'indices' to be integer dtype, got {indices.dtype}")
    dims = to_np_shape((shape,) if isinstance(shape, (tuple, list)) else (shape,), "unravel_index")
    if builtins.any(d < 0 for d in dims):
        raise ValueError(f"unravel_index: 'shape' cannot have negative values, got {tuple(dims)}")
    if builtins.any(d == 0 for d in dims):
        raise ValueError(f"unravel_index: 'shape' cannot have zero-size dimensions, got {tuple(dims)}")
    idx = indices.to(D.int64)
    out, stride = [], 1
    for d in reversed(dims):
        out.append(pyml.remainder(pyml.floor_divide(idx, stride), d))
        stride *= d
    return tuple(reversed(out))


_bucketize, _isin = bucketize, isin
Tensor.bincount = lambda self, weights=None, minlength=0: pyml.bincount(self, weights, minlength)
Tensor.histc = lambda self, bins=100, min=0, max=0: pyml.histc(self, bins, min, max)
__all__ = export(globals())
bucketize, isin = _bucketize, _isin  # like torch, their first argument may be a number
