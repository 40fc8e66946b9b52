"""Indexing and layout ops.

Tensor.__getitem__/__setitem__ follow PyTorch: ints, slices (positive steps), None, Ellipsis and
True/False apply as views (select/slice/unsqueeze); integer tensors, lists, NumPy arrays and
bool/uint8 masks are advanced indices, gathered by the engine's `index` (a copy) and written by
`index_put_`. Also gather/scatter, index_* ops, masks, where/nonzero, and the layout ops: cat/stack,
split/chunk, flip/roll/rot90, repeat/tile/repeat_interleave, pad, tril/triu/diag.
"""
import builtins
import math

import numpy as np

from .. import _C
from .. import _dtype as D
from .._tensor import Tensor, wrap, tensor_method, export, need_tensor
from .promotion import _operand

# engine enum codes (csrc/ops/index.h)
_SCATTER_OPS = {None: 0, "add": 1, "multiply": 2, "sum": 1, "prod": 2, "amax": 3, "amin": 4}
_PAD_MODES = {"constant": 0, "reflect": 1, "replicate": 2, "circular": 3}
_NUMBER = (builtins.bool, builtins.int, builtins.float)


def _tensor(data, dtype=None):
    from .._creation import tensor
    return tensor(data, dtype=dtype)


def _scalar_tensor(value, dtype, device=None):
    return wrap(_C.full([], value, dtype._code, (0, 0) if device is None else device._pair()))


