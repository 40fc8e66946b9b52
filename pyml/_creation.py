"""Creation functions: tensor, as_tensor, from_numpy, empty/zeros/ones/full, arange, linspace, eye, *_like."""
import builtins
import math

import numpy as np

from . import _C
from . import _dtype as D
from ._device import to_device
from ._tensor import Tensor, wrap, to_np_shape, _default_dtype, need_tensor


def _resolve(dtype, device, op):
    dt = _default_dtype() if dtype is None else D.to_dtype(dtype, op)
    return dt, to_device(device)


def _infer_dtype(data):
    """dtype for Python data: bools -> bool, ints -> int64, any float -> default dtype."""
    kinds = set()

    def walk(x):
        if isinstance(x, Tensor):
            kinds.add(x.dtype)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        elif isinstance(x, (builtins.bool, np.bool_)):
            kinds.add("b")
        elif isinstance(x, (int, np.integer)):
            kinds.add("i")
        elif isinstance(x, (float, np.floating)):
            kinds.add("f")
        else:
            raise TypeError(f"tensor: could not infer dtype of {type(x).__name__}")
    walk(data)
    if "f" in kinds or any(isinstance(k, D.dtype) and k.is_floating_point for k in kinds):
        return _default_dtype()
    if "i" in kinds or any(isinstance(k, D.dtype) and k not in (D.bool_,) for k in kinds):
        return D.int64
    return D.bool_ if kinds else _default_dtype()


def _from_array(a, dtype, device, copy):
    """NumPy array -> Tensor of `dtype` on `device` (shares memory when possible and not copy)."""
    if a.dtype.kind not in "biuf" or (a.dtype.kind == "u" and a.dtype.itemsize > 1):
        a = a.astype(np.int64) if a.dtype.kind == "u" else a
        if a.dtype.kind not in "biuf":
            raise TypeError(f"tensor: can't convert NumPy array of dtype {a.dtype}")
    if any(s < 0 for s in a.strides) or not a.flags.aligned:
        a = np.ascontiguousarray(a)
    t = wrap(_C.from_numpy(a))
    if copy:
        t = wrap(_C.clone(t._impl))
    if t.dtype is not dtype:
        t = wrap(_C.to_dtype(t._impl, dtype._code, False))
    if device.type != "cpu":
        t = wrap(_C.to_device(t._impl, device._pair(), dtype._code))
    return t


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """Copy data (nested lists, scalars, NumPy arrays, tensors) into a new tensor."""
    dev = to_device(device)
    if isinstance(data, Tensor):
        dt = data.dtype if dtype is None else D.to_dtype(dtype, "tensor")
        t = wrap(_C.to_device(data._impl, dev._pair(), dt._code))
    elif isinstance(data, np.ndarray):
        dt = D.from_numpy_dtype(data.dtype) if dtype is None else D.to_dtype(dtype, "tensor")
        t = _from_array(data, dt, dev, copy=True)
    else:
        dt = _infer_dtype(data) if dtype is None else D.to_dtype(dtype, "tensor")
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
            data = _nested_items(data)
        arr = np.array(data, dtype=np.float64 if dt.is_floating_point else (np.bool_ if dt is D.bool_ else np.int64))
        t = _from_array(arr, dt, dev, copy=False)
    if requires_grad:
        if not t.dtype.is_floating_point:
            raise RuntimeError("tensor: only Tensors of floating point dtype can require gradients, got "
                               f"{t.dtype}")
        t.requires_grad = True
    return t


def _flat(x):
    for v in x:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def _nested_items(x):
    if isinstance(x, Tensor):
        return x.tolist()
    if isinstance(x, (list, tuple)):
        return [_nested_items(v) for v in x]
    return x


