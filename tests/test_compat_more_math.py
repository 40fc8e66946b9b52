"""pyml/_ops/compat_more_math.py against torch: asinh/acosh/atanh (+ arc* aliases, in-place), fix, ldexp, frexp,
nextafter, i0, angle, isposinf/isneginf/isreal, rsub, lerp, and the hardshrink/prelu methods."""
import numpy as np
import pytest
import torch

import pyml
from pyml.autograd import gradcheck, gradgradcheck
from compat_helpers import pair, check, check_grads, backward_both, tol, EDGE

SIZES = (1, 7, 97)
FLOATS = ["float16", "bfloat16", "float32", "float64"]


def _values(name, n, seed=0):
    rng = np.random.default_rng(seed + n)
    x = rng.standard_normal(n) * np.exp(rng.uniform(-3, 6, n))
    if name == "atanh":
        x = np.tanh(x / 50) * 1.001
    if name == "acosh":
        x = 1 + np.abs(x)
    if name == "i0":  # (torch's float32 kernel overflows exp(x) before dividing: inf from |x| ~ 88.7 on)
        x = np.clip(x, -85, 85)
    return x


# ---------------------------------------------------------------------------- inverse hyperbolic, i0, angle
@pytest.mark.parametrize("name", ["asinh", "acosh", "atanh", "i0", "angle"])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", SIZES)
def test_unary_values_match_torch(name, dtype, n):
    p, t = pair(_values(name, n), dtype, layout="strided")
    r, a = tol(dtype)
    check(getattr(pyml, name)(p), getattr(torch, name)(t), max(r, 1e-14), a)
    check(getattr(p, name)(), getattr(t, name)(), max(r, 1e-14), a)


@pytest.mark.parametrize("name", ["asinh", "acosh", "atanh", "i0", "angle"])
def test_unary_edges_and_ints(name):
    edges = np.array(EDGE + [1e-300, -1e-300, 1e300, -1e300, 0.5, -0.5, 2.0, 30.0, -30.0, 1 - 1e-12])
    p, t = pair(edges)
    check(getattr(pyml, name)(p), getattr(torch, name)(t), 1e-14, 1e-300)
    pi, ti = pair(np.array([-3, 0, 1, 4]), "int64")
    check(getattr(pyml, name)(pi), getattr(torch, name)(ti), 1e-6, 1e-6)  # the default float dtype


def test_arc_aliases_and_inplace():
    for alias, name in (("arcsinh", "asinh"), ("arccosh", "acosh"), ("arctanh", "atanh")):
        x = pyml.tensor([0.5, 0.75], dtype=pyml.float64) + (1 if name == "acosh" else 0)
        assert getattr(pyml, alias)(x).tolist() == getattr(pyml, name)(x).tolist()
        assert getattr(x, alias)().tolist() == getattr(x, name)().tolist()
        for n_ in (name, alias):
            y = pyml.tensor([0.5, 0.25], dtype=pyml.float64) + (1 if name == "acosh" else 0)
            v = y._version
            assert getattr(y, n_ + "_")() is y and y._version > v
            ref = getattr(torch, name)(torch.tensor([0.5, 0.25], dtype=torch.float64) + (1 if name == "acosh" else 0))
            np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-15)
            z = getattr(pyml, n_ + "_")(pyml.tensor([0.5], dtype=pyml.float64) + (1 if name == "acosh" else 0))
            assert z.dtype is pyml.float64
    with pytest.raises(TypeError):
        pyml.tensor([1, 2]).asinh_()  # an int tensor can't hold the float result, as in torch


@pytest.mark.parametrize("name", ["asinh", "acosh", "atanh", "i0"])
def test_unary_gradients(name):
    x = pyml.tensor(_values(name, 7, 3) * (0.5 if name == "i0" else 1)).requires_grad_()
    assert gradcheck(getattr(pyml, name), (x,))
    assert gradgradcheck(getattr(pyml, name), (x,))
    p, t = pair(_values(name, 97, 5), requires_grad=True, layout="strided")
    backward_both(getattr(pyml, name)(p), getattr(torch, name)(t))
    check_grads([p], [t], 1e-12, 1e-300)


