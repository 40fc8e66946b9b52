"""CUDA scaled_dot_product_attention (cuda/attention.cu) against the CPU kernels on the same values:
forward (out and lse) and the backward entry (dq, dk, dv), odd sequence lengths around the 32-row
tiles, head dims 16/64/80/128 and the generic path beyond 128, causal, bool and additive masks
(broadcast), custom scale, broadcast batch dims, non-contiguous operands, every floating dtype;
gradients through autograd; errors."""
import math

import numpy as np
import pytest

import pyml
import pyml.nn.functional as F
from pyml._tensor import wrap
from cuda_compare import check, check_grads

T_SIZES = [1, 7, 97, 130]
HEAD_DIMS = [16, 64, 80, 128]


def rand(shape, dtype="float32", seed=0):
    return pyml.tensor(np.random.default_rng(seed).standard_normal(shape)).to(getattr(pyml, dtype))


def tols(dtype, n):
    base = {"float32": (2e-5, 2e-6), "float64": (1e-10, 1e-12), "float16": (4e-3, 2e-3), "bfloat16": (3e-2, 2e-2)}
    r, a = base[dtype]
    return dict(rtol=r, atol=a * math.sqrt(max(n, 1)))


def forward(q, k, v, mask=None, causal=False, scale=None):
    """(out, lse) of the fused op."""
    s = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1] or 1)
    out, lse = pyml._C.sdpa_forward(q._impl, k._impl, v._impl, None if mask is None else mask._impl, causal, s)
    return wrap(out), wrap(lse)


def backward(dout, q, k, v, mask=None, causal=False, need=(True, True, True)):
    """(dq, dk, dv) of the fused op at (q, k, v), from its own forward on the same device."""
    s = 1.0 / math.sqrt(q.shape[-1] or 1)
    out, lse = forward(q, k, v, mask, causal, s)
    m = None if mask is None else mask._impl
    g = pyml._C.sdpa_backward(dout._impl, q._impl, k._impl, v._impl, m, out._impl, lse._impl, causal, s, *need)
    return tuple(None if t is None else wrap(t) for t in g)


def qkv(B, H, L, S, E, Ev, dtype="float32"):
    return rand((B, H, L, E), dtype), rand((B, H, S, E), dtype, 1), rand((B, H, S, Ev), dtype, 2)


@pytest.mark.parametrize("E", HEAD_DIMS)
@pytest.mark.parametrize("T", T_SIZES)
@pytest.mark.parametrize("causal", [False, True])
def test_forward_backward(T, E, causal):
    q, k, v = qkv(2, 3, T, T, E, E)
    check(lambda q, k, v: forward(q, k, v, causal=causal), q, k, v, **tols("float32", T))
    dout = rand((2, 3, T, E), seed=3)
    check(lambda d, q, k, v: backward(d, q, k, v, causal=causal), dout, q, k, v, **tols("float32", T * E))


@pytest.mark.parametrize("L,S,E,Ev", [(33, 65, 24, 40), (5, 200, 160, 8), (64, 31, 200, 260), (130, 1, 16, 16)])
@pytest.mark.parametrize("causal", [False, True])
def test_shapes(L, S, E, Ev, causal):
    """L != S, E != Ev and head dims past 128 (several column blocks recompute the scores)."""
    q, k, v = qkv(1, 2, L, S, E, Ev)
    check(lambda q, k, v: forward(q, k, v, causal=causal), q, k, v, **tols("float32", S))
    dout = rand((1, 2, L, Ev), seed=3)
    check(lambda d, q, k, v: backward(d, q, k, v, causal=causal), dout, q, k, v, **tols("float32", S * max(E, Ev)))


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
@pytest.mark.parametrize("E", [64, 80])
def test_dtypes(dtype, E):
    q, k, v = qkv(2, 2, 97, 70, E, E, dtype)
    check(lambda q, k, v: forward(q, k, v), q, k, v, **tols(dtype, 97))
    check(lambda q, k, v: forward(q, k, v, causal=True), q, k, v, **tols(dtype, 97))
    dout = rand((2, 2, 97, E), dtype, 3)
    check(lambda d, q, k, v: backward(d, q, k, v), dout, q, k, v, **tols(dtype, 97 * E))


@pytest.mark.parametrize("kind", ["bool", "additive"])
@pytest.mark.parametrize("mshape", [(97, 70), (2, 1, 97, 70), (1, 70), (2, 3, 1, 70), (97, 1)])
def test_masks(kind, mshape):
    q, k, v = qkv(2, 3, 97, 70, 64, 64)
    rng = np.random.default_rng(5)
    if kind == "bool":
        m = pyml.tensor(rng.random(mshape) > 0.3)
    else:
        m = pyml.tensor(np.where(rng.random(mshape) > 0.2, rng.standard_normal(mshape), -np.inf)).float()
    check(lambda q, k, v, m: forward(q, k, v, m), q, k, v, m, **tols("float32", 70))
    dout = rand((2, 3, 97, 64), seed=3)
    check(lambda d, q, k, v, m: backward(d, q, k, v, m), dout, q, k, v, m, **tols("float32", 70 * 64))


