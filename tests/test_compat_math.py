"""Group 3 of pyml/_ops/compat_*: pointwise math (logaddexp, logaddexp2, xlogy, hypot, copysign, fmax, fmin,
logit, sinc, deg2rad, rad2deg, sgn, signbit, heaviside, positive, gcd, lcm, float_power_) against torch:
values on random inputs with edge values, broadcasting, layouts and dtypes; gradients incl. the edges."""
import numpy as np
import pytest
import torch

import pyml
from compat_helpers import pair, check, check_grads, backward_both, tol, SIZES, EDGE

BINARY = ["logaddexp", "logaddexp2", "xlogy", "hypot", "copysign", "fmax", "fmin"]
UNARY = ["logit", "sinc", "deg2rad", "rad2deg", "sgn"]
# ops whose NaN sign pyml can't see (see compat_pointwise.py): no -nan in their inputs
_EDGE_PAIRS = np.array([(a, b) for a in EDGE for b in EDGE])


def _data(n, seed, scale=3.0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n) * scale
    if n >= len(EDGE):
        a[:len(EDGE)] = EDGE
        rng.shuffle(a)
    return a


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", SIZES)
def test_binary_values(name, dtype, n):
    pa, ta = pair(_data(n, 1), dtype, layout="strided")
    pb, tb = pair(_data(n, 2), dtype)
    r, a = tol(dtype)
    check(getattr(pyml, name)(pa, pb), getattr(torch, name)(ta, tb), r * 4, a)
    check(getattr(pa, name)(pb), getattr(ta, name)(tb), r * 4, a)


@pytest.mark.parametrize("name", BINARY)
def test_binary_edges_broadcast_and_grads(name):
    pa, ta = pair(_EDGE_PAIRS[:, 0].reshape(7, 7), requires_grad=True, layout="transposed")
    pb, tb = pair(_EDGE_PAIRS[:, 1].reshape(7, 7), requires_grad=True)
    po, to = getattr(pyml, name)(pa, pb), getattr(torch, name)(ta, tb)
    check(po, to)
    backward_both(po, to)
    check_grads([pa, pb], [ta, tb])
    pc, tc = pair(_data(7, 3).reshape(7, 1), requires_grad=True)
    pd, td = pair(np.abs(_data(5, 4)) + 0.5, requires_grad=True)
    po, to = getattr(pyml, name)(pc, pd), getattr(torch, name)(tc, td)
    check(po, to)
    backward_both(po, to, seed=1)
    check_grads([pc, pd], [tc, td])


@pytest.mark.parametrize("name", BINARY)
def test_binary_promotion_and_ints(name):
    pa, ta = pair(_data(7, 5), "float32")
    pb, tb = pair(_data(7, 6), "float64")
    check(getattr(pyml, name)(pa, pb), getattr(torch, name)(ta, tb))
    pi, ti = pair(np.array([0, 1, 2, 3, -4]), "int64")
    pj, tj = pair(np.array([1, 0, 5, -2, 2]), "int64")
    if name in ("logaddexp", "logaddexp2", "hypot"):
        with pytest.raises(TypeError):
            getattr(pyml, name)(pi, pj)
    else:
        check(getattr(pyml, name)(pi, pj), getattr(torch, name)(ti, tj), 1e-6, 1e-6)
    with pytest.raises(TypeError):
        getattr(pyml, name)([1.0], pa)
    with pytest.raises(ValueError):
        getattr(pyml, name)(pyml.zeros(3), pyml.zeros(2))


@pytest.mark.parametrize("name", ["xlogy", "hypot", "copysign"])
def test_binary_inplace_and_out(name):
    pa, ta = pair(np.abs(_data(7, 7)) + 0.1)
    pb, tb = pair(np.abs(_data(7, 8)) + 0.1)
    assert getattr(pa, name + "_")(pb) is pa
    getattr(ta, name + "_")(tb)
    check(pa, ta)
    out = pyml.empty(0, dtype=pyml.float64)
    assert getattr(pyml, name)(pa, pb, out=out) is out
    check(out, getattr(torch, name)(ta, tb))
    with pytest.raises(TypeError):  # the float result can't go into an int tensor
        getattr(pyml.ones(3, dtype=pyml.int64), name + "_")(pyml.ones(3))


def test_xlogy_numbers_and_edges():
    pb, tb = pair(np.array([0.0, 1.0, 2.5, float("nan"), float("inf")]), requires_grad=True)
    check(pyml.xlogy(2, pb), torch.xlogy(2, tb))
    check(pyml.xlogy(0, pb), torch.xlogy(0, tb))
    pa, ta = pair(np.array([0.0, 0.0, 1.0, 2.0, -1.0]), requires_grad=True)
    check(pyml.xlogy(pa, 3.0), torch.xlogy(ta, 3.0))
    check(pyml.xlogy(pa, 0.0), torch.xlogy(ta, 0.0))
    po, to = pyml.xlogy(pa, pb), torch.xlogy(ta, tb)
    backward_both(po, to)
    check_grads([pa, pb], [ta, tb])
    with pytest.raises(TypeError):
        pyml.xlogy(1.0, 2.0)


