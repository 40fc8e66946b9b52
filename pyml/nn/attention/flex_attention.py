"""flex_attention: scaled dot-product attention with a user score_mod and a block-sparse mask (torch's
torch.nn.attention.flex_attention API), as a differentiable composite.

query (B, Hq, L, E), key (B|1, Hkv, S, E), value (B|1, Hkv, S, Ev) -> (B, Hq, L, Ev). Per query chunk:
scores = q k^T * scale in the working precision (float64 for float64 queries, else float32), then
score_mod(scores, b, h, q_idx, kv_idx) called once on index tensors shaped to broadcast (b (B,1,1,1),
h (1,Hq,1,1), q_idx (1,1,c,1), kv_idx (1,1,1,s), int64: what torch's vmapped eager reference computes
element by element), then the block mask: a score takes part when its tile is full, or partial and
mask_mod says True (the semantics of torch's kernels; for masks from create_block_mask the same as its
eager path). Softmax with rows where nothing takes part giving 0 (lse -inf), then @ value.
Query rows go in chunks (whole Q blocks when a block mask skips tiles) so the score tensor stays
O(B*H*chunk*S); a chunk gathers only the KV blocks any of its rows use. With several chunks and grad
enabled each chunk is checkpointed (recomputed in backward), keeping backward memory per chunk too.
Autograd reaches q, k, v and every tensor score_mod captures.
"""
import math
import warnings
from typing import NamedTuple, Optional

from ... import _creation as C
from ... import _dtype as D
from ..._tensor import Tensor
from ..._ops import index as _I
from ..._ops import linalg as _L
from ...autograd import is_grad_enabled
from ._block_mask import (BlockMask, _LARGE_SPARSE_BLOCK_SIZE, _index_grid, _sliced_mask_mod_error, and_masks,
                          create_block_mask, create_mask, noop_mask, or_masks)

__all__ = ["BlockMask", "flex_attention", "AuxOutput", "AuxRequest", "FlexKernelOptions", "create_block_mask",
           "create_mask", "or_masks", "and_masks", "noop_mask"]

_CHUNK_ELEMENTS = 1 << 22  # most score elements one chunk holds
_MIN_CHUNK_ELEMENTS = 1 << 16  # below this, merging query blocks costs less than another chunk's overhead
_BACKENDS = ("AUTO", "TRITON", "FLASH", "TRITON_DECODE")
FlexKernelOptions = dict  # torch's TypedDict of Triton tuning knobs; pyml's composite has none to tune


class AuxRequest(NamedTuple):
    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    lse: Optional[Tensor] = None
    max_scores: Optional[Tensor] = None


def _identity(score, b, h, q_idx, kv_idx):
    return score


# ------------------------------------------------------------------------------ validation
def _check_inputs(query, key, value, enable_gqa, block_mask):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"flex_attention: {name} must be a Tensor, got {type(t).__name__}")
    if query.device != key.device or query.device != value.device:
        raise ValueError(f"Expected query, key, and value to have the same device type, but got query.device: "
                         f"{query.device}, key.device: {key.device}, and value.device: {value.device} instead.")
    if not all(t.dtype.is_floating_point for t in (query, key, value)):
        raise TypeError(f"flex_attention: query, key and value must be floating point, got {query.dtype}, "
                        f"{key.dtype}, {value.dtype}")
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise NotImplementedError(f"NYI: query, key, and value must be 4D tensors, got query "
                                  f"{tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}")
    if query.size(-1) != key.size(-1):
        raise ValueError(f"Expect query and key/value to have the same embedding dimension but got "
                         f"E={query.size(-1)} and E={key.size(-1)}.")
    if key.shape[:3] != value.shape[:3]:
        raise ValueError(f"flex_attention: key and value must agree in (B, Hkv, S), got key {tuple(key.shape)}, "
                         f"value {tuple(value.shape)}")
    _check_heads(query, key, enable_gqa)
    _check_batch(query, key, block_mask)


def _check_heads(query, key, enable_gqa):
    Hq, Hkv = query.size(1), key.size(1)
    if not enable_gqa and Hq != Hkv:
        raise ValueError(f"Expect query and key/value to have the same number of heads but got Hq={Hq} and "
                         f"Hkv={Hkv}. Try setting enable_gqa=True for GQA.")
    if enable_gqa and (Hkv == 0 or Hq % Hkv):
        raise ValueError(f"Expect number of query heads to be a multiple of kv heads for GQA but got Hq={Hq} "
                         f"and Hkv={Hkv}.")


