"""nn.functional: max/avg/adaptive/power-average (lp) pooling (1-D, 2-D and 3-D) and max_unpool.

Fused engine kernels (csrc/ops/pool.cpp) with torch's output-size rules. Backward passes are
Functions too: avg-pool backward is linear with the forward as its adjoint, max-pool backward
scatters by the saved indices and its adjoint gathers by them, so gradients of any order work.
lp_pool is torch's composite of avg_pool and pow.
"""
import math
import numbers

import pyml
from ... import _C
from ..._tensor import wrap, export
from ..._dtype import int64
from ...autograd import Function
from ...autograd.grad_mode import is_grad_enabled
from .conv import _ntuple, _tensor

__all__ = []


# ------------------------------------------------------------------------------------- max pooling
def _keep_indices(ctx, input, y, idx, nd):
    """Forward tail of max and adaptive max pooling: save what the scatter backward needs."""
    ctx.nd = nd
    ctx.save_for_backward(input, idx)
    ctx.mark_non_differentiable(idx)
    ctx.set_materialize_grads(False)  # no zero-filled (N, C, P, Q) gradient for the int64 indices
    return y, idx


def _scatter_back(ctx, grad, stem, n_args):
    """Backward of max and adaptive max pooling: dx scatters grad at the saved indices; None for the
    n_args non-tensor arguments."""
    if grad is None:  # y did not reach the loss
        return (None,) * (1 + n_args)
    x, idx = ctx.saved_tensors
    op = f"{stem}{ctx.nd}d"
    return (_IndexScatter.apply(grad, x.detach(), idx, ctx.nd, op),) + (None,) * n_args


class _MaxPool(Function):
    """codes: the caller never sees the second output, so the engine may return uint8 window codes
    (the winner's tap in its window; CPU float32) instead of int64 indices: an eighth of the bytes."""

    @staticmethod
    def forward(ctx, input, kernel_size, stride, padding, dilation, ceil_mode, codes):
        ctx.window = (kernel_size, stride, padding, dilation, ceil_mode)
        y, idx = _C.max_pool_forward(input._impl, kernel_size, stride, padding, dilation, ceil_mode, True, codes)
        return _keep_indices(ctx, input, wrap(y), wrap(idx), len(kernel_size))

    @staticmethod
    def backward(ctx, grad, _gidx):
        if grad is None:
            return (None,) * 7
        x, idx = ctx.saved_tensors
        return (_MaxPoolBackward.apply(grad, x.detach(), idx, ctx.nd, ctx.window),) + (None,) * 6


class _IndexScatter(Function):
    """dx (shape of x) = grad scattered (summed) at the pooling indices; adjoint: gather."""

    @staticmethod
    def forward(ctx, grad, x, idx, nd, op):
        ctx.save_for_backward(idx)
        ctx.nd = nd
        return wrap(_C.max_pool_backward(grad._impl, x._impl, idx._impl, nd, op))

    @staticmethod
    def backward(ctx, gg):
        idx, = ctx.saved_tensors
        return _IndexGather.apply(gg, idx, ctx.nd), None, None, None, None


class _MaxPoolBackward(Function):
    """_IndexScatter for max_pool's own indices or window codes with the forward's window geometry,
    which lets CUDA gather through the windows instead of scattering (deterministic, no atomics)."""

    @staticmethod
    def forward(ctx, grad, x, idx, nd, window):
        ctx.save_for_backward(x, idx)
        ctx.nd, ctx.window = nd, window
        return wrap(_C.max_pool_backward_windows(grad._impl, x._impl, idx._impl, *window))

    @staticmethod
    def backward(ctx, gg):
        x, idx = ctx.saved_tensors
        if idx.dtype != int64:  # window codes: the same winners as flat indices, for the gather
            idx = wrap(_C.max_pool_forward(x._impl, *ctx.window, True)[1])
        return _IndexGather.apply(gg, idx, ctx.nd), None, None, None, None


