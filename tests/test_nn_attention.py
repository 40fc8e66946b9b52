"""pyml.nn.attention (SDPBackend, sdpa_kernel), the backend flags it sets in pyml.backends.cuda, how
F.scaled_dot_product_attention honours them (which path runs, torch's errors), can_use_*_attention, and
nn.attention.bias's causal biases, against torch 2.13."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch.nn.attention import SDPBackend as TB, sdpa_kernel as t_sdpa_kernel
from torch.nn.attention.bias import causal_lower_right as t_lower_right, causal_upper_left as t_upper_left

import pyml
import pyml.nn.functional as F
from pyml.backends import cuda as pcuda
from pyml.nn.attention import SDPBackend as B, sdpa_kernel
from pyml.nn.attention.bias import CausalBias, CausalVariant, causal_lower_right, causal_upper_left
from pyml.nn._functional import attention as attn_mod

FLAGS = (pcuda.flash_sdp_enabled, pcuda.mem_efficient_sdp_enabled, pcuda.math_sdp_enabled, pcuda.cudnn_sdp_enabled)


def _flags():
    return tuple(f() for f in FLAGS)


def _pair(rng, *shape):
    a = rng.standard_normal(shape)
    return pyml.tensor(a), torch.tensor(a)


def test_sdpbackend_matches_torch():
    assert [(m.name, int(m)) for m in B] == [(n, int(v)) for n, v in TB.__members__.items()]
    assert B.MATH == 0 and repr(B.FLASH_ATTENTION) == repr(TB.FLASH_ATTENTION)
    assert pcuda.SDPBackend is B and pyml.nn.attention.SDPAParams is pcuda.SDPAParams


@pytest.mark.parametrize("backends", [B.MATH, [B.FLASH_ATTENTION], [B.EFFICIENT_ATTENTION, B.MATH],
                                      [B.CUDNN_ATTENTION], [], [B.MATH, B.MATH]])
def test_sdpa_kernel_sets_and_restores_the_flags_like_torch(backends):
    tb = [getattr(TB, b.name) for b in backends] if isinstance(backends, list) else getattr(TB, backends.name)
    before = _flags()
    with sdpa_kernel(backends), t_sdpa_kernel(tb):
        assert _flags() == (torch.backends.cuda.flash_sdp_enabled(), torch.backends.cuda.mem_efficient_sdp_enabled(),
                            torch.backends.cuda.math_sdp_enabled(), torch.backends.cuda.cudnn_sdp_enabled())
    assert _flags() == before == (True, True, True, True)


def test_sdpa_kernel_restores_on_error_nested_and_as_decorator():
    with pytest.raises(KeyError):
        with sdpa_kernel(B.MATH):
            raise KeyError("x")
    assert _flags() == (True, True, True, True)
    with sdpa_kernel([B.MATH, B.FLASH_ATTENTION]):
        with sdpa_kernel(B.FLASH_ATTENTION):
            assert _flags() == (True, False, False, False)
        assert _flags() == (True, False, True, False)

    @sdpa_kernel(B.MATH)
    def inside():
        return _flags()
    assert inside() == (False, False, True, False) and _flags() == (True, True, True, True)


def test_set_priority_orders_and_restores():
    default = list(pcuda._sdp_priority)
    with sdpa_kernel([B.MATH, B.FLASH_ATTENTION], set_priority=True):
        assert pcuda._sdp_priority[:2] == [B.MATH, B.FLASH_ATTENTION] and len(pcuda._sdp_priority) == 5
        q = pyml.randn(1, 2, 3, 4)
        assert attn_mod._choose_backend(q, q, q, None, 0.0, False, False) == "math"
    assert pcuda._sdp_priority == default
    q = pyml.randn(1, 2, 3, 4)
    assert attn_mod._choose_backend(q, q, q, None, 0.0, False, False) == "fused"


def test_sdpa_kernel_rejects_non_backend():
    with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend"):
        with sdpa_kernel("math"):
            pass


def test_deprecated_sdp_kernel_sets_flags():
    with pytest.warns(FutureWarning, match="sdp_kernel\\(\\)` is deprecated"):
        with pcuda.sdp_kernel(enable_flash=False, enable_mem_efficient=False):
            assert _flags() == (False, False, True, True)
    assert _flags() == (True, True, True, True)


# ------------------------------------------------------------------------------ which path runs
def _spy(monkeypatch):
    calls = []
    orig = attn_mod._sdpa_math
    monkeypatch.setattr(attn_mod, "_sdpa_math", lambda *a: calls.append("math") or orig(*a))
    return calls


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"mask": "bool"}, {"mask": "float"}, {"gqa": True}])
def test_math_only_runs_the_composite_and_matches_torch(rng, monkeypatch, kw):
    Hk = 1 if kw.get("gqa") else 2
    (pq, tq), (pk, tk), (pv, tv) = _pair(rng, 2, 2, 7, 5), _pair(rng, 2, Hk, 9, 5), _pair(rng, 2, Hk, 9, 3)
    for t in (pq, tq, pk, tk, pv, tv):
        t.requires_grad_(True)
    pm = tm = None
    if kw.get("mask") == "bool":
        m = rng.random((7, 9)) > 0.3
        pm, tm = pyml.tensor(m), torch.tensor(m)
    elif kw.get("mask") == "float":
        pm, tm = _pair(rng, 7, 9)
    args = dict(attn_mask=tm, is_causal=kw.get("is_causal", False), enable_gqa=kw.get("gqa", False))
    calls = _spy(monkeypatch)
    with sdpa_kernel(B.MATH):
        po = F.scaled_dot_product_attention(pq, pk, pv, **{**args, "attn_mask": pm})
    with t_sdpa_kernel(TB.MATH):
        to = TF.scaled_dot_product_attention(tq, tk, tv, **args)
    assert calls == ["math"]
    np.testing.assert_allclose(po.detach().numpy(), to.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(tuple(to.shape))
    po.backward(pyml.tensor(g))
    to.backward(torch.tensor(g))
    for p, t in ((pq, tq), (pk, tk), (pv, tv)):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), atol=1e-12)


def test_math_only_dropout_runs(rng, monkeypatch):
    q = pyml.randn(2, 3, 8, 4)
    calls = _spy(monkeypatch)
    with sdpa_kernel(B.MATH):
        out = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert calls == ["math"] and out.shape == (2, 3, 8, 4)


def test_flash_only_runs_fused_and_default_picks_fused(rng, monkeypatch):
    q = pyml.randn(2, 3, 8, 4)
    calls = _spy(monkeypatch)
    with sdpa_kernel(B.FLASH_ATTENTION):
        F.scaled_dot_product_attention(q, q, q, is_causal=True)
    F.scaled_dot_product_attention(q, q, q)
    assert calls == []
    F.scaled_dot_product_attention(q, q, q, dropout_p=0.1)  # default flags: dropout falls back to math
    assert calls == ["math"]


@pytest.mark.parametrize("backends,kw,match", [
    ([B.FLASH_ATTENTION], {"dropout_p": 0.5}, "No available kernel.*no dropout, got dropout_p=0.5"),
    ([B.FLASH_ATTENTION], {"grad_mask": True}, "No available kernel.*attn_mask that requires grad"),
    ([B.EFFICIENT_ATTENTION], {}, "No viable backend.*have no cpu kernel"),
    ([B.CUDNN_ATTENTION, B.OVERRIDEABLE], {}, "No viable backend"),
    ([], {}, "No viable backend"),
])
def test_no_usable_backend_raises_like_torch(backends, kw, match):
    q = pyml.randn(1, 2, 4, 4)
    mask = pyml.randn(4, 4).requires_grad_(True) if kw.pop("grad_mask", False) else None
    with sdpa_kernel(backends):
        with pytest.raises(RuntimeError, match=match):
            F.scaled_dot_product_attention(q, q, q, attn_mask=mask, **kw)
    tq = torch.randn(1, 2, 4, 4)
    with t_sdpa_kernel([getattr(TB, b.name) for b in backends]):  # torch raises for the same choices on the CPU
        if mask is None:
            with pytest.raises(RuntimeError, match="No available kernel|No viable backend"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                TF.scaled_dot_product_attention(tq, tq, tq, **kw)


def test_input_errors_come_before_backend_errors():
    with sdpa_kernel([]):
        with pytest.raises(ValueError, match="same embedding size"):
            F.scaled_dot_product_attention(pyml.randn(2, 4), pyml.randn(2, 5), pyml.randn(2, 5))


# ------------------------------------------------------------------------------ can_use_*
def test_can_use_answers_for_pyml_kernels():
    q = pyml.randn(1, 2, 4, 8)
    P = pcuda.SDPAParams
    assert pcuda.can_use_flash_attention(P(q, q, q, None, 0.0, False, False))
    assert not pcuda.can_use_flash_attention(P(q, q, q, None, 0.1, False, False))
    assert not pcuda.can_use_efficient_attention(P(q, q, q, None, 0.0, False, False))  # CUDA only
    assert not pcuda.can_use_cudnn_attention(P(q, q, q, None, 0.0, False, False))
    m = pyml.randn(4, 4).requires_grad_(True)
    assert not pcuda.can_use_flash_attention(P(q, q, q, m, 0.0, False, False))
    with pyml.no_grad():
        assert pcuda.can_use_flash_attention(P(q, q, q, m, 0.0, False, False))
    with pytest.warns(UserWarning, match="Flash attention can't be used: the fused kernels have no dropout"):
        pcuda.can_use_flash_attention(P(q, q, q, None, 0.2, False, False), debug=True)
    with pytest.warns(UserWarning, match="cuDNN attention can't be used"):
        pcuda.can_use_cudnn_attention(P(q, q, q, None, 0.0, False, False), True)
    p = P(q, q, q, None, 0, True, True)
    assert p.query is q and p.attn_mask is None and p.dropout == 0.0 and p.is_causal and p.enable_gqa
    assert pcuda.is_flash_attention_available()


def test_tensor_core_reasons_follow_the_cuda_kernel_rules():
    P = pcuda.SDPAParams
    half = pyml.randn(1, 2, 4, 64).to(pyml.float16)
    assert pcuda._tensor_core_reasons(P(half, half, half, None, 0.0, False)) == []
    odd = pyml.randn(1, 2, 4, 40).to(pyml.float16)
    assert any("head dims" in r for r in pcuda._tensor_core_reasons(P(odd, odd, odd, None, 0.0, False)))
    f32 = pyml.randn(1, 2, 4, 64)
    assert any("float16 or bfloat16" in r for r in pcuda._tensor_core_reasons(P(f32, f32, f32, None, 0.0, False)))


@pytest.mark.cuda
def test_cuda_backends_choose_kernels():
    q = pyml.randn(1, 2, 16, 32, device="cuda")
    with sdpa_kernel(B.EFFICIENT_ATTENTION):
        ref = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    with sdpa_kernel(B.MATH):
        out = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    np.testing.assert_allclose(out.cpu().numpy(), ref.cpu().numpy(), atol=1e-5)
    with sdpa_kernel(B.FLASH_ATTENTION):  # float32: the tensor-core kernels cannot run it
        with pytest.raises(RuntimeError, match="No available kernel.*float16 or bfloat16"):
            F.scaled_dot_product_attention(q, q, q)


# ------------------------------------------------------------------------------ causal biases
@pytest.mark.parametrize("L,S", [(5, 5), (3, 7), (7, 7)])
@pytest.mark.parametrize("variant", ["upper_left", "lower_right"])
def test_causal_bias_matches_torch(rng, L, S, variant):
    (pq, tq), (pk, tk), (pv, tv) = _pair(rng, 2, 2, L, 4), _pair(rng, 2, 2, S, 4), _pair(rng, 2, 2, S, 3)
    pmake, tmake = (causal_upper_left, t_upper_left) if variant == "upper_left" else (causal_lower_right,
                                                                                      t_lower_right)
    pb, tb = pmake(L, S), tmake(L, S)
    assert pb._materialize().numpy().tolist() == tb._materialize().numpy().tolist()
    po = F.scaled_dot_product_attention(pq, pk, pv, attn_mask=pb)
    to = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tb)
    np.testing.assert_allclose(po.numpy(), to.numpy(), atol=1e-12)


def test_causal_bias_errors_and_warning():
    q = pyml.randn(1, 1, 3, 4)
    with pytest.raises(ValueError, match="CausalBias should not be used with causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=causal_upper_left(3, 3), is_causal=True)
    with pytest.raises(AssertionError, match="only supports 2D tensors"):
        causal_lower_right(3)
    with pytest.raises(AssertionError, match="variant must be a CausalVariant"):
        CausalBias(1, 3, 3)
    with pytest.warns(UserWarning, match="Lower right causal bias will produce NaNs"):
        b = causal_lower_right(5, 3)
    assert b.variant == CausalVariant.LOWER_RIGHT and b.shape == (5, 3)