def _check_batch(query, key, block_mask):
    Bq, Bkv = query.size(0), key.size(0)
    if Bq != Bkv and block_mask is None:
        raise ValueError(f"Expect query and key/value to have the same batch size, or non-none block_mask, but "
                         f"got block_mask=None, Bq={Bq}, and Bkv={Bkv}.")
    if Bq != Bkv and block_mask.kv_num_blocks.size(0) != Bq:
        raise ValueError(f"Expect query and key/value to have the same batch size, or block_mask and query to "
                         f"have the same batch size, but got Bq={Bq}, Bkv={Bkv}, "
                         f"B_block_mask={block_mask.kv_num_blocks.size(0)}.")
    if Bq != Bkv and Bkv != 1:
        raise RuntimeError(f"Bq and Bkv must broadcast. Got Bq={Bq} and Bkv={Bkv}")


def _check_block_mask(block_mask, query, key):
    if not isinstance(block_mask, BlockMask):
        raise TypeError(f"flex_attention: block_mask must be a BlockMask or None, got {type(block_mask).__name__}")
    if block_mask.mask_mod is _sliced_mask_mod_error:
        raise RuntimeError("Cannot use mask_mod from a sliced BlockMask")
    (Lm, Sm), L, S = block_mask.seq_lengths, query.size(-2), key.size(-2)
    if L > Lm or S > Sm:
        raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got q_len={L} and "
                         f"kv_len={S}. As the block mask was created for a smaller length than you're using it "
                         f"for, you likely need to create a new block mask.")
    if (L, S) != (Lm, Sm):
        raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got q_len={L} and "
                         f"kv_len={S}. As the block mask was created for a larger length than you're using it "
                         f"for, you can either 1. create a new block mask with the correct length, or 2. 'adjust' "
                         f"the existing block mask to the correct length by calling block_mask._adjust(q_len, "
                         f"kv_len).")
    if query.device != block_mask.kv_num_blocks.device:
        raise RuntimeError(f"Expect q/k/v and block_mask to be on the same device but got {query.device} and "
                           f"{block_mask.kv_num_blocks.device}.")
    Bm, Hm = block_mask.kv_num_blocks.shape[:2] if block_mask.kv_num_blocks.dim() >= 2 else (1, 1)
    if Bm not in (1, query.size(0)) or Hm not in (1, query.size(1)):
        raise ValueError(f"flex_attention: block_mask's (B, H) = ({Bm}, {Hm}) must be 1 or equal query's "
                         f"({query.size(0)}, {query.size(1)})")


def _check_options(kernel_options, return_lse, return_aux):
    if return_lse and return_aux is not None:
        raise ValueError("Cannot specify both return_lse and return_aux. return_lse is deprecated, please use "
                         "return_aux=AuxRequest(lse=True) instead.")
    if return_lse:
        warnings.warn("return_lse is deprecated and will be removed in v2.10. Please use "
                      "return_aux=AuxRequest(lse=True) instead.", FutureWarning, stacklevel=3)
    opts = dict(kernel_options or {})
    if "BACKEND" in opts and opts.get("FORCE_USE_FLEX_ATTENTION", False):
        raise RuntimeError("BACKEND cannot be combined with legacy FORCE_USE_FLEX_ATTENTION.")
    if opts.get("BACKEND", "AUTO") not in _BACKENDS:
        raise ValueError(f"Invalid BACKEND value '{opts['BACKEND']}'. Must be one of {_BACKENDS}")
    for key in ("OUTPUT_LOGSUMEXP", "OUTPUT_MAX"):
        if key in opts:
            raise AssertionError(f"{key} must not be in kernel_options")


# ------------------------------------------------------------------------------ chunk plan
def _active_blocks(part, full):
    """Per query-block row, the KV blocks some (batch, head) uses; None when the grid is too large to plan."""
    used = part if full is None else part | full
    nQ, nKV = used.shape[-2:]
    if nQ * nKV > 1 << 16:
        return None
    rows = used.reshape(-1, nQ, nKV).any(dim=0).tolist()
    return [frozenset(j for j, on in enumerate(r) if on) for r in rows]


def _ncols(blocks, S, KBS):
    return S if blocks is None else sum(min(KBS, S - j * KBS) for j in blocks)


