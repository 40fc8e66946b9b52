"""Creation functions: tensor, as_tensor, from_numpy, empty/zeros/ones/full, arange, linspace, eye, *_like.

Host data (nested Python sequences, NumPy arrays) is turned into a NumPy array of the right values on
the host and handed to the engine; arange/linspace/logspace compute their values the way PyTorch's
CPU kernels do (integer dtypes truncate the bounds first, float32 steps in float32) so that lengths,
endpoints and values match torch.
"""
import builtins
import math
import warnings

import numpy as np

from . import _C
from . import _dtype as D
from . import _memory_format as MF
from ._device import to_device
from ._tensor import Tensor, wrap, to_np_shape, _default_dtype

_SEQ = (list, tuple, range)
_NUM = (builtins.bool, int, float, complex, np.bool_, np.integer, np.floating, np.complexfloating)


def _resolve(dtype, device, op):
    dt = _default_dtype() if dtype is None else D.to_dtype(dtype, op)
    return dt, to_device(device)


def _np_dtype(npdt, op):
    """pyml dtype of a NumPy dtype, with a clear error naming the op."""
    try:
        return D.from_numpy_dtype(np.dtype(npdt).newbyteorder("="))
    except TypeError:
        raise TypeError(f"{op}: can't convert NumPy dtype {np.dtype(npdt)}; supported: bool, uint8, int8, int16, "
                        "int32, int64, float16, float32, float64, complex64, complex128") from None


def _promote(a, b):
    return b if a is None else D.BY_CODE[_C.promote_types(a._code, b._code)]


def _infer_dtype(data, op="tensor"):
    """PyTorch's inference: bools -> bool, ints -> int64, floats -> the default dtype; NumPy scalars and
    tensors bring their own dtype; the items' dtypes promote."""
    out = None

    def walk(x):
        nonlocal out
        if isinstance(x, Tensor):
            out = _promote(out, x.dtype)
        elif isinstance(x, np.generic):  # before float: np.float64 subclasses float
            out = _promote(out, _np_dtype(x.dtype, op))
        elif isinstance(x, _SEQ):
            for v in x:
                walk(v)
        elif isinstance(x, builtins.bool):
            out = _promote(out, D.bool_)
        elif isinstance(x, int):
            out = _promote(out, D.int64)
        elif isinstance(x, float):
            out = _promote(out, _default_dtype())
        elif isinstance(x, complex):
            out = _promote(out, _default_dtype().to_complex())
        else:
            raise TypeError(f"{op}: could not infer dtype of {type(x).__name__}")
    walk(data)
    return _default_dtype() if out is None else out


def _int_limits(dt):
    """Values an integer fill may take: the dtype's range (uint8 also wraps negatives down to -255, like torch)."""
    if dt is D.bool_:
        return None
    info = np.iinfo(dt._np)
    lo = -builtins.int(info.max) if dt is D.uint8 else builtins.int(info.min)
    return lo, builtins.int(info.max)


def _check_int_range(lo, hi, dt, op):
    """Raise when host values in [lo, hi] can't be converted to the integer dtype dt without overflow."""
    lim = _int_limits(dt) if not dt.is_floating_point else None
    if lim is None:
        return
    if not (math.isfinite(lo) and math.isfinite(hi)) or math.trunc(lo) < lim[0] or math.trunc(hi) > lim[1]:
        bad = lo if not math.isfinite(lo) or math.trunc(lo) < lim[0] else hi
        raise ValueError(f"{op}: value {bad} cannot be converted to type {dt.name} without overflow")


def _from_array(a, dtype, device, copy):
    """NumPy array -> Tensor of `dtype` on `device` (shares memory when possible and not copy)."""
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    if any(s < 0 for s in a.strides) or not a.flags.aligned:
        a = np.ascontiguousarray(a)
    t = wrap(_C.from_numpy(a))
    if copy:
        t = wrap(_C.clone(t._impl))
    if t.dtype is not dtype:
        t = wrap(_C.to_dtype(t._impl, dtype._code, False))
    if device.type != "cpu":
        t = wrap(_C.to_device(t._impl, device._pair(), dtype._code, 0))
    return t