class _IndexGather(Function):
    """y (shape of idx) = src gathered at idx in each plane; adjoint: scatter-add."""

    @staticmethod
    def forward(ctx, src, idx, nd):
        ctx.save_for_backward(src, idx)
        ctx.nd = nd
        return wrap(_C.max_unpool_backward(src._impl, idx._impl, nd))

    @staticmethod
    def backward(ctx, gg):
        src, idx = ctx.saved_tensors
        return _IndexScatter.apply(gg, src.detach(), idx, ctx.nd, f"max_pool{ctx.nd}d"), None, None


def _pool_args(nd, op, kernel_size, stride, padding, dilation=1):
    kernel_size = _ntuple(kernel_size, nd, op, "kernel_size")
    stride = kernel_size if stride is None or stride == [] or stride == () else _ntuple(stride, nd, op, "stride")
    return kernel_size, stride, _ntuple(padding, nd, op, "padding"), _ntuple(dilation, nd, op, "dilation")


def _max_pool(nd, op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    args = _pool_args(nd, op, kernel_size, stride, padding, dilation)
    input = _tensor(input, op, "input")
    if not return_indices and not (input.requires_grad and is_grad_enabled()):
        # nothing will need the argmax: the kernel skips the int64 indices (a third of its traffic)
        return wrap(_C.max_pool_forward(input._impl, *args, bool(ceil_mode), False)[0])
    y, idx = _MaxPool.apply(input, *args, bool(ceil_mode), not return_indices)
    return (y, idx) if return_indices else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """x (N, C, L) or (C, L) -> (N, C, L_out) [, int64 indices into L]."""
    return _max_pool(1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """x (N, C, H, W) or (C, H, W) -> (N, C, P, Q) [, int64 indices h*W + w into each plane]."""
    return _max_pool(2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """x (N, C, D, H, W) or (C, D, H, W) -> (N, C, O, P, Q) [, int64 indices d*H*W + h*W + w into each volume]."""
    return _max_pool(3, "max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_pool(1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_pool(2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_pool(3, "max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ------------------------------------------------------------------------------------- avg pooling
class _AvgPool(Function):
    @staticmethod
    def forward(ctx, input, *args):
        ctx.args = args
        ctx.save_for_backward(input)
        return wrap(_C.avg_pool_forward(input._impl, *args))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return (_AvgPoolBackward.apply(grad, x.detach(), *ctx.args),) + (None,) * len(ctx.args)


class _AvgPoolBackward(Function):
    @staticmethod
    def forward(ctx, grad, x, *args):
        ctx.args = args
        return wrap(_C.avg_pool_backward(grad._impl, x._impl, *args))

    @staticmethod
    def backward(ctx, gg):
        return (_AvgPool.apply(gg, *ctx.args), None) + (None,) * len(ctx.args)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """x (N, C, L) or (C, L) -> (N, C, L_out): window means."""
    op = "avg_pool1d"
    k, s, p, _ = _pool_args(1, op, kernel_size, stride, padding)
    return _AvgPool.apply(_tensor(input, op, "input"), k, s, p, bool(ceil_mode), bool(count_include_pad), None)


def _avg_pool(nd, op, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    k, s, p, _ = _pool_args(nd, op, kernel_size, stride, padding)
    if divisor_override is not None:
        divisor_override = int(divisor_override)
    return _AvgPool.apply(_tensor(input, op, "input"), k, s, p, bool(ceil_mode), bool(count_include_pad),
                          divisor_override)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """x (N, C, H, W) or (C, H, W) -> (N, C, P, Q): window sums over the window size (or the override)."""
    return _avg_pool(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """x (N, C, D, H, W) or (C, D, H, W) -> (N, C, O, P, Q): window sums over the window size (or the override)."""
    return _avg_pool(3, "avg_pool3d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ------------------------------------------------------------------------------------- power-average pooling
def _lp_pool(nd, op, input, norm_type, kernel_size, stride, ceil_mode):
    """(sum of x^p over each window)^(1/p) = (K * avg_pool(x^p))^(1/p); p = +-inf is a max pool of |x|.
    torch's sign(s) * relu(|s|) keeps the window mean s (sign included) but gives it a zero gradient where
    s == 0, so a window of zeros has a zero gradient instead of 0 * inf; where(s == 0, 0, s) is that."""
    _tensor(input, op, "input")
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"{op}: norm_type must be a number, got {type(norm_type).__name__}")
    if norm_type == 0:
        raise ValueError(f"{op}: norm_type must be non-zero (the result is a 1/norm_type power), got 0")
    if input.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got input of "
                         f"shape {tuple(input.shape)}")
    k = _ntuple(kernel_size, nd, op, "kernel_size")
    pool = _MAX_POOLS[nd]
    if norm_type == float("inf"):
        return pool(pyml.abs(input), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -pool(-pyml.abs(input), kernel_size, stride, 0, 1, ceil_mode)
    s = _AVG_POOLS[nd](pyml.pow(input, norm_type), kernel_size, stride, 0, ceil_mode)
    s = pyml.where(s == 0, pyml.zeros_like(s), s)
    return pyml.pow(s * math.prod(k), 1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """x (N, C, L) or (C, L) -> (N, C, L_out): the p-norm of every window."""
    return _lp_pool(1, "lp_pool1d", input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """x (N, C, H, W) or (C, H, W) -> (N, C, P, Q): the p-norm of every window."""
    return _lp_pool(2, "lp_pool2d", input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """x (N, C, D, H, W) or (C, D, H, W) -> (N, C, O, P, Q): the p-norm of every window."""
    return _lp_pool(3, "lp_pool3d", input, norm_type, kernel_size, stride, ceil_mode)


_MAX_POOLS = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}
_AVG_POOLS = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}


# ------------------------------------------------------------------------------------- adaptive pooling
def _output_size(input, output_size, nd, op):
    """None entries keep the input's size, like torch."""
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != nd:
            raise ValueError(f"{op}: output_size must be an int or {nd} ints, got {tuple(output_size)}")
        sizes = list(output_size)
    else:
        sizes = [output_size] * nd
    spatial = input.shape[input.ndim - nd:]
    return tuple(int(s if o is None else o) for o, s in zip(sizes, spatial))


class _AdaptiveAvgPool(Function):
    @staticmethod
    def forward(ctx, input, output_size):
        ctx.save_for_backward(input)
        ctx.nd = len(output_size)
        return wrap(_C.adaptive_avg_pool_forward(input._impl, list(output_size)))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return _AdaptiveAvgPoolBackward.apply(grad, x.detach(), ctx.nd), None


class _AdaptiveAvgPoolBackward(Function):
    @staticmethod
    def forward(ctx, grad, x, nd):
        ctx.size = tuple(grad.shape[grad.ndim - nd:])
        return wrap(_C.adaptive_avg_pool_backward(grad._impl, x._impl, nd))

    @staticmethod
    def backward(ctx, gg):
        return _AdaptiveAvgPool.apply(gg, ctx.size), None, None


def _adaptive_avg(nd, op, input, output_size):
    _tensor(input, op, "input")
    if input.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got input of "
                         f"shape {tuple(input.shape)}")
    return _AdaptiveAvgPool.apply(input, _output_size(input, output_size, nd, op))


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg(1, "adaptive_avg_pool1d", input, output_size)


def adaptive_avg_pool2d(input, output_size):
    return _adaptive_avg(2, "adaptive_avg_pool2d", input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """x (N, C, D, H, W) or (C, D, H, W) -> (N, C, *output_size): means over adaptive windows."""
    return _adaptive_avg(3, "adaptive_avg_pool3d", input, output_size)


class _AdaptiveMaxPool(Function):
    @staticmethod
    def forward(ctx, input, output_size):
        y, idx = _C.adaptive_max_pool_forward(input._impl, list(output_size))
        return _keep_indices(ctx, input, wrap(y), wrap(idx), len(output_size))

    @staticmethod
    def backward(ctx, grad, _gidx):
        return _scatter_back(ctx, grad, "adaptive_max_pool", 1)


def _adaptive_max(nd, op, input, output_size, return_indices):
    _tensor(input, op, "input")
    if input.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got input of "
                         f"shape {tuple(input.shape)}")
    y, idx = _AdaptiveMaxPool.apply(input, _output_size(input, output_size, nd, op))
    return (y, idx) if return_indices else y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive_max(1, "adaptive_max_pool1d", input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max(2, "adaptive_max_pool2d", input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """x (N, C, D, H, W) or (C, D, H, W) -> (N, C, *output_size) [, int64 indices d*H*W + h*W + w]."""
    return _adaptive_max(3, "adaptive_max_pool3d", input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max(1, "adaptive_max_pool1d", input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max(2, "adaptive_max_pool2d", input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max(3, "adaptive_max_pool3d", input, output_size, True)


# ------------------------------------------------------------------------------------- max_unpool
class _MaxUnpool(Function):
    """y.flat[plane][idx] = x; backward gathers (the max-pool scatter is its adjoint)."""

    @staticmethod
    def forward(ctx, input, indices, output_size):
        ctx.nd = len(output_size)
        ctx.save_for_backward(indices)
        return wrap(_C.max_unpool_forward(input._impl, indices._impl, list(output_size)))

    @staticmethod
    def backward(ctx, grad):
        idx, = ctx.saved_tensors
        return _IndexGather.apply(grad, idx, ctx.nd), None, None


def _unpool_output_size(input, kernel_size, stride, padding, output_size, op):
    """torch's _unpool_output_size: the default size, or a given one within a stride of it."""
    nd = len(kernel_size)
    spatial = input.shape[input.ndim - nd:]
    default = [(spatial[d] - 1) * stride[d] + kernel_size[d] - 2 * padding[d] for d in range(nd)]
    if output_size is None:
        return tuple(default)
    output_size = [int(s) for s in output_size]
    if len(output_size) == nd + 2:
        output_size = output_size[2:]
    elif len(output_size) == nd + 1 and input.ndim == nd + 1:
        output_size = output_size[1:]
    if len(output_size) != nd:
        raise ValueError(f"{op}: output_size should be a sequence containing {nd} or {nd + 2} elements, but it has "
                         f"a length of {len(output_size)}")
    for d in range(nd):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < output_size[d] < hi:
            raise ValueError(f"{op}: invalid output_size {tuple(output_size)} (dim {d} must be between {lo} and "
                             f"{hi}); input {tuple(input.shape)}")
    return tuple(output_size)


def _max_unpool(nd, op, input, indices, kernel_size, stride, padding, output_size):
    _tensor(input, op, "input")
    _tensor(indices, op, "indices")
    k, s, p, _ = _pool_args(nd, op, kernel_size, stride, padding)
    if input.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got input of "
                         f"shape {tuple(input.shape)}")
    return _MaxUnpool.apply(input, indices, _unpool_output_size(input, k, s, p, output_size, op))


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool1d: x (N, C, L) placed at indices in zeros (N, C, L_out)."""
    return _max_unpool(1, "max_unpool1d", input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool2d: x (N, C, H, W) placed at indices in zeros (N, C, H_out, W_out)."""
    return _max_unpool(2, "max_unpool2d", input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool3d: x (N, C, D, H, W) placed at indices in zeros (N, C, D_out, H_out, W_out)."""
    return _max_unpool(3, "max_unpool3d", input, indices, kernel_size, stride, padding, output_size)


__all__ = export(globals())