def test_copysign_numbers_and_signed_zero():
    pa, ta = pair(np.array([1.0, -2.0, 0.0, -0.0, float("inf")]), requires_grad=True)
    for other in (-0.0, 0.0, -3, 2.5, float("-inf")):
        po, to = pyml.copysign(pa, other), torch.copysign(ta, other)
        check(po, to)
        assert np.array_equal(np.signbit(po.detach().numpy()), np.signbit(to.detach().numpy()))
    po, to = pyml.copysign(pa, -1.0), torch.copysign(ta, -1.0)
    backward_both(po, to)
    check_grads([pa], [ta])
    check(pyml.copysign(pyml.tensor([True, False]), pyml.tensor([-1, 1])),
          torch.copysign(torch.tensor([True, False]), torch.tensor([-1, 1])))


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_ties_and_ints(name):
    pa, ta = pair(np.array([1.0, 2.0, float("nan"), float("nan"), 3.0]), requires_grad=True)
    pb, tb = pair(np.array([1.0, float("nan"), 2.0, float("nan"), 4.0]), requires_grad=True)
    po, to = getattr(pyml, name)(pa, pb), getattr(torch, name)(ta, tb)
    check(po, to)
    backward_both(po, to)
    check_grads([pa, pb], [ta, tb])
    pi, ti = pair(np.array([1, 5, -3]), "int64")
    pf, tf = pair(np.array([2.0, float("nan"), -4.0]), "float32")
    check(getattr(pyml, name)(pi, pf), getattr(torch, name)(ti, tf))
    with pytest.raises(TypeError):
        getattr(pyml, name)(pf, 2.0)


# ---------------------------------------------------------------------------- unary
@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("n", SIZES)
def test_unary_values(name, dtype, n):
    data = np.random.default_rng(n).uniform(-0.2, 1.2, n) if name == "logit" else _data(n, n)
    p, t = pair(data, dtype, layout="strided")
    r, a = tol(dtype)
    check(getattr(pyml, name)(p), getattr(torch, name)(t), r * 4, a * 4)
    check(getattr(p, name)(), getattr(t, name)(), r * 4, a * 4)


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_unary_integer_inputs(name, dtype):
    p, t = pair(np.array([0, 1, 3, -2, 7]) if dtype == "int64" else np.array([True, False]), dtype)
    if dtype == "bool" and name == "sgn":
        check(pyml.sgn(p), torch.sgn(t))
        return
    check(getattr(pyml, name)(p), getattr(torch, name)(t), 1e-6, 1e-6)


@pytest.mark.parametrize("name", UNARY)
def test_unary_grads(name):
    data = np.array(EDGE + [0.25, 0.5, 1e-9, -2.5, 1.5, 0.999])
    p, t = pair(data, requires_grad=True)
    po, to = getattr(pyml, name)(p), getattr(torch, name)(t)
    check(po, to)
    backward_both(po, to)
    check_grads([p], [t])


@pytest.mark.parametrize("eps", [None, 0.0, 0.1, 0.5])
def test_logit_eps(eps):
    p, t = pair(np.array([-0.5, 0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 1.0, 1.5, float("nan")]), requires_grad=True)
    po, to = pyml.logit(p, eps), torch.logit(t, eps)
    check(po, to)
    backward_both(po, to)
    check_grads([p], [t])
    q, u = pair(np.array([0.2, 0.7]))
    check(q.logit_(eps), u.logit_(eps))


@pytest.mark.parametrize("name", ["sinc", "deg2rad", "rad2deg", "sgn", "logit"])
def test_unary_inplace_and_out(name):
    p, t = pair(np.array([0.1, 0.4, 0.9]))
    assert getattr(p, name + "_")() is p
    getattr(t, name + "_")()
    check(p, t)
    out = pyml.empty(0, dtype=pyml.float64)
    assert getattr(pyml, name)(p, out=out) is out
    check(out, getattr(torch, name)(t))


def test_signbit():
    p, t = pair(np.array([-0.0, 0.0, -1.0, 2.0, float("inf"), float("-inf"), float("nan")]))
    check(pyml.signbit(p), torch.signbit(t))
    check(p.signbit(), t.signbit())
    for dtype, data in (("int64", [-1, 0, 3]), ("uint8", [0, 5]), ("bool", [True, False]), ("float32", [-0.0, 1.0])):
        p, t = pair(np.array(data), dtype)
        check(pyml.signbit(p), torch.signbit(t))


