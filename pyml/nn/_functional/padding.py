"""nn.functional.pad: torch's F.pad (constant | reflect | replicate | circular) over pyml.pad.

pyml.pad (the engine's remap kernel) pads any number of trailing dims in every mode; this layer adds
torch's F.pad rules on top: `pad` must be a tuple of ints, the non-constant modes pad only the last
1, 2 or 3 dims of an unbatched or batched input (NotImplementedError otherwise, as in torch), reflect
pads less than the dim size, reflect/replicate need non-empty dims (the batch may be empty) and a
non-empty result, and circular wraps around at most once. An empty circular result is an empty tensor.
"""
import pyml
from ..._tensor import Tensor

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_list(pad, op):
    if not isinstance(pad, (list, tuple)):
        raise TypeError(f"{op}: argument 'pad' must be a tuple of ints, got {type(pad).__name__}")
    for p in pad:
        if isinstance(p, bool) or not hasattr(p, "__index__"):
            raise TypeError(f"{op}: argument 'pad' must be a tuple of ints, got {tuple(pad)!r}")
    return [int(p) for p in pad]


def _check_length(input, pads, op):
    if len(pads) % 2:
        raise ValueError(f"{op}: padding length must be divisible by 2, got {len(pads)} values {tuple(pads)}")
    if len(pads) > 2 * input.ndim:
        raise ValueError(f"{op}: padding length ({len(pads)}) must be at most twice the number of input dims, "
                         f"got input of shape {tuple(input.shape)}")


def _check_rank(input, pads, mode, op):
    """Non-constant modes pad the last k = 1, 2 or 3 dims of a (k+1)-D or (k+2)-D (batched) input."""
    k = len(pads) // 2
    if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"{op}: {mode} padding needs 2 values for a 2-D or 3-D input, 4 for a 3-D or 4-D input or 6 for a "
            f"4-D or 5-D input, got {len(pads)} values for input of shape {tuple(input.shape)}")


def _padded_dims(input, pads):
    """(dim, left, right, size) of each padded dim, the last dim first."""
    return [(input.ndim - 1 - i, pads[2 * i], pads[2 * i + 1], input.shape[input.ndim - 1 - i])
            for i in range(len(pads) // 2)]


def _check_edge_modes(input, pads, mode, op):
    """reflect / replicate: non-empty dims (all but the batch), pads below the size (reflect), non-empty result."""
    batched = input.ndim == len(pads) // 2 + 2
    if any(s == 0 for s in input.shape[1 if batched else 0:]):
        raise ValueError(f"{op}: {mode} padding needs non-zero sizes in every dim but the batch dim, got input "
                         f"of shape {tuple(input.shape)}")
    for d, left, right, n in _padded_dims(input, pads):
        if mode == "reflect" and (left >= n or right >= n):
            raise ValueError(f"{op}: reflect padding must be less than the size of the padded dim, got padding "
                             f"({left}, {right}) at dim {d} of size {n}; input {tuple(input.shape)}")
        if n + left + right < 1:
            raise ValueError(f"{op}: {mode} padding must leave at least one element, got padding ({left}, "
                             f"{right}) at dim {d} of size {n} (output size {n + left + right}); input "
                             f"{tuple(input.shape)}")


def _circular_is_empty(input, pads, op):
    """Checks circular pads like torch; True when a padded dim of the result is empty."""
    empty = False
    for d, left, right, n in _padded_dims(input, pads):
        if left > n or right > n:
            raise ValueError(f"{op}: circular padding must not exceed the size of the padded dim (it would wrap "
                             f"around more than once), got padding ({left}, {right}) at dim {d} of size {n}; "
                             f"input {tuple(input.shape)}")
        if n + left + right < 0:
            raise ValueError(f"{op}: circular padding gives a negative size {n + left + right} at dim {d}, got "
                             f"padding ({left}, {right}); input {tuple(input.shape)}")
        empty = empty or n + left + right == 0
    return empty


def pad(input, pad, mode="constant", value=None):
    """Pad (or crop, for negative values) the last len(pad) // 2 dims: pad = (left, right) of the last dim,
    then of the one before, ..."""
    op = "pad"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: argument 'input' must be Tensor, not {type(input).__name__}")
    pads = _pad_list(pad, op)
    if mode not in _MODES:
        raise NotImplementedError(f"{op}: mode must be 'constant', 'reflect', 'replicate' or 'circular', got "
                                  f"{mode!r}")
    _check_length(input, pads, op)
    if mode == "constant":
        return pyml.pad(input, pads, "constant", value)
    if value is not None and value != 0:
        raise ValueError(f"{op}: padding mode {mode!r} doesn't take a value argument, got value={value!r}")
    _check_rank(input, pads, mode, op)
    if mode == "circular":
        if _circular_is_empty(input, pads, op):
            return pyml.pad(input, pads, "constant")  # the empty result, with its shape and a zero gradient
    else:
        _check_edge_modes(input, pads, mode, op)
    return pyml.pad(input, pads, mode)
