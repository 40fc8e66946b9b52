"""nn.functional linear and bilinear.

linear: y = x @ W^T + b with x (*, in), W (out, in), b (out) -> y (*, out); one matmul over the flattened
batch (the engine's GEMM) with the transposed weight as a view, bias added by broadcasting.
bilinear: y[n, o] = x1[n] . W[o] . x2[n] + b[o]; computed as one GEMM of x1 against W laid out as
(in1, out*in2), then a broadcast multiply-and-sum with x2.
"""
import math

import pyml
from ... import _C
from ..._tensor import Tensor, wrap
from ...autograd.formulas import sum_to
from ...autograd.function import needs_grad, record
from ...autograd import grad_mode

__all__ = ["linear", "bilinear"]


def _need(x, op, arg):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument '{arg}' must be Tensor, not {type(x).__name__}")


def linear(input, weight, bias=None):
    _need(input, "linear", "input")
    _need(weight, "linear", "weight")
    w_shape, x_shape = weight._impl.shape, input._impl.shape
    if len(w_shape) not in (1, 2):
        raise ValueError(f"linear: weight must be 1-D or 2-D (out_features, in_features), got shape {w_shape}")
    if not x_shape or x_shape[-1] != w_shape[-1]:
        got = x_shape[-1] if x_shape else "a scalar"
        raise ValueError(f"linear: input features ({got}) must equal weight.shape[-1] ({w_shape[-1]}); "
                         f"input {x_shape}, weight {w_shape}")
    if bias is not None:
        _need(bias, "linear", "bias")
        b_shape, out_shape = bias._impl.shape, w_shape[:-1]
        if len(b_shape) > 1 or (len(b_shape) == 1 and b_shape != out_shape and b_shape[0] != 1):
            raise ValueError(f"linear: bias must have shape {out_shape}, got {b_shape}; weight {w_shape}")
    if input._impl.dtype != weight._impl.dtype:
        raise TypeError(f"linear: input and weight must have the same dtype, got {input.dtype} and {weight.dtype}")
    if len(w_shape) == 2 and (bias is None or len(bias._impl.shape) == 1):
        return _linear_2d(input, weight, bias)
    out = pyml.matmul(input, weight.t() if weight.ndim == 2 else weight)
    return out if bias is None else out + bias


def _rows(shape):
    """The flattened batch size N of (*, features): explicit, since -1 is ambiguous when features is 0."""
    return math.prod(shape[:-1])


def _linear_2d(x, w, b):
    """One GEMM over the flattened batch (bias folded in as addmm's beta term) and one autograd node, whose
    backward is two GEMMs and a row sum: no view nodes for the reshapes and the transposed weight."""
    x_shape = x._impl.shape
    x2 = _C.reshape(x._impl, (_rows(x_shape), x_shape[-1]))                      # (N, in)
    wt = _C.transpose(w._impl, 0, 1)                                           # (in, out) view
    y = _C.mm(x2, wt) if b is None else _C.addmm(b._impl, x2, wt, 1.0, 1.0)  # (N, out)
    out = wrap(_C.reshape(y, x_shape[:-1] + (w._impl.shape[0],)))              # (*, out)
    if needs_grad(x, w, b):
        record("LinearBackward", _linear_backward, [x, w, b], [out], None)
    return out


def _linear_backward(ctx, g):
    x, w, b = ctx.inputs
    need_x, need_w, need_b = ctx.needs_input_grad
    if not grad_mode._state.enabled:  # no graph of the backward to record: engine calls only
        return _linear_backward_engine(ctx, g._impl, x._impl, w._impl, need_x, need_w, need_b)
    g2 = g.reshape(_rows(g.shape), g.shape[-1])                                # (N, out)
    dx = (g2 @ w).reshape(x.shape) if need_x else None
    dw = g2.t() @ x.reshape(_rows(x.shape), x.shape[-1]) if need_w else None
    db = sum_to(g2.sum(0), ctx.in_meta[2][0]) if need_b else None               # (out,), or (1,) broadcast
    return dx, dw, db


def _linear_backward_engine(ctx, g, x, w, need_x, need_w, need_b):
    g2 = _C.reshape(g, (_rows(g.shape), g.shape[-1]))                         # (N, out)
    dx = wrap(_C.reshape(_C.mm(g2, w), x.shape)) if need_x else None
    dw = wrap(_C.mm(_C.transpose(g2, 0, 1), _C.reshape(x, (_rows(x.shape), x.shape[-1])))) if need_w else None
    db = sum_to(wrap(_C.sum(g2, [0], False, None)), ctx.in_meta[2][0]) if need_b else None
    return dx, dw, db


def bilinear(input1, input2, weight, bias=None):
    for x, a in ((input1, "input1"), (input2, "input2"), (weight, "weight")):
        _need(x, "bilinear", a)
    if weight.ndim != 3:
        raise ValueError(f"bilinear: weight must be 3-D (out, in1, in2), got shape {tuple(weight.shape)}")
    O, I1, I2 = weight.shape
    if input1.ndim == 0 or input1.shape[-1] != I1 or input2.ndim == 0 or input2.shape[-1] != I2:
        raise ValueError(f"bilinear: input1.shape[-1] must equal weight.shape[1] ({I1}) and input2.shape[-1] "
                         f"weight.shape[2] ({I2}); input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)}, "
                         f"weight {tuple(weight.shape)}")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise ValueError(f"bilinear: input1 and input2 must have the same batch shape, got "
                         f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    if bias is not None and tuple(bias.shape) != (O,):
        raise ValueError(f"bilinear: bias must have shape ({O},), got {tuple(bias.shape)}")
    batch = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, I1)                                   # (N, I1)
    x2 = input2.reshape(-1, I2)                                   # (N, I2)
    w = weight.permute(1, 0, 2).reshape(I1, O * I2)               # (I1, O*I2)
    t = pyml.matmul(x1, w).reshape(-1, O, I2)                     # (N, O, I2)
    y = pyml.matmul(t, x2.unsqueeze(-1)).squeeze(-1)              # (N, O)
    if bias is not None:
        y = y + bias
    return y.reshape(batch + (O,))