def test_heaviside():
    p, t = pair(np.array([-1.5, 0.0, -0.0, 2.0, float("nan"), float("inf")]))
    pv, tv = pair(np.array([0.5]))
    check(pyml.heaviside(p, pv), torch.heaviside(t, tv))
    check(p.heaviside(pv), t.heaviside(tv))
    pi, ti = pair(np.array([-2, 0, 3]), "int64")
    pj, tj = pair(np.array([7, 7, 7]), "int64")
    check(pyml.heaviside(pi, pj), torch.heaviside(ti, tj))
    with pytest.raises(TypeError):
        pyml.heaviside(p, pi)
    g = pyml.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative"):  # like torch: not differentiable
        pyml.heaviside(g, pyml.tensor([0.5])).sum().backward()


def test_positive():
    p = pyml.tensor([1, -2])
    assert pyml.positive(p) is p and p.positive() is p
    with pytest.raises(TypeError):
        pyml.positive(pyml.tensor([True]))


@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("int32", "int64"), ("uint8", "int16"), ("int8", "int8")])
@pytest.mark.parametrize("n", [1, 7, 97, 1023])
def test_gcd_lcm(dtypes, n):
    rng = np.random.default_rng(n)
    hi = 100 if "uint8" in dtypes or "int8" in dtypes else 10 ** 6
    lo = 0 if dtypes[0] == "uint8" else -hi
    a, b = rng.integers(lo, hi, n), rng.integers(0, hi, n)
    a[: min(n, 3)] = 0
    b[: min(n, 2)] = 0
    if "int8" in dtypes:
        a, b = a % 11, b % 11  # lcm stays in range
    pa, ta = pair(a, dtypes[0])
    pb, tb = pair(b, dtypes[1])
    check(pyml.gcd(pa, pb), torch.gcd(ta, tb))
    check(pyml.lcm(pa, pb), torch.lcm(ta, tb))
    check(pa.gcd(pb), ta.gcd(tb))


def test_gcd_lcm_broadcast_inplace_errors():
    pa, ta = pair(np.array([[12], [-18], [0]]), "int64")
    pb, tb = pair(np.array([8, 27, 0, 1]), "int64")
    check(pyml.gcd(pa, pb), torch.gcd(ta, tb))
    check(pyml.lcm(pa, pb), torch.lcm(ta, tb))
    pc, tc = pair(np.array([4, 6, 9]), "int64")
    pc.gcd_(pyml.tensor([6, 4, 6]))
    tc.gcd_(torch.tensor([6, 4, 6]))
    check(pc, tc)
    with pytest.raises(TypeError):
        pyml.gcd(pyml.tensor([4.0]), pyml.tensor([6.0]))
    with pytest.raises(TypeError):
        pyml.lcm(pyml.tensor([True]), pyml.tensor([True]))


def test_float_power_inplace():
    p, t = pair(np.array([1.5, 2.0, 4.0]))
    p.float_power_(2)
    t.float_power_(2)
    check(p, t)
    p.float_power_(pyml.tensor([0.5, 1, 2]))
    t.float_power_(torch.tensor([0.5, 1, 2]))
    check(p, t)
    with pytest.raises(TypeError):
        pyml.ones(2).float_power_(2)


@pytest.mark.parametrize("name,binary", [("xlogy", True), ("hypot", True), ("copysign", True), ("logit", False),
                                         ("sinc", False), ("deg2rad", False)])
def test_inplace_autograd_on_non_leaf(name, binary):
    pa, ta = pair(np.array([0.2, 0.5, 0.9, 0.0]), requires_grad=True)
    pb, tb = pair(np.array([0.3, 2.0, -1.5, 0.0]), requires_grad=True)
    py, ty = pa * 1, ta * 1
    getattr(py, name + "_")(*([pb] if binary else []))
    getattr(ty, name + "_")(*([tb] if binary else []))
    check(py, ty)
    backward_both(py, ty)
    check_grads([pa, pb] if binary else [pa], [ta, tb] if binary else [ta])


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "hypot", "xlogy", "logit", "sinc", "copysign"])
def test_gradcheck_and_gradgradcheck(name):
    a = pyml.tensor([0.3, 0.8, 0.45], dtype=pyml.float64, requires_grad=True)
    b = pyml.tensor([0.7, 2.0, -1.25], dtype=pyml.float64, requires_grad=True)
    inputs = (a, b) if name in BINARY else (a,)
    fn = getattr(pyml, name)
    assert pyml.autograd.gradcheck(fn, inputs)
    assert pyml.autograd.gradgradcheck(fn, inputs)
