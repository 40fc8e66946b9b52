"""nn.functional: batch_norm, layer_norm, rms_norm, group_norm, instance_norm, local_response_norm and
the fused cross_entropy, with PyTorch's signatures and semantics.

Each fused op is one autograd Function: forward calls the engine's kernel (pyml._C.*_forward), which
also returns the statistics backward needs; backward calls the engine's backward kernel, which
computes every requested gradient (input, weight, bias) in one pass. Under create_graph (double
backward) each op's composite below, plain recorded ops, is differentiated instead (composite_backward).
"""
import builtins
import numbers

import pyml
from ... import _C
from ..._tensor import Tensor, wrap, export
from ...autograd import Function
from ...autograd.composite_backward import composite_backward

_EPS = {"float16": 0.0009765625, "bfloat16": 0.0078125, "float32": 1.1920928955078125e-07,
        "float64": 2.220446049250313e-16}


def _impl(t):
    return None if t is None else t._impl


def _w(impl):
    return None if impl is None else wrap(impl)


def _tensor(x, op, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _opt_tensor(x, op, arg):
    return None if x is None else _tensor(x, op, arg)


def _grad_like(g, t):
    """Cast a gradient to its input's dtype (the kernels may run in a wider one)."""
    return g if g is None or t is None or g.dtype == t.dtype else g.to(t.dtype)


def _standardize(x, dims, eps, rms=False):
    """(x - mean) / sqrt(biased var + eps) over dims (x / sqrt(mean(x^2) + eps) for rms): the kernels'
    forward as recorded ops, in float32 at least, for double backward."""
    x = x.float() if x.dtype.itemsize < 4 else x
    if not rms:
        x = x - x.mean(dims, keepdim=True)
    return x * (x * x).mean(dims, keepdim=True).add(eps).rsqrt()


def _affine(y, weight, bias, shape, dtype):
    """y * weight + bias with weight/bias reshaped to broadcast as `shape`, cast to the input's dtype."""
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y.to(dtype)


def _channel_shape(x):
    return [1, x.shape[1]] + [1] * (x.ndim - 2)


# ----------------------------------------------------------------------------------- batch_norm
def _batch_norm_composite(ctx):
    x, w, b, rm, rv = ctx.saved_tensors
    eps, shape = ctx.eps, _channel_shape(x)

    def fn(x, w, b):
        if ctx.training:
            y = _standardize(x, [0] + list(range(2, x.ndim)), eps)
        else:
            y = (x - rm.reshape(shape)) * (rv.reshape(shape) + eps).rsqrt()
        return _affine(y, w, b, shape, x.dtype)
    return (x, w, b), fn


class _BatchNorm(Function):
    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, training, momentum, eps):
        y, mean, invstd = _C.batch_norm_forward(input._impl, _impl(weight), _impl(bias), _impl(running_mean),
                                                _impl(running_var), training, momentum, eps)
        ctx.save_for_backward(input, weight, bias, None if training else running_mean,
                              None if training else running_var)
        ctx.stats, ctx.training, ctx.eps = (mean, invstd), training, eps
        return wrap(y)

    @staticmethod
    @composite_backward(_batch_norm_composite)
    def backward(ctx, dy):
        x, w = ctx.saved_tensors[:2]
        dx, dw, db = _C.batch_norm_backward(dy._impl, x._impl, _impl(w), *ctx.stats, ctx.training,
                                            list(ctx.needs_input_grad[:3]))
        return _w(dx), _w(dw), _w(db), None, None, None, None, None


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-05):
    """Normalise over (N, *) per channel of an (N, C, *) input: batch statistics in training (and a
    momentum update of the running ones), running statistics otherwise."""
    op = "batch_norm"
    _tensor(input, op)
    args = [_opt_tensor(t, op, n) for t, n in ((running_mean, "running_mean"), (running_var, "running_var"),
                                                (weight, "weight"), (bias, "bias"))]
    momentum = 0.0 if momentum is None else builtins.float(momentum)
    return _BatchNorm.apply(input, args[2], args[3], args[0], args[1], builtins.bool(training), momentum,
                            builtins.float(eps))


