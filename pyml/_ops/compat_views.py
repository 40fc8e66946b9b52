"""In-place geometry changes and strided views: Tensor.squeeze_/unsqueeze_/t_/transpose_/swapaxes_/swapdims_,
resize_/resize_as_, unfold, fill_diagonal_, sum_to_size.

A pyml Tensor is a Python handle on an engine TensorImpl (shape, strides, offset, shared storage whose
version counter lives in the storage). Changing a tensor's geometry in place therefore means pointing
the handle at a new impl over the same storage: other tensors sharing the storage are untouched, as in
PyTorch. Under autograd the new geometry is recorded as a view of the tensor's old self.
"""
import builtins

import pyml
from .. import _C
from .._tensor import Tensor, to_np_shape
from .compat_util import need, as_int, wrap_dim, need_number


# ---------------------------------------------------------------------------- in-place views
def _restride(self, op, view):
    """self takes the geometry of view(self): same storage; a view node of the old self under autograd."""
    need(self, op, "self")
    old = Tensor._wrap(self._impl)
    old._requires_grad, old.grad_fn = self._requires_grad, self.grad_fn
    old._output_nr, old._fn_version = self._output_nr, self._fn_version
    for k in ("_base", "_view_fn"):
        if k in self.__dict__:
            old.__dict__[k] = self.__dict__[k]
    new = view(old)
    self._impl = new._impl
    if new.grad_fn is not None and new.grad_fn is not old.grad_fn:
        self.grad_fn, self._output_nr, self._fn_version = new.grad_fn, new._output_nr, new._fn_version
    if "_base" in self.__dict__:  # self is a view: its recipe from the base now ends with this view
        self.__dict__["_view_fn"] = new.__dict__.get("_view_fn", self.__dict__.get("_view_fn"))
    return self


def _squeeze_(self, dim=None):
    return _restride(self, "squeeze_", lambda t: t.squeeze(dim))


def _unsqueeze_(self, dim):
    return _restride(self, "unsqueeze_", lambda t: t.unsqueeze(dim))


def _transpose_(self, dim0, dim1):
    return _restride(self, "transpose_", lambda t: t.transpose(dim0, dim1))


def _t_(self):
    return _restride(self, "t_", lambda t: t.t())


Tensor.squeeze_ = _squeeze_
Tensor.unsqueeze_ = _unsqueeze_
Tensor.transpose_ = Tensor.swapaxes_ = Tensor.swapdims_ = _transpose_
Tensor.t_ = _t_


# ---------------------------------------------------------------------------- resize_
def _contiguous_strides(shape):
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= builtins.max(s, 1)
    return strides[::-1]


def _resize_(self, *sizes, memory_format=None):
    """Contiguous geometry of the given sizes over self's storage. A larger size moves self to a new storage
    holding the old storage's elements first (PyTorch grows the shared storage itself, so other views of it
    would see the growth; here they keep the old storage)."""
    if self.requires_grad:
        raise RuntimeError("resize_: cannot resize variables that require grad")
    shape = to_np_shape(sizes, "resize_")
    if builtins.any(s < 0 for s in shape):
        raise ValueError(f"resize_: sizes must be non-negative, got {tuple(shape)}")
    if list(shape) == list(self.shape):
        return self
    n = 1
    for s in shape:
        n *= s
    impl, offset = self._impl, self._impl.offset
    avail = impl.storage_nbytes // self.dtype.itemsize - offset
    if n > avail:
        grown = _C.empty([n], impl.dtype, impl.device)
        if avail > 0:
            _C.copy_(_C.slice(grown, 0, 0, avail, 1), _C.as_strided(impl, [avail], [1], offset))
        impl, offset = grown, 0
    self._impl = _C.as_strided(impl, list(shape), _contiguous_strides(shape), offset)
    return self


def _resize_as_(self, the_template, memory_format=None):
    need(the_template, "resize_as_", "the_template")
    return _resize_(self, the_template.shape)


_resize_._pyml_ag = _resize_as_._pyml_ag = True  # they refuse every tensor that requires grad themselves
Tensor.resize_ = _resize_
Tensor.resize_as_ = _resize_as_


# ---------------------------------------------------------------------------- unfold / fill_diagonal_
def _unfold(self, dimension, size, step):
    """Windows of `size` elements taken every `step` along `dimension`, as a new last dim (a strided view)."""
    size, step = as_int(size, "unfold", "size"), as_int(step, "unfold", "step")
    d = wrap_dim(dimension, self.ndim, "unfold")
    length = self.shape[d] if self.ndim else 1
    if size < 0 or size > length:
        raise ValueError(f"unfold: size must be in [0, {length}] (the length of dimension {d}), got {size}")
    if step <= 0:
        raise ValueError(f"unfold: step must be > 0, got {step}")
    if self.ndim == 0:
        return pyml.as_strided(self, [size], [1], self.storage_offset())
    shape, strides = list(self.shape), list(self.stride())
    shape[d] = (length - size) // step + 1
    new_strides = strides[:d] + [strides[d] * step] + strides[d + 1:] + [strides[d]]
    return pyml.as_strided(self, shape + [size], new_strides, self.storage_offset())


Tensor.unfold = _unfold


def _fill_diagonal_(self, fill_value, wrap=False):
    """Write fill_value on the main diagonal (all dims equal beyond 2-D); with wrap, a tall matrix's diagonal
    restarts every cols + 1 rows, as in NumPy."""
    if self.ndim < 2:
        raise ValueError(f"fill_diagonal_: dimensions must be larger than 1, got shape {tuple(self.shape)}")
    if self.ndim > 2 and builtins.len(set(self.shape)) != 1:
        raise ValueError(f"fill_diagonal_: all dimensions of input must be of equal length, got {tuple(self.shape)}")
    if not isinstance(fill_value, Tensor):
        fill_value = need_number(fill_value, "fill_diagonal_", "fill_value")
    rows, cols = self.shape[0], self.shape[1]
    if wrap and self.ndim == 2 and rows > cols + 1:
        p = pyml.arange(0, rows * cols, cols + 1, device=self.device)  # flat positions, row-major
        value = fill_value if isinstance(fill_value, Tensor) else pyml.full([], fill_value, dtype=self.dtype,
                                                                            device=self.device)
        return self.index_put_((p // cols, p % cols), value.to(self.dtype).expand(p.shape[0]))
    n = builtins.min(self.shape)
    diag = pyml.as_strided(self, [n], [builtins.sum(self.stride())], self.storage_offset())
    diag.fill_(fill_value)
    return self


Tensor.fill_diagonal_ = _fill_diagonal_


# ---------------------------------------------------------------------------- sum_to_size
def _sum_to_size(self, *size):
    """Sum self down to `size` (which must broadcast to self's shape): the reverse of expand."""
    size = to_np_shape(size, "sum_to_size")
    lead = self.ndim - builtins.len(size)
    ok = lead >= 0 and builtins.all(s == 1 or s == self.shape[lead + i] for i, s in enumerate(size))
    if not ok:
        raise ValueError(f"sum_to_size: size {tuple(size)} is not expandable to size {tuple(self.shape)}")
    if tuple(size) == tuple(self.shape):
        return self
    dims = list(range(lead)) + [lead + i for i, s in enumerate(size) if s == 1 and self.shape[lead + i] != 1]
    r = self.sum(dim=dims, keepdim=True) if dims else self
    return r.reshape(size)


Tensor.sum_to_size = _sum_to_size
__all__ = []
