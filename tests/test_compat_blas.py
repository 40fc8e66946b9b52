"""pyml/_ops/compat_blas.py against torch (and NumPy float64): addbmm, addr, adjoint, dist, renorm, chain_matmul,
frobenius_norm, nuclear_norm, vander, trapezoid/trapz/cumulative_trapezoid."""
import warnings

import numpy as np
import pytest
import torch

import pyml
from pyml.autograd import gradcheck
from compat_helpers import pair, check, check_grads, backward_both, tol


def rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


# ---------------------------------------------------------------------------- addbmm / addr
@pytest.mark.parametrize("b,n,m,p", [(1, 1, 1, 1), (3, 7, 5, 2), (2, 97, 7, 3)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_addbmm_matches_torch(b, n, m, p, dtype):
    ints = dtype == "int64"
    mk = (lambda *s: np.random.default_rng(sum(s)).integers(-4, 5, s)) if ints else rand
    pi, ti = pair(mk(n, p), dtype, layout="transposed")
    p1, t1 = pair(mk(b, n, m), dtype, layout="strided")
    p2, t2 = pair(mk(b, m, p), dtype)
    r, a = tol(dtype) if not ints else (0, 0)
    r, a = max(r, 1e-5 if dtype == "float32" else r), max(a, 1e-5 if dtype == "float32" else a)
    for kw in ({}, {"beta": 2, "alpha": 3}, {"beta": 0}):
        check(pyml.addbmm(pi, p1, p2, **kw), torch.addbmm(ti, t1, t2, **kw), r, a)
    check(pi.addbmm(p1, p2), ti.addbmm(t1, t2), r, a)
    pb, tb = pair(mk(1, p), dtype)  # input broadcast from (1, p)
    check(pyml.addbmm(pb, p1, p2), torch.addbmm(tb, t1, t2), r, a)
    ref = mk(n, p) + np.einsum("bnm,bmp->np", mk(b, n, m), mk(b, m, p))
    np.testing.assert_allclose(pyml.addbmm(pi, p1, p2).double().numpy(), ref, rtol=r or 1e-12, atol=a or 1e-12)


def test_addbmm_grad_inplace_errors():
    pi, ti = pair(rand(2, 3), requires_grad=True)
    p1, t1 = pair(rand(4, 2, 5), requires_grad=True)
    p2, t2 = pair(rand(4, 5, 3), requires_grad=True)
    backward_both(pyml.addbmm(pi, p1, p2, beta=0.5, alpha=2), torch.addbmm(ti, t1, t2, beta=0.5, alpha=2))
    check_grads([pi, p1, p2], [ti, t1, t2])
    assert gradcheck(lambda a, b, c: pyml.addbmm(a, b, c), (pi.detach().requires_grad_(), p1.detach().requires_grad_(),
                                                            p2.detach().requires_grad_()))
    x, tx = pair(rand(2, 3))
    v = x._version
    assert x.addbmm_(p1.detach(), p2.detach()) is x and x._version > v
    check(x, tx.addbmm_(t1.detach(), t2.detach()))
    nan = pyml.full((2, 3), float("nan"), dtype=pyml.float64)
    assert not np.isnan(pyml.addbmm(nan, p1.detach(), p2.detach(), beta=0).numpy()).any()
    with pytest.raises(ValueError, match="batches"):
        pyml.addbmm(pyml.zeros(2, 2), pyml.ones(3, 2, 4), pyml.ones(2, 4, 2))
    with pytest.raises(ValueError):
        pyml.addbmm(pyml.zeros(3, 2, 2), pyml.ones(3, 2, 4), pyml.ones(3, 4, 2))
    with pytest.raises(TypeError, match="dtype"):
        pyml.addbmm(pyml.zeros(2, 2), pyml.ones(3, 2, 4, dtype=pyml.float64), pyml.ones(3, 4, 2))
    with pytest.raises(TypeError, match="integral"):
        pyml.addbmm(pyml.zeros(2, 2, dtype=pyml.int64), pyml.ones(1, 2, 1, dtype=pyml.int64),
                    pyml.ones(1, 1, 2, dtype=pyml.int64), beta=0.5)


@pytest.mark.parametrize("n,m", [(1, 1), (7, 97), (97, 3)])
def test_addr_matches_torch(n, m):
    pi, ti = pair(rand(n, m), layout="transposed")
    pa, ta = pair(rand(n, seed=1), layout="strided")
    pb, tb = pair(rand(m, seed=2))
    for kw in ({}, {"beta": 0.5, "alpha": -2}, {"beta": 0}):
        check(pyml.addr(pi, pa, pb, **kw), torch.addr(ti, ta, tb, **kw))
    check(pi.addr(pa, pb), ti.addr(ta, tb))
    pr, tr = pair(rand(m, seed=3))  # input broadcast from (m,)
    check(pyml.addr(pr, pa, pb), torch.addr(tr, ta, tb))


def test_addr_dtypes_grad_inplace_errors():
    for dt in ("int64", "bool"):
        pi, ti = pair(np.array([[1, 0], [0, 1]]), dt)
        pa, ta = pair(np.array([1, 0]), dt)
        pb, tb = pair(np.array([1, 1]), dt)
        kw = {"beta": 2, "alpha": 3} if dt == "int64" else {}
        check(pyml.addr(pi, pa, pb, **kw), torch.addr(ti, ta, tb, **kw))
    pf, tf = pair(np.zeros((2, 2)), "float32")
    pl, tl = pair(np.array([1, 2]), "int64")
    pd, td = pair(np.array([3.0, 4.0]), "float32")
    check(pyml.addr(pf, pl, pd), torch.addr(tf, tl, td))
    ps = [pair(rand(3, 4), requires_grad=True), pair(rand(3, seed=1), requires_grad=True),
          pair(rand(4, seed=2), requires_grad=True)]
    backward_both(pyml.addr(*[q[0] for q in ps], alpha=1.5), torch.addr(*[q[1] for q in ps], alpha=1.5))
    check_grads([q[0] for q in ps], [q[1] for q in ps])
    x, tx = pair(np.ones((2, 2)))
    assert x.addr_(pyml.tensor([1.0, 2.0], dtype=pyml.float64), pyml.tensor([3.0, 4.0], dtype=pyml.float64)) is x
    check(x, tx.addr_(torch.tensor([1.0, 2.0]).double(), torch.tensor([3.0, 4.0]).double()))
    with pytest.raises(ValueError, match="1-D"):
        pyml.addr(pyml.zeros(2, 2), pyml.zeros(2, 1), pyml.zeros(2))
    with pytest.raises(TypeError, match="integral"):
        pyml.addr(pl.reshape(2, 1).expand(2, 2), pl, pl, beta=2.5)


def test_adjoint():
    p, t = pair(rand(2, 3, 4))
    check(pyml.adjoint(p), torch.adjoint(t))
    check(p.adjoint(), t.adjoint())
    assert pyml.shares_memory(p.adjoint(), p)
    with pytest.raises(ValueError, match="matrices"):
        pyml.adjoint(pyml.ones(3))


# ---------------------------------------------------------------------------- norms
@pytest.mark.parametrize("p_norm", [2, 1, 0, 3.5, float("inf"), -float("inf")])
def test_dist_matches_torch(p_norm):
    pa, ta = pair(rand(7, 1), layout="strided")
    pb, tb = pair(rand(1, 97, seed=1))
    check(pyml.dist(pa, pb, p_norm), torch.dist(ta, tb, p_norm))
    check(pa.dist(pb, p=p_norm), ta.dist(tb, p=p_norm))
    np.testing.assert_allclose(pyml.dist(pa, pb, p_norm).item(),
                               np.linalg.norm((rand(7, 1) - rand(1, 97, seed=1)).ravel(), p_norm), rtol=1e-12)


def test_dist_grad_and_errors():
    pa, ta = pair(rand(5), requires_grad=True)
    pb, tb = pair(rand(5, seed=3), requires_grad=True)
    backward_both(pyml.dist(pa, pb, 3), torch.dist(ta, tb, 3))
    check_grads([pa, pb], [ta, tb])
    assert gradcheck(pyml.dist, (pa.detach().requires_grad_(), pb.detach().requires_grad_()))
    with pytest.raises(TypeError, match="floating"):
        pyml.dist(pyml.tensor([1, 2]), pyml.tensor([3, 4]))


@pytest.mark.parametrize("p_norm,dim,maxnorm", [(2, 0, 1.0), (1, 1, 2.0), (3, -1, 0.5), (2, 1, 100.0),
                                                (float("inf"), 0, 1.0)])
def test_renorm_matches_torch(p_norm, dim, maxnorm):
    pa, ta = pair(rand(7, 5, 3), layout="transposed")
    check(pyml.renorm(pa, p_norm, dim, maxnorm), torch.renorm(ta, p_norm, dim, maxnorm))
    check(pa.renorm(p_norm, dim, maxnorm), ta.renorm(p_norm, dim, maxnorm))
    x, tx = pair(rand(7, 5, 3))
    assert x.renorm_(p_norm, dim, maxnorm) is x
    check(x, tx.renorm_(p_norm, dim, maxnorm))


def test_renorm_grad_and_errors():
    pa, ta = pair(rand(4, 3) * 2, requires_grad=True)
    backward_both(pyml.renorm(pa, 2, 0, 1.0), torch.renorm(ta, 2, 0, 1.0))
    check_grads([pa], [ta], 1e-9, 1e-12)
    assert gradcheck(lambda v: pyml.renorm(v, 2, 1, 1.5), (pa.detach().requires_grad_(),))
    with pytest.raises(ValueError, match="2 dimensions"):
        pyml.renorm(pyml.ones(3), 2, 0, 1.0)
    with pytest.raises(ValueError, match="positive"):
        pyml.renorm(pyml.ones(3, 3), -1, 0, 1.0)
    with pytest.raises(ValueError, match="maxnorm"):
        pyml.renorm(pyml.ones(3, 3), 2, 0, -1.0)
    with pytest.raises(IndexError):
        pyml.renorm(pyml.ones(3, 3), 2, 2, 1.0)


def test_frobenius_and_nuclear_norm():
    warnings.simplefilter("ignore", UserWarning)  # torch warns that both are deprecated
    p, t = pair(rand(2, 7, 5), layout="transposed")
    for args in ((), ((0, 1),), ([1],), (2, True), ((-2, -1), True)):
        if args:
            check(pyml.frobenius_norm(p, *args), torch.frobenius_norm(t, *args))
    check(pyml.frobenius_norm(p), torch.linalg.vector_norm(t, 2, (-2, -1)))
    for args in ((), (True,), ((0, 2),), ((0, 2), True)):
        check(pyml.nuclear_norm(p, *args), torch.nuclear_norm(t, *args), 1e-10, 1e-10)
    check(pyml.nuclear_norm(p, keepdim=True), torch.nuclear_norm(t, keepdim=True), 1e-10, 1e-10)
    pg, tg = pair(rand(4, 3), requires_grad=True)
    backward_both(pyml.nuclear_norm(pg) + pyml.frobenius_norm(pg, (0, 1)),
                  torch.nuclear_norm(tg) + torch.frobenius_norm(tg, (0, 1)))
    check_grads([pg], [tg], 1e-9, 1e-10)
    with pytest.raises(TypeError, match="floating"):
        pyml.frobenius_norm(pyml.ones(2, 3, dtype=pyml.int64), [0])
    with pytest.raises(ValueError):
        pyml.nuclear_norm(pyml.ones(3))


def test_chain_matmul():
    ms = [pair(rand(*s, seed=i)) for i, s in enumerate([(7, 5), (5, 97), (97, 3), (3, 1)])]
    with pytest.warns(UserWarning, match="deprecated"):
        r = pyml.chain_matmul(*[m[0] for m in ms])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(r, torch.chain_matmul(*[m[1] for m in ms]), 1e-10, 1e-10)
        single = pyml.chain_matmul(ms[0][0])
        assert single.tolist() == ms[0][0].tolist() and not pyml.shares_memory(single, ms[0][0])
        with pytest.raises(ValueError, match="one or more"):
            pyml.chain_matmul()
        with pytest.raises(ValueError, match="2-D"):
            pyml.chain_matmul(pyml.ones(3))


# ---------------------------------------------------------------------------- vander
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8", "bool"])
@pytest.mark.parametrize("N", [None, 0, 1, 4])
def test_vander_matches_torch(dtype, N):
    vals = np.array([1, 0, 1]) if dtype == "bool" else np.array([1.5, -2, 3, 0.5, 1])
    if dtype.startswith("int"):
        vals = np.array([1, -2, 3, 2])
    p, t = pair(vals, dtype, layout="strided")
    for inc in (False, True):
        check(pyml.vander(p, N, inc), torch.vander(t, N, inc), 1e-6, 1e-6)
    if N is None and dtype == "float64":
        np.testing.assert_array_equal(pyml.vander(p).numpy(), np.vander(vals))


def test_vander_grad_and_errors():
    p = pyml.tensor([0.5, -1.5, 2.0, 0.0], dtype=pyml.float64, requires_grad=True)
    assert gradcheck(lambda v: pyml.vander(v, 4), (p,))  # (torch's own vander backward fails on leaves)
    pyml.vander(p, 3).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), 2 * p.detach().numpy() + 1)  # d/dx (x^2 + x + 1)
    with pytest.raises(ValueError, match="one-dimensional"):
        pyml.vander(pyml.ones(2, 2))
    with pytest.raises(ValueError, match="non-negative"):
        pyml.vander(pyml.tensor([1, 2]), N=-1)