# ----------------------------------------------------------------------------------- layer_norm
def _shape(normalized_shape, op):
    if isinstance(normalized_shape, numbers.Integral):
        return [builtins.int(normalized_shape)]
    try:
        return [builtins.int(s) for s in normalized_shape]
    except TypeError:
        raise TypeError(f"{op}: normalized_shape must be an int or a sequence of ints, "
                        f"got {type(normalized_shape).__name__}") from None


def _layer_norm_composite(ctx):
    x, w, b = ctx.saved_tensors
    k = ctx.k

    def fn(x, w, b):
        shape = list(x.shape[x.ndim - k:])
        return _affine(_standardize(x, list(range(x.ndim - k, x.ndim)), ctx.eps, ctx.rms), w, b, shape, x.dtype)
    return (x, w, b), fn


class _LayerNorm(Function):
    @staticmethod
    def forward(ctx, input, weight, bias, normalized_shape, eps, rms):
        y, mean, rstd = _C.layer_norm_forward(input._impl, normalized_shape, _impl(weight), _impl(bias), eps, rms)
        ctx.save_for_backward(input, weight, bias)
        ctx.stats, ctx.k, ctx.rms, ctx.eps = (mean, rstd), len(normalized_shape), rms, eps
        return wrap(y)

    @staticmethod
    @composite_backward(_layer_norm_composite)
    def backward(ctx, dy):
        x, w = ctx.saved_tensors[:2]
        dx, dw, db = _C.layer_norm_backward(dy._impl, x._impl, _impl(w), *ctx.stats, ctx.k, ctx.rms,
                                            list(ctx.needs_input_grad[:3]))
        return _w(dx), _w(dw), _w(db), None, None, None


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    """Normalise over the trailing dims given by normalized_shape, then scale by weight, add bias."""
    op = "layer_norm"
    _tensor(input, op)
    ns = _shape(normalized_shape, op)
    return _LayerNorm.apply(input, _opt_tensor(weight, op, "weight"), _opt_tensor(bias, op, "bias"), ns,
                            builtins.float(eps), False)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2 over normalized_shape) + eps) * weight; eps defaults to finfo(input.dtype).eps."""
    op = "rms_norm"
    _tensor(input, op)
    ns = _shape(normalized_shape, op)
    if eps is None:
        eps = _EPS.get(input.dtype.name, _EPS["float32"])
    return _LayerNorm.apply(input, _opt_tensor(weight, op, "weight"), None, ns, builtins.float(eps), True)


# ----------------------------------------------------------------------------------- group_norm
def _group_norm_composite(ctx):
    x, w, b = ctx.saved_tensors

    def fn(x, w, b):
        y = _standardize(x.reshape(x.shape[0], ctx.groups, -1), [2], ctx.eps).reshape(x.shape)  # (N, G, C/G * S)
        return _affine(y, w, b, _channel_shape(x), x.dtype)
    return (x, w, b), fn


class _GroupNorm(Function):
    @staticmethod
    def forward(ctx, input, weight, bias, num_groups, eps, op, running_mean, running_var, momentum):
        y, mean, rstd, var = _C.group_norm_forward(input._impl, num_groups, _impl(weight), _impl(bias), eps, op)
        ctx.save_for_backward(input, weight, bias)
        ctx.stats, ctx.groups, ctx.eps = (mean, rstd), num_groups, eps
        if running_mean is not None or running_var is not None:
            _instance_running_update(input, wrap(mean), wrap(var), running_mean, running_var, momentum)
        return wrap(y)

    @staticmethod
    @composite_backward(_group_norm_composite)
    def backward(ctx, dy):
        x, w = ctx.saved_tensors[:2]
        dx, dw, db = _C.group_norm_backward(dy._impl, x._impl, _impl(w), *ctx.stats, ctx.groups,
                                            list(ctx.needs_input_grad[:3]))
        return _w(dx), _w(dw), _w(db), None, None, None, None, None, None


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    """Normalise each of num_groups channel groups of every sample of an (N, C, *) input."""
    op = "group_norm"
    _tensor(input, op)
    if not isinstance(num_groups, numbers.Integral) or isinstance(num_groups, builtins.bool):
        raise TypeError(f"{op}: num_groups must be an int, got {type(num_groups).__name__}")
    return _GroupNorm.apply(input, _opt_tensor(weight, op, "weight"), _opt_tensor(bias, op, "bias"),
                            builtins.int(num_groups), builtins.float(eps), op, None, None, 0.0)


# -------------------------------------------------------------------------------- instance_norm
def _instance_running_update(input, mean, var, running_mean, running_var, momentum):
    """PyTorch's rule: the running stats move towards the batch average of the per-instance mean and
    unbiased variance (mean, var: (N, C) with the biased variance)."""
    S = input.numel() // builtins.max(input.shape[0] * input.shape[1], 1)
    if running_mean is not None:
        new = running_mean * (1 - momentum) + mean.mean(0).to(running_mean.dtype) * momentum
        running_mean.copy_(new)
    if running_var is not None:
        unbiased = var.mean(0) * (S / builtins.max(S - 1, 1))
        running_var.copy_(running_var * (1 - momentum) + unbiased.to(running_var.dtype) * momentum)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-05):
    """Normalise every (sample, channel) plane of an (N, C, *) input over its spatial dims."""
    op = "instance_norm"
    _tensor(input, op)
    rm, rv = _opt_tensor(running_mean, op, "running_mean"), _opt_tensor(running_var, op, "running_var")
    w, b = _opt_tensor(weight, op, "weight"), _opt_tensor(bias, op, "bias")
    if input.ndim < 2:
        raise ValueError(f"{op}: expected input of shape (N, C, *), got input {tuple(input.shape)}")
    if not use_input_stats:
        if rm is None or rv is None:
            raise ValueError(f"{op}: running_mean and running_var are required when use_input_stats=False")
        return _BatchNorm.apply(input, w, b, rm, rv, False, 0.0, builtins.float(eps))
    spatial = input.numel() // builtins.max(input.shape[0] * input.shape[1], 1) if input.numel() else 0
    if input.numel() and spatial == 1:
        raise ValueError(f"{op}: expected more than 1 spatial element when training, got input {tuple(input.shape)}")
    for t, n in ((rm, "running_mean"), (rv, "running_var")):
        if t is not None and tuple(t.shape) != (input.shape[1],):
            raise ValueError(f"{op}: {n} must have shape ({input.shape[1]},), got {n} {tuple(t.shape)}; "
                             f"input {tuple(input.shape)}")
    momentum = 0.0 if momentum is None else builtins.float(momentum)
    return _GroupNorm.apply(input, w, b, builtins.int(input.shape[1]), builtins.float(eps), op, rm, rv, momentum)


# --------------------------------------------------------------------------- local_response_norm
def local_response_norm(input, size, alpha=0.0001, beta=0.75, k=1.0):
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta (composite, like PyTorch)."""
    op = "local_response_norm"
    _tensor(input, op)
    if input.ndim < 3:
        raise ValueError(f"{op}: expected 3D or higher dimensional input, got input {tuple(input.shape)}")
    if input.numel() == 0:
        return input.clone()
    C = input.shape[1]
    sq = (input * input).movedim(1, -1)                               # (N, *, C)
    pad = [size // 2 + 1, (size - 1) // 2]
    cs = pyml.cumsum(pyml.pad(sq, pad), dim=-1)                       # window sums by differences
    win = cs[..., size:size + C] - cs[..., 0:C]
    div = (win * (alpha / size) + k) ** beta
    return input / div.movedim(-1, 1)


# ---------------------------------------------------------------------------------- cross_entropy
_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


def _reduction(reduction, size_average, reduce, op):
    if size_average is not None or reduce is not None:  # legacy arguments, as in torch
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction; expected 'none', 'mean' or 'sum'")
    return _REDUCTIONS[reduction]


def _ce_grad_in_forward(ctx, input, reduction):
    """A reduced loss whose input (only) needs a gradient, on the CPU: the forward writes that gradient for
    dloss = 1 from the same pass over the logits, so backward need not read them again."""
    needs = ctx.needs_input_grad
    return reduction != 0 and needs[0] and not needs[1] and not needs[2] and input.device.type == "cpu"


def _cross_entropy_composite(ctx):
    x, t, w = ctx.saved_tensors
    lse, denom, red, ii, ls = ctx.saved
    if ctx.needs_input_grad[2]:
        raise RuntimeError("cross_entropy: the derivative for 'weight' is not implemented")

    def fn(x, t, w):
        cdim = 0 if x.ndim == 1 else 1
        C = x.shape[cdim]
        logp = x.log_softmax(cdim)
        wl = logp if w is None else logp * w.reshape([C] + [1] * (x.ndim - 1 - cdim))
        if t.dtype.is_floating_point:  # class probabilities, smoothed towards uniform
            row = -(wl * (t * (1 - ls) + ls / C)).sum(cdim)
        else:
            valid = t != ii
            ts = pyml.where(valid, t, 0)
            row = -(1 - ls) * wl.gather(cdim, ts.unsqueeze(cdim)).squeeze(cdim) - (ls / C) * wl.sum(cdim)
            row = pyml.where(valid, row, 0.0)
        return row if red == 0 else (row.sum() if red == 2 else row.sum() / wrap(denom))
    return (x, t, w), fn


class _CrossEntropy(Function):
    @staticmethod
    def forward(ctx, input, target, weight, reduction, ignore_index, label_smoothing):
        args = (input._impl, target._impl, _impl(weight), reduction, ignore_index, label_smoothing)
        ctx.unit_grad = None
        if _ce_grad_in_forward(ctx, input, reduction):
            loss, lse, denom, ctx.unit_grad = _C.cross_entropy_forward_grad(*args)
        else:
            loss, lse, denom = _C.cross_entropy_forward(*args)
        ctx.save_for_backward(input, target, weight)
        ctx.saved = (lse, denom, reduction, ignore_index, label_smoothing)
        return wrap(loss)

    @staticmethod
    @composite_backward(_cross_entropy_composite)
    def backward(ctx, dloss):
        x, t, w = ctx.saved_tensors
        if ctx.needs_input_grad[2]:
            raise RuntimeError("cross_entropy: the derivative for 'weight' is not implemented")
        if ctx.unit_grad is not None:  # handed over once: a retained graph's next backward recomputes
            dx, ctx.unit_grad = wrap(ctx.unit_grad), None
            scale = dloss.item()
            return (dx if scale == 1.0 else dx * scale), None, None, None, None, None
        lse, denom, red, ii, ls = ctx.saved
        dx, dt = _C.cross_entropy_backward(dloss._impl, x._impl, t._impl, _impl(w), lse, denom, red, ii, ls,
                                           list(ctx.needs_input_grad[:2]))
        return _w(dx), _w(dt), None, None, None, None


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """log_softmax + negative log-likelihood as one fused op. target: class indices (N, *) with optional
    ignore_index, or class probabilities shaped like input (N, C, *)."""
    op = "cross_entropy"
    _tensor(input, op)
    _tensor(target, op, "target")
    w = _opt_tensor(weight, op, "weight")
    red = _reduction(reduction, size_average, reduce, op)
    if not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"{op}: ignore_index must be an int, got {type(ignore_index).__name__}")
    return _CrossEntropy.apply(input, target, w, red, builtins.int(ignore_index), builtins.float(label_smoothing))


__all__ = export(globals())
