"""Tensor-core flash attention (cuda/attention_tc.cu: float16/bfloat16 at head dims 64 and 128) forward
and backward. The reference is the CPU kernel in float64 on the same (16-bit) values; the error of the
CUDA result against it must be no worse than about twice the error of a naive attention computed in
the same precision (products rounded to the dtype, as a 16-bit framework would): tails in T around
the 64-row tiles, causal (L == S, L > S, L < S), bool and additive masks, fully masked rows, strided
and broadcast operands, custom scale, a head dim that falls back to the SIMT kernels."""
import math

import numpy as np
import pytest

import pyml
from pyml._tensor import wrap
from cuda_compare import to_cuda

DTYPES = ["float16", "bfloat16"]


def rand(shape, dtype, seed):
    return pyml.tensor(np.random.default_rng(seed).standard_normal(shape)).to(getattr(pyml, dtype))


def f64(t):
    return t.detach().cpu().double().numpy()


def rounder(dtype):
    return lambda x: pyml.tensor(np.ascontiguousarray(x)).to(getattr(pyml, dtype)).double().numpy()


def run(q, k, v, mask, causal, scale, dout=None):
    """(out, lse, dq, dk, dv) of the fused op on q's device; grads None without dout."""
    m = None if mask is None else mask._impl
    out, lse = pyml._C.sdpa_forward(q._impl, k._impl, v._impl, m, causal, scale)
    if dout is None:
        return wrap(out), wrap(lse), None, None, None
    g = pyml._C.sdpa_backward(dout._impl, q._impl, k._impl, v._impl, m, out, lse, causal, scale, True, True, True)
    return (wrap(out), wrap(lse)) + tuple(wrap(t) for t in g)


def naive(q, k, v, dout, mask, causal, scale, r):
    """Attention and its gradients in numpy with every product rounded by r (identity: exact)."""
    L, S = q.shape[-2], k.shape[-2]
    s = r(q @ k.swapaxes(-1, -2)) * scale
    if causal:
        s = np.where(np.arange(S)[None, :] > np.arange(L)[:, None], -np.inf, s)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    mx = np.max(s, -1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(mx), mx, 0))
    den = e.sum(-1, keepdims=True)
    p = r(np.divide(e, den, out=np.zeros_like(e), where=den > 0))
    out = r(p @ v)
    dv = r(p.swapaxes(-1, -2) @ dout)
    dp = r(dout @ v.swapaxes(-1, -2))
    ds = r(p * (dp - (dout * out).sum(-1, keepdims=True)))
    return out, r(ds @ k) * scale, r(ds.swapaxes(-1, -2) @ q) * scale, dv


def rel(a, ref):
    return np.linalg.norm(a - ref) / max(np.linalg.norm(ref), 1e-30)