def _host_array(data, src, dt, op):
    """Nested Python data of inferred dtype src -> a NumPy array of its values (float64, int64 or bool),
    checked to fit the integer dtype dt."""
    if any(isinstance(x, Tensor) for x in _flat(data)):
        data = _nested_items(data)
    np_t = (np.float64 if src.is_floating_point else np.complex128 if src.is_complex else
            np.bool_ if src is D.bool_ else np.int64)
    try:
        arr = np.array(data, dtype=np_t)
    except OverflowError:
        raise ValueError(f"{op}: value cannot be converted to type {dt.name} without overflow "
                         "(Python ints must fit in int64)") from None
    except ValueError as e:
        raise ValueError(f"{op}: expected a rectangular nested sequence of numbers, got an error converting it: "
                         f"{e}") from None
    if arr.dtype.kind == "c" and not dt.is_complex:
        raise TypeError(f"{op}: can't convert complex values to {dt.name}; take .real first")
    if arr.dtype.kind in "iuf" and arr.size and not (dt.is_floating_point or dt.is_complex):  # NaN fails too
        _check_int_range(arr.min().item(), arr.max().item(), dt, op)
    return arr


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """Copy data (nested lists, scalars, NumPy arrays, tensors) into a new tensor."""
    dev = to_device(device)
    if isinstance(data, np.generic) or (not isinstance(data, (Tensor, np.ndarray) + _SEQ + _NUM)
                                        and hasattr(data, "__array__")):
        data = np.asarray(data)
    if isinstance(data, Tensor):
        dt = data.dtype if dtype is None else D.to_dtype(dtype, "tensor")
        t = wrap(_C.to_device(data._impl, dev._pair(), dt._code, 3))
    elif isinstance(data, np.ndarray):
        src = _np_dtype(data.dtype, "tensor")
        dt = src if dtype is None else D.to_dtype(dtype, "tensor")
        t = _from_array(data, dt, dev, copy=True)
    else:
        src = _infer_dtype(data)
        dt = src if dtype is None else D.to_dtype(dtype, "tensor")
        if isinstance(data, range):
            data = list(data)
        t = _from_array(_host_array(data, src, dt, "tensor"), dt, dev, copy=False)
    return _requires_grad(t, requires_grad, "tensor")


def _requires_grad(t, requires_grad, op):
    if requires_grad:
        if not t.dtype._diff:
            raise RuntimeError(f"{op}: only Tensors of floating point and complex dtype can require gradients, "
                               f"got {t.dtype}")
        t.requires_grad = True
    return t


def _flat(x):
    if not isinstance(x, _SEQ):
        yield x
        return
    for v in x:
        yield from _flat(v)


def _nested_items(x):
    if isinstance(x, Tensor):
        return x.tolist()
    if isinstance(x, _SEQ):
        return [_nested_items(v) for v in x]
    return x