# ---------------------------------------------------------------------------- trapezoid rule
@pytest.mark.parametrize("n", [1, 2, 7, 97])
@pytest.mark.parametrize("dim", [0, -1])
def test_trapezoid_matches_torch_and_numpy(n, dim):
    y = rand(n, 5) if dim == 0 else rand(5, n)
    py, ty = pair(y, layout="transposed")
    x = np.sort(rand(n, seed=9))
    px, tx = pair(x)
    check(pyml.trapezoid(py, dim=dim), torch.trapezoid(ty, dim=dim))
    check(pyml.trapezoid(py, dx=0.5, dim=dim), torch.trapezoid(ty, dx=0.5, dim=dim))
    check(pyml.trapezoid(py, px, dim=dim), torch.trapezoid(ty, tx, dim=dim))
    check(pyml.trapz(py, px, dim=dim), torch.trapz(ty, tx, dim=dim))
    check(pyml.trapz(py, dx=2.0, dim=dim), torch.trapz(ty, dx=2.0, dim=dim))
    check(pyml.cumulative_trapezoid(py, dim=dim), torch.cumulative_trapezoid(ty, dim=dim))
    check(pyml.cumulative_trapezoid(py, px, dim=dim), torch.cumulative_trapezoid(ty, tx, dim=dim))
    np.testing.assert_allclose(pyml.trapezoid(py, px, dim=dim).numpy(), np.trapezoid(y, x, axis=dim), rtol=1e-12,
                               atol=1e-12)