def test_i0_grad_at_zero_and_large():
    p, t = pair(np.array([0.0, 25.0, -40.0, 1e-3]), requires_grad=True)
    backward_both(pyml.i0(p), torch.i0(t))
    check_grads([p], [t], 1e-13, 1e-300)
    p, t = pair(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    backward_both(pyml.angle(p), torch.angle(t))
    check_grads([p], [t])


# ---------------------------------------------------------------------------- fix, ldexp
def test_fix_matches_trunc():
    p, t = pair(np.array([-2.5, -0.5, 0.5, 2.7, -0.0]), layout="strided")
    check(pyml.fix(p), torch.fix(t))
    pi, ti = pair(np.array([3, -4]), "int32")
    check(pi.fix(), ti.fix())
    x = pyml.tensor([-1.5, 1.5])
    assert x.fix_() is x and x.tolist() == [-1.0, 1.0]
    assert pyml.fix_(pyml.tensor([2.9])).tolist() == [2.0]


@pytest.mark.filterwarnings("ignore:An output with one or more elements was resized")  # (torch's own ldexp)
@pytest.mark.parametrize("da,db", [("float32", "int64"), ("int64", "int64"), ("float32", "float64"),
                                   ("int32", "float32"), ("float64", "int32")])
def test_ldexp_promotion_and_broadcast(da, db):
    rng = np.random.default_rng(1)
    pa, ta = pair(rng.integers(-5, 5, (7, 1)), da)
    pb, tb = pair(rng.integers(-20, 20, (1, 97)), db)
    check(pyml.ldexp(pa, pb), torch.ldexp(ta, tb), 1e-6, 0)
    check(pa.ldexp(pb), ta.ldexp(tb), 1e-6, 0)


def test_ldexp_grad_inplace_out():
    p, t = pair(np.array([1.5, -2.0, 3.0]), requires_grad=True)
    pe, te = pair(np.array([2.0, -1.0, 0.5]), requires_grad=True)
    backward_both(pyml.ldexp(p, pe), torch.ldexp(t, te))
    check_grads([p, pe], [t, te])
    x = pyml.tensor([1.0, 2.0])
    assert x.ldexp_(pyml.tensor([3, 1])) is x and x.tolist() == [8.0, 4.0]
    out = pyml.empty(0)
    pyml.ldexp(pyml.tensor([1.0]), pyml.tensor([4]), out=out)
    assert out.tolist() == [16.0]
    with pytest.raises(TypeError):
        pyml.ldexp(pyml.tensor([1.0]), 2)  # torch: other must be a Tensor


# ---------------------------------------------------------------------------- frexp, nextafter
def _spread(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * np.exp(rng.uniform(-700, 700, n))
    return np.concatenate([x, [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 4.0, -8.0, 5e-324, -5e-324, 2.2250738585072014e-308,
                               1.7976931348623157e308, -1.7976931348623157e308, np.inf, -np.inf, np.nan, 1e-310]])


@pytest.mark.parametrize("dtype", FLOATS)
def test_frexp_is_exact(dtype):
    t = torch.tensor(_spread(97)).to(getattr(torch, dtype))
    p = pyml.tensor(t.double().numpy()).to(getattr(pyml, dtype))
    m, e = pyml.frexp(p)
    tm, te = torch.frexp(t)
    assert m.dtype is p.dtype and e.dtype is pyml.int32
    np.testing.assert_array_equal(m.double().numpy(), tm.double().numpy())
    np.testing.assert_array_equal(e.numpy(), te.numpy())
    finite = np.isfinite(t.double().numpy())
    np.testing.assert_array_equal(np.ldexp(m.double().numpy(), e.numpy())[finite], t.double().numpy()[finite])
    m2, e2 = p.frexp()
    np.testing.assert_array_equal(m2.double().numpy(), m.double().numpy())
    np.testing.assert_array_equal(e2.numpy(), e.numpy())


def test_frexp_namedtuple_out_grad_errors():
    r = pyml.frexp(pyml.tensor([8.0, 0.3]))
    assert r.mantissa.tolist() == r[0].tolist() and r.exponent.tolist() == [4, -1]
    outs = (pyml.empty(0), pyml.empty(0, dtype=pyml.int32))
    pyml.frexp(pyml.tensor([3.0]), out=outs)
    assert outs[0].tolist() == [0.75] and outs[1].tolist() == [2]
    p, t = pair(np.array([3.0, -0.1, 1024.0]), requires_grad=True)
    backward_both(pyml.frexp(p)[0], torch.frexp(t)[0])
    check_grads([p], [t])
    with pytest.raises(TypeError, match="floating"):
        pyml.frexp(pyml.tensor([1, 2]))


@pytest.mark.parametrize("dtype", FLOATS)
def test_nextafter_is_exact(dtype):
    base = _spread(97, 1)
    t = torch.tensor(base).to(getattr(torch, dtype))
    p = pyml.tensor(t.double().numpy()).to(getattr(pyml, dtype))
    for other in (np.roll(base, 1), np.full_like(base, np.inf), np.full_like(base, -np.inf), np.zeros_like(base)):
        to = torch.tensor(other).to(getattr(torch, dtype))
        po = pyml.tensor(to.double().numpy()).to(getattr(pyml, dtype))
        np.testing.assert_array_equal(pyml.nextafter(p, po).double().numpy(), torch.nextafter(t, to).double().numpy())
        np.testing.assert_array_equal(p.nextafter(po).double().numpy(), t.nextafter(to).double().numpy())


def test_nextafter_promotion_broadcast_inplace_errors():
    pa, ta = pair(np.array([[1.0], [2.0]]), "float32")
    pb, tb = pair(np.array([0.0, 3.0, 1.0]), "float64")
    check(pyml.nextafter(pa, pb), torch.nextafter(ta, tb))
    x = pyml.tensor([1.0, 1.0], dtype=pyml.float64)
    assert x.nextafter_(pyml.tensor([2.0, 0.0], dtype=pyml.float64)) is x
    assert x.tolist() == [np.nextafter(1.0, 2.0), np.nextafter(1.0, 0.0)]
    with pytest.raises(TypeError, match="floating"):
        pyml.nextafter(pyml.tensor([1, 2]), pyml.tensor([3, 4]))


# ---------------------------------------------------------------------------- infinities, isreal
def test_isposinf_isneginf_isreal():
    for dtype in ("float32", "float64", "int64", "bool"):
        vals = np.array(EDGE) if dtype.startswith("float") else np.array([1, 0, 1])
        p, t = pair(vals, dtype, layout="strided")
        for name in ("isposinf", "isneginf", "isreal"):
            check(getattr(pyml, name)(p), getattr(torch, name)(t))
            check(getattr(p, name)(), getattr(t, name)())
    out = pyml.empty(0, dtype=pyml.bool)
    pyml.isposinf(pyml.tensor([float("inf"), 1.0]), out=out)
    assert out.tolist() == [True, False]


# ---------------------------------------------------------------------------- rsub, lerp
def test_rsub_matches_torch():
    rng = np.random.default_rng(2)
    pa, ta = pair(rng.standard_normal((7, 1)), layout="transposed")
    pb, tb = pair(rng.standard_normal((1, 97)))
    check(pyml.rsub(pa, pb), torch.rsub(ta, tb))
    check(pyml.rsub(pa, pb, alpha=2.5), torch.rsub(ta, tb, alpha=2.5))
    check(pyml.rsub(pa, 3), torch.rsub(ta, 3))
    pi, ti = pair(np.array([1, 2, 3]), "int64")
    check(pyml.rsub(pi, 2.5), torch.rsub(ti, 2.5))
    check(pyml.rsub(pi, pi, alpha=3), torch.rsub(ti, ti, alpha=3))
    with pytest.raises(TypeError, match="alpha"):
        pyml.rsub(pi, pi, alpha=2.5)
    p, t = pair(np.array([1.0, 2.0]), requires_grad=True)
    q, u = pair(np.array([3.0, -1.0]), requires_grad=True)
    backward_both(pyml.rsub(p, q, alpha=2), torch.rsub(t, u, alpha=2))
    check_grads([p, q], [t, u])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_lerp_matches_torch(dtype):
    rng = np.random.default_rng(3)
    pa, ta = pair(rng.standard_normal((7, 97)), dtype, layout="transposed")
    pb, tb = pair(rng.standard_normal((97,)), dtype)
    pw, tw = pair(rng.uniform(-1, 2, (7, 1)), dtype)
    r, a = tol(dtype)
    for w in (0.0, 0.3, 0.5, 1.0, -0.7, 1.7):
        check(pyml.lerp(pa, pb, w), torch.lerp(ta, tb, w), r, a)
    check(pyml.lerp(pa, pb, pw), torch.lerp(ta, tb, tw), r, a)
    check(pa.lerp(pb, pw), ta.lerp(tb, tw), r, a)


def test_lerp_grad_inplace_out_errors():
    pa, ta = pair(np.random.default_rng(4).standard_normal(7), requires_grad=True)
    pb, tb = pair(np.random.default_rng(5).standard_normal(7), requires_grad=True)
    pw, tw = pair(np.linspace(-0.5, 1.5, 7), requires_grad=True)
    backward_both(pyml.lerp(pa, pb, pw), torch.lerp(ta, tb, tw))
    check_grads([pa, pb, pw], [ta, tb, tw])
    assert gradcheck(pyml.lerp, (pa.detach().requires_grad_(), pb.detach().requires_grad_(), 0.75))
    x = pyml.tensor([0.0, 10.0])
    v = x._version
    assert x.lerp_(pyml.tensor([10.0, 0.0]), 0.25) is x and x.tolist() == [2.5, 7.5] and x._version > v
    out = pyml.empty(0)
    pyml.lerp(pyml.tensor([0.0]), pyml.tensor([4.0]), 0.5, out=out)
    assert out.tolist() == [2.0]
    with pytest.raises(TypeError, match="end"):
        pyml.lerp(pyml.zeros(2), pyml.zeros(2, dtype=pyml.float64), 0.5)
    with pytest.raises(TypeError, match="weight"):
        pyml.lerp(pyml.zeros(2), pyml.zeros(2), pyml.zeros(2, dtype=pyml.float64))
    with pytest.raises(TypeError, match="floating"):
        pyml.lerp(pyml.tensor([1]), pyml.tensor([2]), 0.5)
    with pytest.raises(ValueError):
        pyml.lerp(pyml.zeros(2), pyml.zeros(3), 0.5)


# ---------------------------------------------------------------------------- nn methods
def test_hardshrink_and_prelu_methods():
    p, t = pair(np.random.default_rng(6).standard_normal((2, 3, 7)), layout="strided")
    check(p.hardshrink(), t.hardshrink())
    check(p.hardshrink(0.9), t.hardshrink(0.9))
    pw, tw = pair(np.array([0.25, -0.1, 0.3]))
    check(p.prelu(pw), t.prelu(tw))