def _merge(a, b, BH, S, KBS):
    """a and b as one chunk, or None when that wastes work (unless both are tiny) or exceeds the budget."""
    (r0, r1, ca), (_, r2, cb) = a, b
    cu = None if ca is None or cb is None else ca | cb
    work = BH * (r2 - r0) * _ncols(cu, S, KBS)
    apart = BH * ((r1 - r0) * _ncols(ca, S, KBS) + (r2 - r1) * _ncols(cb, S, KBS))
    small, fits = work <= _MIN_CHUNK_ELEMENTS, work <= _CHUNK_ELEMENTS and 4 * work <= 5 * apart
    return (r0, r2, cu) if small or fits else None


def _plan(L, S, BH, QBS, KBS, active):
    """[(row start, row end, KV blocks or None = all)] covering the L query rows in order."""
    units = [(0, L, None)] if active is None else [
        (i * QBS, min(L, (i + 1) * QBS), blk) for i, blk in enumerate(active) if i * QBS < L]
    chunks = []
    for u in units:
        m = _merge(chunks[-1], u, BH, S, KBS) if chunks else None
        chunks[-1:] = [m] if m is not None else chunks[-1:] + [u]
    out = []
    for r0, r1, blk in chunks:
        step = max(1, _CHUNK_ELEMENTS // max(1, BH * _ncols(blk, S, KBS)))
        out += [(r, min(r + step, r1), blk) for r in range(r0, r1, step)]
    return out


def _columns(blocks, S, KBS, dev):
    """(slice or index tensor into the keys, their positions) for a chunk's KV blocks."""
    if blocks is None or len(blocks) * KBS >= S and len(blocks) == -(-S // KBS):
        return slice(0, S), C.arange(S, device=dev)
    blk = sorted(blocks)
    if blk[-1] - blk[0] + 1 == len(blk):
        lo, hi = blk[0] * KBS, min(S, (blk[-1] + 1) * KBS)
        return slice(lo, hi), C.arange(lo, hi, device=dev)
    from ... import cat
    pos = cat([C.arange(j * KBS, min(S, (j + 1) * KBS), device=dev) for j in blk])
    return pos, pos


# ------------------------------------------------------------------------------ one chunk
class _Ctx:
    """What every chunk needs: the mods, the block masks, sizes and dtypes."""

    def __init__(self, query, score_mod, block_mask, scale, want_lse, want_max):
        self.score_mod, self.scale, self.want_lse, self.want_max = score_mod, scale, want_lse, want_max
        self.B, self.H, self.dtype = query.size(0), query.size(1), query.dtype
        self.wp = D.float64 if query.dtype == D.float64 else D.float32
        self.block_mask = block_mask
        self.part = self.full = None
        if block_mask is not None:
            self.part, self.full = block_mask._block_masks()
            self.QBS, self.KBS = block_mask.BLOCK_SIZE


def _keep(ctx, b, h, rows, cols):
    """(.., c, s) bool: tile full, or tile partial and mask_mod True; None without a block mask."""
    if ctx.block_mask is None:
        return None
    qb, kb = rows // ctx.QBS, cols // ctx.KBS
    keep = ctx.part.index_select(-2, qb).index_select(-1, kb)
    mod = ctx.block_mask.mask_mod
    if mod is not noop_mask:
        keep = keep & mod(b, h, rows.reshape(1, 1, -1, 1), cols.reshape(1, 1, 1, -1))
    if ctx.full is not None:
        keep = keep | ctx.full.index_select(-2, qb).index_select(-1, kb)
    return keep


def _attend(ctx, rows, cols, q, k, v):
    """Attention of query rows `rows` over keys `cols`: q (B, H, c, E), k (B, H, s, E), v (B, H, s, Ev)."""
    shape = (ctx.B, ctx.H, q.size(2), k.size(2))
    s = _L.matmul(q.to(ctx.wp), k.to(ctx.wp).transpose(-2, -1)) * ctx.scale  # (B, H, c, s)
    b, h, qi, ki = _index_grid(ctx.B, ctx.H, rows, cols)
    s = ctx.score_mod(s, b, h, qi, ki)
    keep = _keep(ctx, b, h, rows, cols)
    if keep is not None:
        s = _I.where(keep, s, float("-inf"))
    s = s.to(ctx.wp).expand(shape)
    dead = s.detach().amax(dim=-1, keepdim=True) == float("-inf")  # (B, H, c, 1): nothing takes part
    live = _I.where(dead, 0.0, s)
    out = _L.matmul(_I.where(dead, 0.0, live.softmax(dim=-1)).to(ctx.dtype), v.to(ctx.dtype))
    lse = _I.where(dead, float("-inf"), live.logsumexp(dim=-1, keepdim=True)).squeeze(-1) if ctx.want_lse else None
    mx = s.amax(dim=-1) if ctx.want_max else None
    return out, lse, mx


def _empty_chunk(ctx, q, v):
    """Rows whose every key is skipped: output 0, lse and max -inf."""
    shape = (ctx.B, ctx.H, q.size(2))
    out = C.zeros(shape + (v.size(-1),), dtype=ctx.dtype, device=q.device)
    inf = C.full(shape, float("-inf"), dtype=ctx.wp, device=q.device)
    return out, inf if ctx.want_lse else None, inf if ctx.want_max else None


def _run_chunk(ctx, r0, r1, blocks, q, k, v, checkpointed):
    dev = q.device
    S = k.size(2)
    if blocks is not None and not blocks or S == 0:
        return _empty_chunk(ctx, q[:, :, r0:r1], v)
    sel, cols = _columns(blocks, S, ctx.KBS if blocks is not None else S, dev)
    rows = C.arange(r0, r1, device=dev)
    qc = q[:, :, r0:r1]
    kc, vc = (k[:, :, sel], v[:, :, sel]) if isinstance(sel, slice) else (k.index_select(2, sel),
                                                                          v.index_select(2, sel))
    fn = lambda qq, kk, vv: _attend(ctx, rows, cols, qq, kk, vv)  # noqa: E731
    if not checkpointed:
        return fn(qc, kc, vc)
    from ...utils.checkpoint import checkpoint
    return checkpoint(fn, qc, kc, vc, use_reentrant=False, preserve_rng_state=False)


# ------------------------------------------------------------------------------ flex_attention
def _broadcast_kv(query, key, value):
    """GQA: each kv head serves Hq/Hkv query heads; a batch of 1 serves every query batch."""
    G = query.size(1) // key.size(1)
    if G > 1:
        key, value = key.repeat_interleave(G, dim=1), value.repeat_interleave(G, dim=1)
    B = query.size(0)
    return key.expand((B,) + tuple(key.shape[1:])), value.expand((B,) + tuple(value.shape[1:]))


def _cat_parts(parts, dim):
    from ... import cat
    return parts[0] if len(parts) == 1 else cat(parts, dim=dim)


def flex_attention(query, key, value, score_mod=None, block_mask=None, scale=None, enable_gqa=False,
                   return_lse=False, kernel_options=None, *, return_aux=None):
    """softmax(score_mod(q k^T * scale) masked by block_mask) @ v, see the module header. Returns the output,
    (output, lse) with return_lse (deprecated in torch), or (output, AuxOutput) with return_aux; lse is the
    natural-log logsumexp of the modified scores per query row, (B, Hq, L)."""
    _check_inputs(query, key, value, enable_gqa, block_mask)
    if block_mask is not None:
        _check_block_mask(block_mask, query, key)
        if block_mask.BLOCK_SIZE == (_LARGE_SPARSE_BLOCK_SIZE,) * 2 and block_mask.mask_mod is noop_mask:
            block_mask = None
    _check_options(kernel_options, return_lse, return_aux)
    want_lse = return_lse or (return_aux is not None and return_aux.lse)
    want_max = return_aux is not None and return_aux.max_scores
    scale = 1.0 / math.sqrt(query.size(-1)) if scale is None else float(scale)
    ctx = _Ctx(query, score_mod or _identity, block_mask, scale, want_lse, want_max)
    key, value = _broadcast_kv(query, key, value)
    out, lse, mx = _chunks(ctx, query, key, value)
    if return_aux is not None:
        return out, AuxOutput(lse if return_aux.lse else None, mx if return_aux.max_scores else None)
    return (out, lse) if return_lse else out


def _chunks(ctx, query, key, value):
    L, S = query.size(2), key.size(2)
    if L == 0:
        return _empty_chunk(ctx, query, value)
    active = None if ctx.block_mask is None else _active_blocks(ctx.part, ctx.full)
    QBS, KBS = (ctx.QBS, ctx.KBS) if ctx.block_mask is not None else (L, S)
    plan = _plan(L, S, ctx.B * ctx.H, QBS, max(1, KBS), active)
    ckpt = len(plan) > 1 and is_grad_enabled()
    parts = [_run_chunk(ctx, r0, r1, blk, query, key, value, ckpt) for r0, r1, blk in plan]
    out = _cat_parts([p[0] for p in parts], 2)
    lse = _cat_parts([p[1] for p in parts], 2) if ctx.want_lse else None
    mx = _cat_parts([p[2] for p in parts], 2) if ctx.want_max else None
    return out, lse, mx
