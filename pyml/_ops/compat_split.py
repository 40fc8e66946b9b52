"""Splits and view copies PyTorch has beyond index.py/views.py: hsplit/vsplit/dsplit, split_with_sizes, the
unsafe_* splits, narrow_copy and the *_copy functions (view_copy, permute_copy, ..., as_strided_copy).

Splits return views (tensor_split/split do the work, so autograd sees views). Each *_copy is its view
followed by a contiguous copy, which is what PyTorch's functionalised *_copy ops return; `out=` takes the
copy (a list of tensors for the ops returning several).
"""
import pyml
from .. import _dtype as D
from .._tensor import Tensor, export, to_np_shape
from .compat_util import as_int, wrap_dim, store_out, method


# ---------------------------------------------------------------------------- hsplit / vsplit / dsplit
def _sections(op, input, sections, d, min_dims):
    if input.ndim < min_dims:
        raise ValueError(f"{op}: requires a tensor with at least {min_dims} dimension(s), got a tensor with "
                         f"{input.ndim} dimensions")
    if isinstance(sections, (list, tuple)):
        return pyml.tensor_split(input, [as_int(i, op, "indices") for i in sections], dim=d)
    n = as_int(sections, op, "sections")
    if n <= 0 or input.shape[d] % n:
        raise ValueError(f"{op}: attempted to split along dimension {d}, but the size of the dimension "
                         f"{input.shape[d]} is not divisible by the split_size {n}")
    return pyml.tensor_split(input, n, dim=d)


def hsplit(input, indices_or_sections):
    """Split along dim 1 (dim 0 for 1-D tensors) into equal sections or at the given indices."""
    return _sections("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0, 1)


def vsplit(input, indices_or_sections):
    """Split along dim 0 of a tensor with 2 or more dims."""
    return _sections("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):
    """Split along dim 2 of a tensor with 3 or more dims."""
    return _sections("dsplit", input, indices_or_sections, 2, 3)


# ---------------------------------------------------------------------------- split_with_sizes / unsafe_*
def split_with_sizes(input, split_sizes, dim=0):
    """Views of consecutive pieces along dim with the given sizes, which must sum to the dim's size."""
    sizes = [as_int(s, "split_with_sizes", "split_sizes") for s in split_sizes]
    if any(s < 0 for s in sizes):
        raise ValueError(f"split_with_sizes: expects split_sizes to have only non-negative entries, got {sizes}")
    if input.ndim == 0:
        raise ValueError("split_with_sizes: expects at least a 1-dimensional tensor, got a 0-dimensional one")
    d = wrap_dim(dim, input.ndim, "split_with_sizes")
    total = input.shape[d]
    if sum(sizes) != total:
        raise ValueError(f"split_with_sizes: expects split_sizes to sum exactly to {total} (input tensor's size at "
                         f"dimension {dim}), got split_sizes={sizes}")
    return tuple(pyml.split(input, sizes, dim=d))


def unsafe_split(input, split_size, dim=0):
    """split (pyml tracks every view, so the unsafe form is the safe one)."""
    return tuple(pyml.split(input, as_int(split_size, "unsafe_split", "split_size"), dim=dim))


def unsafe_chunk(input, chunks, dim=0):
    """chunk (pyml tracks every view, so the unsafe form is the safe one)."""
    return tuple(pyml.chunk(input, chunks, dim=dim))


def unsafe_split_with_sizes(input, split_sizes, dim=0):
    """split_with_sizes (pyml tracks every view, so the unsafe form is the safe one)."""
    return split_with_sizes(input, split_sizes, dim)


# ---------------------------------------------------------------------------- *_copy
def _copy(r, out, op):
    return store_out(r.clone(memory_format=pyml.contiguous_format), out, op)


def _copies(rs, out, op):
    rs = tuple(r.clone(memory_format=pyml.contiguous_format) for r in rs)
    if out is None:
        return rs
    if len(out) != len(rs):
        raise ValueError(f"{op}: out must hold {len(rs)} tensors, got {len(out)}")
    for o, r in zip(out, rs):
        store_out(r, o, op)
    return tuple(out)


def narrow_copy(input, dim, start, length, *, out=None):
    return _copy(pyml.narrow(input, dim, start, length), out, "narrow_copy")


def view_copy(input, size, *, out=None):
    """A contiguous copy of input with shape size; any layout works, since the result is a copy (as in torch).
    Viewing as another dtype is not supported."""
    if isinstance(size, D.dtype):
        raise TypeError("view_copy: viewing as another dtype is not supported; use .to(dtype)")
    return _copy(input.reshape(to_np_shape((size,), "view_copy")), out, "view_copy")


def permute_copy(input, dims, *, out=None):
    return _copy(pyml.permute(input, dims), out, "permute_copy")


def transpose_copy(input, dim0, dim1, *, out=None):
    return _copy(pyml.transpose(input, dim0, dim1), out, "transpose_copy")


def t_copy(input, *, out=None):
    return _copy(pyml.t(input), out, "t_copy")


def unsqueeze_copy(input, dim, *, out=None):
    return _copy(pyml.unsqueeze(input, dim), out, "unsqueeze_copy")


def squeeze_copy(input, dim=None, *, out=None):
    return _copy(pyml.squeeze(input, dim), out, "squeeze_copy")


def expand_copy(input, size, *, implicit=False, out=None):
    return _copy(input.expand(to_np_shape((size,), "expand_copy")), out, "expand_copy")


def diagonal_copy(input, offset=0, dim1=0, dim2=1, *, out=None):
    return _copy(pyml.diagonal(input, offset, dim1, dim2), out, "diagonal_copy")


def select_copy(input, dim, index, *, out=None):
    return _copy(pyml.select(input, dim, index), out, "select_copy")


def slice_copy(input, dim=0, start=None, end=None, step=1, *, out=None):
    step = as_int(step, "slice_copy", "step")
    if step <= 0:
        raise ValueError(f"slice_copy: slice step must be positive, got {step}")
    d = wrap_dim(dim, input.ndim, "slice_copy")
    return _copy(input[(slice(None),) * d + (slice(start, end, step),)], out, "slice_copy")


def detach_copy(input, *, out=None):
    return _copy(input.detach(), out, "detach_copy")


def alias_copy(input, *, out=None):
    return _copy(input, out, "alias_copy")


def unfold_copy(input, dimension, size, step, *, out=None):
    return _copy(input.unfold(dimension, size, step), out, "unfold_copy")


def as_strided_copy(input, size, stride, storage_offset=None, *, out=None):
    return _copy(pyml.as_strided(input, size, stride, storage_offset), out, "as_strided_copy")


def unbind_copy(input, dim=0, *, out=None):
    return _copies(pyml.unbind(input, dim), out, "unbind_copy")


def split_copy(input, split_size, dim=0, *, out=None):
    return _copies(pyml.split(input, as_int(split_size, "split_copy", "split_size"), dim=dim), out, "split_copy")


def split_with_sizes_copy(input, split_sizes, dim=0, *, out=None):
    return _copies(split_with_sizes(input, split_sizes, dim), out, "split_with_sizes_copy")


detach_copy._pyml_ag = True  # a constant: no autograd guard (it would give the copy a raising node)


# ---------------------------------------------------------------------------- methods
for _n in ("hsplit", "vsplit", "dsplit", "split_with_sizes", "unsafe_split", "unsafe_chunk",
           "unsafe_split_with_sizes", "narrow_copy"):
    setattr(Tensor, _n, method(globals()[_n]))
__all__ = export(globals())
