"""pyml.gradient: numerical partial derivatives of sampled values, as torch.gradient.

Interior points use second-order central differences; the two edge points one-sided first-order
(edge_order=1) or second-order (edge_order=2) differences. spacing gives the sample coordinates: a scalar
(one step for every dim), a list of scalars (one step per dim), or a list of 1-D coordinate tensors
(non-uniform grids, where the central weights come from the neighbouring gaps). Every formula is written
with pyml ops in torch's order of operations, so values, dtypes (integer input gives floats) and
gradients follow torch's.
"""
import numbers

import pyml
from .. import _dtype as D
from .._tensor import Tensor, export, need_tensor, _wrap_dim
from .compat_util import as_int


# ---------------------------------------------------------------------------- arguments
def _dims(input, dim, op):
    if dim is None:
        return list(range(input.ndim)), False
    dims = [dim] if not isinstance(dim, (list, tuple)) else list(dim)
    dims = [_wrap_dim(as_int(d, op, "dim"), input.ndim, op) for d in dims]
    for d in dims:
        if dims.count(d) > 1:
            raise ValueError(f"{op}: dim {d} appears multiple times in the list of dims, got dim={tuple(dim)}")
    return dims, True


def _is_scalar(s):
    return isinstance(s, numbers.Number) and not isinstance(s, bool) or isinstance(s, Tensor) and s.ndim == 0


def _spacings(spacing, dims, dim_given, ndim, op):
    """One step (a number) or one coordinate tensor per differentiated dim."""
    if _is_scalar(spacing):
        return [spacing.item() if isinstance(spacing, Tensor) else spacing] * len(dims)
    if not isinstance(spacing, (list, tuple)):
        raise TypeError(f"{op}: spacing must be a scalar, a list of scalars or a list of Tensors, got "
                        f"{type(spacing).__name__}")
    want = len(dims) if dim_given else ndim
    if len(spacing) != want:
        what = f"the dim argument's length ({want})" if dim_given else f"input.dim() ({ndim}), since dim is not given"
        raise ValueError(f"{op}: spacing must be a scalar or a list of length equal to {what}, got a list of length "
                         f"{len(spacing)}")
    tensors = [isinstance(s, Tensor) for s in spacing]
    if any(tensors) and not all(tensors):
        raise TypeError(f"{op}: spacing must be all scalars or all Tensors, got "
                        f"{[type(s).__name__ for s in spacing]}")
    if not all(tensors) and not all(_is_scalar(s) for s in spacing):
        raise TypeError(f"{op}: spacing must hold numbers or Tensors, got {[type(s).__name__ for s in spacing]}")
    return list(spacing)


def _check_coords(c, size, d, op):
    if c.ndim != 1:
        raise ValueError(f"{op}: expected each element of spacing to have one dimension, got an element with "
                         f"{c.ndim} dimensions (shape {tuple(c.shape)})")
    if c.shape[0] != size:
        raise ValueError(f"{op}: the coordinates for dim {d} must have input.shape[{d}] = {size} entries, got "
                         f"{c.shape[0]}")


# ---------------------------------------------------------------------------- differences along one dim
def _sl(x, d, start, stop):
    """x[..., start:stop, ...] along dim d (negative bounds count from the end)."""
    n = x.shape[d]
    start, stop = start % n if start < 0 else start, n + stop if stop <= 0 else stop
    return x.narrow(d, start, stop - start)


def _uniform(x, d, h, edge_order):
    """Central differences with a constant step h (a number)."""
    center = (_sl(x, d, 2, 0) - _sl(x, d, 0, -2)) / h
    if edge_order == 1:
        first = (_sl(x, d, 1, 2) - _sl(x, d, 0, 1)) / h
        last = (_sl(x, d, -1, 0) - _sl(x, d, -2, -1)) / h
    else:
        first = (_sl(x, d, 0, 1) * -1.5 + _sl(x, d, 1, 2) * 2 - _sl(x, d, 2, 3) / 2) / h
        last = (_sl(x, d, -3, -2) * 0.5 + _sl(x, d, -2, -1) * -2 + _sl(x, d, -1, 0) * 1.5) / h
    return pyml.cat([first, center / 2, last], d)


def _edges2(x, d, dx):
    """Second-order one-sided differences at both ends from the first and last two gaps."""
    h0, h1, hl, hm = dx[0], dx[1], dx[-1], dx[-2]
    a, b, c = -(2.0 * h0 + h1) / (h0 * (h0 + h1)), (h0 + h1) / (h0 * h1), -h0 / (h1 * (h0 + h1))
    first = a * _sl(x, d, 0, 1) + b * _sl(x, d, 1, 2) + c * _sl(x, d, 2, 3)
    a, b, c = hl / (hm * (hl + hm)), -(hl + hm) / (hl * hm), (2 * hl + hm) / (hl * (hl + hm))
    last = a * _sl(x, d, -3, -2) + b * _sl(x, d, -2, -1) + c * _sl(x, d, -1, 0)
    return first, last


def _coordinates(x, d, coords, edge_order):
    """Central differences on the grid coords (1-D, one entry per sample along d)."""
    dx = coords.diff()  # (n - 1,) gaps
    shape = [1] * x.ndim
    shape[d] = -1
    dx1, dx2 = dx[:-1], dx[1:]
    a = (-dx2 / (dx1 * (dx1 + dx2))).reshape(shape)
    b = ((dx2 - dx1) / (dx1 * dx2)).reshape(shape)
    c = (dx1 / (dx2 * (dx1 + dx2))).reshape(shape)
    center = a * _sl(x, d, 0, -2) + b * _sl(x, d, 1, -1) + c * _sl(x, d, 2, 0)
    if edge_order == 1:
        first = (_sl(x, d, 1, 2) - _sl(x, d, 0, 1)) / dx[0]
        last = (_sl(x, d, -1, 0) - _sl(x, d, -2, -1)) / dx[-1]
    else:
        first, last = _edges2(x, d, dx)
    return pyml.cat([first, center, last], d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """(dinput/dx_d for each d in dim): a tuple of tensors of input's shape."""
    op = "gradient"
    need_tensor(input, op)
    if input.dtype in (D.uint8, D.bool_):
        raise TypeError(f"{op}: does not support {input.dtype} input")
    dims, dim_given = _dims(input, dim, op)
    steps = _spacings(spacing, dims, dim_given, input.ndim, op)
    if edge_order not in (1, 2) or isinstance(edge_order, bool):
        raise ValueError(f"{op}: only supports edge_order=1 and edge_order=2, got edge_order={edge_order}")
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise ValueError(f"{op}: expected each dimension size to be at least edge_order+1 ({edge_order + 1}), "
                             f"got size {input.shape[d]} at dim {d}; input {tuple(input.shape)}")
    out = []
    for d, s in zip(dims, steps):
        if isinstance(s, Tensor):
            _check_coords(s, input.shape[d], d, op)
            out.append(_coordinates(input, d, s, edge_order))
        else:
            out.append(_uniform(input, d, s, edge_order))
    return tuple(out)


__all__ = export(globals())
