"""pyml.nn.attention.flex_attention against torch 2.13: outputs and lse against torch's eager flex_attention
(compile debug mode), gradients wrt q, k, v and tensors captured by score_mod against torch's eager math
reference (torch's CPU flex_attention has no backward), over odd sizes, block sizes, dtypes, score_mods
and mask_mods; the chunked / block-skipping path; GQA and batch broadcast; BlockMask's API against
torch's; every error path."""
import math

import numpy as np
import pytest
import torch
import torch.nn.attention.flex_attention as TFA
from torch._higher_order_ops.flex_attention import math_attention as torch_math_attention

import pyml
import pyml.nn.attention.flex_attention as PFA

TFA._FLEX_ATTENTION_DISABLE_COMPILE_DEBUG = True  # torch's eager path: no torch.compile on the CPU
TOL = {"float32": 2e-5, "float64": 1e-10}
SIZES = [(1, 1), (7, 7), (1, 130), (33, 130), (130, 33), (130, 130)]
BLOCKS = [128, 16, (8, 32)]


# ------------------------------------------------------------------------------ mods, in both libraries
def _mods(lib, S, H, captured):
    """score_mods and mask_mods written once with tensor ops; `captured` holds tensors they close over."""
    bias, slopes, doc = captured["bias"], captured["slopes"], captured["doc"]
    score_mods = {
        "none": None,
        "relpos": lambda s, b, h, q, kv: s + (q - kv) * 0.1,
        "alibi": lambda s, b, h, q, kv: s + slopes[h] * (kv - q),
        "softcap": lambda s, b, h, q, kv: 5.0 * lib.tanh(s / 5.0),
        "learned": lambda s, b, h, q, kv: s + bias[h, q - kv + S],
    }
    causal = lambda b, h, q, kv: q >= kv  # noqa: E731
    window = lambda b, h, q, kv: (q - kv).abs() <= 5  # noqa: E731
    document = lambda b, h, q, kv: doc[q] == doc[kv]  # noqa: E731
    prefix = lambda b, h, q, kv: kv < 4  # noqa: E731
    fa = PFA if lib is pyml else TFA
    mask_mods = {
        "causal": causal,
        "window": window,
        "document": document,
        "prefix_lm": fa.or_masks(prefix, causal),
        "causal_window": fa.and_masks(causal, window),
        "doc_causal": fa.and_masks(document, causal),
    }
    return score_mods, mask_mods


def _captured(rng, H, L, S, dtype, grad):
    """The same captured tensors for torch and pyml: a learned (H, L+S+1) bias, ALiBi slopes, doc ids."""
    bias = rng.standard_normal((H, L + S + 1))
    slopes = 2.0 ** -np.arange(1, H + 1)
    doc = np.sort(rng.integers(0, 3, max(L, S)))
    out = []
    for lib in (torch, pyml):
        t = lib.tensor(bias).to(getattr(lib, dtype))
        if grad:
            t.requires_grad_(True)
        out.append({"bias": t, "slopes": lib.tensor(slopes).to(getattr(lib, dtype)), "doc": lib.tensor(doc)})
    return out


def _qkv(rng, shapes, dtype, grad=False):
    pairs = []
    for s in shapes:
        a = rng.standard_normal(s)
        t, p = torch.tensor(a).to(getattr(torch, dtype)), pyml.tensor(a).to(getattr(pyml, dtype))
        if grad:
            t.requires_grad_(True), p.requires_grad_(True)
        pairs.append((t, p))
    return pairs


def _close(p, t, tol):
    a, b = p.detach().double().numpy(), t.detach().double().numpy()
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10)


def _block_masks(mask_mod_t, mask_mod_p, B, H, L, S, bs):
    tb = TFA.create_block_mask(mask_mod_t, B, H, L, S, device="cpu", BLOCK_SIZE=bs)
    pb = PFA.create_block_mask(mask_mod_p, B, H, L, S, device="cpu", BLOCK_SIZE=bs)
    return tb, pb