def compare(q, k, v, dtype, mask=None, causal=False, scale=None, seed=3):
    """CUDA vs the float64 CPU kernel (and the same-precision naive attention) on the same values."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    Ev = v.shape[-1]
    dout = rand(q.shape[:-1] + (Ev,), dtype, seed)
    dm = lambda t: None if t is None else to_cuda(t)  # strided operands keep their strides
    got = run(dm(q), dm(k), dm(v), dm(mask), causal, scale, dm(dout))
    cpu64 = lambda t: None if t is None else (t if t.dtype == pyml.bool else t.double())
    want = run(cpu64(q), cpu64(k), cpu64(v), cpu64(mask), causal, scale, cpu64(dout))
    mnp = None if mask is None else (mask.numpy() if mask.dtype == pyml.bool else f64(mask))
    low = naive(f64(q), f64(k), f64(v), f64(dout), mnp, causal, scale, rounder(dtype))
    for name, g, w, n in zip(["out", "dq", "dk", "dv"], [got[0]] + list(got[2:]), [want[0]] + list(want[2:]), low):
        assert g.dtype == q.dtype and g.shape == w.shape, name
        g, w = f64(g), f64(w)
        assert np.isfinite(g).all(), name
        assert rel(g, w) <= 2 * rel(n, w) + 1e-4, f"{name}: {rel(g, w):.2e} vs naive {rel(n, w):.2e}"
    lg, lw = f64(got[1]), f64(want[1])
    np.testing.assert_array_equal(np.isinf(lg), np.isinf(lw))
    fin = np.isfinite(lw)
    np.testing.assert_allclose(lg[fin], lw[fin], rtol=1e-4, atol=1e-4)
    return got


def qkv(shape_q, S, dtype, Ev=None):
    *b, L, E = shape_q
    return rand(shape_q, dtype, 0), rand((*b, S, E), dtype, 1), rand((*b, S, Ev or E), dtype, 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("E", [64, 128])
@pytest.mark.parametrize("T", [1, 7, 64, 97, 130, 257])
@pytest.mark.parametrize("causal", [False, True])
def test_sizes(T, E, dtype, causal):
    compare(*qkv((1, 2, T, E), T, dtype), dtype, causal=causal)


@pytest.mark.parametrize("L,S", [(97, 130), (130, 7), (200, 65)])
@pytest.mark.parametrize("causal", [False, True])
def test_rectangular(L, S, causal):
    """L != S; causal is top-left aligned (query i sees keys j <= i), as in torch."""
    compare(*qkv((2, 1, L, 64), S, "float16"), "float16", causal=causal)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["bool", "additive"])
def test_masks(kind, dtype):
    rng = np.random.default_rng(5)
    q, k, v = qkv((2, 2, 97, 128), 130, dtype)
    if kind == "bool":
        m = pyml.tensor(rng.random((97, 130)) > 0.3)  # broadcast over the batch
    else:
        a = np.where(rng.random((2, 1, 97, 130)) > 0.2, rng.standard_normal((2, 1, 97, 130)), -np.inf)
        m = pyml.tensor(a).float()
    compare(q, k, v, dtype, mask=m)


def test_fully_masked_rows():
    q, k, v = qkv((1, 1, 70, 64), 90, "bfloat16")
    m = np.ones((70, 90), dtype=bool)
    m[[0, 33, 69]] = False
    got = compare(q, k, v, "bfloat16", mask=pyml.tensor(m))
    assert np.isinf(f64(got[1])[0, 0, [0, 33, 69]]).all() and (f64(got[0])[0, 0, [0, 33, 69]] == 0).all()


def test_strided_broadcast_and_scale():
    """(B, T, H, E) buffers viewed as (B, H, T, E) (row stride H E), a key shared across the batch."""
    q = rand((2, 97, 3, 64), "float16", 0).transpose(1, 2)
    k = rand((1, 3, 80, 64), "float16", 1)
    v = rand((2, 80, 3, 64), "float16", 2).transpose(1, 2)
    compare(q, k, v, "float16", scale=0.3)
    compare(q, k, v, "float16", causal=True)


@pytest.mark.parametrize("case", ["head_dim_80", "E_ne_Ev", "strided_cols", "float32"])
def test_fallbacks(case):
    """Shapes the tensor-core kernels do not take still match (the SIMT kernels run)."""
    if case == "head_dim_80":
        compare(*qkv((1, 2, 97, 80), 97, "float16"), "float16", causal=True)
    elif case == "E_ne_Ev":
        compare(*qkv((1, 2, 97, 64), 70, "bfloat16", Ev=128), "bfloat16")
    elif case == "strided_cols":
        q, k, v = qkv((1, 2, 40, 64), 40, "float16")
        compare(q, k, rand((1, 2, 40, 128), "float16", 2)[..., ::2], "float16")
    else:
        q, k, v = (t.float() for t in qkv((1, 2, 40, 64), 40, "float16"))
        got = run(q.cuda(), k.cuda(), v.cuda(), None, True, 0.125)
        want = run(q, k, v, None, True, 0.125)
        np.testing.assert_allclose(f64(got[0]), f64(want[0]), rtol=2e-5, atol=2e-6)


def test_autograd_path():
    """F.scaled_dot_product_attention on CUDA half tensors reaches the kernels through autograd."""
    import pyml.nn.functional as F
    q, k, v = (t.cuda().requires_grad_() for t in qkv((1, 2, 65, 64), 65, "float16"))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    out.float().sum().backward()
    for t in (q, k, v):
        assert t.grad is not None and t.grad.shape == t.shape and np.isfinite(f64(t.grad)).all()
