"""pyml.amp.custom_fwd / custom_bwd with pyml.autocast and autograd.Function, against torch's CPU autocast."""
import numpy as np
import pytest
import torch

import pyml
from pyml.amp import custom_bwd, custom_fwd


def _functions(lib, fwd, bwd, cast_inputs=None):
    """A matmul Function for `lib` (pyml or torch) that records the dtypes and autocast state it ran with."""
    seen = {}

    class MM(lib.autograd.Function):
        @staticmethod
        @fwd(device_type="cpu", cast_inputs=cast_inputs)
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            seen["fwd"] = (str(a.dtype), str(b.dtype), lib.is_autocast_enabled("cpu"), str((a @ b).dtype))
            return a @ b

        @staticmethod
        @bwd(device_type="cpu")
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            ga = g @ b.transpose(0, 1)
            seen["bwd"] = (lib.is_autocast_enabled("cpu"), str(ga.dtype))
            return ga, a.transpose(0, 1) @ g
    return MM, seen


def _run(lib, fwd, bwd, cast_inputs, autocast_on, a, b):
    MM, seen = _functions(lib, fwd, bwd, cast_inputs)
    ta = lib.tensor(a, requires_grad=True)
    tb = lib.tensor(b, requires_grad=True)
    with lib.autocast("cpu", enabled=autocast_on):
        y = MM.apply(ta, tb)
    y.float().sum().backward()
    return seen, str(y.dtype), ta.grad, tb.grad


def _short(state):
    return tuple(s.replace("torch.", "").replace("pyml.", "") if isinstance(s, str) else s for s in state)


@pytest.mark.parametrize("cast_inputs", [None, "float32", "bfloat16"])
@pytest.mark.parametrize("autocast_on", [True, False])
def test_custom_fwd_bwd_match_torch(cast_inputs, autocast_on):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    tc = None if cast_inputs is None else getattr(torch, cast_inputs)
    pc = None if cast_inputs is None else getattr(pyml, cast_inputs)
    st, ty, tga, tgb = _run(torch, torch.amp.custom_fwd, torch.amp.custom_bwd, tc, autocast_on, a, b)
    sp, py, pga, pgb = _run(pyml, custom_fwd, custom_bwd, pc, autocast_on, a, b)
    assert _short(sp["fwd"]) == _short(st["fwd"])
    assert _short(sp["bwd"]) == _short(st["bwd"])
    assert py.replace("pyml.", "") == ty.replace("torch.", "")
    assert str(pga.dtype).replace("pyml.", "") == str(tga.dtype).replace("torch.", "")
    tol = 3e-2 if autocast_on and cast_inputs != "float32" else 1e-5
    np.testing.assert_allclose(pga.float().numpy(), tga.float().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(pgb.float().numpy(), tgb.float().numpy(), rtol=tol, atol=tol)


def test_cast_inputs_leaves_float64_and_integers_alone():
    seen = {}

    class F(pyml.autograd.Function):
        @staticmethod
        @custom_fwd(device_type="cpu", cast_inputs=pyml.bfloat16)
        def forward(ctx, x, y, idx, nested):
            seen["dtypes"] = (x.dtype, y.dtype, idx.dtype, nested["w"].dtype)
            return x * 1

        @staticmethod
        @custom_bwd(device_type="cpu")
        def backward(ctx, g):
            return g, None, None, None
    with pyml.autocast("cpu"):
        F.apply(pyml.ones(2), pyml.ones(2, dtype=pyml.float64), pyml.tensor([1, 2]), {"w": pyml.ones(1)})
    assert seen["dtypes"] == (pyml.bfloat16, pyml.float64, pyml.int64, pyml.bfloat16)


def test_bare_decorator_forms_and_bad_device_type():
    @custom_fwd(device_type="cpu")
    def fwd(ctx, x):
        return x
    assert fwd.__name__ == "fwd"
    with pytest.raises(ValueError, match="expected `device_type` of type `str`, got: `<class 'int'>`"):
        custom_fwd(device_type=0)
    with pytest.raises(ValueError):
        torch.amp.custom_fwd(device_type=0)
    with pytest.raises(ValueError, match="device_type"):
        custom_bwd(device_type=None)
    with pytest.raises(TypeError):
        custom_fwd(lambda ctx: None)  # device_type is keyword-only and required, as in torch
