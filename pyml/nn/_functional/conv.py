"""nn.functional: conv1d/2d/3d, conv_transpose1d/2d/3d, unfold and fold.

Each is one autograd Function over the engine's fused kernels (csrc/ops/conv.cpp): forward calls
_C.conv_forward, backward calls _C.conv_backward_input / _C.conv_backward_weight (and a sum for
the bias) only for the inputs that need a gradient.
Here ints become tuples, 'same'/'valid' become explicit paddings (an odd 'same' total puts the
extra element on the right, as torch does). unfold and fold are each other's adjoint, so their
backward passes are the other op and stay differentiable.
"""
import builtins

from ... import _C
from ..._tensor import Tensor, wrap, export
from ...autograd import Function

__all__ = []


def _ntuple(v, n, op, name):
    """int or sequence of n ints -> tuple of n Python ints."""
    if isinstance(v, Tensor):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        if len(v) == 1 and n > 1:
            v = tuple(v) * n
        if len(v) != n:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {tuple(v)}")
    else:
        v = (v,) * n
    out = []
    for e in v:
        if isinstance(e, builtins.bool) or not isinstance(e, int) and not hasattr(e, "__index__"):
            raise TypeError(f"{op}: {name} must contain ints, got {v!r}")
        out.append(int(e))
    return tuple(out)


