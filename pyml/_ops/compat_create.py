"""Tensor.new_* constructors and index-grid builders: meshgrid, tril_indices/triu_indices, cartesian_prod,
combinations.

meshgrid returns expanded views (no copies), like PyTorch. combinations grows the index tuples one
position at a time (each step pairs every current tuple with every candidate and keeps the increasing
ones), so its memory is bounded by the result times the input length, never length**r.
"""
import builtins
import math
import warnings

import pyml
from .. import _dtype as D
from .._tensor import Tensor, export, to_np_shape
from .compat_util import need, as_int, check_alloc


# ---------------------------------------------------------------------------- Tensor.new_*
def _like(self, dtype, device):
    return dict(dtype=self.dtype if dtype is None else dtype, device=self.device if device is None else device)


def _checked(size, op):
    """The size arguments, validated under the method's name (the engine checks the byte count itself)."""
    to_np_shape(size, op)
    return size


def _sizes(args, size, op):
    """The size given positionally (ints or one sequence) or as size=, as torch's new_* accept it."""
    if size is None:
        return _checked(args, op)
    if args:
        raise TypeError(f"{op}: got the size both positionally {args} and as size={size!r}")
    return _checked((size,), op)


def _new_zeros(self, *args, size=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    return pyml.zeros(*_sizes(args, size, "new_zeros"), requires_grad=requires_grad, **_like(self, dtype, device))


def _new_ones(self, *args, size=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    return pyml.ones(*_sizes(args, size, "new_ones"), requires_grad=requires_grad, **_like(self, dtype, device))


def _new_empty(self, *args, size=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    return pyml.empty(*_sizes(args, size, "new_empty"), requires_grad=requires_grad, **_like(self, dtype, device))


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None,
              pin_memory=False):
    size = _checked((size,), "new_full")[0]
    return pyml.full(size, fill_value, requires_grad=requires_grad, **_like(self, dtype, device))


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """A copy of data with self's dtype and device unless given; a tensor argument is copied and detached."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone()",
                      UserWarning, stacklevel=2)
        data = data.detach()
    kw = _like(self, dtype, device)
    t = pyml.tensor(data, dtype=kw["dtype"], device=kw["device"])
    if isinstance(data, Tensor) and t._impl.storage_id == data._impl.storage_id:
        t = t.clone()
    t.requires_grad = requires_grad
    return t


for _n in ("new_zeros", "new_ones", "new_empty", "new_full", "new_tensor"):
    _f = globals()["_" + _n]
    _f.__name__ = _n
    _f._pyml_ag = True  # new tensors are constants: no autograd guard (it would give them a raising node)
    setattr(Tensor, _n, _f)


# ---------------------------------------------------------------------------- meshgrid
def _tensor_args(tensors, op):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        need(t, op, f"tensors[{i}]")
    return tensors


def meshgrid(*tensors, indexing=None):
    """Grids from 0-D/1-D tensors: output i varies along dim i ('ij') or with the first two dims swapped
    ('xy', NumPy's default); every output is an expanded view of its input."""
    tensors = _tensor_args(tensors, "meshgrid")
    if indexing is None:
        warnings.warn("pyml.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=3)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: expects a non-empty list of tensors, got none")
    _check_grid_inputs(tensors, "meshgrid")
    swap = indexing == "xy" and len(tensors) >= 2
    ts = list(tensors)
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t.numel() for t in ts]
    outs = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = shape[i]
        outs.append(t.reshape(view).expand(*shape))
    if swap:
        outs[0], outs[1] = outs[1], outs[0]
    return tuple(outs)


def _check_grid_inputs(tensors, op):
    for t in tensors:
        if t.ndim > 1:
            raise ValueError(f"{op}: expects 0D or 1D tensors, got shape {tuple(t.shape)}")
        if t.dtype is not tensors[0].dtype:
            raise TypeError(f"{op}: expects all tensors to have the same dtype, got {t.dtype} and {tensors[0].dtype}")
        if t.device != tensors[0].device:
            raise RuntimeError(f"{op}: expects all tensors on the same device, got {t.device} and {tensors[0].device}")


def cartesian_prod(*tensors):
    """All tuples (a, b, ...) with a from tensors[0], b from tensors[1], ...: shape (N, len(tensors));
    a single tensor comes back as it is."""
    tensors = _tensor_args(tensors, "cartesian_prod")
    if not tensors:
        raise ValueError("cartesian_prod: expects a non-empty list of tensors, got none")
    for t in tensors:
        if t.ndim != 1:
            raise ValueError(f"cartesian_prod: expects 1D tensors, got shape {tuple(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return pyml.stack([g.reshape(-1) for g in grids], dim=1)  # (N, k)


# ---------------------------------------------------------------------------- tril / triu indices
def _tri_indices(op, row, col, offset, dtype, device, lower):
    row, col, offset = as_int(row, op, "row"), as_int(col, op, "col"), as_int(offset, op, "offset")
    if row < 0 or col < 0:
        raise ValueError(f"{op}: row and col must be non-negative, got row={row}, col={col}")
    dt = D.to_dtype(dtype, op)
    if dt not in (D.int32, D.int64):
        raise TypeError(f"{op}: dtype must be pyml.int32 or pyml.int64, got {dt}")
    mask = pyml.ones(row, col, dtype=D.bool_, device=device)
    mask = mask.tril(offset) if lower else mask.triu(offset)
    return pyml.nonzero(mask).t().to(dt).contiguous()  # (2, N), row-major order


def tril_indices(row, col, offset=0, *, dtype=D.int64, device=None, layout=None):
    """Indices (2, N) of the lower triangle of a row x col matrix (diagonal `offset` and below)."""
    return _tri_indices("tril_indices", row, col, offset, dtype, device, True)


def triu_indices(row, col, offset=0, *, dtype=D.int64, device=None, layout=None):
    """Indices (2, N) of the upper triangle of a row x col matrix (diagonal `offset` and above)."""
    return _tri_indices("triu_indices", row, col, offset, dtype, device, False)


# ---------------------------------------------------------------------------- combinations
def combinations(input, r=2, with_replacement=False):
    """r-length combinations of a 1-D tensor's elements, like itertools.combinations (or
    combinations_with_replacement): shape (count, r); r=0 gives an empty 1-D tensor."""
    if input.ndim != 1:
        raise ValueError(f"combinations: expects a 1D tensor, got shape {tuple(input.shape)}")
    r = as_int(r, "combinations", "r")
    if r < 0:
        raise ValueError(f"combinations: r must be non-negative, got {r}")
    if r == 0:
        return pyml.empty(0, dtype=input.dtype, device=input.device)
    n = input.shape[0]
    count = math.comb(n + r - 1, r) if with_replacement else math.comb(n, r)
    check_alloc(count * r, "combinations", limit=1 << 31)
    if count == 0:
        return pyml.empty(0, r, dtype=input.dtype, device=input.device)
    if n == 1:  # with replacement: the one element r times (no loop over r)
        return input[pyml.zeros(r, dtype=D.int64, device=input.device)].reshape(1, r)
    idx = _combination_indices(input, n, r, builtins.bool(with_replacement))  # (count, r)
    return input[idx.reshape(-1)].reshape(count, r)


def _combination_indices(like, n, r, with_replacement):
    cand = pyml.arange(n, device=like.device)
    combos = cand.reshape(n, 1)  # (K, k): the increasing index tuples of length k, in lexicographic order
    for _ in range(r - 1):
        k = combos.shape[0]
        last = combos[:, -1:]
        keep = (cand >= last) if with_replacement else (cand > last)  # (K, n)
        rows = combos.reshape(k, 1, -1).expand(k, n, combos.shape[1])
        both = pyml.cat([rows, cand.reshape(1, n, 1).expand(k, n, 1)], dim=2)  # (K, n, k+1)
        combos = both[keep]
    return combos


__all__ = export(globals())
