"""pyml.Tensor: a thin Python handle on the engine's TensorImpl.

Autograd state (requires_grad, grad, grad_fn) lives here, in Python; the engine never sees it.
Op families attach their methods with `tensor_method` from pyml/_ops/*.
"""
import builtins
import functools
import inspect

import numpy as np

from . import _C
from . import _dtype as D
from ._device import from_pair


class Size(tuple):
    """Shape of a tensor: a tuple of ints, like torch.Size."""

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"pyml.Size([{', '.join(str(s) for s in self)}])"

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r


class Tensor:
    # _output_nr / _fn_version: which output of grad_fn this is, and the version it was made at (autograd)
    __slots__ = ("_impl", "_requires_grad", "grad", "grad_fn", "_hooks", "_output_nr", "_fn_version", "__weakref__",
                 "__dict__")
    __array_priority__ = 1000  # NumPy defers reflected operators to Tensor

    def __init__(self, *args, dtype=None, device=None):
        # torch.Tensor(data) / torch.Tensor(*sizes): float tensor of the default dtype
        from ._creation import tensor as _tensor, empty as _empty
        if len(args) == 1 and not isinstance(args[0], int):
            t = _tensor(args[0], dtype=dtype or _default_dtype(), device=device)
        else:
            t = _empty(*args, dtype=dtype or _default_dtype(), device=device)
        _init(self, t._impl)

    @staticmethod
    def _wrap(impl):
        t = object.__new__(Tensor)
        _init(t, impl)
        return t

    # ------------------------------------------------------------------ metadata
    @property
    def shape(self):
        return Size(self._impl.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._impl.shape)
        return self._impl.shape[_wrap_dim(dim, self.ndim, "size")]

    def stride(self, dim=None):
        if dim is None:
            return tuple(self._impl.strides)
        return self._impl.strides[_wrap_dim(dim, self.ndim, "stride")]

    def storage_offset(self):
        return self._impl.offset

    @property
    def ndim(self):
        return self._impl.dim()

    def dim(self):
        return self._impl.dim()

    ndimension = dim

    def numel(self):
        return self._impl.numel()

    nelement = numel

    def element_size(self):
        return self.dtype.itemsize

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.numel() * self.dtype.itemsize

    @property
    def dtype(self):
        return D.BY_CODE[self._impl.dtype]

    @property
    def device(self):
        return from_pair(self._impl.device)

    @property
    def is_cuda(self):
        return self._impl.device[0] == 1

    @property
    def is_cpu(self):
        return self._impl.device[0] == 0

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def is_complex(self):
        return self._impl.dtype >= 10

    def is_contiguous(self, memory_format=None):
        if memory_format is None:
            return self._impl.is_contiguous()
        from . import _memory_format as MF
        return self._impl.is_contiguous_as(MF.code(memory_format, "is_contiguous", preserve_ok=False))

    def data_ptr(self):
        return self._impl.data_ptr

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = builtins.bool(value)
        if value and not self.dtype._diff:
            raise RuntimeError(f"requires_grad: only Tensors of floating point and complex dtype can require "
                               f"gradients, got {self.dtype}")
        if not value and self.grad_fn is not None:
            raise RuntimeError("requires_grad: you can only change requires_grad flags of leaf variables. If you "
                               "want to use a computed variable in a subgraph that doesn't require "
                               "differentiation use var_no_grad = var.detach().")
        self._requires_grad = value

    @property
    def _version(self):
        return self._impl.version

    def get_device(self):
        return -1 if self.is_cpu else self._impl.device[1]

    # ------------------------------------------------------------------ conversion
    def item(self):
        if self.is_complex():  # the engine's item is real-only
            if self.numel() != 1:
                raise ValueError(f"item: a Tensor with {self.numel()} elements cannot be converted to a Python "
                                 f"scalar; shape {tuple(self.shape)}")
            return builtins.complex(self.detach().cpu().numpy().reshape(-1)[0])
        return _C.item(self._impl)

    def __complex__(self):
        return builtins.complex(self._scalar("complex"))

    def tolist(self):
        if self.dtype == D.bfloat16:
            return self.float().tolist()
        return self.cpu().numpy(force=True).tolist()

    def numpy(self, force=False):
        if self.requires_grad and not force:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()")
        t = self.cpu() if force else self
        return _C.numpy(t._impl)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy(force=True) if self.dtype != D.bfloat16 else self.float().numpy(force=True)
        return a if dtype is None else a.astype(dtype, copy=False)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._impl.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._impl.shape[0]))

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"bool: Boolean value of Tensor with {self.numel()} elements is ambiguous")
        return builtins.bool(self.item())

    def __float__(self):
        return builtins.float(self._scalar("float"))

    def __int__(self):
        return builtins.int(self._scalar("int"))

    def __index__(self):
        if self.dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self.item())

    def _scalar(self, what):
        if self.numel() != 1:
            raise ValueError(f"{what}: only one element tensors can be converted to Python scalars, "
                             f"got shape {tuple(self.shape)}")
        return self.item()

    def __hash__(self):
        return id(self)

    def __repr__(self):
        from ._format import format_tensor
        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    def __reduce_ex__(self, proto):
        from ._creation import _rebuild
        return (_rebuild, (self.detach().cpu().numpy() if self.dtype != D.bfloat16 else self.float().numpy(),
                           self.dtype.name, str(self.device), self.requires_grad))


def _init(t, impl):
    t._impl = impl
    t._requires_grad = False
    t.grad = None
    t.grad_fn = None
    t._hooks = None
    t._output_nr = 0
    t._fn_version = None


def _default_dtype():
    return D.BY_CODE[_C.default_dtype()]


def _wrap_dim(dim, ndim, op):
    n = builtins.max(ndim, 1)
    if not isinstance(dim, int):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim must be in the range [{-n}, {n - 1}], got {dim}")
    return dim % n


def wrap(impl):
    return Tensor._wrap(impl)


def tensor_method(*names):
    """Decorator: attach the function to Tensor under each name (the function's own by default)."""
    def deco(fn):
        for n in names or (fn.__name__,):
            setattr(Tensor, n, fn)
        return fn
    return deco


def as_impl(x, op="op"):
    if isinstance(x, Tensor):
        return x._impl
    raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


def to_np_shape(args, op):
    """Accept f(2, 3), f((2, 3)), f([2, 3]) and f(Size) for shape arguments."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = builtins.int(a)
        if not isinstance(a, (int, np.integer)) or isinstance(a, builtins.bool):
            raise TypeError(f"{op}: shape must be a sequence of ints, got {args!r}")
        out.append(builtins.int(a))
    return out


def need_tensor(x, op, arg="input"):
    """Raise the TypeError PyTorch gives when a tensor argument is something else."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _guard(fn, name):
    """Wrap a function whose first parameter is a tensor so other types raise TypeError, not AttributeError."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return fn
    if not params or params[0] not in ("input", "self", "tensor"):
        return fn
    first = params[0]

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        if args and not isinstance(args[0], Tensor):
            raise TypeError(f"{name}: argument '{first}' must be Tensor, not {type(args[0]).__name__}")
        return fn(*args, **kwargs)
    return guarded


def export(ns, exclude=()):
    """__all__ for an op module: its public callables (less method-only names), each guarded so a
    non-tensor first argument raises TypeError naming the op."""
    names = [n for n, v in ns.items() if not n.startswith("_") and callable(v) and not isinstance(v, type)
             and getattr(v, "__module__", None) == ns["__name__"] and n not in exclude]
    for n in names:
        ns[n] = _guard(ns[n], n)
    return names