def test_fully_masked_rows_give_zero():
    q, k, v = qkv(1, 1, 40, 35, 16, 16)
    m = pyml.ones((40, 35), dtype=pyml.bool)
    m[3] = False
    m[39] = False
    want, got = check(lambda q, k, v, m: forward(q, k, v, m), q, k, v, m)
    assert np.isinf(got[1].numpy()[0, 0, 3]) and (got[0].numpy()[0, 0, 3] == 0).all()
    dout = rand((1, 1, 40, 16), seed=3)
    check(lambda d, q, k, v, m: backward(d, q, k, v, m), dout, q, k, v, m)


def test_scale_and_broadcast_batch():
    q = rand((2, 4, 33, 32))
    k, v = rand((1, 4, 50, 32), seed=1), rand((2, 1, 50, 48), seed=2)  # batch dims broadcast
    check(lambda q, k, v: forward(q, k, v, scale=0.3), q, k, v, **tols("float32", 50))
    dout = rand((2, 4, 33, 48), seed=3)
    check(lambda d, q, k, v: backward(d, q, k, v), dout, q, k, v, **tols("float32", 50 * 48))
    check(lambda q, k, v: forward(q, k, v), rand((33, 32)), k, v[0], **tols("float32", 50))  # 2-D query


def test_noncontiguous():
    """(B, T, H, E) buffers viewed as (B, H, T, E), a transposed key, a strided value."""
    q = rand((2, 97, 3, 64)).transpose(1, 2)
    k = rand((2, 3, 64, 70), seed=1).transpose(2, 3)
    v = rand((2, 3, 70, 128), seed=2)[..., ::2]
    check(lambda q, k, v: forward(q, k, v), q, k, v, **tols("float32", 70))
    dout = rand((2, 97, 3, 64), seed=3).transpose(1, 2)
    check(lambda d, q, k, v: backward(d, q, k, v), dout, q, k, v, **tols("float32", 70 * 64))


@pytest.mark.parametrize("need", [(True, False, False), (False, True, False), (False, False, True)])
def test_partial_grads(need):
    q, k, v = qkv(1, 2, 45, 45, 32, 32)
    dout = rand((1, 2, 45, 32), seed=3)
    check(lambda d, q, k, v: backward(d, q, k, v, causal=True, need=need), dout, q, k, v, **tols("float32", 45 * 32))


def test_empty():
    check(lambda q, k, v: forward(q, k, v), *qkv(1, 2, 0, 5, 8, 8))
    check(lambda q, k, v: forward(q, k, v), *qkv(1, 2, 5, 0, 8, 8))  # no keys: zeros, lse +inf
    dout = rand((1, 2, 5, 8))
    check(lambda d, q, k, v: backward(d, q, k, v), dout, *qkv(1, 2, 5, 0, 8, 8))


@pytest.mark.parametrize("causal", [False, True])
def test_grads(causal):
    leaves = lambda: [t.requires_grad_() for t in qkv(2, 2, 37, 37, 64, 64)]  # fresh: grads accumulate
    check_grads(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal), *leaves(),
                **tols("float32", 37 * 64))
    m = pyml.tensor(np.random.default_rng(5).random((37, 37)) > 0.3)
    check_grads(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), *leaves(), m,
                **tols("float32", 37 * 64))


def test_errors_match_cpu():
    q, k, v = qkv(1, 1, 4, 4, 8, 8)
    with pytest.raises(RuntimeError, match="scaled_dot_product_attention: expected all tensors to be on the same "
                                           "device, got cuda:0 and cpu"):
        F.scaled_dot_product_attention(q.cuda(), k, v.cuda())
    with pytest.raises(RuntimeError, match="same device"):
        F.scaled_dot_product_attention(q.cuda(), k.cuda(), v.cuda(), attn_mask=pyml.ones((4, 4), dtype=pyml.bool))
    with pytest.raises(RuntimeError, match="same device"):
        backward(rand((1, 1, 4, 8)), q.cuda(), k.cuda(), v.cuda())
    for dev in ("cpu", "cuda"):
        with pytest.raises(ValueError, match="same embedding size"):
            F.scaled_dot_product_attention(q.to(dev), rand((1, 1, 4, 7)).to(dev), v.to(dev))
        with pytest.raises(TypeError, match="attn_mask must be bool"):
            F.scaled_dot_product_attention(q.to(dev), k.to(dev), v.to(dev), attn_mask=pyml.ones((4, 4)).int().to(dev))