# ------------------------------------------------------------------------------ forward against torch
@pytest.mark.parametrize("L,S", SIZES)
@pytest.mark.parametrize("bs", BLOCKS)
@pytest.mark.parametrize("mask", ["causal", "window", "document", "prefix_lm", "causal_window"])
def test_forward_masks_match_torch(rng, L, S, bs, mask):
    B, H, E = 2, 3, 8
    (tq, pq), (tk, pk), (tv, pv) = _qkv(rng, [(B, H, L, E), (B, H, S, E), (B, H, S, 5)], "float64")
    tc, pc = _captured(rng, H, L, S, "float64", False)
    _, tm = _mods(torch, S, H, tc)
    _, pm = _mods(pyml, S, H, pc)
    tb, pb = _block_masks(tm[mask], pm[mask], B, None, L, S, bs)
    to, ta = TFA.flex_attention(tq, tk, tv, block_mask=tb, return_aux=TFA.AuxRequest(lse=True))
    po, pa = PFA.flex_attention(pq, pk, pv, block_mask=pb, return_aux=PFA.AuxRequest(lse=True))
    _close(po, to, TOL["float64"])
    _close(pa.lse, ta.lse, TOL["float64"])  # -inf rows agree too (assert_allclose treats equal infs as equal)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("score", ["none", "relpos", "alibi", "softcap", "learned"])
@pytest.mark.parametrize("L,S", [(7, 7), (33, 130), (130, 33)])
def test_forward_score_mods_match_torch(rng, dtype, score, L, S):
    B, H, E = 2, 4, 16
    (tq, pq), (tk, pk), (tv, pv) = _qkv(rng, [(B, H, L, E), (B, H, S, E), (B, H, S, E)], dtype)
    tc, pc = _captured(rng, H, L, S, dtype, False)
    ts, tm = _mods(torch, S, H, tc)
    ps, pm = _mods(pyml, S, H, pc)
    for use_mask in (False, True):
        tb = pb = None
        if use_mask:
            tb, pb = _block_masks(tm["causal"], pm["causal"], B, H, L, S, 16)
        to, tl = TFA.flex_attention(tq, tk, tv, ts[score], tb, return_aux=TFA.AuxRequest(lse=True))
        po, pl = PFA.flex_attention(pq, pk, pv, ps[score], pb, return_aux=PFA.AuxRequest(lse=True))
        assert po.dtype == getattr(pyml, dtype)
        _close(po, to, TOL[dtype])
        _close(pl.lse, tl.lse, TOL[dtype])


def test_scale_and_score_mod_masking_match_torch(rng):
    (tq, pq), (tk, pk), (tv, pv) = _qkv(rng, [(1, 2, 9, 4), (1, 2, 11, 4), (1, 2, 11, 3)], "float64")
    t_mod = lambda s, b, h, q, kv: torch.where(kv <= q, s, float("-inf"))  # noqa: E731
    p_mod = lambda s, b, h, q, kv: pyml.where(kv <= q, s, float("-inf"))  # noqa: E731
    to = TFA.flex_attention(tq, tk, tv, t_mod, scale=0.3)
    po = PFA.flex_attention(pq, pk, pv, p_mod, scale=0.3)
    _close(po, to, TOL["float64"])


def test_fully_masked_rows_give_zero_and_minus_inf_lse(rng):
    (tq, pq), (tk, pk), (tv, pv) = _qkv(rng, [(1, 1, 7, 4), (1, 1, 7, 4), (1, 1, 7, 4)], "float64")
    mod = lambda b, h, q, kv: (q >= 3) & (kv <= q)  # noqa: E731  rows 0..2 keep nothing
    tb, pb = _block_masks(mod, mod, 1, 1, 7, 7, 4)
    to, tl = TFA.flex_attention(tq, tk, tv, block_mask=tb, return_aux=TFA.AuxRequest(lse=True))
    po, pl = PFA.flex_attention(pq, pk, pv, block_mask=pb, return_aux=PFA.AuxRequest(lse=True))
    assert not np.isnan(po.numpy()).any()
    assert (po.numpy()[0, 0, :3] == 0).all() and np.isneginf(pl.lse.numpy()[0, 0, :3]).all()
    _close(po, to, TOL["float64"])
    _close(pl.lse, tl.lse, TOL["float64"])


