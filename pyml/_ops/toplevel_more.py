"""Top-level functions torch has that the op families do not cover: range (deprecated, end-inclusive arange),
empty_permuted (an uninitialised tensor whose memory order is a given permutation of its dims), nonzero_static
(nonzero padded or cut to a fixed row count) and get_device_module (pyml.cpu / pyml.cuda for a device).

All are small compositions of engine ops (arange, empty_strided, nonzero, cat) with torch's arguments and
checks; this module is star-imported by pyml/__init__.py.
"""
import builtins
import math
import warnings

import pyml
from .. import _dtype as D
from .._device import device as _device
from .._tensor import export, need_tensor
from .compat_util import as_int, need_number, store_out


# ---------------------------------------------------------------------------- range
def _range_bounds(start, end, step, integral):
    """start, end, step as the type the values are computed in (torch casts them to the result's type)."""
    vals = [need_number(v, "range", n) for v, n in ((start, "start"), (end, "end"), (step, "step"))]
    if any(isinstance(v, builtins.complex) for v in vals):
        raise TypeError(f"range: start, end and step must be real numbers, got {vals}")
    if integral:
        for v in vals:
            if not math.isfinite(v):
                raise ValueError(f"range: unsupported range: {vals[0]} -> {vals[1]}")
        return [builtins.int(v) for v in vals]  # (truncation toward zero, as torch's cast)
    return [builtins.float(v) for v in vals]


def range(start, end, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):  # noqa: A001
    """[start, start + step, ..., end] (end included when reached): deprecated, as in torch; use arange."""
    warnings.warn("pyml.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use pyml.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=3)  # (user -> autograd guard -> range)
    dt = pyml.get_default_dtype() if dtype is None else D.to_dtype(dtype, "range")
    if dt is D.bool_ or dt.is_complex:
        raise TypeError(f"range: expected a real, non-bool dtype, got {dt}")
    integral = not dt.is_floating_point
    start, end, step = _range_bounds(start, end, step, integral)
    if step == 0:
        raise ValueError(f"range: step must be nonzero, got step={step}")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError(f"range: unsupported range: {start} -> {end}")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise ValueError(f"range: upper bound and lower bound inconsistent with step sign, got start={start}, "
                         f"end={end}, step={step}")
    n = (end - start) // step + 1 if integral else builtins.int((end - start) / step + 1)
    work = D.int64 if integral else D.float64  # the values start + i * step, exact before the one cast
    r = (pyml.arange(n, dtype=work, device=device) * step + start).to(dt)
    if requires_grad:
        r.requires_grad_(True)
    return store_out(r, out, "range")


# ---------------------------------------------------------------------------- empty_permuted, nonzero_static
def _permutation(physical_layout, ndim):
    perm = [as_int(p, "empty_permuted", "physical_layout") for p in physical_layout]
    if len(perm) != ndim:
        raise ValueError(f"empty_permuted: the number of dims in size must equal the length of physical_layout, got "
                         f"len(size) = {ndim} and len(physical_layout) = {len(perm)}")
    for i, p in enumerate(perm):
        if not 0 <= p < ndim:
            raise IndexError(f"empty_permuted: dimension out of range (expected to be between 0 and {ndim - 1}; "
                             f"negative dims are not supported), got {p} at index {i}")
    if len(set(perm)) != ndim:
        raise ValueError(f"empty_permuted: duplicate dims are not allowed in physical_layout, got {tuple(perm)}")
    return perm


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad=False,
                   pin_memory=False):
    """An uninitialised dense tensor of `size` whose dims lie in memory in the order physical_layout (outermost
    first): empty_permuted((N, C, H, W), (0, 2, 3, 1)) is channels-last."""
    size = [as_int(s, "empty_permuted", "size") for s in size]
    perm = _permutation(physical_layout, len(size))
    strides = [0] * len(size)
    step = 1
    for d in reversed(perm):  # innermost physical dim first
        strides[d] = step
        step *= max(size[d], 1)
    return pyml.empty_strided(size, strides, dtype=dtype, device=device, requires_grad=requires_grad)


def nonzero_static(input, *, size, fill_value=-1):
    """nonzero(input) as a (size, input.dim()) int64 tensor: the first `size` index rows, then rows of fill_value."""
    op = "nonzero_static"
    need_tensor(input, op)
    size, fill_value = as_int(size, op, "size"), as_int(fill_value, op, "fill_value")
    if size < 0:
        raise ValueError(f"{op}: 'size' must be a non-negative integer, got size={size}")
    nz = pyml.nonzero(input)  # (k, ndim)
    k = nz.shape[0]
    if k >= size:
        return nz[:size]
    fill = pyml.full((size - k, input.ndim), fill_value, dtype=nz.dtype, device=nz.device)
    return pyml.cat([nz, fill], 0)


# ---------------------------------------------------------------------------- devices
def get_device_module(device=None):
    """The module of a device type: pyml.cuda for 'cuda', pyml.cpu for 'cpu'; with None, the current
    accelerator's (pyml.cuda when a GPU is available) or pyml.cpu."""
    if device is None:
        return pyml.cuda if pyml.cuda.is_available() else pyml.cpu
    if isinstance(device, str):
        device = _device(device)
    if not isinstance(device, _device):
        raise TypeError(f"get_device_module: device must be a pyml.device, a str or None, got "
                        f"{type(device).__name__}")
    return pyml.cuda if device.type == "cuda" else pyml.cpu


__all__ = export(globals())
