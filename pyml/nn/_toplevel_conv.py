"""Top-level convolution, max_pool3d and embedding_bag in torch's ATen signatures (re-exported by _toplevel.py).

torch.convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups) is the
one entry all convolutions share: the weight's rank picks conv1d/2d/3d (or their transposes) and each list
argument is one int for every spatial dim or one per dim. torch.embedding_bag(weight, indices, offsets, ...)
takes mode as an int (0 sum, 1 mean, 2 max) and returns (output, offset2bag, bag_size, max_indices); the
output is nn.functional's, the three index tensors are derived from indices and offsets here.
"""
import pyml
from .._tensor import Tensor
from . import functional as F


def _need(x, op, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


# ------------------------------------------------------------------------------------------ convolution
def _per_dim(v, nd, arg):
    """One int for all nd spatial dims, or a list of 1 or nd ints, as a tuple of nd ints."""
    vals = [v] if isinstance(v, int) else list(v)
    if len(vals) == 1:
        vals = vals * nd
    if len(vals) != nd:
        raise ValueError(f"convolution: expected {arg} to be a single integer value or a list of {nd} values to "
                         f"match the convolution dimensions, got {arg}={list(v) if not isinstance(v, int) else v}")
    return tuple(vals)


_CONV = {3: (F.conv1d, F.conv_transpose1d), 4: (F.conv2d, F.conv_transpose2d), 5: (F.conv3d, F.conv_transpose3d)}


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """conv{1,2,3}d or conv_transpose{1,2,3}d of batched input, chosen by weight.dim() and transposed."""
    op = "convolution"
    _need(input, op)
    _need(weight, op, "weight")
    if weight.ndim not in _CONV:
        raise ValueError(f"{op}: weight must be 3-D, 4-D or 5-D (out/in channels and 1 to 3 spatial dims), got "
                         f"weight {tuple(weight.shape)}")
    if input.ndim != weight.ndim:
        raise ValueError(f"{op}: expected a batched input with weight's rank ({weight.ndim}), got input "
                         f"{tuple(input.shape)} and weight {tuple(weight.shape)}")
    nd = weight.ndim - 2
    s, p, d = _per_dim(stride, nd, "stride"), _per_dim(padding, nd, "padding"), _per_dim(dilation, nd, "dilation")
    name = ("conv_transpose" if transposed else "conv") + f"{nd}d"
    fn = getattr(F, name)  # looked up now: autocast wraps nn.functional's functions after import
    if transposed:
        return fn(input, weight, bias, s, p, _per_dim(output_padding, nd, "output_padding"), groups, d)
    return fn(input, weight, bias, s, p, d, groups)


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return F.max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode)


# ------------------------------------------------------------------------------------------ embedding_bag
_MODES = {0: "sum", 1: "mean", 2: "max"}


def _bag_of_each(indices, offsets, include_last_offset):
    """(offset2bag (L,), number of bags B): the bag each flattened index falls in (positions past the last
    bag's start count in the last bag, as torch's)."""
    if indices.ndim == 2:
        B, n = indices.shape
        starts = pyml.arange(0, B * n, max(n, 1), dtype=pyml.int64, device=indices.device)
    else:
        starts = offsets[:-1] if include_last_offset else offsets
    pos = pyml.arange(indices.numel(), dtype=starts.dtype, device=indices.device)
    return pyml.searchsorted(starts, pos, right=True).to(pyml.int64) - 1, starts.shape[0]


def _max_indices(weight, flat, bag, out, keep):
    """(B, D): for each bag and column, the weight row that gave the max (0 for an empty bag)."""
    rows = weight.detach().index_select(0, flat)  # (L, D)
    hit = (rows == out.detach().index_select(0, bag)) & keep.unsqueeze(1)
    big = weight.shape[0]
    cand = pyml.where(hit, flat.unsqueeze(1).expand_as(rows), pyml.full_like(rows, big, dtype=pyml.int64))
    res = pyml.full(tuple(out.shape), big, dtype=pyml.int64, device=out.device)
    res = res.scatter_reduce(0, bag.unsqueeze(1).expand_as(rows), cand, "amin")
    return pyml.where(res == big, pyml.zeros_like(res), res)


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """-> (output (B, D), offset2bag (L,), bag_size (B,), max_indices ((B, D) in max mode, else bag_size))."""
    op = "embedding_bag"
    _need(weight, op, "weight")
    _need(indices, op, "indices")
    _need(offsets, op, "offsets")
    if isinstance(mode, bool) or mode not in _MODES:
        raise ValueError(f"{op}: mode must be 0 (sum), 1 (mean) or 2 (max), got {mode!r}")
    out = F.embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq, _MODES[mode], sparse,
                          per_sample_weights, include_last_offset, padding_idx)
    flat = indices.reshape(-1).to(pyml.int64)
    bag, B = _bag_of_each(indices, offsets, include_last_offset)
    keep = flat != (padding_idx % weight.shape[0]) if padding_idx is not None else pyml.ones_like(flat, dtype=pyml.bool)
    bag_size = pyml.zeros(B, dtype=pyml.int64, device=flat.device).index_add(0, bag, keep.to(pyml.int64))
    max_indices = _max_indices(weight, flat, bag, out, keep) if mode == 2 else bag_size
    return out, bag, bag_size, max_indices
