"""pyml/_ops/compat_inplace.py against torch: the in-place method aliases (absolute_, arccos_, greater_, ...), the
in-place forms of clamp_min/clamp_max/cumsum/cumprod, the top-level in-place functions and pyml.fill."""
import numpy as np
import pytest
import torch

import pyml
from pyml._ops.compat_inplace import _METHOD_ALIASES, _TOPLEVEL
from compat_helpers import pair, check, check_grads, backward_both

UNARY = ["absolute_", "arccos_", "arcsin_", "arctan_", "negative_", "fix_"]
BINARY = ["arctan2_", "greater_", "greater_equal_", "less_", "less_equal_", "not_equal_", "multiply_", "subtract_"]


def _fresh(n, dtype="float64", seed=0, layout="contiguous"):
    x = np.random.default_rng(seed + n).uniform(-0.9, 0.9, (n, 3))
    return pair(x, dtype, layout=layout)


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("n", [1, 7, 97])
def test_unary_method_aliases(name, n):
    for layout in ("contiguous", "transposed"):
        p, t = _fresh(n, layout=layout)
        v = p._version
        assert getattr(p, name)() is p and p._version > v
        getattr(t, name)()
        check(p, t)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_binary_method_aliases(name, dtype):
    if name == "arctan2_" and dtype == "int64":
        return check(*_fresh(3))  # (atan2 of ints is floating: no in-place form for int tensors, as in torch)
    p, t = _fresh(7, dtype, layout="transposed")
    po, to = _fresh(1, dtype, seed=5)  # (1, 3) broadcasts over (7, 3)
    assert getattr(p, name)(po) is p
    getattr(t, name)(to)
    check(p, t, 1e-6, 1e-6)
    if name != "arctan2_":  # (torch's arctan2_ takes only a tensor)
        p, t = _fresh(7, dtype)
        getattr(p, name)(0)
        getattr(t, name)(0)
        check(p, t, 1e-6, 1e-6)


def test_aliases_record_autograd_and_refuse_leaves():
    for name in UNARY + ["subtract_", "multiply_", "arctan2_"]:
        p, t = _fresh(7, seed=1)
        p.requires_grad_()
        t.requires_grad_()
        args = (p.detach() * 0.5 + 0.2,) if name in ("subtract_", "multiply_", "arctan2_") else ()
        targs = (t.detach() * 0.5 + 0.2,) if args else ()
        yp, yt = p * 1.5, t * 1.5
        backward_both(getattr(yp, name)(*args), getattr(yt, name)(*targs))
        if name != "fix_":
            check_grads([p], [t])
        with pytest.raises(RuntimeError, match="leaf"):
            getattr(p, name)(*args)


def test_every_alias_and_toplevel_name_is_torchs():
    for name, target in _METHOD_ALIASES.items():
        assert hasattr(torch.Tensor, name) and hasattr(torch.Tensor, target)
        assert hasattr(pyml.Tensor, name)
    for name in _TOPLEVEL:
        assert callable(getattr(torch, name)) and callable(getattr(pyml, name)), name


@pytest.mark.parametrize("name", ["abs_", "exp_", "sqrt_", "sin_", "cos_", "tan_", "sinh_", "cosh_", "asin_",
                                  "acos_", "atan_", "asinh_", "atanh_", "arcsinh_", "arctanh_", "ceil_", "floor_",
                                  "round_", "trunc_", "fix_", "frac_", "neg_", "negative_", "reciprocal_", "rsqrt_",
                                  "square_", "log_", "log2_", "log10_", "log1p_", "expm1_", "exp2_", "erf_", "erfc_",
                                  "deg2rad_", "rad2deg_", "sinc_", "i0_", "zero_", "detach_", "conj_physical_",
                                  "arccos_", "arcsin_", "arctan_", "nan_to_num_", "logit_"])
def test_toplevel_unary_inplace(name):
    p, t = _fresh(7, seed=2, layout="contiguous" if name == "detach_" else "transposed")
    if name in ("sqrt_", "log_", "log2_", "log10_", "rsqrt_"):
        p, t = p.abs() + 0.1, t.abs() + 0.1
    r = getattr(pyml, name)(p)
    getattr(torch, name)(t)
    assert r is p
    check(p, t, 1e-14, 1e-14)