def test_trapezoid_ints_broadcast_x_grad_errors():
    pi, ti = pair(np.array([[1, 2, 4], [3, 5, 9]]), "int64")
    check(pyml.trapezoid(pi), torch.trapezoid(ti), 1e-6, 1e-6)
    check(pyml.trapezoid(pi, dx=2), torch.trapezoid(ti, dx=2), 1e-6, 1e-6)
    check(pyml.trapezoid(pi, pyml.tensor([0, 1, 3])), torch.trapezoid(ti, torch.tensor([0, 1, 3])), 1e-6, 1e-6)
    py, ty = pair(rand(2, 3))
    px, tx = pair(np.array([[0.0, 1, 2]]))
    check(pyml.trapezoid(py, px), torch.trapezoid(ty, tx))
    check(pyml.cumulative_trapezoid(py, px), torch.cumulative_trapezoid(ty, tx))
    check(pyml.trapezoid(pyml.zeros(2, 0)), torch.trapezoid(torch.zeros(2, 0)))
    check(pyml.cumulative_trapezoid(pyml.zeros(2, 0)), torch.cumulative_trapezoid(torch.zeros(2, 0)))
    pg, tg = pair(rand(3, 7), requires_grad=True)
    pxg, txg = pair(np.cumsum(np.abs(rand(7))), requires_grad=True)
    backward_both(pyml.cumulative_trapezoid(pg, pxg), torch.cumulative_trapezoid(tg, txg))
    check_grads([pg, pxg], [tg, txg])
    with pytest.raises(ValueError, match="one `x` value"):
        pyml.trapezoid(py, pyml.tensor([0.0, 1.0], dtype=pyml.float64))
    with pytest.raises(IndexError):
        pyml.trapezoid(pyml.tensor(1.0))
    with pytest.raises(IndexError):
        pyml.trapezoid(py, dim=2)
    with pytest.raises(TypeError):
        pyml.trapezoid(py, px, dx=1.0)
