"""nn.functional losses (reduction 'none' | 'mean' | 'sum'), composites of pyml ops with torch's formulas
and edge rules (log clamped at -100 in BCE, 0*log0 = 0 in KL, var clamped without gradient effect in the
Gaussian NLL, ...). cross_entropy is a fused op that lives in normalization.py.

CTC runs the forward (alpha) recursion in log space over time, vectorised over batch and the 2S+1
extended-label positions; autograd differentiates it. Its log-sum-exp is written so that all -inf inputs
give -inf with a zero (not nan) gradient. Note torch's CTC returns exp(log_probs) - posterior as the
gradient w.r.t. log_probs (it assumes they come from log_softmax); pyml returns the true gradient
(-posterior), which is the same once chained through log_softmax.
"""
import math
import warnings

import pyml
from ..._tensor import Tensor

__all__ = ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div", "margin_ranking_loss", "hinge_embedding_loss",
           "multi_margin_loss", "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
           "gaussian_nll_loss", "poisson_nll_loss", "ctc_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "multilabel_margin_loss", "one_hot"]


# ------------------------------------------------------------------------------------------ helpers
def _legacy(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use reduction='mean' | 'sum' | 'none' "
                  "instead.", stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "mean" if (size_average and reduce) else "sum" if reduce else "none"


def _reduce(loss, reduction, op):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{op}: {reduction} is not a valid value for reduction")


def _check_reduction(reduction, op, extra=()):
    if reduction not in ("none", "mean", "sum") + tuple(extra):
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction")


def _need(x, op, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _size_warn(input, target, op):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"{op}: Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to broadcasting. Please "
                      "ensure they have the same size.", stacklevel=3)


def _broadcast(input, target, op):
    if tuple(input.shape) == tuple(target.shape):
        return input, target
    try:
        shape = pyml.broadcast_shapes(input.shape, target.shape)
    except (ValueError, RuntimeError) as e:
        raise ValueError(f"{op}: input {tuple(input.shape)} and target {tuple(target.shape)} must be broadcastable"
                         ) from e
    return input.expand(shape), target.expand(shape)


def _clamp_min_keep_grad(x, eps):
    """max(x, eps) in value, identity in gradient (torch clamps these under no_grad)."""
    return pyml.where(x < eps, x - x.detach() + eps, x)


def _pointwise(op, input, target, reduction, weight, fn):
    _need(input, op)
    _need(target, op, "target")
    _size_warn(input, target, op)
    _check_reduction(reduction, op)
    x, t = _broadcast(input, target, op)
    loss = fn(x - t)
    if weight is None:
        return _reduce(loss, reduction, op)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{op}: Weights and input must have the same size, got weight {tuple(weight.shape)}, "
                         f"input {tuple(input.shape)}")
    loss = loss * weight
    if reduction == "mean" and op != "huber_loss":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction, op)


# ------------------------------------------------------------------------------------------ regression
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _legacy(size_average, reduce, reduction)
    return _pointwise("l1_loss", input, target, reduction, weight, pyml.abs)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _legacy(size_average, reduce, reduction)
    return _pointwise("mse_loss", input, target, reduction, weight, lambda d: d * d)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    reduction = _legacy(size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    if beta == 0.0:
        return _pointwise("smooth_l1_loss", input, target, reduction, None, pyml.abs)

    def f(d):
        a = pyml.abs(d)
        return pyml.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)
    return _pointwise("smooth_l1_loss", input, target, reduction, None, f)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")

    def f(d):
        a = pyml.abs(d)
        return pyml.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _pointwise("huber_loss", input, target, reduction, weight, f)