def _number(v, op):
    """A Python number from a number, a NumPy scalar or a one-element tensor."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, Tensor):
        if v.numel() != 1:
            raise ValueError(f"{op}: expected a number or a one-element tensor as value, got shape {tuple(v.shape)}")
        v = v.item()
    if not isinstance(v, _NUMBER):
        raise TypeError(f"{op}: expected a number as value, got {type(v).__name__}")
    return v


def _int(v, op, what="index"):
    if isinstance(v, (builtins.int, np.integer)) and not isinstance(v, (builtins.bool, np.bool_)):
        return builtins.int(v)
    if isinstance(v, Tensor) and v.numel() == 1 and not v.dtype.is_floating_point:
        return builtins.int(v.item())
    raise TypeError(f"{op}: {what} must be an int, got {type(v).__name__}")


def _ints(v, op, what="dims"):
    if isinstance(v, (list, tuple)):
        return [_int(x, op, what) for x in v]
    if isinstance(v, Tensor) and v.ndim == 1:
        return [builtins.int(x) for x in v.tolist()]
    return [_int(v, op, what)]


def _check_tensor(x, op, what="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor as {what}, got {type(x).__name__}")
    return x


# ---------------------------------------------------------------------------- __getitem__ / __setitem__
_NONE, _ELLIPSIS, _BOOL, _INT, _SLICE, _ADV = range(6)


def _index_tensor(k):
    """A list / NumPy array used as an index -> bool mask or int64 index tensor."""
    a = np.asarray(k)
    if a.dtype == np.bool_:
        return _tensor(a, D.bool_)
    if a.dtype.kind in "iu" or a.size == 0:
        return _tensor(a.astype(np.int64), D.int64)
    raise IndexError("index: tensors used as indices must be long, int, byte or bool tensors, "
                     f"got a sequence of dtype {a.dtype}")


def _classify(k):
    """-> (kind, value, dims consumed) for one entry of an index tuple."""
    if k is None:
        return _NONE, None, 0
    if k is Ellipsis:
        return _ELLIPSIS, None, 0
    if isinstance(k, (builtins.bool, np.bool_)):
        return _BOOL, builtins.bool(k), 0
    if isinstance(k, (builtins.int, np.integer)):
        return _INT, builtins.int(k), 1
    if isinstance(k, slice):
        return _SLICE, k, 1
    if isinstance(k, (list, tuple, np.ndarray)):
        k = _index_tensor(k)
    elif not isinstance(k, Tensor):
        raise IndexError("index: only integers, slices (`:`), ellipsis (`...`), None and long or byte tensors are "
                         f"valid indices, got {type(k).__name__}")
    if k.ndim == 0 and not k.dtype.is_floating_point:  # 0-dim tensors index like Python scalars
        if k.dtype in (D.bool_, D.uint8):
            return _BOOL, builtins.bool(k.item()), 0
        return _INT, builtins.int(k.item()), 1
    return _ADV, k, (k.ndim if k.dtype in (D.bool_, D.uint8) else 1)


def _slice_args(s):
    step = 1 if s.step is None else _int(s.step, "index", "slice step")
    if step <= 0:
        raise ValueError(f"index: slice step must be greater than zero, got {step}")
    start = None if s.start is None else _int(s.start, "index", "slice start")
    stop = None if s.stop is None else _int(s.stop, "index", "slice stop")
    return start, stop, step


def _parse(x, key):
    """Apply the basic part of `key` as views. Returns (view impl, advanced indices for _C.index or None)."""
    if isinstance(key, list) and builtins.any(k is None or k is Ellipsis or isinstance(k, slice) for k in key):
        key = tuple(key)
    items = [_classify(k) for k in (key if isinstance(key, tuple) else (key,))]
    used = builtins.sum(n for _, _, n in items)
    if used > x.ndim:
        raise IndexError(f"index: too many indices for tensor of dimension {x.ndim} (got {used})")
    if builtins.sum(1 for kind, _, _ in items if kind == _ELLIPSIS) > 1:
        raise IndexError("index: an index can only have a single ellipsis ('...')")
    t, d, adv = x._impl, 0, []
    for kind, v, n in items:
        if kind == _INT:
            t = _C.select(t, d, v)
        elif kind == _SLICE:
            start, stop, step = _slice_args(v)
            if not (start is None and stop is None and step == 1):
                t = _C.slice(t, d, start, stop, step)
            d += 1
        elif kind == _NONE:
            t = _C.unsqueeze(t, d)
            d += 1
        elif kind == _ELLIPSIS:
            d += x.ndim - used
        elif kind == _BOOL:  # a new dim of size 1, indexed by [0] (True) or [] (False), like torch
            t = _C.unsqueeze(t, d)
            adv.append((d, _tensor([0] if v else [], D.int64)._impl, 1))
            d += 1
        else:
            adv.append((d, v._impl, n))
            d += n
    if not adv:
        return t, None
    lst, pos = [], 0
    for dim, idx, n in adv:
        lst += [None] * (dim - pos) + [idx]
        pos = dim + n
    return t, lst


def _getitem(self, key):
    if isinstance(key, builtins.int) and not isinstance(key, builtins.bool):
        return wrap(_C.select(self._impl, 0, key))
    if isinstance(key, slice) and self.ndim:
        return wrap(_C.slice(self._impl, 0, *_slice_args(key)))
    t, adv = _parse(self, key)
    return wrap(t if adv is None else _C.index(t, adv))


def _strip_leading_ones(v):
    """torch drops a value's leading size-1 dims (x[0] = ones(1, n) works); they never matter to broadcasting."""
    while v.ndim and v.shape[0] == 1:
        v = wrap(_C.squeeze(v._impl, [0]))
    return v


def _setitem(self, key, value):
    if isinstance(key, Tensor) and key.dtype is D.bool_ and key.shape == self.shape and \
            key.device == self.device and isinstance(value, _NUMBER + (np.generic,)):
        masked_fill_(self, key, value)
        return
    t, adv = _parse(self, key)
    if not isinstance(value, Tensor):
        if isinstance(value, (list, tuple, np.ndarray)):
            value = _tensor(value, self.dtype)
        else:
            value = _scalar_tensor(_number(value, "index_put_"), self.dtype)
    value = _strip_leading_ones(value)
    if adv is None:
        _C.copy_(t, value._impl)
    else:
        _C.index_put_(t, adv, value._impl, False)
    self._impl.bump_version()


Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem


# ---------------------------------------------------------------------------- gather / scatter / index_*
def _index_arg(index, op):
    if isinstance(index, Tensor):
        return index
    if isinstance(index, (list, tuple, np.ndarray)):
        return _tensor(np.asarray(index, dtype=np.int64) if len(index) == 0 else index)
    raise TypeError(f"{op}: expected a Tensor as index, got {type(index).__name__}")