def test_toplevel_inplace_with_arguments():
    cases = [("clamp_", (-0.2, 0.3), {}), ("clip_", (), {"min": 0.0}), ("clamp_min_", (0.1,), {}),
             ("clamp_max_", (-0.1,), {}), ("fill_", (2.5,), {}), ("xlogy_", (2.0,), {}), ("ldexp_", "int", {}),
             ("acosh_", (), {}), ("arccosh_", (), {})]
    for name, args, kw in cases:
        p, t = _fresh(7, seed=3)
        if name in ("acosh_", "arccosh_"):
            p, t = p.abs() + 1, t.abs() + 1
        if args == "int":
            pa, ta = pair(np.array([1, -2, 3]), "int64")
            pargs, targs = (pa,), (ta,)
        else:
            pargs, targs = args, args
        assert getattr(pyml, name)(p, *pargs, **kw) is p
        getattr(torch, name)(t, *targs, **kw)
        check(p, t, 1e-14, 1e-14)
    pv, tv = pair(np.arange(3.0))
    p2, t2 = pair(np.ones(3))
    pyml.addmv_(p2, pyml.ones(3, 3, dtype=pyml.float64), pv, beta=2)
    torch.addmv_(t2, torch.ones(3, 3, dtype=torch.float64), tv, beta=2)
    check(p2, t2)
    pz, tz = pair(np.zeros((2, 2)))
    pyml.index_put_(pz, (pyml.tensor([0, 1]), pyml.tensor([1, 0])), pyml.tensor([5.0, 6.0], dtype=pyml.float64))
    torch.index_put_(tz, (torch.tensor([0, 1]), torch.tensor([1, 0])), torch.tensor([5.0, 6.0], dtype=torch.float64))
    check(pz, tz)
    q = pyml.zeros(2)
    assert pyml.resize_as_(q, pyml.zeros(3, 1)) is q and q.shape == (3, 1)
    with pytest.raises(TypeError, match="Tensor"):
        pyml.exp_([1.0, 2.0])


def test_clamp_min_max_inplace():
    for dtype in ("float32", "int64"):
        p, t = pair(np.arange(-3, 4), dtype, layout="strided")
        assert p.clamp_min_(-1) is p and p.clamp_max_(2) is p
        t.clamp_min_(-1).clamp_max_(2)
        check(p, t)
    pb, tb = pair(np.array([0.5, -0.5, 2.0]))
    p, t = pair(np.array([-1.0, 0.0, 3.0]))
    p.clamp_min_(pb)
    t.clamp_min_(tb)
    check(p, t)
    with pytest.raises(TypeError):
        pyml.tensor([1, 2]).clamp_min_(0.5)  # the float result can't be stored in an int tensor, as in torch


def test_cumsum_cumprod_inplace():
    rng = np.random.default_rng(4)
    for n in (1, 7, 97):
        p, t = pair(rng.uniform(0.5, 1.5, (n, 5)), layout="transposed")
        assert p.cumsum_(0) is p and p.cumprod_(1) is p
        t.cumsum_(0).cumprod_(1)
        check(p, t, 1e-12, 1e-12)
    pi, ti = pair(np.array([[1, 2], [3, 4]]), "int32")
    pi.cumsum_(dim=-1, dtype=pyml.int32)
    ti.cumsum_(dim=-1, dtype=torch.int32)
    check(pi, ti)
    with pytest.raises(TypeError, match="dtype"):  # torch: "Bad in-place call" when dtype is not self's
        pi.cumsum_(0, dtype=pyml.int64)
    p, t = pair(rng.standard_normal((3, 4)), requires_grad=True)
    yp, yt = p * 1, t * 1
    backward_both(yp.cumprod_(1) * 2, yt.cumprod_(1) * 2)
    check_grads([p], [t])
    with pytest.raises(IndexError):
        pyml.zeros(2, 3).cumsum_(2)


def test_fill_out_of_place():
    p, t = pair(np.arange(6.0).reshape(2, 3), layout="transposed")
    check(pyml.fill(p, 2.5), torch.fill(t, 2.5))
    pi, ti = pair(np.arange(3), "int64")
    check(pyml.fill(pi, 7), torch.fill(ti, 7))
    w, tw = pair(np.array(1.5), requires_grad=True)
    x, tx = pair(np.zeros((2, 3)), requires_grad=True)
    backward_both(pyml.fill(x, w), torch.fill(tx, tw))
    check_grads([w], [tw])
    assert x.grad is None or not x.grad.numpy().any()
    out = pyml.empty(0)
    pyml.fill(pyml.zeros(2), 3.0, out=out)
    assert out.tolist() == [3.0, 3.0]
    with pytest.raises(ValueError, match="0-dimension"):
        pyml.fill(pyml.zeros(2), pyml.ones(2))
    with pytest.raises(TypeError):
        pyml.fill(pyml.zeros(2), "a")