@pytest.mark.parametrize("Hq,Hkv,Bkv", [(4, 2, 2), (6, 1, 2), (4, 4, 1), (6, 3, 1)])
def test_gqa_and_batch_broadcast_match_torch(rng, Hq, Hkv, Bkv):
    B, L, S, E = 2, 33, 40, 8
    (tq, pq), (tk, pk), (tv, pv) = _qkv(rng, [(B, Hq, L, E), (Bkv, Hkv, S, E), (Bkv, Hkv, S, E)], "float64")
    head_mod = lambda s, b, h, q, kv: s + h * 0.5 - b  # noqa: E731  h is the query head, b the query batch
    causal = lambda b, h, q, kv: q >= kv  # noqa: E731
    tb, pb = _block_masks(causal, causal, B, None, L, S, 16)
    to = TFA.flex_attention(tq, tk, tv, head_mod, tb, enable_gqa=Hq != Hkv)
    po = PFA.flex_attention(pq, pk, pv, head_mod, pb, enable_gqa=Hq != Hkv)
    _close(po, to, TOL["float64"])


def test_per_batch_and_head_block_masks(rng):
    B, H, L, S = 2, 3, 40, 40
    (tq, pq), (tk, pk), (tv, pv) = _qkv(rng, [(B, H, L, 8), (B, H, S, 8), (B, H, S, 8)], "float64")
    mod = lambda b, h, q, kv: (kv <= q + 8 * h) & (kv >= 10 * b)  # noqa: E731
    tb, pb = _block_masks(mod, mod, B, H, L, S, 8)
    _close(PFA.flex_attention(pq, pk, pv, block_mask=pb), TFA.flex_attention(tq, tk, tv, block_mask=tb), 1e-10)


def test_half_precision_runs_in_float32(rng):
    q = rng.standard_normal((1, 2, 17, 8))
    tq, pq = torch.tensor(q).to(torch.bfloat16), pyml.tensor(q).to(pyml.bfloat16)
    to, tl = TFA.flex_attention(tq, tq, tq, return_aux=TFA.AuxRequest(lse=True))
    po, pl = PFA.flex_attention(pq, pq, pq, return_aux=PFA.AuxRequest(lse=True))
    assert po.dtype == pyml.bfloat16 and pl.lse.dtype == pyml.float32
    _close(po, to, 2e-3)
    _close(pl.lse, tl.lse, 1e-5)