def index_select(input, dim, index, *, out=None):
    _check_tensor(input, "index_select")
    r = wrap(_C.index_select(input._impl, _int(dim, "index_select", "dim"), _index_arg(index, "index_select")._impl))
    return _out(r, out)


def gather(input, dim, index, *, sparse_grad=False, out=None):
    _check_tensor(input, "gather")
    return _out(wrap(_C.gather(input._impl, _int(dim, "gather", "dim"), _index_arg(index, "gather")._impl)), out)


def _scatter_src(self, index, src, value, op):
    if src is None and value is None:
        raise TypeError(f"{op}: expected src (a Tensor) or value (a number)")
    if isinstance(src, Tensor):
        return src
    v = _number(src if value is None else value, op)
    return wrap(_C.expand(_scalar_tensor(v, self.dtype, self.device)._impl, list(index.shape) or [1]))


@tensor_method()
def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
    if reduce not in (None, "add", "multiply"):
        raise ValueError(f"scatter_: reduce must be None, 'add' or 'multiply', got {reduce!r}")
    index = _index_arg(index, "scatter_")
    s = _scatter_src(self, index, src, value, "scatter_")
    _C.scatter_(self._impl, _int(dim, "scatter_", "dim"), index._impl, s._impl, _SCATTER_OPS[reduce], "scatter_")
    return self


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    return scatter_(_check_tensor(input, "scatter").clone(), dim, index, src, value=value, reduce=reduce)


@tensor_method()
def scatter_add_(self, dim, index, src):
    _C.scatter_(self._impl, _int(dim, "scatter_add_", "dim"), _index_arg(index, "scatter_add_")._impl,
                _check_tensor(src, "scatter_add_", "src")._impl, 1, "scatter_add_")
    return self


def scatter_add(input, dim, index, src):
    return scatter_add_(_check_tensor(input, "scatter_add").clone(), dim, index, src)


def _reduce_identity(dtype, reduce):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.is_floating_point:
        return -math.inf if reduce == "amax" else math.inf
    if dtype is D.bool_:
        return reduce == "amin"
    info = np.iinfo(dtype._np)
    return builtins.int(info.min if reduce == "amax" else info.max)


