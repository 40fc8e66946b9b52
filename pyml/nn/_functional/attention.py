"""nn.functional: scaled dot-product attention and the multi-head attention forward.

scaled_dot_product_attention is one fused engine op (csrc/ops/attention.cpp): a tiled online-softmax
forward that saves the logsumexp per query row, and a backward kernel that recomputes the
probabilities tile by tile from it, so no L x S matrix is held. Dropout and a float mask that itself
requires grad take the composite path (scores, safe softmax, dropout, matmul) with autograd for free.
Which path runs follows torch's SDPA backend flags (pyml.nn.attention.sdpa_kernel; the mapping of
torch's backend names to these kernels is in pyml/nn/attention/__init__.py).
multi_head_attention_forward follows torch's (sequence-first layout, the same masks and projections).
"""
import math
import warnings

from ... import _C
from ..._tensor import Tensor, wrap
from ...autograd import Function, is_grad_enabled
from ...autograd.composite_backward import composite_backward
from ... import _creation as C
from ... import _dtype as D
from ..._ops.random import rand
from ..._ops import linalg as _L  # looked up per call: autograd wraps the module attribute
from ..._ops import index as _I
from ...backends import cuda as _cuda


def _where(cond, a, b):
    return _I.where(cond, a, b)

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _sum_to(g, shape):
    """Reduce a gradient of a broadcast shape back to `shape`."""
    if g is None or tuple(g.shape) == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    return g.sum(dim=dims, keepdim=True).reshape(shape)


def _sdpa_composite(ctx):
    q, k, v, mask = ctx.saved_tensors[:4]
    return (q, k, v), lambda q, k, v: _sdpa_math(q, k, v, mask, 0.0, ctx.is_causal, ctx.scale)


class _SDPA(Function):
    @staticmethod
    def forward(ctx, q, k, v, mask, is_causal, scale):
        out, lse = _C.sdpa_forward(q._impl, k._impl, v._impl, None if mask is None else mask._impl, is_causal, scale)
        out, lse = wrap(out), wrap(lse)
        ctx.is_causal, ctx.scale = is_causal, scale
        ctx.save_for_backward(q, k, v, mask, out, lse)
        ctx.mark_non_differentiable(lse)
        return out

    @staticmethod
    @composite_backward(_sdpa_composite)
    def backward(ctx, dout):
        q, k, v, mask, out, lse = ctx.saved_tensors
        nq, nk, nv = ctx.needs_input_grad[:3]
        grads = _C.sdpa_backward(dout._impl, q._impl, k._impl, v._impl, None if mask is None else mask._impl,
                                 out._impl, lse._impl, ctx.is_causal, ctx.scale, nq, nk, nv)
        dq, dk, dv = (None if g is None else _sum_to(wrap(g), t.shape) for g, t in zip(grads, (q, k, v)))
        return dq, dk, dv, None, None, None


def _dropout_mask(shape, p, dtype, device=None):
    """Keep-mask scaled by 1/(1-p), drawn from pyml's default generator (reproducible by seed)."""
    if p >= 1:
        return C.zeros(shape, dtype=dtype, device=device)
    return (rand(shape, dtype=dtype, device=device) >= p).to(dtype) * (1.0 / (1.0 - p))


def _sdpa_math(q, k, v, mask, dropout_p, is_causal, scale):
    """Composite reference path; rows where nothing takes part give 0 like torch."""
    L, S = q.shape[-2], k.shape[-2]
    s = _L.matmul(q, k.transpose(-2, -1)) * scale  # (..., L, S)
    if is_causal:
        mask = C.ones((L, S), dtype=D.bool_, device=q.device).tril()
    if mask is not None:
        s = _where(mask, s, float("-inf")) if mask.dtype == D.bool_ else s + mask
    dead = s.detach().amax(dim=-1, keepdim=True) == float("-inf")  # (..., L, 1)
    p = _where(dead, 0.0, _where(dead, 0.0, s).softmax(dim=-1))
    if dropout_p > 0:
        p = p * _dropout_mask(p.shape, dropout_p, p.dtype, p.device)
    return _L.matmul(p, v)


def _check_sdpa(query, key, value, attn_mask):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention: {name} must be a Tensor, got {type(t).__name__}")
    if attn_mask is not None and not isinstance(attn_mask, Tensor):
        raise TypeError(f"scaled_dot_product_attention: attn_mask must be a Tensor or None, "
                        f"got {type(attn_mask).__name__}")