def as_tensor(data, dtype=None, device=None):
    """Like tensor() but shares memory with a NumPy array or Tensor when dtype and device allow."""
    dev = to_device(device)
    if isinstance(data, Tensor):
        dt = data.dtype if dtype is None else D.to_dtype(dtype, "as_tensor")
        if dt is data.dtype and data.device == dev:
            return data
        return wrap(_C.to_device(data._impl, dev._pair(), dt._code))
    if isinstance(data, np.ndarray):
        dt = D.from_numpy_dtype(data.dtype) if dtype is None else D.to_dtype(dtype, "as_tensor")
        return _from_array(data, dt, dev, copy=False)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a):
    """Share memory with a NumPy array (writes through both ways)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(a).__name__}")
    return wrap(_C.from_numpy(a))


def _rebuild(arr, dtype_name, device, requires_grad):
    t = tensor(arr, dtype=D.ALIASES[dtype_name], device=device)
    t.requires_grad = requires_grad
    return t


def _make(fill, args, dtype, device, requires_grad, op, size=None):
    shape = to_np_shape(args if size is None else (size,), op)
    dt, dev = _resolve(dtype, device, op)
    impl = _C.empty(shape, dt._code, dev._pair()) if fill is None else _C.full(shape, fill, dt._code, dev._pair())
    t = wrap(impl)
    if requires_grad:
        t.requires_grad = True
    return t


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, memory_format=None, pin_memory=False):
    return _make(None, size, dtype, device, requires_grad, "empty")


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _make(0, size, dtype, device, requires_grad, "zeros")


def ones(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _make(1, size, dtype, device, requires_grad, "ones")


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = (D.bool_ if isinstance(fill_value, builtins.bool) else
                 D.int64 if isinstance(fill_value, int) else _default_dtype())
    return _make(fill_value, (), dtype, device, requires_grad, "full", size=size)


def _like(t, dtype, device):
    return dict(dtype=t.dtype if dtype is None else dtype, device=t.device if device is None else device)


def empty_like(t, dtype=None, device=None, requires_grad=False, memory_format=None):
    need_tensor(t, "empty_like")
    return empty(t.shape, requires_grad=requires_grad, **_like(t, dtype, device))


def zeros_like(t, dtype=None, device=None, requires_grad=False, memory_format=None):
    need_tensor(t, "zeros_like")
    return zeros(t.shape, requires_grad=requires_grad, **_like(t, dtype, device))


def ones_like(t, dtype=None, device=None, requires_grad=False, memory_format=None):
    need_tensor(t, "ones_like")
    return ones(t.shape, requires_grad=requires_grad, **_like(t, dtype, device))


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False, memory_format=None):
    need_tensor(t, "full_like")
    return full(t.shape, fill_value, requires_grad=requires_grad, **_like(t, dtype, device))


def _num(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start=0, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values from start (inclusive) to end (exclusive) by step; int64 unless any bound is a float."""
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero, got 0")
    if (end - start) * step < 0:
        raise ValueError(f"arange: upper bound and larger bound inconsistent with step sign, got start={start}, "
                         f"end={end}, step={step}")
    all_int = all(isinstance(v, int) for v in (start, end, step))
    dt = (D.int64 if all_int else _default_dtype()) if dtype is None else D.to_dtype(dtype, "arange")
    n = builtins.max(0, math.ceil((end - start) / step))
    if dt.is_floating_point or not all_int:
        vals = start + np.arange(n, dtype=np.float64) * step
    else:
        vals = start + np.arange(n, dtype=np.int64) * step
    return tensor(vals, dtype=dt, device=device, requires_grad=requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    start, end = _num(start), _num(end)
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"linspace: number of steps must be a non-negative int, got {steps!r}")
    dt = _default_dtype() if dtype is None else D.to_dtype(dtype, "linspace")
    # PyTorch fills the first half from start and the second half from end (symmetric rounding)
    if steps == 1:
        vals = np.array([start], dtype=np.float64)
    else:
        step = (end - start) / (steps - 1)
        i = np.arange(steps, dtype=np.float64)
        half = steps // 2
        vals = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    if not dt.is_floating_point:
        vals = np.trunc(vals)
    return tensor(vals, dtype=dt, device=device, requires_grad=requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    lin = linspace(start, end, steps, dtype=D.float64)
    vals = np.power(base, lin.numpy())
    return tensor(vals, dtype=dtype or _default_dtype(), device=device, requires_grad=requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    m = n if m is None else m
    for v, nm in ((n, "n"), (m, "m")):
        if not isinstance(v, int) or v < 0:
            raise ValueError(f"eye: {nm} must be a non-negative int, got {v!r}")
    t = zeros(n, m, dtype=dtype, device=device)
    if n and m:
        _C.fill_(_C.diagonal(t._impl, 0, 0, 1), 1)
    t.requires_grad = requires_grad
    return t