@tensor_method()
def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    """torch.scatter_reduce_: sum, prod, mean, amax or amin of src values (and self unless include_self=False)."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise ValueError(f"scatter_reduce_: reduce must be one of 'sum', 'prod', 'mean', 'amax', 'amin', got {reduce!r}")
    index = _index_arg(index, "scatter_reduce_")
    _check_tensor(src, "scatter_reduce_", "src")
    if not include_self:
        scatter_(self, dim, index, value=_reduce_identity(self.dtype, reduce))
    _C.scatter_(self._impl, _int(dim, "scatter_reduce_", "dim"), index._impl, src._impl, _SCATTER_OPS.get(reduce, 1),
                "scatter_reduce_")
    if reduce == "mean":
        from .._creation import ones_like, zeros_like
        count = ones_like(self) if include_self else scatter(ones_like(self), dim, index, value=0)
        count.scatter_add_(dim, index, ones_like(index, dtype=self.dtype))
        count = count.masked_fill(count == 0, 1)
        self.copy_(self / count if self.dtype.is_floating_point else self.div(count, rounding_mode="floor"))
    return self


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    return scatter_reduce_(_check_tensor(input, "scatter_reduce").clone(), dim, index, src, reduce,
                           include_self=include_self)


@tensor_method()
def index_add_(self, dim, index, source, *, alpha=1):
    _C.index_add_(self._impl, _int(dim, "index_add_", "dim"), _index_arg(index, "index_add_")._impl,
                  _check_tensor(source, "index_add_", "source")._impl, _number(alpha, "index_add_"))
    return self


def index_add(input, dim, index, source, *, alpha=1):
    return index_add_(_check_tensor(input, "index_add").clone(), dim, index, source, alpha=alpha)


@tensor_method()
def index_copy_(self, dim, index, source):
    _C.index_copy_(self._impl, _int(dim, "index_copy_", "dim"), _index_arg(index, "index_copy_")._impl,
                   _check_tensor(source, "index_copy_", "source")._impl)
    return self


def index_copy(input, dim, index, source):
    return index_copy_(_check_tensor(input, "index_copy").clone(), dim, index, source)


@tensor_method()
def index_fill_(self, dim, index, value):
    _C.index_fill_(self._impl, _int(dim, "index_fill_", "dim"), _index_arg(index, "index_fill_")._impl,
                   _number(value, "index_fill_"))
    return self


def index_fill(input, dim, index, value):
    return index_fill_(_check_tensor(input, "index_fill").clone(), dim, index, value)


@tensor_method()
def index_put_(self, indices, values, accumulate=False):
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put_: indices must be a tuple of Tensors (or None), got {type(indices).__name__}")
    idx = [None if i is None else _index_arg(i, "index_put_")._impl for i in indices]
    if not isinstance(values, Tensor):
        values = _scalar_tensor(_number(values, "index_put_"), self.dtype)
    _C.index_put_(self._impl, idx, values._impl, builtins.bool(accumulate))
    return self


def index_put(input, indices, values, accumulate=False):
    return index_put_(_check_tensor(input, "index_put").clone(), indices, values, accumulate)


def take(input, index):
    return wrap(_C.take(_check_tensor(input, "take")._impl, _index_arg(index, "take")._impl))


def take_along_dim(input, indices, dim=None, *, out=None):
    _check_tensor(input, "take_along_dim")
    indices = _index_arg(indices, "take_along_dim")
    if dim is None:
        return _out(gather(input.reshape(-1), 0, indices.reshape(-1)), out)  # torch: no negative wrap here
    if input.ndim != indices.ndim:
        raise ValueError(f"take_along_dim: input and indices should have the same number of dimensions, got "
                         f"{tuple(input.shape)} and {tuple(indices.shape)}")
    d = _int(dim, "take_along_dim", "dim") % builtins.max(input.ndim, 1)
    from .views import broadcast_shapes
    shape = list(broadcast_shapes(*([s if i != d else 1 for i, s in enumerate(t.shape)] for t in (input, indices))))
    n = input.shape[d] if input.ndim else 1
    x = input.expand(*(shape[:d] + [n] + shape[d + 1:])) if input.ndim else input
    idx = indices.expand(*(shape[:d] + [indices.shape[d]] + shape[d + 1:])) if input.ndim else indices
    idx = where(idx < 0, idx + n, idx)  # torch wraps negative indices here (gather does not)
    return _out(gather(x, d, idx), out)


# ---------------------------------------------------------------------------- masks, where, nonzero
@tensor_method()
def masked_fill_(self, mask, value):
    _C.masked_fill_(self._impl, _check_tensor(mask, "masked_fill_", "mask")._impl, _fill_value(value, "masked_fill_"))
    return self


def _fill_value(value, op):
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ValueError(f"{op}: only supports a 0-dimensional value tensor, got shape {tuple(value.shape)}")
    return _number(value, op)


def masked_fill(input, mask, value):
    _check_tensor(input, "masked_fill")
    _check_tensor(mask, "masked_fill", "mask")
    from .views import broadcast_shapes
    shape = broadcast_shapes(input.shape, mask.shape)
    out = wrap(_C.clone(_C.expand(input._impl, list(shape))))
    return masked_fill_(out, mask, value)


def masked_select(input, mask, *, out=None):
    r = wrap(_C.masked_select(_check_tensor(input, "masked_select")._impl,
                              _check_tensor(mask, "masked_select", "mask")._impl))
    return _out(r, out)


@tensor_method()
def masked_scatter_(self, mask, source):
    _check_tensor(mask, "masked_scatter_", "mask")
    if mask.dtype is not D.bool_:
        raise TypeError(f"masked_scatter_: expected a boolean mask, got mask of dtype {mask.dtype.name}")
    m = mask.expand(*self.shape) if mask.shape != self.shape else mask
    n = builtins.int(_C.nonzero(m._impl).shape[0])
    if source.numel() < n:
        raise ValueError(f"masked_scatter_: number of elements of source ({source.numel()}) < number of ones in "
                         f"mask ({n}); mask shape {tuple(mask.shape)}, source shape {tuple(source.shape)}")
    t, m = (self, m) if self.ndim else (self.view(1), m.view(1))
    _C.index_put_(t._impl, [m._impl], source.reshape(-1)[:n]._impl, False)
    return self


def masked_scatter(input, mask, source):
    from .views import broadcast_shapes
    need_tensor(mask, "masked_scatter", "mask")
    shape = broadcast_shapes(input.shape, mask.shape)
    return masked_scatter_(wrap(_C.clone(_C.expand(input._impl, list(shape)))), mask, source)


def nonzero(input, *, out=None, as_tuple=False):
    _check_tensor(input, "nonzero")
    if as_tuple:
        nz = wrap(_C.nonzero(input._impl if input.ndim else _C.view(input._impl, [1])))
        return tuple(wrap(_C.select(nz._impl, 1, k)) for k in range(nz.shape[1]))
    return _out(wrap(_C.nonzero(input._impl)), out)


def argwhere(input):
    return nonzero(input)


def where(condition, input=None, other=None, *, out=None):
    """where(cond, x, y): x where cond else y (broadcast, promoted); where(cond): nonzero(cond, as_tuple=True)."""
    _check_tensor(condition, "where", "condition")
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: expected both input and other (or neither)")
    for v in (input, other):
        if not isinstance(_plain(v), (Tensor,) + _NUMBER):
            raise TypeError(f"where: expected Tensors or numbers as input and other, got {type(v).__name__}")
    dt = D.BY_CODE[_C.result_type([_operand(v) for v in (_plain(input), _plain(other))])]
    a, b = (_cast_operand(v, dt) for v in (input, other))
    return _out(wrap(_C.where(condition._impl, a, b)), out)


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _cast_operand(v, dt):
    if isinstance(v, Tensor):
        return v._impl if v.dtype is dt else _C.to_dtype(v._impl, dt._code, False)
    return _C.full([], _number(v, "where"), dt._code, (0, 0))


Tensor.where = lambda self, condition, other: where(condition, self, other)


def _out(r, out):
    if out is None:
        return r
    from .views import _resize_out
    _resize_out(out, r)
    return out


# ---------------------------------------------------------------------------- cat / stack / split
def _tensor_list(tensors, op):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a sequence of Tensors, got a Tensor")
    ts = list(tensors)
    for t in ts:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected a sequence of Tensors, got an element of type {type(t).__name__}")
    return ts


def cat(tensors, dim=0, *, axis=None, out=None):
    ts = _tensor_list(tensors, "cat")
    d = _int(dim if axis is None else axis, "cat", "dim")
    return _out(wrap(_C.cat([t._impl for t in ts], d)), out)


concat = concatenate = cat


def stack(tensors, dim=0, *, axis=None, out=None):
    ts = _tensor_list(tensors, "stack")
    if not ts:
        raise ValueError("stack: expected a non-empty list of Tensors")
    for i, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise ValueError(f"stack: expects each tensor to be equal size, but got {tuple(ts[0].shape)} at entry 0 "
                             f"and {tuple(t.shape)} at entry {i}")
    d = _int(dim if axis is None else axis, "stack", "dim")
    n = ts[0].ndim + 1
    if not -n <= d < n:
        raise IndexError(f"stack: dim must be in the range [{-n}, {n - 1}], got {d}")
    d %= n
    return _out(wrap(_C.cat([_C.unsqueeze(t._impl, d) for t in ts], d)), out)


def atleast_1d(*tensors):
    r = [t.reshape(1) if t.ndim == 0 else t for t in _unpack(tensors)]
    return r[0] if len(r) == 1 else tuple(r)


def atleast_2d(*tensors):
    r = [t.reshape(1, -1) if t.ndim < 2 else t for t in _unpack(tensors)]
    return r[0] if len(r) == 1 else tuple(r)


def atleast_3d(*tensors):
    def f(t):
        return t.reshape(1, 1, 1) if t.ndim == 0 else t.reshape(1, -1, 1) if t.ndim == 1 else \
            t.unsqueeze(-1) if t.ndim == 2 else t
    r = [f(t) for t in _unpack(tensors)]
    return r[0] if len(r) == 1 else tuple(r)


def _unpack(tensors, op="atleast_nd"):
    ts = list(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else list(tensors)
    for t in ts:
        need_tensor(t, op, "tensors")
    return ts


def hstack(tensors, *, out=None):
    ts = [atleast_1d(t) for t in _tensor_list(tensors, "hstack")]
    return cat(ts, 0 if ts and ts[0].ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    return cat([atleast_2d(t) for t in _tensor_list(tensors, "vstack")], 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None):
    return cat([atleast_3d(t) for t in _tensor_list(tensors, "dstack")], 2, out=out)


def column_stack(tensors, *, out=None):
    ts = [t.reshape(-1, 1) if t.ndim < 2 else t for t in _tensor_list(tensors, "column_stack")]
    return cat(ts, 1, out=out)


def _dim_size(x, dim, op):
    d = _int(dim, op, "dim")
    n = builtins.max(x.ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{op}: dim must be in the range [{-n}, {n - 1}], got {d}")
    return d % n, x.shape[d % n]


def _pieces(x, d, sizes):
    out, pos = [], 0
    for s in sizes:
        out.append(wrap(_C.narrow(x._impl, d, pos, s)))
        pos += s
    return tuple(out)


def split(tensor, split_size_or_sections, dim=0):
    d, n = _dim_size(tensor, dim, "split")
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = _ints(split_size_or_sections, "split", "split sizes")
        if builtins.sum(sizes) != n or builtins.any(s < 0 for s in sizes):
            raise ValueError(f"split: split_sizes must be non-negative and sum exactly to {n} (the input's size at "
                             f"dim {d}), got split_sizes={sizes}")
        return _pieces(tensor, d, sizes)
    s = _int(split_size_or_sections, "split", "split_size")
    if s < 0 or (s == 0 and n != 0):
        raise ValueError(f"split: split_size must be positive (0 only for an empty dim), got {s} for a dim of size {n}")
    if n == 0:
        return (tensor[(slice(None),) * d],)
    return _pieces(tensor, d, [builtins.min(s, n - i) for i in range(0, n, s)])


@tensor_method("split")
def _split(self, split_size, dim=0):
    return split(self, split_size, dim)


def chunk(input, chunks, dim=0):
    c = _int(chunks, "chunk", "chunks")
    if c <= 0:
        raise ValueError(f"chunk: expects `chunks` to be greater than 0, got {c}")
    d, n = _dim_size(input, dim, "chunk")
    s = -(-n // c)
    return _pieces(input, d, [0] * c) if n == 0 else split(input, s, d)


def tensor_split(input, indices_or_sections, dim=0):
    d, n = _dim_size(input, dim, "tensor_split")
    ios = indices_or_sections
    if isinstance(ios, Tensor) and ios.ndim == 0:
        ios = ios.item()
    if isinstance(ios, (builtins.int, np.integer)):
        k = builtins.int(ios)
        if k <= 0:
            raise ValueError(f"tensor_split: number of sections must be larger than 0, got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        return _pieces(input, d, sizes)
    bounds = [builtins.min(builtins.max(b + n if b < 0 else b, 0), n) for b in _ints(ios, "tensor_split", "indices")]
    out, prev = [], 0
    for b in bounds + [n]:  # like torch, a bound below the previous one gives an empty piece
        out.append(wrap(_C.narrow(input._impl, d, prev, builtins.max(b - prev, 0))))
        prev = b
    return tuple(out)


for _n in ("chunk", "tensor_split"):
    setattr(Tensor, _n, globals()[_n])


# ---------------------------------------------------------------------------- flip / roll / rot90
def _dims_arg(dims, op):
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = tuple(dims[0])
    return [_int(d, op, "dims") for d in dims]


def flip(input, dims):
    _check_tensor(input, "flip")
    return wrap(_C.flip(input._impl, _ints(dims, "flip")))


@tensor_method("flip")
def _flip(self, *dims):
    return wrap(_C.flip(self._impl, _dims_arg(dims, "flip")))


def fliplr(input):
    if input.ndim < 2:
        raise ValueError(f"fliplr: input must be >= 2-d, got shape {tuple(input.shape)}")
    return flip(input, [1])


def flipud(input):
    if input.ndim < 1:
        raise ValueError(f"flipud: input must be >= 1-d, got shape {tuple(input.shape)}")
    return flip(input, [0])


def roll(input, shifts, dims=None):
    _check_tensor(input, "roll")
    s = _ints(shifts, "roll", "shifts")
    d = [] if dims is None else _ints(dims, "roll", "dims")
    return wrap(_C.roll(input._impl, s, d))


def rot90(input, k=1, dims=(0, 1)):
    _check_tensor(input, "rot90")
    dims = _ints(dims, "rot90", "dims")
    if len(dims) != 2:
        raise ValueError(f"rot90: expected total rotation dims == 2, got {len(dims)}")
    if input.ndim < 2:
        raise ValueError(f"rot90: expected total dims >= 2, got shape {tuple(input.shape)}")
    d0, d1 = (_dim_size(input, d, "rot90")[0] for d in dims)
    if d0 == d1:
        raise ValueError(f"rot90: rotation dims must differ, got {dims}")
    k = _int(k, "rot90", "k") % 4
    if k == 1:
        return flip(input, [d1]).transpose(d0, d1)
    if k == 2:
        return flip(input, [d0, d1])
    if k == 3:
        return flip(input, [d0]).transpose(d0, d1)
    return input.clone()


for _n in ("fliplr", "flipud", "roll", "rot90"):
    setattr(Tensor, _n, globals()[_n])


# ---------------------------------------------------------------------------- repeat / tile / repeat_interleave
@tensor_method()
def repeat(self, *sizes):
    reps = _dims_arg(sizes, "repeat")
    if len(reps) < self.ndim:
        raise ValueError(f"repeat: number of repeat dims ({len(reps)}) can not be smaller than the number of dims "
                         f"of the tensor ({self.ndim}), got repeats {tuple(reps)} for shape {tuple(self.shape)}")
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"repeat: repeats must be non-negative, got {tuple(reps)}")
    shape = [1] * (len(reps) - self.ndim) + list(self.shape)
    x = _C.reshape(self._impl, shape) if shape else self._impl
    inter, big = [], []  # (1, s0, 1, s1, ...) expanded to (r0, s0, r1, s1, ...): one strided copy
    for r, s in zip(reps, shape):
        inter += [1, s]
        big += [r, s]
    e = _C.expand(_C.reshape(x, inter), big)
    return wrap(_C.view(_C.clone(e), [r * s for r, s in zip(reps, shape)]))


def tile(input, dims):
    reps = _ints(dims, "tile", "dims")
    return repeat(input, *([1] * (input.ndim - len(reps)) + reps))


Tensor.tile = lambda self, *dims: tile(self, _dims_arg(dims, "tile"))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    _check_tensor(input, "repeat_interleave")
    if repeats is None:  # repeat_interleave(repeats): indices repeated by their counts
        return wrap(_C.repeat_interleave_index(input._impl))
    x = input.reshape(-1) if dim is None else input
    d, n = _dim_size(x, 0 if dim is None else dim, "repeat_interleave")
    if x.ndim == 0:
        x = x.reshape(1)
    if isinstance(repeats, Tensor) and repeats.numel() != 1:
        if repeats.ndim != 1 or repeats.shape[0] != n:
            raise ValueError(f"repeat_interleave: repeats must have shape ({n},) to match the input's size at dim "
                             f"{d}, got {tuple(repeats.shape)}")
        return index_select(x, d, wrap(_C.repeat_interleave_index(repeats._impl)))
    r = _int(repeats, "repeat_interleave", "repeats")
    if r < 0:
        raise ValueError(f"repeat_interleave: repeats can not be negative, got {r}")
    shape = list(x.shape)
    e = x.unsqueeze(d + 1).expand(*(shape[:d + 1] + [r] + shape[d + 1:]))  # (.., n, r, ..)
    return wrap(_C.view(_C.clone(e._impl), shape[:d] + [n * r] + shape[d + 1:]))


Tensor.repeat_interleave = lambda self, repeats=None, dim=None, *, output_size=None: repeat_interleave(
    self, repeats, dim, output_size=output_size)


# ---------------------------------------------------------------------------- pad
def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad: `pad` holds (left, right) pairs starting from the last dim."""
    _check_tensor(input, "pad")
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of 'constant', 'reflect', 'replicate', 'circular', got {mode!r}")
    if mode != "constant" and value is not None and value != 0:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take a value argument, got value={value!r}")
    pads = _ints(list(pad) if isinstance(pad, (list, tuple)) else pad, "pad", "padding")
    v = 0 if value is None else _number(value, "pad")
    return wrap(_C.pad(input._impl, pads, _PAD_MODES[mode], v))