# ------------------------------------------------------------------------------------------ classification
def _check_classes(target, n_classes, ignore_index, op):
    if target.dtype.is_floating_point or target.dtype == pyml.bool:
        raise TypeError(f"{op}: expected target of an integer dtype (class indices), got {target.dtype}")
    if target.numel() == 0:
        return
    t = target if ignore_index is None else target[target != ignore_index]
    if t.numel():
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{op}: target {bad} is out of bounds for {n_classes} classes")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """input (N, C) / (C,) / (N, C, d1, ...) of log-probabilities; target (N) / () / (N, d1, ...)."""
    op = "nll_loss"
    _need(input, op)
    _need(target, op, "target")
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if input.ndim < 1:
        raise ValueError(f"{op}: input must have at least 1 dim (C,) or (N, C, ...), got shape {tuple(input.shape)}")
    if input.ndim == 1:
        if target.ndim != 0:
            raise ValueError(f"{op}: for unbatched input of shape {tuple(input.shape)} target must be 0-dim, got "
                             f"shape {tuple(target.shape)}")
        x, t = input.unsqueeze(0), target.unsqueeze(0)
    else:
        x, t = input.movedim(1, -1), target                  # (N, d1, ..., C)
        if tuple(x.shape[:-1]) != tuple(t.shape):
            if input.shape[0] != (target.shape[0] if target.ndim else -1):
                raise ValueError(f"{op}: Expected input batch_size ({input.shape[0]}) to match target batch_size "
                                 f"({target.shape[0] if target.ndim else 'scalar'}); input {tuple(input.shape)}, "
                                 f"target {tuple(target.shape)}")
            raise ValueError(f"{op}: target shape must equal input shape without the class dim (dim 1); input "
                             f"{tuple(input.shape)}, target {tuple(target.shape)}")
    C = x.shape[-1]
    if weight is not None and (_need(weight, op, "weight").ndim != 1 or weight.shape[0] != C):
        raise ValueError(f"{op}: weight tensor should be defined either for all {C} classes or no classes but got "
                         f"weight tensor of shape: {list(weight.shape)}")
    _check_classes(t, C, ignore_index, op)
    t = t.long()
    valid = t != ignore_index
    safe = pyml.where(valid, t, pyml.zeros_like(t))
    picked = pyml.gather(x, -1, safe.unsqueeze(-1)).squeeze(-1)
    w = valid.to(x.dtype)
    if weight is not None:
        w = w * pyml.index_select(weight.to(x.dtype), 0, safe.reshape(-1)).reshape(tuple(safe.shape))
    loss = -picked * w
    if reduction == "none":
        return loss.squeeze(0) if input.ndim == 1 else loss
    if reduction == "sum":
        return loss.sum()
    total = w.sum()  # all targets ignored: nan like torch, with a zero (not nan) gradient
    safe = pyml.where(total == 0, pyml.ones_like(total), total)
    return pyml.where(total == 0, pyml.full_like(total, float("nan")), loss.sum() / safe)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    op = "binary_cross_entropy"
    _need(input, op)
    _need(target, op, "target")
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{op}: Using a target size ({tuple(target.shape)}) that is different to the input size "
                         f"({tuple(input.shape)}) is deprecated. Please ensure they have the same size.")
    if input.numel() and (bool((input < 0).any()) or bool((input > 1).any())):
        raise ValueError(f"{op}: all elements of input should be between 0 and 1")
    loss = -(target * pyml.clamp(pyml.log(input), min=-100.0)
             + (1 - target) * pyml.clamp(pyml.log(1 - input), min=-100.0))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, op)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """(1 - t) x - lw * logsigmoid(x), lw = 1 + (pos_weight - 1) t: stable for any logit."""
    op = "binary_cross_entropy_with_logits"
    _need(input, op)
    _need(target, op, "target")
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{op}: Target size ({tuple(target.shape)}) must be the same as input size "
                         f"({tuple(input.shape)})")
    log_sig = -pyml.softplus(-input)
    if pos_weight is not None:
        lw = (pos_weight - 1) * target + 1
        loss = (1 - target) * input - lw * log_sig
    else:
        loss = (1 - target) * input - log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, op)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise target * (log target - input) (0 where target == 0), or exp(t) (t - input) for log targets."""
    op = "kl_div"
    _need(input, op)
    _need(target, op, "target")
    if size_average is not None or reduce is not None:
        reduction = _legacy(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    _check_reduction(reduction, op, ("batchmean",))
    if log_target:
        loss = pyml.exp(target) * (target - input)
    else:
        safe = pyml.where(target > 0, target, pyml.ones_like(target))
        loss = target * pyml.log(safe) - target * input
    if reduction == "batchmean":
        s = loss.sum()
        return s / input.shape[0] if input.ndim else s
    return _reduce(loss, reduction, op)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    op = "margin_ranking_loss"
    for x, a in ((input1, "input1"), (input2, "input2"), (target, "target")):
        _need(x, op, a)
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ValueError(f"{op}: All input tensors should have same dimension but got sizes: input1: "
                         f"{tuple(input1.shape)}, input2: {tuple(input2.shape)}, target: {tuple(target.shape)} ")
    return _reduce(pyml.clamp(-target * (input1 - input2) + margin, min=0.0), reduction, op)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    op = "hinge_embedding_loss"
    _need(input, op)
    _need(target, op, "target")
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    zeros = pyml.zeros_like(input)
    out_margin = pyml.where(target != 1, pyml.clamp(margin - input, min=0.0), zeros)
    out_self = pyml.where(target != -1, input, zeros)
    return _reduce(out_margin + out_self, reduction, op)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """sum_{i != y} max(0, margin - x[y] + x[i])^p * w[y] / C per sample; input (N, C) or (C,)."""
    op = "multi_margin_loss"
    _need(input, op)
    _need(target, op, "target")
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 supported, got {p}")
    if input.ndim not in (1, 2) or input.numel() == 0:
        raise ValueError(f"{op}: expected non-empty 1-D (C,) or 2-D (N, C) input, got shape {tuple(input.shape)}")
    x = input.unsqueeze(0) if input.ndim == 1 else input
    t = target.reshape(-1)
    if t.shape[0] != x.shape[0]:
        raise ValueError(f"{op}: inconsistent target size: expected {x.shape[0]} targets, got shape "
                         f"{tuple(target.shape)}; input {tuple(input.shape)}")
    C = x.shape[1]
    _check_classes(t, C, None, op)
    t = t.long()
    xy = pyml.gather(x, 1, t.unsqueeze(1))                               # (N, 1)
    z = pyml.clamp(margin - xy + x, min=0.0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * pyml.index_select(weight.to(x.dtype), 0, t).unsqueeze(1)
    not_target = (pyml.arange(C).unsqueeze(0) != t.unsqueeze(1)).to(x.dtype)
    loss = (z * not_target).sum(1) / C
    if input.ndim == 1:
        loss = loss.squeeze(0)
    return _reduce(loss, reduction, op)


def _multilabel_masks(t, op):
    """t (N, C) int64 class lists ended by the first -1 -> (valid (N, C): entry before the first -1,
    is_target (N, C): class listed)."""
    C = t.shape[1]
    if t.numel() and (int(t.min()) < -1 or int(t.max()) >= C):
        raise ValueError(f"{op}: target values must be class indices in [0, {C}) or -1, got values in "
                         f"[{int(t.min())}, {int(t.max())}]")
    valid = pyml.cumprod((t != -1).to(pyml.int64), 1) > 0
    classes = pyml.arange(C, device=t.device).reshape(1, 1, C)
    hit = (t.unsqueeze(2) == classes) & valid.unsqueeze(2)  # (N, entry, class)
    return valid, hit.any(1)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over listed classes j and unlisted classes i of max(0, 1 - (x[j] - x[i])) / C per sample;
    input (C,) or (N, C), target of the same shape: class indices up to the first -1. The hinge terms
    form one (N, C, C) tensor (the target list x every class), which is fine for label-sized C."""
    op = "multilabel_margin_loss"
    _need(input, op)
    _need(target, op, "target")
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a floating-point input, got {input.dtype}")
    if target.dtype != pyml.int64:
        raise TypeError(f"{op}: expected an int64 target, got {target.dtype}")
    if input.ndim > 2 or (input.ndim == 2 and input.shape[1] == 0) or (input.ndim == 1 and input.shape[0] == 0):
        raise ValueError(f"{op}: expected a non-empty vector (C,) or matrix (N, C) with optional 0-dim batch size, "
                         f"got input of shape {tuple(input.shape)}")
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target must have the input's shape, got target {tuple(target.shape)} and input "
                         f"{tuple(input.shape)}")
    x = input.reshape(-1, input.shape[-1] if input.ndim else 1)                      # (N, C)
    t = target.reshape(x.shape)
    valid, is_target = _multilabel_masks(t, op)
    xy = pyml.gather(x, 1, pyml.clamp(t, min=0))                                   # (N, entry)
    z = pyml.clamp(1 - xy.unsqueeze(2) + x.unsqueeze(1), min=0.0)                 # (N, entry, class)
    keep = valid.unsqueeze(2) & ~is_target.unsqueeze(1)
    loss = pyml.where(keep, z, pyml.zeros_like(z)).sum((1, 2)) / x.shape[1]
    return _reduce(loss if input.ndim == 2 else loss.reshape(()), reduction, op)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    op = "cosine_embedding_loss"
    for x, a in ((input1, "input1"), (input2, "input2"), (target, "target")):
        _need(x, op, a)
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if input1.ndim not in (1, 2) or tuple(input1.shape) != tuple(input2.shape):
        raise ValueError(f"{op}: input1 and input2 must have the same 1-D or 2-D shape, got {tuple(input1.shape)} "
                         f"and {tuple(input2.shape)}")
    if target.ndim != input1.ndim - 1:
        raise ValueError(f"{op}: target must be {input1.ndim - 1}-D for {input1.ndim}-D inputs, got shape "
                         f"{tuple(target.shape)}")
    d = input1.ndim - 1
    eps = 1e-12
    prod = (input1 * input2).sum(d)
    mag1 = (input1 * input1).sum(d) + eps
    mag2 = (input2 * input2).sum(d) + eps
    cos = prod / pyml.sqrt(mag1 * mag2)
    zeros = pyml.zeros_like(cos)
    pos = pyml.where(target == 1, 1 - cos, zeros)
    neg = pyml.where(target == -1, pyml.clamp(cos - margin, min=0.0), zeros)
    return _reduce(pos + neg, reduction, op)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    op = "triplet_margin_loss"
    for x, a in ((anchor, "anchor"), (positive, "positive"), (negative, "negative")):
        _need(x, op, a)
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    a, pz, n = anchor.ndim, positive.ndim, negative.ndim
    if not a == pz == n:
        raise ValueError(f"{op}: The anchor, positive, and negative tensors are expected to have the same number "
                         f"of dimensions, but got: anchor {a}D, positive {pz}D, and negative {n}D inputs")
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    from .distance import pairwise_distance
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = pyml.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(pyml.clamp(margin + d_pos - d_neg, min=0.0), reduction, op)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    op = "triplet_margin_with_distance_loss"
    _check_reduction(reduction, op)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    if distance_function is None:
        from .distance import pairwise_distance as distance_function
    d_pos = distance_function(anchor, positive)
    d_neg = distance_function(anchor, negative)
    if swap:
        d_neg = pyml.minimum(d_neg, distance_function(positive, negative))
    return _reduce(pyml.clamp(margin + d_pos - d_neg, min=0.0), reduction, op)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log var + (input - target)^2 / var) [+ 0.5 log 2 pi]; var clamped at eps (gradient unaffected)."""
    op = "gaussian_nll_loss"
    _need(input, op)
    _need(target, op, "target")
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries")
        var = pyml.full_like(input, float(var))
    elif bool((var < 0).any()):
        raise ValueError(f"{op}: var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.ndim == var.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
            pass
        else:
            raise ValueError(f"{op}: var is of incorrect size: input {tuple(input.shape)}, var {tuple(var.shape)}")
    _check_reduction(reduction, op)
    var = _clamp_min_keep_grad(var, eps)
    loss = 0.5 * (pyml.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, op)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    op = "poisson_nll_loss"
    _need(input, op)
    _need(target, op, "target")
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if log_input:
        loss = pyml.exp(input) - target * input
    else:
        loss = input - target * pyml.log(input + eps)
    if full:
        safe = pyml.where(target > 1, target, pyml.ones_like(target))
        stirling = safe * pyml.log(safe) - safe + 0.5 * pyml.log(2 * math.pi * safe)
        loss = loss + pyml.where(target > 1, stirling, pyml.zeros_like(stirling))
    return _reduce(loss, reduction, op)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    op = "soft_margin_loss"
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    return _reduce(pyml.softplus(-target * _need(input, op)), reduction, op)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    op = "multilabel_soft_margin_loss"
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    _need(input, op)
    loss = target * pyml.softplus(-input) + (1 - target) * pyml.softplus(input)
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(dim=input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction, op)


# ------------------------------------------------------------------------------------------ CTC
def _lse(*xs):
    """log(sum(exp(x))) over a few same-shape tensors; all -inf gives -inf with zero gradient."""
    m = xs[0]
    for x in xs[1:]:
        m = pyml.maximum(m, x)
    m = m.detach()
    m = pyml.where(pyml.isinf(m), pyml.zeros_like(m), m)
    s = pyml.exp(xs[0] - m)
    for x in xs[1:]:
        s = s + pyml.exp(x - m)
    pos = s > 0
    out = pyml.log(pyml.where(pos, s, pyml.ones_like(s))) + m
    return pyml.where(pos, out, pyml.full_like(out, -math.inf))


def _lengths(v, n, op, name):
    if isinstance(v, Tensor):
        v = v.reshape(-1).tolist()
    elif isinstance(v, int):
        v = [v]
    v = [int(x) for x in v]
    if len(v) != n:
        raise ValueError(f"{op}: {name} must have one entry per batch element ({n}), got {len(v)}")
    return v


def _padded_targets(targets, tl, op):
    """Targets as an (N, S_max) int64 tensor (from padded (N, S) or concatenated 1-D form)."""
    n, s_max = len(tl), max(tl, default=0)
    if targets.ndim == 2:
        if targets.shape[0] != n or targets.shape[1] < s_max:
            raise ValueError(f"{op}: padded targets must be (N={n}, S>={s_max}), got {tuple(targets.shape)}")
        return targets[:, :s_max].long()
    flat = targets.reshape(-1).tolist()
    if len(flat) < sum(tl):
        raise ValueError(f"{op}: concatenated targets hold {len(flat)} labels, target_lengths sum to {sum(tl)}")
    rows, start = [], 0
    for length in tl:
        rows.append(flat[start:start + length] + [0] * (s_max - length))
        start += length
    return pyml.tensor(rows, dtype=pyml.int64).reshape(n, s_max)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """log_probs (T, N, C) or (T, C); targets (N, S) padded or 1-D concatenated; lengths per sample."""
    op = "ctc_loss"
    _need(log_probs, op, "log_probs")
    _need(targets, op, "targets")
    _check_reduction(reduction, op)
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if targets.ndim == 1 else targets
    if log_probs.ndim != 3:
        raise ValueError(f"{op}: log_probs must be (T, N, C) or (T, C), got shape {tuple(log_probs.shape)}")
    T, N, C = log_probs.shape
    if not 0 <= blank < C:
        raise ValueError(f"{op}: blank must be in label range [0, {C}), got {blank}")
    il = _lengths(input_lengths, N, op, "input_lengths")
    tl = _lengths(target_lengths, N, op, "target_lengths")
    if any(x < 0 or x > T for x in il):
        raise ValueError(f"{op}: Expected input_lengths to have value at most {T}, got {il}")
    if any(x < 0 for x in tl):
        raise ValueError(f"{op}: target_lengths must be non-negative, got {tl}")
    tgt = _padded_targets(targets, tl, op)                               # (N, S)
    S = tgt.shape[1]
    if S and (int(tgt.min()) < 0 or int(tgt.max()) >= C):
        raise IndexError(f"{op}: target labels must be in [0, {C}), got min {int(tgt.min())}, max {int(tgt.max())}")
    L = 2 * S + 1
    ext = pyml.full((N, L), blank, dtype=pyml.int64)                     # blank, l1, blank, l2, ..., blank
    if S:
        ext[:, 1::2] = tgt
    lp = pyml.gather(log_probs, 2, ext.unsqueeze(0).expand(T, N, L))    # (T, N, L)
    neg_inf = pyml.full((N, L), -math.inf, dtype=log_probs.dtype)
    pos = pyml.arange(L).unsqueeze(0)
    tl_t = pyml.tensor(tl, dtype=pyml.int64).unsqueeze(1)
    il_t = pyml.tensor(il, dtype=pyml.int64).unsqueeze(1)
    valid = pos < 2 * tl_t + 1                                           # (N, L)
    ext_m2 = pyml.cat([pyml.full((N, 2), -1, dtype=pyml.int64), ext[:, :-2]], 1) if L > 2 else ext * 0 - 1
    skip = (pos >= 2) & (ext != blank) & (ext != ext_m2)
    alpha = pyml.where((pos < 2) & valid, lp[0], neg_inf)
    pad1 = pyml.full((N, 1), -math.inf, dtype=log_probs.dtype)
    pad2 = pyml.full((N, 2), -math.inf, dtype=log_probs.dtype)
    for t in range(1, T):
        a1 = pyml.cat([pad1, alpha[:, :-1]], 1)
        a2 = pyml.where(skip, pyml.cat([pad2, alpha[:, :-2]], 1), neg_inf) if L > 2 else neg_inf
        new = pyml.where(valid, _lse(alpha, a1, a2) + lp[t], neg_inf)
        alpha = pyml.where(il_t > t, new, alpha)
    end = pyml.cat([2 * tl_t, pyml.clamp(2 * tl_t - 1, min=0)], 1)      # (N, 2) last blank, last label
    a_end = pyml.gather(alpha, 1, end)
    a_end = pyml.where(pyml.cat([tl_t >= 0, tl_t > 0], 1), a_end, pyml.full_like(a_end, -math.inf))
    loss = -_lse(a_end[:, 0], a_end[:, 1])
    # no input frames: only the empty target has probability 1
    empty = pyml.where(tl_t.squeeze(1) == 0, pyml.zeros_like(loss), pyml.full_like(loss, math.inf))
    loss = pyml.where(il_t.squeeze(1) > 0, loss, empty)
    if zero_infinity:
        loss = pyml.where(pyml.isinf(loss), pyml.zeros_like(loss), loss)
    if reduction == "mean":
        return (loss / pyml.clamp(tl_t.squeeze(1), min=1).to(loss.dtype)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss


# ------------------------------------------------------------------------------------------ one_hot
def one_hot(tensor, num_classes=-1):
    """int64 (..., num_classes) with a 1 at each index; num_classes=-1 means max(tensor) + 1."""
    op = "one_hot"
    _need(tensor, op, "tensor")
    if tensor.dtype != pyml.int64:
        raise TypeError(f"{op}: one_hot is only applicable to index tensor of type int64, got {tensor.dtype}")
    if tensor.numel() and int(tensor.min()) < 0:
        raise ValueError(f"{op}: Class values must be non-negative, got min {int(tensor.min())}")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise ValueError(f"{op}: Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.max()) + 1
    if tensor.numel() and int(tensor.max()) >= num_classes:
        raise ValueError(f"{op}: Class values must be smaller than num_classes ({num_classes}), got "
                         f"{int(tensor.max())}")
    return (tensor.unsqueeze(-1) == pyml.arange(num_classes)).to(pyml.int64)
