"""nn.functional linear and bilinear.

linear: y = x @ W^T + b with x (*, in), W (out, in), b (out) -> y (*, out); one matmul over the flattened
batch (the engine's GEMM) with the transposed weight as a view, bias added by broadcasting.
bilinear: y[n, o] = x1[n] . W[o] . x2[n] + b[o]; computed as one GEMM of x1 against W laid out as
(in1, out*in2), then a broadcast multiply-and-sum with x2.
"""
import pyml
from ..._tensor import Tensor

__all__ = ["linear", "bilinear"]


def _need(x, op, arg):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument '{arg}' must be Tensor, not {type(x).__name__}")


def linear(input, weight, bias=None):
    _need(input, "linear", "input")
    _need(weight, "linear", "weight")
    if weight.ndim not in (1, 2):
        raise ValueError(f"linear: weight must be 1-D or 2-D (out_features, in_features), got shape "
                         f"{tuple(weight.shape)}")
    in_features = weight.shape[-1]
    if input.ndim == 0 or input.shape[-1] != in_features:
        got = input.shape[-1] if input.ndim else "a scalar"
        raise ValueError(f"linear: input features ({got}) must equal weight.shape[-1] ({in_features}); "
                         f"input {tuple(input.shape)}, weight {tuple(weight.shape)}")
    if bias is not None:
        _need(bias, "linear", "bias")
        out_shape = tuple(weight.shape[:-1])
        if bias.ndim > 1 or (bias.ndim == 1 and tuple(bias.shape) != out_shape and bias.shape[0] != 1):
            raise ValueError(f"linear: bias must have shape {out_shape}, got {tuple(bias.shape)}; "
                             f"weight {tuple(weight.shape)}")
    if input.dtype != weight.dtype:
        raise TypeError(f"linear: input and weight must have the same dtype, got {input.dtype} and {weight.dtype}")
    if weight.ndim == 2 and bias is not None and bias.ndim == 1 and input.ndim >= 2:
        # one GEMM with the bias folded in (beta * bias broadcast over rows)
        x2 = input.reshape(-1, in_features)                                  # (N, in)
        out = pyml.addmm(bias, x2, weight.t())                               # (N, out)
        return out.reshape(tuple(input.shape[:-1]) + (weight.shape[0],))
    out = pyml.matmul(input, weight.t() if weight.ndim == 2 else weight)
    return out if bias is None else out + bias


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