# ---------------------------------------------------------------------------- triangles and diagonals
def tril(input, diagonal=0, *, out=None):
    return _out(wrap(_C.tril(_check_tensor(input, "tril")._impl, _int(diagonal, "tril", "diagonal"), False)), out)


def triu(input, diagonal=0, *, out=None):
    return _out(wrap(_C.tril(_check_tensor(input, "triu")._impl, _int(diagonal, "triu", "diagonal"), True)), out)


Tensor.tril = lambda self, diagonal=0: tril(self, diagonal)
Tensor.triu = lambda self, diagonal=0: triu(self, diagonal)
Tensor.tril_ = lambda self, diagonal=0: self.copy_(tril(self, diagonal))
Tensor.triu_ = lambda self, diagonal=0: self.copy_(triu(self, diagonal))


def diag(input, diagonal=0):
    _check_tensor(input, "diag")
    k = _int(diagonal, "diag", "diagonal")
    if input.ndim == 1:
        from .._creation import zeros
        m = input.shape[0] + builtins.abs(k)
        out = zeros(m, m, dtype=input.dtype)
        _C.copy_(_C.diagonal(out._impl, k, 0, 1), input._impl)
        return out
    if input.ndim == 2:
        return wrap(_C.clone(_C.diagonal(input._impl, k, 0, 1)))
    raise ValueError(f"diag: expected a 1-D or 2-D input, got shape {tuple(input.shape)}")


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    _check_tensor(input, "diag_embed")
    nd = input.ndim + 1
    d1, d2 = (_int(d, "diag_embed", "dim") for d in (dim1, dim2))
    for d in (d1, d2):
        if not -nd <= d < nd:
            raise IndexError(f"diag_embed: dim must be in the range [{-nd}, {nd - 1}], got {d}")
    d1, d2 = d1 % nd, d2 % nd
    if d1 == d2:
        raise ValueError(f"diag_embed: diagonal dimensions cannot be identical, got {dim1} and {dim2}")
    m = (input.shape[-1] if input.ndim else 1) + builtins.abs(_int(offset, "diag_embed", "offset"))
    rest = iter(input.shape[:-1])
    shape = [m if i in (d1, d2) else next(rest) for i in range(nd)]
    from .._creation import zeros
    out = zeros(*shape, dtype=input.dtype)
    _C.copy_(_C.diagonal(out._impl, offset, d1, d2), input._impl)
    return out


# ---------------------------------------------------------------------------- methods
for _n in ("index_select", "gather", "scatter", "scatter_add", "scatter_reduce", "index_add", "index_copy",
           "index_fill", "index_put", "masked_fill", "masked_select", "masked_scatter", "take", "take_along_dim",
           "nonzero", "argwhere", "diag", "diag_embed"):
    setattr(Tensor, _n, globals()[_n])


__all__ = export(globals(), exclude=("scatter_", "scatter_add_", "scatter_reduce_", "index_add_", "index_copy_",
                                     "index_fill_", "index_put_", "masked_fill_", "masked_scatter_", "repeat"))