# ------------------------------------------------------------------------------ gradients against torch
def _torch_reference(tq, tk, tv, score_mod, tb, scale=None):
    """torch's eager math path with autograd (what flex_attention computes, vmapped score_mod and all)."""
    block = tb.as_tuple() if tb is not None else (TFA.noop_mask,)
    scale = 1.0 / math.sqrt(tq.size(-1)) if scale is None else scale
    out, lse, _ = torch_math_attention(tq, tk, tv, score_mod or (lambda s, b, h, q, kv: s), block, scale, {})
    return out, lse * math.log(2.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("score,mask", [("learned", "causal"), ("alibi", "window"), ("softcap", "document"),
                                        ("learned", "prefix_lm"), ("relpos", "doc_causal"), ("learned", None)])
@pytest.mark.parametrize("L,S,bs", [(7, 7, 128), (33, 130, 16), (130, 33, (8, 16))])
def test_gradients_match_torch(rng, dtype, score, mask, L, S, bs):
    B, H, E = 2, 2, 8
    (tq, pq), (tk, pk), (tv, pv) = _qkv(rng, [(B, H, L, E), (B, H, S, E), (B, H, S, 6)], dtype, grad=True)
    tc, pc = _captured(rng, H, L, S, dtype, True)
    ts, tm = _mods(torch, S, H, tc)
    ps, pm = _mods(pyml, S, H, pc)
    tb = pb = None
    if mask is not None:
        tb, pb = _block_masks(tm[mask], pm[mask], B, H, L, S, bs)
    to, tl = _torch_reference(tq, tk, tv, ts[score], tb)
    po, pa = PFA.flex_attention(pq, pk, pv, ps[score], pb, return_aux=PFA.AuxRequest(lse=True))
    g = rng.standard_normal(tuple(to.shape))
    live = np.isfinite(tl.detach().numpy())  # the lse of rows that keep something also carries gradient
    gl = rng.standard_normal(tuple(tl.shape)) * live
    ((to * torch.tensor(g).to(to.dtype)).sum() + (torch.where(torch.tensor(live), tl, 0) * torch.tensor(gl)
                                                   .to(tl.dtype)).sum()).backward()
    ((po * pyml.tensor(g).to(po.dtype)).sum() + (pyml.where(pyml.tensor(live), pa.lse, 0.0) * pyml.tensor(gl)
                                                 .to(pa.lse.dtype)).sum()).backward()
    _close(po, to, TOL[dtype])
    for t, p in ((tq, pq), (tk, pk), (tv, pv)):
        _close(p.grad, t.grad, TOL[dtype] * 5)
    if score == "learned":
        _close(pc["bias"].grad, tc["bias"].grad, TOL[dtype] * 5)
    else:
        assert pc["bias"].grad is None and tc["bias"].grad is None


@pytest.mark.parametrize("mask", ["causal", "window", "document", "doc_causal"])
def test_chunked_block_skipping_matches_unchunked(rng, monkeypatch, mask):
    """A small chunk budget forces one chunk per query block (or less) and gathers only used KV blocks; the
    result and every gradient (through checkpointed chunks) equal torch's."""
    B, H, L, S, E = 2, 3, 130, 130, 8
    (tq, pq), (tk, pk), (tv, pv) = _qkv(rng, [(B, H, L, E), (B, H, S, E), (B, H, S, E)], "float64", grad=True)
    tc, pc = _captured(rng, H, L, S, "float64", True)
    ts, tm = _mods(torch, S, H, tc)
    ps, pm = _mods(pyml, S, H, pc)
    tb, pb = _block_masks(tm[mask], pm[mask], B, H, L, S, 16)
    monkeypatch.setattr(PFA, "_CHUNK_ELEMENTS", 3000)
    monkeypatch.setattr(PFA, "_MIN_CHUNK_ELEMENTS", 100)
    seen = []
    orig = PFA._attend
    monkeypatch.setattr(PFA, "_attend", lambda ctx, rows, cols, *a: seen.append(cols.numel()) or orig(ctx, rows, cols, *a))
    to, _ = _torch_reference(tq, tk, tv, ts["learned"], tb)
    po = PFA.flex_attention(pq, pk, pv, ps["learned"], pb)
    assert len(seen) > 1 and min(seen) < S  # several chunks, some see fewer keys than S
    g = rng.standard_normal(tuple(to.shape))
    to.backward(torch.tensor(g))
    po.backward(pyml.tensor(g))
    _close(po, to, 1e-10)
    for t, p in ((tq, pq), (tk, pk), (tv, pv), (tc["bias"], pc["bias"])):
        _close(p.grad, t.grad, 1e-10)


def test_chunking_without_block_mask_and_no_grad(rng, monkeypatch):
    (tq, pq), (tk, pk), (tv, pv) = _qkv(rng, [(1, 2, 50, 4), (1, 2, 37, 4), (1, 2, 37, 4)], "float64")
    monkeypatch.setattr(PFA, "_CHUNK_ELEMENTS", 500)
    plan = PFA._plan(50, 37, 2, 50, 37, None)
    assert len(plan) == 9 and plan[0] == (0, 6, None) and plan[-1] == (48, 50, None)  # 500 // (2 * 37) rows
    with pyml.no_grad():
        po = PFA.flex_attention(pq, pk, pv)
    _close(po, TFA.flex_attention(tq, tk, tv), 1e-10)


def test_plan_merges_small_and_skips_empty_blocks():
    # causal 4x4 blocks of 16: with a tiny budget one chunk per block row, each with its used KV blocks only
    act = [frozenset(range(i + 1)) for i in range(4)]
    big = PFA._plan(64, 64, 1, 16, 16, act)
    assert big == [(0, 64, frozenset(range(4)))]  # small problem: merged into one chunk
    saved = PFA._MIN_CHUNK_ELEMENTS, PFA._CHUNK_ELEMENTS
    try:
        PFA._MIN_CHUNK_ELEMENTS = 1  # merging is kept when it wastes at most a quarter more work
        assert PFA._plan(64, 64, 1, 16, 16, act) == [(0, 16, act[0]), (16, 64, act[3])]
        PFA._CHUNK_ELEMENTS = 16 * 64  # the budget forbids merging: one chunk per block row
        assert PFA._plan(64, 64, 1, 16, 16, act) == [(16 * i, 16 * i + 16, act[i]) for i in range(4)]
        PFA._CHUNK_ELEMENTS = 16 * 16  # a block row over budget is split in rows, keeping its KV blocks
        assert PFA._plan(64, 64, 1, 16, 16, act)[-4:] == [(48 + 4 * i, 52 + 4 * i, act[3]) for i in range(4)]
    finally:
        PFA._MIN_CHUNK_ELEMENTS, PFA._CHUNK_ELEMENTS = saved
    assert PFA._columns(frozenset({1, 3}), 64, 16, "cpu")[0].tolist() == list(range(16, 32)) + list(range(48, 64))
    assert PFA._columns(frozenset({1, 2}), 40, 16, "cpu")[0] == slice(16, 40)


def test_return_lse_deprecated_and_max_scores(rng):
    (tq, pq), (tk, pk), (tv, pv) = _qkv(rng, [(1, 2, 9, 4), (1, 2, 9, 4), (1, 2, 9, 4)], "float64")
    with pytest.warns(FutureWarning, match="return_lse is deprecated"):
        po, pl = PFA.flex_attention(pq, pk, pv, return_lse=True)
    to, tl = TFA.flex_attention(tq, tk, tv, return_aux=TFA.AuxRequest(lse=True))
    _close(po, to, 1e-10)
    _close(pl, tl.lse, 1e-10)
    # torch's CPU kernel cannot return max_scores; its eager math reference (in log2 units) can
    out, aux = PFA.flex_attention(pq, pk, pv, return_aux=PFA.AuxRequest(max_scores=True))
    _, _, tmax = torch_math_attention(tq, tk, tv, lambda s, b, h, q, kv: s, (TFA.noop_mask,), 0.5, {})
    assert aux.lse is None
    _close(aux.max_scores, tmax * math.log(2.0), 1e-10)


def test_batch_broadcast_without_block_mask_rejected(rng):
    q, k = pyml.randn(2, 1, 4, 4), pyml.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="same batch size, or non-none block_mask"):
        PFA.flex_attention(q, k, k)


