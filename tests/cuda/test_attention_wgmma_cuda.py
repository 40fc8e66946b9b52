"""Hopper flash-attention forward (cuda/attention_wgmma.cu: TMA + wgmma, float16/bfloat16 at head dims
64 and 128, no mask), which sdpa_forward_cuda tries first on compute capability 9.x (elsewhere the same
cases run attention_tc, so these tests hold on any GPU). The reference is the CPU kernel in float64 on
the same 16-bit values; the error must be no worse than about twice that of a naive attention in the
same precision. Tails around the 128-row query and key tiles, causal (also L != S), batch x heads > 1,
the logsumexp rows the backward reads, and the existing backward fed by this forward."""
import math

import numpy as np
import pytest

import pyml
from cuda_compare import to_cuda
from test_attention_tc_cuda import compare, f64, naive, qkv, rand, rel, rounder, run

DTYPES = ["float16", "bfloat16"]


def forward_only(q, k, v, dtype, causal=False, scale=None):
    """out and lse of the CUDA forward vs the float64 CPU kernel on the same values."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    got = run(to_cuda(q), to_cuda(k), to_cuda(v), None, causal, scale)
    want = run(q.double(), k.double(), v.double(), None, causal, scale)
    dout = np.zeros(q.shape[:-1] + (v.shape[-1],))
    low = naive(f64(q), f64(k), f64(v), dout, None, causal, scale, rounder(dtype))[0]
    g, w = f64(got[0]), f64(want[0])
    assert got[0].dtype == q.dtype and g.shape == w.shape
    assert np.isfinite(g).all()
    assert rel(g, w) <= 2 * rel(low, w) + 1e-4, f"out: {rel(g, w):.2e} vs naive {rel(low, w):.2e}"
    lg, lw = f64(got[1]), f64(want[1])
    assert lg.shape == lw.shape and np.isfinite(lg).all()
    np.testing.assert_allclose(lg, lw, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("E", [64, 128])
@pytest.mark.parametrize("T", [1, 7, 64, 97, 128, 255, 257])
@pytest.mark.parametrize("causal", [False, True])
def test_forward_sizes(T, E, dtype, causal):
    forward_only(*qkv((2, 2, T, E), T, dtype), dtype, causal=causal)


@pytest.mark.parametrize("L,S", [(97, 130), (130, 7), (200, 257), (257, 65)])
@pytest.mark.parametrize("causal", [False, True])
def test_forward_rectangular(L, S, causal):
    """L != S; causal is top-left aligned (query i sees keys j <= i): whole key tiles skipped or masked."""
    forward_only(*qkv((1, 3, L, 128), S, "bfloat16"), "bfloat16", causal=causal)


@pytest.mark.parametrize("E,causal", [(64, False), (128, True)])
def test_forward_ring_wraps(E, causal):
    """8 key tiles: the 3-stage (D 64) / 2-stage (D 128) ring goes round several times (barrier parities)."""
    forward_only(*qkv((1, 1, 1000, E), 1000, "float16"), "float16", causal=causal)


def test_forward_views_and_broadcast():
    """Rows of a longer buffer (values past T must not leak in: TMA bounds the box by T), a key and
    value shared by every head (batch stride 0), a custom scale."""
    q = rand((2, 3, 300, 64), "float16", 0)[:, :, :257]
    k = rand((1, 1, 200, 64), "float16", 1).expand(2, 3, 200, 64)
    v = rand((2, 3, 200, 64), "float16", 2)
    forward_only(q, k, v, "float16", scale=0.3)
    forward_only(q, k, v, "float16", causal=True)


def test_forward_large_scores():
    """Scores far from 0 (a large scale): the running max moves by a lot between key tiles."""
    q, k, v = qkv((1, 2, 255, 64), 255, "bfloat16")
    forward_only(q, k, v, "bfloat16", scale=4.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("E", [64, 128])
@pytest.mark.parametrize("T,causal", [(97, True), (130, False)])
def test_backward_through_new_forward(T, E, dtype, causal):
    """out, lse, dq, dk, dv: the existing backward reads this forward's out and lse."""
    compare(*qkv((1, 2, T, E), T, dtype), dtype, causal=causal)


def test_autograd_path():
    """F.scaled_dot_product_attention on CUDA bf16 tensors: forward (this kernel) and backward."""
    import pyml.nn.functional as F
    q, k, v = (t.cuda().requires_grad_() for t in qkv((2, 2, 129, 128), 129, "bfloat16"))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    out.float().sum().backward()
    for t in (q, k, v):
        assert t.grad is not None and t.grad.shape == t.shape and np.isfinite(f64(t.grad)).all()