def as_tensor(data, dtype=None, device=None):
    """Like tensor() but shares memory with a NumPy array or Tensor when dtype and device allow."""
    dev = to_device(device)
    if isinstance(data, Tensor):
        dt = data.dtype if dtype is None else D.to_dtype(dtype, "as_tensor")
        if dt is data.dtype and data.device == dev:
            return data
        return wrap(_C.to_device(data._impl, dev._pair(), dt._code, 3))
    if isinstance(data, np.ndarray):
        src = _np_dtype(data.dtype, "as_tensor")
        dt = src if dtype is None else D.to_dtype(dtype, "as_tensor")
        return _from_array(data, dt, dev, copy=False)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a):
    """Share memory with a NumPy array (writes through both ways); the array stays alive with the tensor."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(a).__name__}")
    if not a.dtype.isnative:
        raise ValueError(f"from_numpy: the given NumPy array has byte order different from the native byte order "
                         f"(dtype {a.dtype.str}); convert it with a.astype(a.dtype.newbyteorder('=')) first")
    if not a.flags.aligned:
        raise ValueError("from_numpy: the given NumPy array's data is not aligned to its item size, so it can't be "
                         f"shared (dtype {a.dtype}); copy it first with a.copy()")
    if not a.flags.writeable:
        warnings.warn("from_numpy: the given NumPy array is not writable; the tensor shares its memory, so writing "
                      "to the tensor is undefined behaviour. Copy the array (a.copy()) to own writable memory.",
                      UserWarning, stacklevel=2)
    return wrap(_C.from_numpy(a))


def _rebuild(arr, dtype_name, device, requires_grad):
    t = tensor(arr, dtype=D.ALIASES[dtype_name], device=device)
    t.requires_grad = requires_grad
    return t


def _store_out(t, out):
    if out is None:
        return t
    from ._ops.views import _resize_out
    _resize_out(out, t)
    return out


def _make(fill, args, dtype, device, requires_grad, op, size=None, out=None):
    shape = to_np_shape(args if size is None else (size,), op)
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: sizes must be non-negative, got {tuple(shape)}")
    dt, dev = _resolve(dtype, device, op)
    impl = _C.empty(shape, dt._code, dev._pair()) if fill is None else _C.full(shape, fill, dt._code, dev._pair())
    return _store_out(_requires_grad(wrap(impl), requires_grad, op), out)


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, memory_format=None, pin_memory=False):
    fmt = MF.code(memory_format, "empty", MF.contiguous_format, preserve_ok=False)
    if fmt == 0:
        return _make(None, size, dtype, device, requires_grad, "empty", out=out)
    shape = to_np_shape(size, "empty")
    dt, dev = _resolve(dtype, device, "empty")
    impl = _C.empty_format(shape, dt._code, dev._pair(), fmt)
    return _store_out(_requires_grad(wrap(impl), requires_grad, "empty"), out)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _make(0, size, dtype, device, requires_grad, "zeros", out=out)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _make(1, size, dtype, device, requires_grad, "ones", out=out)


def _py_number(v, op, name):
    if isinstance(v, Tensor):
        if v.numel() != 1:
            raise ValueError(f"{op}: {name} must be a number or a one-element tensor, got shape {tuple(v.shape)}")
        return v.item()
    if isinstance(v, np.generic) and isinstance(v, _NUM):
        return v.item()
    if not isinstance(v, _NUM):
        raise TypeError(f"{op}: {name} must be a number, got {type(v).__name__}")
    return v


def full(size, fill_value, dtype=None, device=None, requires_grad=False, out=None):
    fill_value = _py_number(fill_value, "full", "fill_value")
    if isinstance(fill_value, complex) or (dtype is not None and D.to_dtype(dtype, "full").is_complex):
        return _full_complex(size, complex(fill_value), dtype, device, requires_grad, out)
    if dtype is None:
        dtype = (D.bool_ if isinstance(fill_value, builtins.bool) else
                 D.int64 if isinstance(fill_value, int) else _default_dtype())
    dt = D.to_dtype(dtype, "full")
    if not isinstance(fill_value, builtins.bool):
        _check_int_range(fill_value, fill_value, dt, "full")
    return _make(fill_value, (), dt, device, requires_grad, "full", size=size, out=out)


def _like(t, dtype, device, op):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(t).__name__}")
    return dict(dtype=t.dtype if dtype is None else dtype, device=t.device if device is None else device)


def _like_layout(made, input, memory_format, op):
    """made (contiguous, input's shape) re-laid out as memory_format asks (default: input's own layout)."""
    fmt = MF.code(memory_format, op)
    if MF.plain(fmt, input._impl):
        return made
    impl = _C.empty_like_format(input._impl, made.dtype._code, made.device._pair(), fmt)
    _C.copy_(impl, made._impl)
    return _requires_grad(wrap(impl), made.requires_grad, op)


def empty_like(input, dtype=None, device=None, requires_grad=False, memory_format=None):
    kw = _like(input, dtype, device, "empty_like")
    fmt = MF.code(memory_format, "empty_like")
    if MF.plain(fmt, input._impl):
        return empty(input.shape, requires_grad=requires_grad, **kw)
    dt, dev = _resolve(kw["dtype"], kw["device"], "empty_like")
    impl = _C.empty_like_format(input._impl, dt._code, dev._pair(), fmt)
    return _requires_grad(wrap(impl), requires_grad, "empty_like")


def zeros_like(input, dtype=None, device=None, requires_grad=False, memory_format=None):
    kw = _like(input, dtype, device, "zeros_like")
    return _like_layout(zeros(input.shape, requires_grad=requires_grad, **kw), input, memory_format, "zeros_like")


def ones_like(input, dtype=None, device=None, requires_grad=False, memory_format=None):
    kw = _like(input, dtype, device, "ones_like")
    return _like_layout(ones(input.shape, requires_grad=requires_grad, **kw), input, memory_format, "ones_like")


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False, memory_format=None):
    kw = _like(input, dtype, device, "full_like")
    made = full(input.shape, fill_value, requires_grad=requires_grad, **kw)
    return _like_layout(made, input, memory_format, "full_like")


def _full_complex(size, value, dtype, device, requires_grad, out):
    dt = _default_dtype().to_complex() if dtype is None else D.to_dtype(dtype, "full")
    if not dt.is_complex:
        raise TypeError(f"full: can't fill a {dt.name} tensor with the complex value {value}")
    t = _make(None, (), dt, device, False, "full", size=size)
    parts = wrap(_C.view_as_real(t._impl))
    parts[..., 0].fill_(value.real)
    parts[..., 1].fill_(value.imag)
    return _store_out(_requires_grad(t, requires_grad, "full"), out)


def _range_number(x, op, name):
    x = _py_number(x, op, name)
    return builtins.int(x) if isinstance(x, builtins.bool) else x


def _room_for(n, dt):
    """n, after the engine's allocator agreed to hold n elements of dt: a size the machine cannot hold
    raises the engine's RuntimeError (as torch does), not NumPy's MemoryError or ValueError. The probe
    is never written, so it costs no memory."""
    if n >= 1 << 63:
        raise RuntimeError(f"arange: invalid size {n} (more elements than int64 can count), possible overflow")
    if n > 1 << 24:
        empty(n, dtype=dt)
    return n


def _arange_values(start, end, step, dt):
    """PyTorch's arange_cpu: integer dtypes truncate start/end/step to int64 first (int64 sizes the
    range in integers, narrower ones from the original doubles); half types step in float32."""
    if not dt.is_floating_point:
        xs, xe, xst = (math.trunc(v) for v in (start, end, step))
        if xst == 0:
            raise ValueError(f"arange: step must be nonzero, got step={step} (truncated to 0 for {dt.name})")
        if dt is D.int64:  # integer division, truncating like C++
            sgn = (xst > 0) - (xst < 0)
            num = xe - xs + xst - sgn
            n = (abs(num) // abs(xst)) * (1 if (num >= 0) == (xst > 0) else -1)
        else:
            n = math.ceil((end - start) / step)
        if not ((xst > 0 and xe >= xs) or (xst < 0 and xe <= xs)):
            raise ValueError(f"arange: upper bound and lower bound inconsistent with step sign, got start={start}, "
                             f"end={end}, step={step}")
        return xs + np.arange(_room_for(builtins.max(n, 0), dt), dtype=np.int64) * xst
    if step == 0:
        raise ValueError("arange: step must be nonzero, got 0")
    if not ((step > 0 and end >= start) or (step < 0 and end <= start)):
        raise ValueError(f"arange: upper bound and lower bound inconsistent with step sign, got start={start}, "
                         f"end={end}, step={step}")
    n = _room_for(math.ceil((end - start) / step), dt)
    acc = np.float64 if dt in (D.float32, D.float64) else np.float32
    return acc(start) + np.arange(n, dtype=acc) * acc(step)


def arange(start=0, end=None, step=1, *, out=None, dtype=None, device=None, requires_grad=False, layout=None):
    """Values from start (inclusive) to end (exclusive) by step; int64 unless any bound is a float."""
    if end is None:
        start, end = 0, start
    start, end, step = (_range_number(v, "arange", n) for v, n in ((start, "start"), (end, "end"), (step, "step")))
    for v in (start, end, step):
        if not math.isfinite(v):
            raise ValueError(f"arange: unsupported range: start={start}, end={end}, step={step} (must be finite)")
    all_int = all(isinstance(v, int) for v in (start, end, step))
    dt = (D.int64 if all_int else _default_dtype()) if dtype is None else D.to_dtype(dtype, "arange")
    if dt is D.bool_:
        raise TypeError("arange: not implemented for dtype bool")
    vals = _arange_values(start, end, step, dt)
    return _store_out(tensor(vals, dtype=dt, device=device, requires_grad=requires_grad), out)


def _steps(steps, op):
    if isinstance(steps, Tensor):
        steps = steps.item()
    if isinstance(steps, builtins.bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"{op}: steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise ValueError(f"{op}: number of steps must be non-negative, got {steps}")
    return builtins.int(steps)


def _lin_values(start, end, steps, dt):
    """PyTorch's linspace_cpu: integer dtypes truncate start/end and step in double; float dtypes step
    in their own precision (float32 for the half types), filling the second half back from end."""
    if not dt.is_floating_point:
        start, end, acc = math.trunc(start), math.trunc(end), np.float64
    else:
        acc = np.float64 if dt is D.float64 else np.float32
    s, e = acc(start), acc(end)
    if steps == 1:
        return np.array([s], dtype=acc)
    step = (e - s) / acc(steps - 1)
    i = np.arange(steps, dtype=acc)
    return np.where(i < steps // 2, s + step * i, e - step * (acc(steps - 1) - i))


def linspace(start, end, steps, *, out=None, dtype=None, device=None, requires_grad=False, layout=None):
    start, end = _range_number(start, "linspace", "start"), _range_number(end, "linspace", "end")
    steps = _steps(steps, "linspace")
    dt = _default_dtype() if dtype is None else D.to_dtype(dtype, "linspace")
    vals = _lin_values(start, end, steps, dt)
    if not dt.is_floating_point:
        vals = np.trunc(vals)
    return _store_out(tensor(vals, dtype=dt, device=device, requires_grad=requires_grad), out)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, device=None, requires_grad=False, layout=None):
    """base ** linspace(start, end, steps), with the exponents made as in linspace (integer dtypes
    truncate start/end first) and the power taken in double."""
    start, end = _range_number(start, "logspace", "start"), _range_number(end, "logspace", "end")
    steps = _steps(steps, "logspace")
    base = builtins.float(_range_number(base, "logspace", "base"))
    dt = _default_dtype() if dtype is None else D.to_dtype(dtype, "logspace")
    exps = _lin_values(start, end, steps, dt).astype(np.float64)
    with np.errstate(all="ignore"):
        vals = np.power(base, exps)
    if not dt.is_floating_point:
        vals = np.trunc(vals)
    return _store_out(tensor(vals, dtype=dt, device=device, requires_grad=requires_grad), out)


def eye(n, m=None, *, out=None, dtype=None, device=None, requires_grad=False, layout=None):
    """Ones on the main diagonal of an (n, m) matrix (m defaults to n)."""
    m = n if m is None else m
    for v, nm in ((n, "n"), (m, "m")):
        if isinstance(v, builtins.bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"eye: {nm} must be an int, got {type(v).__name__}")
        if v < 0:
            raise ValueError(f"eye: {nm} must be greater or equal to 0, got {v}")
    t = zeros(builtins.int(n), builtins.int(m), dtype=dtype, device=device)
    if n and m:
        _C.fill_(_C.diagonal(t._impl, 0, 0, 1), 1)
    return _store_out(_requires_grad(t, requires_grad, "eye"), out)