# ------------------------------------------------------------------------------ errors
def _p(*shape, dtype=pyml.float32):
    return pyml.randn(*shape).to(dtype)


@pytest.mark.parametrize("args,kwargs,exc,match", [
    ((_p(2, 2, 4, 4), _p(2, 2, 4, 4), _p(2, 2, 4, 4)), {"return_lse": True, "return_aux": PFA.AuxRequest(lse=True)},
     ValueError, "Cannot specify both return_lse and return_aux"),
    ((_p(2, 4, 4), _p(2, 4, 4), _p(2, 4, 4)), {}, NotImplementedError, "must be 4D tensors"),
    ((_p(1, 2, 4, 4), _p(1, 2, 4, 5), _p(1, 2, 4, 5)), {}, ValueError, "same embedding dimension"),
    ((_p(1, 4, 4, 4), _p(1, 2, 4, 4), _p(1, 2, 4, 4)), {}, ValueError, "Try setting enable_gqa=True"),
    ((_p(1, 3, 4, 4), _p(1, 2, 4, 4), _p(1, 2, 4, 4)), {"enable_gqa": True}, ValueError, "multiple of kv heads"),
    ((_p(1, 2, 4, 4), _p(1, 2, 5, 4), _p(1, 2, 4, 4)), {}, ValueError, "key and value must agree"),
    ((_p(1, 2, 4, 4), _p(1, 2, 4, 4), _p(1, 2, 4, 4)), {"kernel_options": {"BACKEND": "CUDNN"}}, ValueError,
     "Invalid BACKEND value"),
    ((_p(1, 2, 4, 4), _p(1, 2, 4, 4), _p(1, 2, 4, 4)), {"kernel_options": {"OUTPUT_MAX": True}}, AssertionError,
     "OUTPUT_MAX must not be in kernel_options"),
    ((_p(1, 2, 4, 4), _p(1, 2, 4, 4), _p(1, 2, 4, 4)), {"kernel_options": {"BACKEND": "AUTO",
                                                                         "FORCE_USE_FLEX_ATTENTION": True}},
     RuntimeError, "BACKEND cannot be combined"),
    ((_p(1, 2, 4, 4), _p(1, 2, 4, 4).long(), _p(1, 2, 4, 4)), {}, TypeError, "must be floating point"),
    ((_p(1, 2, 4, 4), "k", _p(1, 2, 4, 4)), {}, TypeError, "key must be a Tensor"),
    ((_p(1, 2, 4, 4), _p(1, 2, 4, 4), _p(1, 2, 4, 4)), {"block_mask": "causal"}, TypeError,
     "block_mask must be a BlockMask"),
])
def test_flex_attention_errors(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        PFA.flex_attention(*args, **kwargs)


def test_block_mask_errors():
    causal = lambda b, h, q, kv: q >= kv  # noqa: E731
    q = _p(2, 2, 16, 4)
    small = PFA.create_block_mask(causal, 2, 2, 8, 8, device="cpu")
    with pytest.raises(ValueError, match="smaller length"):
        PFA.flex_attention(q, q, q, block_mask=small)
    big = PFA.create_block_mask(causal, 2, 2, 32, 16, device="cpu")
    with pytest.raises(ValueError, match="larger length"):
        PFA.flex_attention(q, q, q, block_mask=big)
    with pytest.raises(RuntimeError, match="Cannot use mask_mod from a sliced BlockMask"):
        PFA.flex_attention(q, q, q, block_mask=PFA.create_block_mask(causal, 2, 2, 16, 16, device="cpu")[0])
    three = PFA.create_block_mask(causal, 3, 2, 16, 16, device="cpu")
    with pytest.raises(ValueError, match=r"block_mask's \(B, H\) = \(3, 2\)"):
        PFA.flex_attention(q, q, q, block_mask=three)
    with pytest.raises(ValueError, match="Bq=2, Bkv=3, B_block_mask=1"):
        PFA.flex_attention(q, _p(3, 2, 16, 4), _p(3, 2, 16, 4),
                           block_mask=PFA.create_block_mask(causal, 1, 2, 16, 16, device="cpu"))
    with pytest.raises(RuntimeError, match="Bq and Bkv must broadcast"):
        PFA.flex_attention(_p(3, 2, 16, 4), _p(2, 2, 16, 4), _p(2, 2, 16, 4), block_mask=three[:, :1])


def test_mod_signature_errors():
    with pytest.raises(AssertionError, match="Expected 4 or 5 positional args, got 3"):
        PFA.create_block_mask(lambda b, q, kv: q >= kv, 1, 1, 4, 4, device="cpu")
    with pytest.raises(AssertionError, match="requires a mask_mod function"):
        PFA.create_block_mask(lambda s, b, h, q, kv: s, 1, 1, 4, 4, device="cpu")
    with pytest.raises(RuntimeError, match="All inputs should be callable mask_mods"):
        PFA.and_masks(PFA.noop_mask, 3)
    with pytest.raises(RuntimeError, match="All inputs should be callable mask_mods"):
        PFA.or_masks("causal")
    with pytest.raises(ValueError, match="dq_kv_order must be a bool"):
        PFA.create_block_mask(PFA.noop_mask, 1, 1, 4, 4, device="cpu", dq_kv_order=1)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        PFA.BlockMask.from_kv_blocks(pyml.ones(1, dtype=pyml.int32), pyml.zeros(1, dtype=pyml.int32))
    with pytest.raises(AssertionError, match="both provided or omitted"):
        PFA.BlockMask.from_kv_blocks(pyml.ones(1, 1, dtype=pyml.int32), pyml.zeros(1, 1, 1, dtype=pyml.int32),
                                     full_kv_num_blocks=pyml.ones(1, 1, dtype=pyml.int32))


# ------------------------------------------------------------------------------ BlockMask API
def _same_lists(pb, tb):
    for a in ("kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices", "q_num_blocks", "q_indices",
              "full_q_num_blocks", "full_q_indices"):
        x, y = getattr(pb, a), getattr(tb, a)
        assert (x is None) == (y is None), a
        if x is not None:
            assert x.dtype == pyml.int32 and x.numpy().tolist() == y.numpy().tolist(), a


@pytest.mark.parametrize("L,S,bs", [(1, 1, 128), (33, 130, 16), (130, 130, (8, 32)), (7, 130, 128)])
@pytest.mark.parametrize("separate", [True, False])
def test_block_mask_lists_and_api_match_torch(L, S, bs, separate):
    mod = lambda b, h, q, kv: (q >= kv) & ((q - kv) < 40 + 10 * h)  # noqa: E731
    tb = TFA.create_block_mask(mod, 2, 3, L, S, device="cpu", BLOCK_SIZE=bs, separate_full_blocks=separate)
    pb = PFA.create_block_mask(mod, 2, 3, L, S, device="cpu", BLOCK_SIZE=bs, separate_full_blocks=separate)
    _same_lists(pb, tb)
    assert pb.shape == tb.shape and pb.BLOCK_SIZE == tb.BLOCK_SIZE and pb.seq_lengths == tb.seq_lengths
    assert pb.numel() == tb.numel() and pb.sparsity() == pytest.approx(tb.sparsity())
    assert pb.to_dense().numpy().tolist() == tb.to_dense().numpy().tolist()
    assert len(pb.as_tuple()) == len(tb.as_tuple()) and len(pb.as_tuple(False)) == len(tb.as_tuple(False))
    assert pb.as_tuple()[-1] is mod and pb.mask_mod is mod
    assert pb.to_string() == tb.to_string() and str(pb) == str(tb)
    assert repr(pb).splitlines()[-3:] == repr(tb).splitlines()[-3:]  # sparsity and mask_mod lines
    for index in (0, (1, 2), (slice(0, 1), slice(1, 3))):
        _same_lists(pb[index], tb[index])
    _same_lists(pb.to("cpu"), tb.to("cpu"))
    if L > 8 and S > 8:
        _same_lists(pb._adjust(L - 5, S - 7), tb._adjust(L - 5, S - 7))


def test_from_kv_blocks_skips_unlisted_blocks(rng):
    """A BlockMask built from block lists alone (noop mask_mod): blocks not listed are skipped, as torch's
    kernels do (torch's eager CPU path ignores the lists and reads only mask_mod)."""
    nums = pyml.tensor([[[1, 2]]], dtype=pyml.int32)
    idx = pyml.tensor([[[[1, 0], [0, 1]]]], dtype=pyml.int32)  # row block 0 -> kv block 1; row block 1 -> both
    bm = PFA.BlockMask.from_kv_blocks(nums, idx, BLOCK_SIZE=4, seq_lengths=(8, 8))
    assert bm.to_dense().numpy().tolist() == [[[[0, 1], [1, 1]]]]
    assert bm.q_num_blocks.numpy().tolist() == [[[1, 2]]] and bm.sparsity() == pytest.approx(25.0)
    (tq, pq), (tk, pk), (tv, pv) = _qkv(rng, [(1, 1, 8, 4), (1, 1, 8, 4), (1, 1, 8, 4)], "float64")
    dense = torch.tensor([[False] * 4 + [True] * 4] * 4 + [[True] * 8] * 4)
    ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=dense)
    _close(PFA.flex_attention(pq, pk, pv, block_mask=bm), ref, 1e-10)