def _gqa(query, key, value, attn_mask):
    """Grouped-query attention: q heads (dim -3) share each k/v head in groups; returns views
    (..., Hk, G, L, E) / (..., Hk, 1, S, E) and the mask brought to the same rank."""
    if query.ndim < 3 or key.ndim < 3 or value.ndim < 3:
        raise ValueError(f"scaled_dot_product_attention: enable_gqa needs heads at dim -3, got query "
                         f"{tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}")
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hk != hv or hk == 0 or hq % hk:
        raise ValueError(f"scaled_dot_product_attention: with enable_gqa the query heads ({hq}) must be a "
                         f"multiple of the key/value heads ({hk}, {hv}), which must be equal")
    g = hq // hk
    q = query.unflatten(-3, (hk, g))  # (..., Hk, G, L, E)
    k, v = key.unsqueeze(-3), value.unsqueeze(-3)  # (..., Hk, 1, S, E)
    if attn_mask is not None and attn_mask.ndim >= 3:
        m = attn_mask
        attn_mask = m.unflatten(-3, (hk, g)) if m.shape[-3] == hq and hq != 1 else m.unsqueeze(-3)
    return q, k, v, attn_mask


# ------------------------------------------------------------------------- backend selection
_FUSED = {_cuda.SDPBackend.FLASH_ATTENTION: _cuda.can_use_flash_attention,
          _cuda.SDPBackend.EFFICIENT_ATTENTION: _cuda.can_use_efficient_attention}


def _choose_backend(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa):
    """'fused' or 'math': the first backend in pyml.backends.cuda's priority order that is enabled (see
    pyml.nn.attention.sdpa_kernel) and can run the inputs; none: RuntimeError, as in torch."""
    if _cuda._sdp_untouched():  # the common case, kept cheap: the fused kernels unless they lack a feature
        needs_math = dropout_p > 0 or (attn_mask is not None and attn_mask.requires_grad and is_grad_enabled())
        return "math" if needs_math else "fused"
    _C.sdpa_check(query._impl, key._impl, value._impl, None if attn_mask is None else attn_mask._impl,
                  bool(is_causal))  # before the can_use_* questions read shapes and strides
    params = _cuda.SDPAParams(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa)
    enabled = [b for b in _cuda._sdp_priority if _cuda._sdp[_cuda._SDP_FLAG[b]]]
    for b in enabled:
        if b == _cuda.SDPBackend.MATH:
            return "math"
        if b in _FUSED and _FUSED[b](params):
            return "fused"
    _no_backend(params, enabled)


def _no_backend(params, enabled):
    dev = params.query.device.type
    names = [b.name for b in enabled]
    usable = [b for b in enabled if b in _FUSED and (dev == "cuda" or b == _cuda.SDPBackend.FLASH_ATTENTION)]
    if not usable:
        raise RuntimeError("scaled_dot_product_attention: No viable backend for scaled_dot_product_attention was "
                           "found. This is likely due to turning off both the math kernel and the fused kernels; "
                           f"enabled backends {names} have no {dev} kernel in pyml")
    why = []
    for b in usable:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _FUSED[b](params, debug=True)
        why += [str(w.message) for w in caught]
    raise RuntimeError(f"scaled_dot_product_attention: No available kernel. Aborting execution. Enabled backends "
                       f"{names} cannot run these inputs: " + "; ".join(why))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value over the last two dims, batch dims broadcast.
    attn_mask: bool (True = takes part) or float (added to the scores). Rows where nothing takes part
    give 0. query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev)."""
    if attn_mask is not None and not isinstance(attn_mask, Tensor):
        from ..attention.bias import CausalBias  # pyml.nn.attention.bias: causal_upper_left/lower_right
        if isinstance(attn_mask, CausalBias):
            return attn_mask._dispatch(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    _check_sdpa(query, key, value, attn_mask)
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], got {dropout_p}")
    scale = float(scale) if scale is not None else 1.0 / math.sqrt(query.shape[-1] or 1)
    gqa = enable_gqa and query.ndim >= 3 and key.ndim >= 3 and query.shape[-3] != key.shape[-3]
    if gqa:
        query, key, value, attn_mask = _gqa(query, key, value, attn_mask)
    if _choose_backend(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa) == "math":
        _C.sdpa_check(query._impl, key._impl, value._impl, None if attn_mask is None else attn_mask._impl,
                      bool(is_causal))  # the engine op checks its own inputs; the composite needs this
        out = _sdpa_math(query, key, value, attn_mask, dropout_p, is_causal, scale)
    else:
        out = _SDPA.apply(query, key, value, attn_mask, bool(is_causal), scale)
    return out.flatten(-4, -3) if gqa else out  # (..., Hk, G, L, Ev) -> (..., Hq, L, Ev)


# ------------------------------------------------------------------------- multi-head attention
def _canonical_mask(mask, name, dtype):
    """bool (True = masked out, as in nn.MultiheadAttention) -> float 0/-inf; float masks pass."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"MultiheadAttention: {name} must be a Tensor or None, got {type(mask).__name__}")
    if mask.dtype == D.bool_:
        return C.zeros(mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))
    if not mask.dtype.is_floating_point:
        raise TypeError(f"MultiheadAttention: only bool and floating types of {name} are supported, got {mask.dtype}")
    return mask


