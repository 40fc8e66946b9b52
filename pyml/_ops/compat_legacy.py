"""PyTorch's legacy tensor types and the calls that take them: pyml.FloatTensor, DoubleTensor, HalfTensor,
BFloat16Tensor, LongTensor, IntTensor, ShortTensor, CharTensor, ByteTensor, BoolTensor; Tensor.type(),
Tensor.new(...), set_default_tensor_type; and pyml.GradScaler (torch.GradScaler is torch.amp.GradScaler).

Each legacy type is a class whose metaclass makes calling it build a CPU tensor of its dtype
(FloatTensor(2, 3) from sizes, LongTensor([1, 2]) from data, FloatTensor() empty) and makes
isinstance(t, FloatTensor) test t's dtype and device. Sizes give zero-filled tensors: torch leaves them
uninitialised, so no ported code can depend on their contents, and zeros keep runs reproducible.
"""
import builtins
import warnings

import numpy as np

import pyml
from .. import _dtype as D
from .._tensor import Tensor, Size, export
from ..amp.grad_scaler import GradScaler

_NAMES = {D.float32: "FloatTensor", D.float64: "DoubleTensor", D.float16: "HalfTensor",
          D.bfloat16: "BFloat16Tensor", D.int64: "LongTensor", D.int32: "IntTensor", D.int16: "ShortTensor",
          D.int8: "CharTensor", D.uint8: "ByteTensor", D.bool_: "BoolTensor"}


def _new_tensor(op, dtype, device, args):
    """The legacy constructor forms: () empty, (*sizes) / (Size) zeros, (data) a copy, (tensor) that tensor."""
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])
    if not args:
        return pyml.empty(0, dtype=dtype, device=device)
    if builtins.all(isinstance(a, (builtins.int, np.integer)) and not isinstance(a, builtins.bool) for a in args):
        return pyml.zeros(*[builtins.int(a) for a in args], dtype=dtype, device=device)
    if len(args) != 1:
        raise TypeError(f"{op}: expected sizes (ints) or one sequence of data, got {len(args)} arguments")
    data = args[0]
    if isinstance(data, Tensor):
        if data.dtype is not dtype or (device is not None and data.device != pyml.device(device)):
            raise TypeError(f"{op}: expected a tensor of dtype {dtype}, got {data.dtype} on {data.device}")
        return data
    if isinstance(data, (builtins.float, builtins.int, builtins.bool)):
        raise TypeError(f"{op}: data must be a sequence, got {type(data).__name__}")
    return pyml.tensor(data, dtype=dtype, device=device)


class _LegacyTensorType(type):
    """Metaclass of pyml.FloatTensor & co: calling the class builds a tensor, isinstance checks the dtype."""

    def __call__(cls, *args, device=None):
        return _new_tensor(cls.__name__, cls.dtype, device, args)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.is_cpu

    def __repr__(cls):
        return f"<class 'pyml.{cls.__name__}'>"


_TYPES = {}
for _dt, _name in _NAMES.items():
    _TYPES[_name] = _LegacyTensorType(_name, (), {"dtype": _dt, "is_cuda": False, "__module__": "pyml",
                                                  "__doc__": f"Legacy constructor of {_dt} CPU tensors."})
    globals()[_name] = _TYPES[_name]


def _type_name(t):
    prefix = "pyml.cuda." if t.is_cuda else "pyml."
    return prefix + _NAMES[t.dtype]


def _lookup(name, op):
    """'pyml.FloatTensor', 'torch.cuda.LongTensor', ... -> (dtype, device or None)."""
    parts = name.split(".")
    if len(parts) not in (2, 3) or parts[0] not in ("pyml", "torch") or parts[-1] not in _TYPES or (
            len(parts) == 3 and parts[1] != "cuda"):
        raise ValueError(f"{op}: invalid type: {name!r}; expected a name like 'pyml.FloatTensor'")
    return _TYPES[parts[-1]].dtype, ("cuda" if len(parts) == 3 else "cpu")


def _type(self, dtype=None, non_blocking=False, **kwargs):
    """type() -> 'pyml.FloatTensor' style name; type(T) -> a copy as T (a legacy type, its name or a dtype);
    self when it already is T."""
    if dtype is None:
        return _type_name(self)
    if isinstance(dtype, _LegacyTensorType):
        dt, dev = dtype.dtype, "cpu"
    elif isinstance(dtype, str) and "Tensor" in dtype:
        dt, dev = _lookup(dtype, "type")
    else:
        return self.to(D.to_dtype(dtype, "type"))
    return self.to(dtype=dt, device=dev)


def _new(self, *args, **kwargs):
    """Legacy x.new(...): like the legacy type constructors, with x's dtype and device."""
    if kwargs.keys() - {"device"}:
        raise TypeError(f"new: unexpected keyword arguments {sorted(kwargs.keys() - {'device'})}")
    return _new_tensor("new", self.dtype, kwargs.get("device", self.device), args)


_type.__name__, _new.__name__ = "type", "new"
Tensor.type = _type
Tensor.new = _new
_new._pyml_ag = True  # new tensors are constants: no autograd guard (see compat_create)


def set_default_tensor_type(t):
    """Deprecated: set the default floating dtype from a legacy floating type (or its name)."""
    warnings.warn("pyml.set_default_tensor_type is deprecated; use pyml.set_default_dtype", UserWarning,
                  stacklevel=2)
    dt, dev = (t.dtype, "cpu") if isinstance(t, _LegacyTensorType) else _lookup(str(t), "set_default_tensor_type")
    if dev != "cpu":
        raise RuntimeError("set_default_tensor_type: pyml's default device is always cpu; pass device= to the "
                           f"factory functions instead, got {t!r}")
    if not dt.is_floating_point:
        raise TypeError(f"set_default_tensor_type: only floating-point types are supported as the default type, "
                        f"got {t!r}")
    pyml.set_default_dtype(dt)


__all__ = export(globals()) + list(_TYPES) + ["GradScaler"]
