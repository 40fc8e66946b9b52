"""F.scaled_dot_product_attention (fused engine op) and multi-head attention against torch: outputs and
gradients wrt query/key/value for masks (bool, float, broadcast), causal with L != S, scale, odd sizes,
strided inputs, GQA, dropout, a large T, and bad inputs. MultiheadAttention module tests copy torch's
state_dict in and compare outputs, attention weights and every gradient."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyml
import pyml.nn.functional as F

TOL = {"float32": 2e-5, "float64": 1e-10}


def _pair(a, dtype, grad=True):
    """The same data as a pyml tensor and a torch tensor (both leaves)."""
    p = pyml.tensor(a).to(getattr(pyml, dtype))
    t = torch.tensor(a).to(getattr(torch, dtype))
    if grad:
        p.requires_grad_(True)
        t.requires_grad_(True)
    return p, t


def _np(t):
    return t.detach().double().numpy()


def _close(p, t, tol):
    a, b = _np(p), t.detach().double().numpy()
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10)


def _mask(rng, shape, kind):
    if kind == "bool":
        return rng.random(shape) > 0.3
    return rng.standard_normal(shape)


def _compare(rng, qs, ks, vs, dtype, mask_shape=None, mask_kind=None, causal=False, scale=None, gqa=False):
    q, k, v = (rng.standard_normal(s) for s in (qs, ks, vs))
    (pq, tq), (pk, tk), (pv, tv) = (_pair(a, dtype) for a in (q, k, v))
    pm = tm = None
    if mask_shape is not None:
        m = _mask(rng, mask_shape, mask_kind)
        pm, tm = _pair(m, dtype, grad=False) if mask_kind == "float" else (pyml.tensor(m), torch.tensor(m))
    kw = dict(is_causal=causal, scale=scale)
    if gqa:
        kw["enable_gqa"] = True
    to = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, **kw)
    po = F.scaled_dot_product_attention(pq, pk, pv, attn_mask=pm, **kw)
    tol = TOL[dtype]
    _close(po, to, tol)
    g = rng.standard_normal(tuple(to.shape))
    to.backward(torch.tensor(g).to(to.dtype))
    po.backward(pyml.tensor(g).to(po.dtype))
    for p, t in ((pq, tq), (pk, tk), (pv, tv)):
        _close(p.grad, t.grad, tol)


CASES = [  # query, key, value shapes; mask shape and kind; causal
    ((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6), None, None, False),
    ((1, 1), (1, 1), (1, 1), None, None, False),
    ((7, 3), (9, 3), (9, 5), None, None, True),       # L < S, causal aligned top-left
    ((9, 3), (7, 3), (7, 5), None, None, True),       # L > S
    ((2, 1, 9, 4), (3, 7, 4), (1, 7, 3), (9, 7), "bool", False),  # broadcast batch dims
    ((2, 1, 9, 4), (3, 7, 4), (1, 7, 3), (3, 1, 7), "float", False),
    ((2, 5, 8), (2, 6, 8), (2, 6, 8), (2, 5, 6), "float", False),
    ((3, 5, 8), (3, 6, 8), (3, 6, 2), (6,), "bool", False),  # 1-D mask broadcasts over rows
    ((2, 2, 5, 8), (2, 2, 6, 8), (2, 2, 6, 8), (2, 1, 5, 1), "float", False),
    ((2, 97, 13), (2, 131, 13), (2, 131, 7), (97, 131), "bool", False),  # several tiles, odd sizes
    ((1, 150, 33), (1, 200, 33), (1, 200, 17), None, None, True),
    ((3, 70, 5), (3, 70, 5), (3, 70, 5), None, None, True),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[0])) + f"-{c[4]}-causal{c[5]}")
def test_sdpa_matches_torch(rng, dtype, case):
    qs, ks, vs, ms, mk, causal = case
    _compare(rng, qs, ks, vs, dtype, ms, mk, causal)


@pytest.mark.parametrize("scale", [0.3, 2.0])
def test_sdpa_scale(rng, scale):
    _compare(rng, (2, 6, 5), (2, 9, 5), (2, 9, 4), "float64", (6, 9), "bool", scale=scale)


def test_sdpa_gqa(rng):
    _compare(rng, (2, 6, 5, 4), (2, 2, 7, 4), (2, 2, 7, 3), "float64", gqa=True)
    _compare(rng, (2, 6, 5, 4), (2, 3, 7, 4), (2, 3, 7, 3), "float64", (6, 5, 7), "bool", gqa=True)


def test_sdpa_empty_and_threads(rng):
    _compare(rng, (2, 0, 4), (2, 5, 4), (2, 5, 3), "float64")
    _compare(rng, (0, 3, 4), (0, 5, 4), (0, 5, 3), "float64")
    # many (batch, head) matrices: the one-task-per-matrix backward
    _compare(rng, (16, 70, 8), (16, 80, 8), (16, 80, 8), "float32", causal=True)


def test_sdpa_key_length_zero():
    q, k, v = pyml.ones(2, 3, 4), pyml.ones(2, 0, 4), pyml.ones(2, 0, 5)
    out = F.scaled_dot_product_attention(q, k, v)
    ref = TF.scaled_dot_product_attention(torch.ones(2, 3, 4), torch.ones(2, 0, 4), torch.ones(2, 0, 5))
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_sdpa_noncontiguous(rng):
    # q is a transposed view, k a view sliced with a step, v expanded over the batch (stride 0)
    qt, k, v = rng.standard_normal((2, 4, 6)), rng.standard_normal((2, 14, 4)), rng.standard_normal((1, 7, 5))
    res = []
    for lib, mod in ((pyml, F), (torch, TF)):
        leaves = [lib.tensor(a).requires_grad_(True) for a in (qt, k, v)]
        q_, k_, v_ = leaves[0].transpose(1, 2), leaves[1][:, ::2], leaves[2].expand(2, 7, 5)
        assert not q_.is_contiguous() and not k_.is_contiguous()
        out = mod.scaled_dot_product_attention(q_, k_, v_)
        out.sum().backward()
        res.append([out] + [t.grad for t in leaves])
    for p, t in zip(*res):
        _close(p, t, 1e-10)


def test_sdpa_strided_views_not_copied(rng):
    # q as a strided view of a larger buffer (columns 2 apart): the kernel reads the strides
    base = rng.standard_normal((3, 5, 8))
    pq = pyml.tensor(base)[:, :, ::2]
    k, v = rng.standard_normal((3, 6, 4)), rng.standard_normal((3, 6, 3))
    assert not pq.is_contiguous()
    po = F.scaled_dot_product_attention(pq, pyml.tensor(k), pyml.tensor(v))
    to = TF.scaled_dot_product_attention(torch.tensor(base)[:, :, ::2], torch.tensor(k), torch.tensor(v))
    _close(po, to, 1e-10)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_sdpa_half_types(rng, dtype):
    q, k, v = rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 9, 8)), rng.standard_normal((2, 9, 4))
    pt = [pyml.tensor(a).to(getattr(pyml, dtype)).requires_grad_(True) for a in (q, k, v)]
    tt = [torch.tensor(a).to(getattr(torch, dtype)).float().requires_grad_(True) for a in (q, k, v)]
    po = F.scaled_dot_product_attention(*pt, is_causal=True)
    assert po.dtype == getattr(pyml, dtype)
    to = TF.scaled_dot_product_attention(*tt, is_causal=True)
    np.testing.assert_allclose(_np(po), _np(to), atol=3e-2)
    po.sum().backward()
    to.sum().backward()
    for p, t in zip(pt, tt):
        assert p.grad.dtype == getattr(pyml, dtype)
        np.testing.assert_allclose(_np(p.grad), _np(t.grad), atol=5e-2)


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_rows_give_zero(rng, kind):
    q, k, v = rng.standard_normal((1, 4, 3)), rng.standard_normal((1, 5, 3)), rng.standard_normal((1, 5, 2))
    m = np.ones((4, 5), bool)
    m[1] = False
    m[3, :4] = False
    mask = m if kind == "bool" else np.where(m, 0.0, -np.inf)
    (pq, tq), (pk, tk), (pv, tv) = (_pair(a, "float64") for a in (q, k, v))
    po = F.scaled_dot_product_attention(pq, pk, pv, attn_mask=pyml.tensor(mask))
    to = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(mask))
    assert np.all(_np(po)[0, 1] == 0)
    _close(po, to, 1e-10)
    po.sum().backward()
    to.sum().backward()
    for p, t in ((pq, tq), (pk, tk), (pv, tv)):
        _close(p.grad, t.grad, 1e-10)


def test_sdpa_float_mask_requiring_grad(rng):
    # a learnable additive bias takes the composite path; its gradient matches torch
    q, k, v, b = (rng.standard_normal(s) for s in ((2, 4, 3), (2, 6, 3), (2, 6, 5), (4, 6)))
    pt = [_pair(a, "float64") for a in (q, k, v, b)]
    po = F.scaled_dot_product_attention(*[p for p, _ in pt[:3]], attn_mask=pt[3][0])
    to = TF.scaled_dot_product_attention(*[t for _, t in pt[:3]], attn_mask=pt[3][1])
    _close(po, to, 1e-10)
    po.sum().backward()
    to.sum().backward()
    for p, t in pt:
        _close(p.grad, t.grad, 1e-10)


def _numeric_grads(fn, arrays, eps=1e-6):
    """Central differences of sum(fn(*arrays) * w) for a fixed random w, per input (float64)."""
    w = np.random.default_rng(9).standard_normal(fn(*[pyml.tensor(a) for a in arrays]).shape)
    f = lambda: float((fn(*[pyml.tensor(a) for a in arrays]).numpy() * w).sum())
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            keep = a[i]
            a[i] = keep + eps
            up = f()
            a[i] = keep - eps
            g[i] = (up - f()) / (2 * eps)
            a[i] = keep
        grads.append(g)
    return w, grads


@pytest.mark.parametrize("kw", [dict(mask=True), dict(is_causal=True, scale=0.7)], ids=str)
def test_sdpa_finite_differences(kw):
    g = np.random.default_rng(5)
    arrays = [g.standard_normal(s) for s in ((2, 3, 2), (2, 4, 2), (2, 4, 3))]
    mask = pyml.tensor(g.random((3, 4)) > 0.3) if kw.pop("mask", False) else None
    fn = lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mask, **kw)
    w, numeric = _numeric_grads(fn, arrays)
    ts = [pyml.tensor(a).requires_grad_(True) for a in arrays]
    (fn(*ts) * pyml.tensor(w)).sum().backward()
    for t, n in zip(ts, numeric):
        np.testing.assert_allclose(t.grad.numpy(), n, atol=1e-7)


def _peak_rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("VmHWM missing")


def test_sdpa_large_t_matches_torch_without_t_by_t_memory(rng):
    T, E = 1024, 16
    q, k, v = (rng.standard_normal((1, T, E)).astype(np.float32) for _ in range(3))
    (pq, tq), (pk, tk), (pv, tv) = (_pair(a, "float32") for a in (q, k, v))
    to = TF.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    to.sum().backward()
    po = F.scaled_dot_product_attention(pq, pk, pv, is_causal=True)
    po.sum().backward()
    _close(po, to, 2e-5)
    for p, t in ((pq, tq), (pk, tk), (pv, tv)):
        _close(p.grad, t.grad, 5e-5)
    # By memory: with 4096 queries and keys a T x T float32 score matrix is 64 MiB; the fused op
    # must raise the process's peak resident memory by far less than that.
    T = 4096
    x = pyml.tensor(rng.standard_normal((1, T, E)).astype(np.float32)).requires_grad_(True)
    F.scaled_dot_product_attention(x, x, x)  # warm the thread pool and scratch buffers
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
    except OSError:
        pytest.skip("cannot reset the peak RSS counter (/proc/self/clear_refs) on this system")
    before = _peak_rss_kb()
    out = F.scaled_dot_product_attention(x, x, x)
    out.sum().backward()
    grown_mib = (_peak_rss_kb() - before) / 1024
    assert grown_mib < 24, f"peak memory grew by {grown_mib:.1f} MiB (a T x T matrix is 64 MiB)"


def test_sdpa_dropout_reproducible_and_unbiased():
    q, k = pyml.randn(2, 64, 8), pyml.randn(2, 80, 8)
    v = pyml.ones(2, 80, 3)
    pyml.manual_seed(7)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    pyml.manual_seed(7)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    # with v = 1 each output is the sum of the kept probabilities / 0.7: mean 1, not all 1
    assert abs(a.numpy().mean() - 1.0) < 0.05
    assert a.numpy().std() > 0.05
    zero = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    assert np.all(zero.numpy() == 0)


def test_sdpa_dropout_gradients_flow():
    q = pyml.randn(1, 5, 4).requires_grad_(True)
    out = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    out.sum().backward()
    assert q.grad.shape == q.shape and np.isfinite(q.grad.numpy()).all()


# ------------------------------------------------------------------------------- bad inputs
BAD = [
    (dict(q=(2, 5, 4), k=(2, 6, 3), v=(2, 6, 3)), ValueError, r"scaled_dot_product_attention: query and key.*\(2, 5, 4\)"),
    (dict(q=(2, 5, 4), k=(2, 6, 4), v=(2, 7, 3)), ValueError, r"scaled_dot_product_attention: key and value.*\(2, 7, 3\)"),
    (dict(q=(2, 5, 4), k=(3, 6, 4), v=(3, 6, 3)), ValueError, r"scaled_dot_product_attention: batch dim.*\(3, 6, 4\)"),
    (dict(q=(5,), k=(6, 4), v=(6, 3)), ValueError, r"scaled_dot_product_attention: .*at least 2 dims.*\(5,\)"),
    (dict(q=(2, 5, 4), k=(2, 6, 4), v=(2, 6, 3), m=(4, 6)), ValueError,
     r"scaled_dot_product_attention: attn_mask of shape \(4, 6\) must broadcast to .* \(2, 5, 6\)"),
    (dict(q=(2, 5, 4), k=(2, 6, 4), v=(2, 6, 3), m=(3, 5, 6)), ValueError,
     r"scaled_dot_product_attention: attn_mask of shape \(3, 5, 6\)"),
    (dict(q=(2, 5, 4), k=(2, 6, 4), v=(2, 6, 3), m=(5, 6), causal=True), ValueError,
     r"scaled_dot_product_attention: an explicit attn_mask cannot be combined with is_causal"),
]


@pytest.mark.parametrize("composite", [False, True])
@pytest.mark.parametrize("spec,err,msg", BAD)
def test_sdpa_bad_inputs(spec, err, msg, composite):
    q, k, v = (pyml.zeros(*spec[n]) for n in "qkv")
    m = pyml.zeros(*spec["m"]) if "m" in spec else None
    if composite and m is not None:
        m.requires_grad_(True)
    drop = 0.1 if composite else 0.0
    with pytest.raises(err, match=msg):
        F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=spec.get("causal", False), dropout_p=drop)


def test_sdpa_bad_dtypes():
    q = pyml.zeros(2, 3)
    with pytest.raises(TypeError, match="scaled_dot_product_attention: .*share one floating-point dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(TypeError, match="scaled_dot_product_attention: .*floating-point dtype.*int64"):
        F.scaled_dot_product_attention(q.long(), q.long(), q.long())
    with pytest.raises(TypeError, match="scaled_dot_product_attention: attn_mask must be bool .*int64"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=pyml.zeros(2, 2, dtype=pyml.int64))
    with pytest.raises(TypeError, match="scaled_dot_product_attention: query must be a Tensor"):
        F.scaled_dot_product_attention(np.zeros((2, 3)), q, q)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: dropout_p must be in \[0, 1\]"):
        F.scaled_dot_product_attention(q, q, q, dropout_p=1.5)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: with enable_gqa the query heads \(3\)"):
        F.scaled_dot_product_attention(pyml.zeros(3, 2, 4), pyml.zeros(2, 2, 4), pyml.zeros(2, 2, 4),
                                       enable_gqa=True)


# ------------------------------------------------------------------ functional multi-head attention
def _mha_params(rng, E, kdim, vdim, bias, bias_kv):
    p = {"out_w": rng.standard_normal((E, E)) / math.sqrt(E), "out_b": rng.standard_normal(E) if bias else None}
    if kdim == E and vdim == E:
        p["in_w"] = rng.standard_normal((3 * E, E)) / math.sqrt(E)
    else:
        p.update(q_w=rng.standard_normal((E, E)), k_w=rng.standard_normal((E, kdim)),
                 v_w=rng.standard_normal((E, vdim)))
    p["in_b"] = rng.standard_normal(3 * E) if bias else None
    p["bk"] = rng.standard_normal((1, 1, E)) if bias_kv else None
    p["bv"] = rng.standard_normal((1, 1, E)) if bias_kv else None
    return p


@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("variant", ["plain", "kvdim", "bias_kv", "zero_attn", "unbatched", "nobias"])
def test_functional_mha_matches_torch(rng, need_weights, average, variant):
    L, S, N, E, H = 5, 7, 3, 6, 2
    kdim = vdim = E
    if variant == "kvdim":
        kdim, vdim = 4, 5
    p = _mha_params(rng, E, kdim, vdim, variant != "nobias", variant == "bias_kv")
    shapes = [(L, N, E), (S, N, kdim), (S, N, vdim)]
    if variant == "unbatched":
        shapes = [(s[0], s[2]) for s in shapes]
    inputs = [rng.standard_normal(s) for s in shapes]
    kpm = rng.random((N, S) if variant != "unbatched" else (S,)) > 0.8
    am = rng.standard_normal((L, S))
    res = []
    for lib, mod in ((pyml, F), (torch, TF)):
        def T(a, grad=True):
            if a is None:
                return None
            t = lib.tensor(a)
            return t.requires_grad_(True) if grad and t.dtype in (torch.float64, pyml.float64) else t
        args = [T(a) for a in inputs]
        prm = {k: T(v) for k, v in p.items()}
        out, w = mod.multi_head_attention_forward(
            *args, E, H, prm.get("in_w"), prm["in_b"], prm["bk"], prm["bv"], variant == "zero_attn", 0.0,
            prm["out_w"], prm["out_b"], training=True, key_padding_mask=T(kpm), need_weights=need_weights,
            attn_mask=T(am, grad=False), use_separate_proj_weight=variant == "kvdim", q_proj_weight=prm.get("q_w"),
            k_proj_weight=prm.get("k_w"), v_proj_weight=prm.get("v_w"), average_attn_weights=average)
        out.sum().backward()
        grads = [t.grad for t in args + [v for v in prm.values() if v is not None]]
        res.append((out, w, grads))
    (po, pw, pg), (to, tw, tg) = res
    _close(po, to, 1e-10)
    if need_weights:
        _close(pw, tw, 1e-10)
    else:
        assert pw is None and tw is None
    for a, b in zip(pg, tg):
        _close(a, b, 1e-10)


def test_functional_mha_bad_masks():
    q = pyml.zeros(5, 2, 4)
    w, b = pyml.zeros(12, 4), pyml.zeros(12)
    ow = pyml.zeros(4, 4)
    call = lambda **kw: F.multi_head_attention_forward(q, q, q, 4, 2, w, b, None, None, False, 0.0, ow, None, **kw)
    with pytest.raises(ValueError, match=r"MultiheadAttention: 2-D attn_mask must have shape \(L, S\) = \(5, 5\), "
                                         r"got \(4, 5\)"):
        call(attn_mask=pyml.zeros(4, 5))
    with pytest.raises(ValueError, match=r"MultiheadAttention: 3-D attn_mask must have shape .* \(4, 5, 5\), got"):
        call(attn_mask=pyml.zeros(3, 5, 5))
    with pytest.raises(ValueError, match=r"MultiheadAttention: key_padding_mask must have shape .*\(2, 5\), got"):
        call(key_padding_mask=pyml.zeros(2, 4, dtype=pyml.bool))
    with pytest.raises(TypeError, match="MultiheadAttention: only bool and floating types of attn_mask"):
        call(attn_mask=pyml.zeros(5, 5, dtype=pyml.int64))
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim \(4\) must be divisible by num_heads \(3\)"):
        F.multi_head_attention_forward(q, q, q, 4, 3, w, b, None, None, False, 0.0, ow, None)


# ------------------------------------------------------------------------- MultiheadAttention module
def _copy_state(pm, tm):
    sd = {k: pyml.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()}
    pm.load_state_dict(sd)


def _grads_match(pm, tm, tol):
    pp, tp = dict(pm.named_parameters()), dict(tm.named_parameters())
    assert sorted(pp) == sorted(tp)
    for name, t in tp.items():
        assert pp[name].grad is not None, name
        _close(pp[name].grad, t.grad, tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", [
    dict(batch_first=False), dict(batch_first=True), dict(kdim=5, vdim=3), dict(bias=False),
    dict(add_bias_kv=True), dict(add_zero_attn=True, batch_first=True)], ids=str)
@pytest.mark.parametrize("call", [
    dict(), dict(need_weights=False), dict(average_attn_weights=False), dict(mask="bool3d"),
    dict(mask="float2d", kpm="float"), dict(kpm="bool", need_weights=False), dict(causal=True)], ids=str)
def test_multihead_attention_module(rng, dtype, cfg, call):
    E, H, L, S, N = 6, 3, 5, 7, 2
    tm = torch.nn.MultiheadAttention(E, H, **cfg).to(getattr(torch, dtype))
    pm = pyml.nn.MultiheadAttention(E, H, **cfg).to(getattr(pyml, dtype))
    assert list(pm.state_dict()) == list(tm.state_dict())
    _copy_state(pm, tm)
    bf = cfg.get("batch_first", False)
    kd, vd = cfg.get("kdim", E), cfg.get("vdim", E)
    shp = lambda T, D: (N, T, D) if bf else (T, N, D)
    data = [rng.standard_normal(shp(L, E)), rng.standard_normal(shp(S, kd)), rng.standard_normal(shp(S, vd))]
    kw = {k: call[k] for k in ("need_weights", "average_attn_weights") if k in call}
    masks = {}
    if call.get("mask") == "bool3d":
        masks["attn_mask"] = rng.random((N * H, L, S)) > 0.7
    if call.get("mask") == "float2d":
        masks["attn_mask"] = rng.standard_normal((L, S))
    if call.get("kpm") == "bool":
        masks["key_padding_mask"] = rng.random((N, S)) > 0.7
    if call.get("kpm") == "float":
        masks["key_padding_mask"] = rng.standard_normal((N, S))
    if call.get("causal"):
        masks["attn_mask"] = np.triu(np.ones((L, S), bool), 1)
        kw["is_causal"] = True
    (pq, tq), (pk, tk), (pv, tv) = (_pair(a, dtype) for a in data)
    cast = lambda lib, a: lib.tensor(a) if a.dtype == bool else lib.tensor(a).to(getattr(lib, dtype))
    po, pw = pm(pq, pk, pv, **{k: cast(pyml, v) for k, v in masks.items()}, **kw)
    to, tw = tm(tq, tk, tv, **{k: cast(torch, v) for k, v in masks.items()}, **kw)
    tol = TOL[dtype]
    _close(po, to, tol)
    if tw is None:
        assert pw is None
    else:
        _close(pw, tw, tol)
    g = rng.standard_normal(tuple(to.shape))
    to.backward(torch.tensor(g).to(to.dtype))
    po.backward(pyml.tensor(g).to(po.dtype))
    for p, t in ((pq, tq), (pk, tk), (pv, tv)):
        _close(p.grad, t.grad, tol)
    _grads_match(pm, tm, tol)


def test_multihead_attention_eval_and_unbatched(rng):
    tm = torch.nn.MultiheadAttention(8, 2, dropout=0.5).double().eval()
    pm = pyml.nn.MultiheadAttention(8, 2, dropout=0.5).double().eval()
    _copy_state(pm, tm)
    x = rng.standard_normal((4, 8))
    po, pw = pm(pyml.tensor(x), pyml.tensor(x), pyml.tensor(x))
    with torch.no_grad():
        to, tw = tm(torch.tensor(x), torch.tensor(x), torch.tensor(x))
    _close(po, to, 1e-10)
    _close(pw, tw, 1e-10)


def test_multihead_attention_init_and_keys():
    pm = pyml.nn.MultiheadAttention(16, 4, kdim=8, vdim=8, add_bias_kv=True)
    tm = torch.nn.MultiheadAttention(16, 4, kdim=8, vdim=8, add_bias_kv=True)
    assert list(pm.state_dict()) == list(tm.state_dict())
    assert np.all(pm.in_proj_bias.detach().numpy() == 0) and np.all(pm.out_proj.bias.detach().numpy() == 0)
    bound = math.sqrt(6 / (16 + 16))  # xavier_uniform on (16, 16)
    assert np.abs(pm.q_proj_weight.detach().numpy()).max() <= bound
    pm = pyml.nn.MultiheadAttention(16, 4)
    assert pm.in_proj_weight.shape == (48, 16) and pm.q_proj_weight is None


def test_multihead_attention_bad_init():
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim \(10\) must be divisible by num_heads \(3\)"):
        pyml.nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim and num_heads must be > 0"):
        pyml.nn.MultiheadAttention(0, 1)