def _tensor(x, op, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def _impl(t):
    return None if t is None else t._impl


def _wrap(impl):
    return None if impl is None else wrap(impl)


def _conv_padding(padding, weight, nd, dilation, stride, op):
    """-> (padding_lo, padding_hi) as tuples of nd ints."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * nd, (0,) * nd
        if padding != "same":
            raise ValueError(f"{op}: padding must be 'same', 'valid', an int or a tuple of ints, got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions, got stride {stride}")
        if weight.ndim != nd + 2:
            raise ValueError(f"{op}: expected {nd + 2}-D weight, got weight of shape {tuple(weight.shape)}")
        total = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
        lo = tuple(t // 2 for t in total)
        return lo, tuple(t - l for t, l in zip(total, lo))
    p = _ntuple(padding, nd, op, "padding")
    return p, p


# The conv F(x, w), its input adjoint Gi(dy, w) and its weight adjoint Gw(x, dy) share one geometry
# (stride, pad_lo, pad_hi, dilation, groups). Each one's derivatives are the other two, so
# gradients of any order (gradient penalties, second-order MAML) run on the fused kernels.
def _sum_bias(g, batched):
    dims = [0] + list(range(2, g.ndim)) if batched else list(range(1, g.ndim))
    return g.sum(dim=dims)


class _Conv(Function):
    @staticmethod
    def forward(ctx, input, weight, bias, stride, padding, pad_hi, dilation, groups):
        ctx.geom = (stride, padding, pad_hi, dilation, groups)
        ctx.save_for_backward(input, weight)
        return wrap(_C.conv_forward(input._impl, weight._impl, _impl(bias), stride, padding, pad_hi, dilation,
                                    groups))

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        dx = _ConvGradInput.apply(grad, w, tuple(x.shape), *ctx.geom) if nx else None
        dw = _ConvGradWeight.apply(x, grad, tuple(w.shape), *ctx.geom) if nw else None
        db = _sum_bias(grad, x.ndim == w.ndim) if nb else None
        return dx, dw, db, None, None, None, None, None


class _ConvGradInput(Function):
    @staticmethod
    def forward(ctx, grad, weight, input_shape, *geom):
        ctx.geom = geom
        ctx.save_for_backward(grad, weight)
        return wrap(_C.conv_backward_input(grad._impl, weight._impl, list(input_shape), *geom))

    @staticmethod
    def backward(ctx, gg):
        g, w = ctx.saved_tensors
        ng, nw = ctx.needs_input_grad[:2]
        dg = _Conv.apply(gg, w, None, *ctx.geom) if ng else None
        dw = _ConvGradWeight.apply(gg, g, tuple(w.shape), *ctx.geom) if nw else None
        return (dg, dw) + (None,) * 6


class _ConvGradWeight(Function):
    @staticmethod
    def forward(ctx, input, grad, weight_shape, *geom):
        ctx.geom = geom
        ctx.save_for_backward(input, grad)
        return wrap(_C.conv_backward_weight(grad._impl, input._impl, list(weight_shape), *geom))

    @staticmethod
    def backward(ctx, gg):
        x, g = ctx.saved_tensors
        nx, ng = ctx.needs_input_grad[:2]
        dx = _ConvGradInput.apply(g, gg, tuple(x.shape), *ctx.geom) if nx else None
        dg = _Conv.apply(x, gg, None, *ctx.geom) if ng else None
        return (dx, dg) + (None,) * 6


class _ConvTranspose(Function):
    """y = Gi(x, w) of the conv whose bottom/right padding is padding - output_padding."""

    @staticmethod
    def forward(ctx, input, weight, bias, stride, padding, output_padding, dilation, groups):
        ctx.geom = (stride, padding, tuple(p - o for p, o in zip(padding, output_padding)), dilation, groups)
        ctx.save_for_backward(input, weight)
        return wrap(_C.conv_transpose_forward(input._impl, weight._impl, _impl(bias), stride, padding,
                                              output_padding, dilation, groups))

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        dx = _Conv.apply(grad, w, None, *ctx.geom) if nx else None
        dw = _ConvGradWeight.apply(grad, x, tuple(w.shape), *ctx.geom) if nw else None
        db = _sum_bias(grad, x.ndim == w.ndim) if nb else None
        return dx, dw, db, None, None, None, None, None


def _conv(nd, op, input, weight, bias, stride, padding, dilation, groups):
    _tensor(input, op, "input")
    _tensor(weight, op, "weight")
    if bias is not None:
        _tensor(bias, op, "bias")
    stride = _ntuple(stride, nd, op, "stride")
    dilation = _ntuple(dilation, nd, op, "dilation")
    lo, hi = _conv_padding(padding, weight, nd, dilation, stride, op)
    return _Conv.apply(input, weight, bias, stride, lo, hi, dilation, int(groups))


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x (N, C, L) or (C, L), weight (K, C/groups, kL) -> (N, K, L_out)."""
    return _conv(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x (N, C, H, W) or (C, H, W), weight (K, C/groups, kH, kW) -> (N, K, P, Q)."""
    return _conv(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x (N, C, D, H, W) or (C, D, H, W), weight (K, C/groups, kD, kH, kW) -> (N, K, O, P, Q)."""
    return _conv(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(nd, op, input, weight, bias, stride, padding, output_padding, groups, dilation):
    _tensor(input, op, "input")
    _tensor(weight, op, "weight")
    if bias is not None:
        _tensor(bias, op, "bias")
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of ints, got {padding!r}")
    args = [_ntuple(v, nd, op, n) for v, n in ((stride, "stride"), (padding, "padding"),
                                                (output_padding, "output_padding"), (dilation, "dilation"))]
    return _ConvTranspose.apply(input, weight, bias, *args, int(groups))


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """x (N, Cin, L) or (Cin, L), weight (Cin, Cout/groups, kL) -> (N, Cout, L_out)."""
    return _conv_transpose(1, "conv_transpose1d", input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """x (N, Cin, H, W) or (Cin, H, W), weight (Cin, Cout/groups, kH, kW) -> (N, Cout, H_out, W_out)."""
    return _conv_transpose(2, "conv_transpose2d", input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """x (N, Cin, D, H, W) or (Cin, D, H, W), weight (Cin, Cout/groups, kD, kH, kW) -> (N, Cout, Do, Ho, Wo)."""
    return _conv_transpose(3, "conv_transpose3d", input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


# ---------------------------------------------------------------------------------- unfold / fold
class _Unfold(Function):
    @staticmethod
    def forward(ctx, input, kernel_size, dilation, padding, stride):
        ctx.geom = (kernel_size, dilation, padding, stride)
        ctx.size = tuple(input.shape[-2:])
        return wrap(_C.im2col(input._impl, kernel_size, dilation, padding, stride))

    @staticmethod
    def backward(ctx, grad):
        return _Fold.apply(grad, ctx.size, *ctx.geom), None, None, None, None


class _Fold(Function):
    @staticmethod
    def forward(ctx, input, output_size, kernel_size, dilation, padding, stride):
        ctx.geom = (kernel_size, dilation, padding, stride)
        return wrap(_C.col2im(input._impl, output_size, kernel_size, dilation, padding, stride))

    @staticmethod
    def backward(ctx, grad):
        return _Unfold.apply(grad, *ctx.geom), None, None, None, None, None


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks: x (N, C, H, W) -> (N, C*kH*kW, L), L = number of blocks."""
    op = "unfold"
    args = [_ntuple(v, 2, op, n) for v, n in ((kernel_size, "kernel_size"), (dilation, "dilation"),
                                               (padding, "padding"), (stride, "stride"))]
    return _Unfold.apply(_tensor(input, op, "input"), *args)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Adjoint of unfold: (N, C*kH*kW, L) -> (N, C, H, W), overlapping values summed."""
    op = "fold"
    args = [_ntuple(v, 2, op, n) for v, n in ((output_size, "output_size"), (kernel_size, "kernel_size"),
                                               (dilation, "dilation"), (padding, "padding"), (stride, "stride"))]
    return _Fold.apply(_tensor(input, op, "input"), *args)


__all__ = export(globals())
