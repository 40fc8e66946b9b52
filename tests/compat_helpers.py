"""Helpers for the tests of pyml/_ops/compat_*.py: build the same data in pyml and torch (NumPy in between),
non-contiguous layouts, and comparisons of values and gradients against torch."""
import numpy as np
import torch

import pyml

SIZES = (1, 7, 97, 1023)
EDGE = [float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 1.0, -1.0]


def pair(a, dtype="float64", requires_grad=False, layout="contiguous"):
    """(pyml tensor, torch tensor) holding the NumPy array a in dtype, optionally non-contiguous."""
    a = np.asarray(a)
    p = pyml.tensor(a).to(getattr(pyml, dtype))
    t = torch.from_numpy(np.array(a)).to(getattr(torch, dtype))
    if layout == "transposed" and a.ndim >= 2:
        p, t = p.mT.contiguous().mT, t.mT.contiguous().mT
    elif layout == "strided" and a.ndim >= 1:
        p = pyml.stack([p, p], dim=-1)[..., 0]
        t = torch.stack([t, t], dim=-1)[..., 0]
    if requires_grad:
        p.requires_grad_(True)
        t.requires_grad_(True)
    return p, t


def to_np(x):
    if isinstance(x, torch.Tensor):
        x = x.detach()
        return (x.double() if x.dtype in (torch.bfloat16, torch.float16) else x).numpy(force=True)
    if x.dtype in (pyml.bfloat16, pyml.float16):
        x = x.double()
    return x.detach().numpy()


def check(p, t, rtol=1e-12, atol=1e-12, dtype=True):
    """p (pyml) matches t (torch): shape, dtype name and values (NaN where NaN)."""
    assert tuple(p.shape) == tuple(t.shape), (tuple(p.shape), tuple(t.shape))
    if dtype:
        assert str(p.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (p.dtype, t.dtype)
    np.testing.assert_allclose(to_np(p).astype(np.float64), to_np(t).astype(np.float64), rtol=rtol, atol=atol,
                               equal_nan=True)


def check_grads(ps, ts, rtol=1e-10, atol=1e-12):
    for p, t in zip(ps, ts):
        if t.grad is None:
            assert p.grad is None or not np.any(to_np(p.grad)), "torch has no gradient here"
            continue
        assert p.grad is not None, "pyml gave no gradient"
        check(p.grad, t.grad, rtol, atol)


def backward_both(p_out, t_out, seed=0):
    """Backward a random cotangent through both outputs."""
    g = np.random.default_rng(seed).standard_normal(tuple(t_out.shape))
    p_out.backward(pyml.tensor(g).to(p_out.dtype))
    t_out.backward(torch.from_numpy(g).to(t_out.dtype))


def tol(dtype):
    return {"float64": (1e-12, 1e-12), "float32": (2e-6, 1e-6), "float16": (2e-3, 1e-3),
            "bfloat16": (2e-2, 1e-2)}.get(dtype, (0, 0))