def _linear(x, w, b):
    out = _L.matmul(x, w.t())
    return out if b is None else out + b


def _in_projection(query, key, value, w, b, q_w, k_w, v_w, separate):
    E = query.shape[-1]
    if separate:
        bq = bk = bv = None
        if b is not None:
            bq, bk, bv = b[:E], b[E:2 * E], b[2 * E:]
        return _linear(query, q_w, bq), _linear(key, k_w, bk), _linear(value, v_w, bv)
    bq = bk = bv = None
    if b is not None:
        bq, bk, bv = b[:E], b[E:2 * E], b[2 * E:]
    return _linear(query, w[:E], bq), _linear(key, w[E:2 * E], bk), _linear(value, w[2 * E:], bv)


def _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """torch's _mha_shape_check: returns whether the input is batched (3-D) or not (2-D)."""
    def bad(msg):
        raise ValueError(f"MultiheadAttention: {msg}; query {tuple(query.shape)}, key {tuple(key.shape)}, "
                         f"value {tuple(value.shape)}")
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            bad("for batched (3-D) query, key and value must be 3-D")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            bad(f"for batched (3-D) query, key_padding_mask must be 2-D, got {tuple(key_padding_mask.shape)}")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            bad(f"for batched (3-D) query, attn_mask must be 2-D or 3-D, got {tuple(attn_mask.shape)}")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            bad("for unbatched (2-D) query, key and value must be 2-D")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            bad(f"for unbatched (2-D) query, key_padding_mask must be 1-D, got {tuple(key_padding_mask.shape)}")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                bad(f"for unbatched (2-D) query, attn_mask must be 2-D or 3-D, got {tuple(attn_mask.shape)}")
            if attn_mask.ndim == 3 and attn_mask.shape != (num_heads, query.shape[0], key.shape[0]):
                bad(f"3-D attn_mask must have shape ({num_heads}, {query.shape[0]}, {key.shape[0]}), "
                    f"got {tuple(attn_mask.shape)}")
        return False
    bad(f"query must be 2-D (unbatched) or 3-D (batched), got {query.ndim}-D")



def _pad_key(t):
    """One more key position (bias_k/v, add_zero_attn): masks grow by a zero column."""
    from ... import pad
    return None if t is None else pad(t, (0, 1))


def _merge_masks(attn_mask, key_padding_mask, bsz, num_heads, src_len):
    if key_padding_mask is None:
        return attn_mask
    if tuple(key_padding_mask.shape) != (bsz, src_len):
        raise ValueError(f"MultiheadAttention: key_padding_mask must have shape (batch, S) = ({bsz}, {src_len}), "
                         f"got {tuple(key_padding_mask.shape)}")
    kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1).reshape(
        bsz * num_heads, 1, src_len)  # (B*NH, 1, S)
    return kpm if attn_mask is None else attn_mask + kpm