@pytest.mark.parametrize("kind", ["mask", "score"])
def test_create_mask_matches_torch(kind):
    if kind == "mask":
        fn = lambda b, h, q, kv: (q >= kv) | (h == 1)  # noqa: E731
    else:
        fn = lambda s, b, h, q, kv: torch.where(q >= kv, s, float("-inf"))  # noqa: E731
    pfn = fn if kind == "mask" else (lambda s, b, h, q, kv: pyml.where(q >= kv, s, float("-inf")))
    t = TFA.create_mask(fn, 2, 3, 7, 9, device="cpu")
    p = PFA.create_mask(pfn, 2, 3, 7, 9, device="cpu")
    assert p.dtype == pyml.bool and p.numpy().tolist() == t.numpy().tolist()
    assert PFA.create_mask(PFA.noop_mask, None, None, 2, 3, device="cpu").shape == (1, 1, 2, 3)


def test_and_or_masks_and_noop():
    b, h, q, kv = (pyml.arange(3).reshape(shape) for shape in ((3, 1, 1, 1), (1, 3, 1, 1), (1, 1, 3, 1),
                                                              (1, 1, 1, 3)))
    causal = lambda b, h, q, kv: q >= kv  # noqa: E731
    diag = lambda b, h, q, kv: q == kv  # noqa: E731
    assert PFA.and_masks()(b, h, q, kv).item() is True and PFA.or_masks()(b, h, q, kv).item() is False
    assert (PFA.and_masks(causal, diag)(b, h, q, kv) == diag(b, h, q, kv)).all().item()
    assert (PFA.or_masks(causal, diag)(b, h, q, kv) == causal(b, h, q, kv)).all().item()
    assert PFA.noop_mask(b, h, q, kv).dtype == pyml.bool