def _check_attn_mask(attn_mask, bsz, num_heads, tgt_len, src_len):
    if attn_mask.ndim == 2:
        if tuple(attn_mask.shape) != (tgt_len, src_len):
            raise ValueError(f"MultiheadAttention: 2-D attn_mask must have shape (L, S) = ({tgt_len}, {src_len}), "
                             f"got {tuple(attn_mask.shape)}")
        return attn_mask.unsqueeze(0)
    if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
        raise ValueError(f"MultiheadAttention: 3-D attn_mask must have shape (batch*num_heads, L, S) = "
                         f"({bsz * num_heads}, {tgt_len}, {src_len}), got {tuple(attn_mask.shape)}")
    return attn_mask


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """torch's multi-head attention: query (L, N, E) or (L, E); key/value (S, N, kdim/vdim).
    Returns (output (L, N, E), weights (N, L, S) averaged over heads, or per head, or None)."""
    batched = _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise ValueError(f"MultiheadAttention: query embedding size ({embed_dim}) must equal embed_dim "
                         f"({embed_dim_to_check}); query {tuple(query.shape)}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
    if key.shape[:2] != value.shape[:2]:
        raise ValueError(f"MultiheadAttention: key and value must agree in (S, N), got key {tuple(key.shape)}, "
                         f"value {tuple(value.shape)}")
    if query.shape[1] != key.shape[1]:
        raise ValueError(f"MultiheadAttention: query and key must have the same batch size, got query "
                         f"{tuple(query.shape)}, key {tuple(key.shape)}")
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("MultiheadAttention: need attn_mask if specifying the is_causal hint (as in torch)")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the fused op applies the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)
        if key_padding_mask is not None:
            is_causal = False
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, q_proj_weight, k_proj_weight,
                             v_proj_weight, use_separate_proj_weight)  # (L, N, E), (S, N, E)
    if attn_mask is not None:
        attn_mask = _check_attn_mask(attn_mask, bsz, num_heads, tgt_len, src_len)  # (1 or N*NH, L, S)
    if bias_k is not None and bias_v is not None:
        from ... import cat
        k = cat([k, bias_k.expand(1, bsz, -1)])
        v = cat([v, bias_v.expand(1, bsz, -1)])
        attn_mask, key_padding_mask = _pad_key(attn_mask), _pad_key(key_padding_mask)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)  # (N*NH, L, HS)
    k = (k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_k is None
         else static_k)  # (N*NH, S, HS)
    v = (v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_v is None else static_v)
    if add_zero_attn:
        from ... import cat
        k = cat([k, C.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype)], dim=1)
        v = cat([v, C.zeros((bsz * num_heads, 1, head_dim), dtype=v.dtype)], dim=1)
        attn_mask, key_padding_mask = _pad_key(attn_mask), _pad_key(key_padding_mask)
    src_len = k.shape[1]
    attn_mask = _merge_masks(attn_mask, key_padding_mask, bsz, num_heads, src_len)
    if not training:
        dropout_p = 0.0
    if need_weights:
        return _mha_weights(q, k, v, attn_mask, dropout_p, out_proj_weight, out_proj_bias, tgt_len, bsz,
                            num_heads, embed_dim, average_attn_weights, batched)
    if attn_mask is not None:  # (1 or N*NH, L, S) -> broadcastable to (N, NH, L, S)
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else attn_mask.reshape(
            bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)  # (N, NH, L, HS)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)  # (L*N, E)
    out = _linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    return (out if batched else out.squeeze(1)), None


def _mha_weights(q, k, v, attn_mask, dropout_p, w_out, b_out, tgt_len, bsz, num_heads, embed_dim, average,
                 batched):
    """The explicit path (torch's when need_weights): softmax weights are materialised and returned."""
    q = q * math.sqrt(1.0 / q.shape[-1])
    w = _L.matmul(q, k.transpose(-2, -1))  # (N*NH, L, S)
    if attn_mask is not None:
        w = w + attn_mask
    w = w.softmax(dim=-1)
    if dropout_p > 0:
        w = w * _dropout_mask(w.shape, dropout_p, w.dtype, w.device)
    out = _L.matmul(w, v)  # (N*NH, L, HS)
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = _linear(out, w_out, b_out).reshape(tgt_len, bsz, embed_dim)
    w = w.reshape(bsz, num_heads, tgt_len, -1)  # (N, NH, L, S)
    if average:
        w = w.mean(dim=1)
    if not batched:
        out, w = out.squeeze(1), w.squeeze(0)
    return out, w
