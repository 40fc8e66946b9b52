"""Group 4b of pyml/_ops/compat_*: diff, cross, trace, diagflat, block_diag, cov, corrcoef, quantile,
nanquantile against torch (values, dtypes, layouts, gradients, errors)."""
import math

import numpy as np
import pytest
import torch

import pyml
from compat_helpers import pair, check, check_grads, backward_both, SIZES


# ---------------------------------------------------------------------------- diff
@pytest.mark.parametrize("dtype", ["float64", "int64", "bool"])
@pytest.mark.parametrize("n", [0, 1, 2, 5])
@pytest.mark.parametrize("dim", [0, -1, 1])
def test_diff(dtype, n, dim):
    a = np.random.default_rng(n).integers(-5, 5, (4, 6, 3))
    a = a > 0 if dtype == "bool" else a
    p, t = pair(a, dtype, layout="transposed")
    check(pyml.diff(p, n, dim), torch.diff(t, n, dim))
    check(p.diff(n, dim), t.diff(n, dim))
    shape = list(a.shape)
    shape[dim] = 2
    pp, tp = pair(np.ones(shape), dtype)
    pa, ta = pair(np.zeros(shape[:dim % 3] + [1] + shape[dim % 3 + 1:]), dtype)
    check(pyml.diff(p, n, dim, prepend=pp, append=pa), torch.diff(t, n, dim, prepend=tp, append=ta))


def test_diff_grad_promotion_errors():
    p, t = pair(np.random.default_rng(0).standard_normal((3, 7)), requires_grad=True)
    backward_both(pyml.diff(p, 2), torch.diff(t, 2))
    check_grads([p], [t])
    pi, ti = pair(np.array([[1, 3], [2, 9]]), "int64")
    check(pyml.diff(pi, prepend=pyml.zeros(2, 1, dtype=pyml.float32)),
          torch.diff(ti, prepend=torch.zeros(2, 1)))
    with pytest.raises(ValueError):
        pyml.diff(pi, -1)
    with pytest.raises(ValueError):
        pyml.diff(pyml.tensor(1))
    with pytest.raises(ValueError):
        pyml.diff(pi, prepend=pyml.tensor([0]))
    with pytest.raises(IndexError):
        pyml.diff(pi, dim=3)


# ---------------------------------------------------------------------------- cross
@pytest.mark.parametrize("shapes,dim", [(((3,), (3,)), 0), (((5, 3), (5, 3)), -1), (((3, 4), (3, 1)), 0),
                                        (((2, 1, 3), (1, 4, 3)), 2), (((7, 3, 2), (7, 3, 2)), 1)])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_cross(shapes, dim, dtype):
    rng = np.random.default_rng(len(shapes[0]))
    pa, ta = pair(np.round(rng.standard_normal(shapes[0]) * 4), dtype, requires_grad=dtype == "float64")
    pb, tb = pair(np.round(rng.standard_normal(shapes[1]) * 4), dtype, requires_grad=dtype == "float64")
    po, to = pyml.cross(pa, pb, dim=dim), torch.cross(ta, tb, dim=dim)
    check(po, to, 1e-6, 1e-6)
    check(pa.cross(pb, dim), ta.cross(tb, dim), 1e-6, 1e-6)
    if dtype == "float64":
        backward_both(po, to)
        check_grads([pa, pb], [ta, tb])


def test_cross_default_dim_and_errors():
    pa, ta = pair(np.random.default_rng(1).standard_normal((3, 4)))
    pb, tb = pair(np.random.default_rng(2).standard_normal((3, 4)))
    with pytest.warns(UserWarning):
        po = pyml.cross(pa, pb)
    check(po, torch.cross(ta, tb, dim=0))
    with pytest.raises(ValueError):
        pyml.cross(pyml.ones(2, 4), pyml.ones(2, 4), dim=1)
    with pytest.raises(ValueError), pytest.warns(UserWarning):
        pyml.cross(pyml.ones(2, 4), pyml.ones(2, 4))
    with pytest.raises(IndexError):
        pyml.cross(pyml.ones(3), pyml.ones(3), dim=1)
    with pytest.raises(TypeError):
        pyml.cross(pyml.ones(3), pyml.ones(3, dtype=pyml.int64), dim=0)
    with pytest.raises(ValueError):
        pyml.cross(pyml.ones(2, 3), pyml.ones(3), dim=-1)


# ---------------------------------------------------------------------------- trace / diagflat / block_diag
@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2), (1, 1), (0, 3)])
@pytest.mark.parametrize("dtype", ["float64", "int32", "uint8"])
def test_trace(shape, dtype):
    a = np.random.default_rng(3).integers(0 if dtype == "uint8" else -3, 4, shape)
    p, t = pair(a, dtype, layout="transposed")
    check(pyml.trace(p), torch.trace(t))
    check(p.trace(), t.trace())


def test_trace_grad_and_errors():
    p, t = pair(np.random.default_rng(4).standard_normal((3, 4)), requires_grad=True)
    backward_both(pyml.trace(p) * 2, torch.trace(t) * 2)
    check_grads([p], [t])
    with pytest.raises(ValueError):
        pyml.trace(pyml.ones(3))
    with pytest.raises(TypeError):
        pyml.trace(pyml.ones(2, 2, dtype=pyml.bool))


@pytest.mark.parametrize("shape", [(), (3,), (2, 2), (2, 3, 1)])
@pytest.mark.parametrize("offset", [0, 1, -2])
def test_diagflat(shape, offset):
    p, t = pair(np.random.default_rng(5).standard_normal(shape), requires_grad=True)
    po, to = pyml.diagflat(p, offset), torch.diagflat(t, offset)
    check(po, to)
    check(p.diagflat(offset), t.diagflat(offset))
    backward_both(po, to)
    check_grads([p], [t])


def test_block_diag():
    rng = np.random.default_rng(6)
    arrs = [(rng.standard_normal(()), "float64"), (rng.standard_normal(3), "float64"),
            (rng.integers(0, 5, (2, 4)), "int64"), (rng.standard_normal((0, 2)), "float64"),
            (rng.standard_normal((3, 1)), "float64")]
    ps, ts = zip(*[pair(a, d, requires_grad=d == "float64") for a, d in arrs])
    po, to = pyml.block_diag(*ps), torch.block_diag(*ts)
    check(po, to)
    backward_both(po, to)
    check_grads([p for p in ps if p.requires_grad], [t for t in ts if t.requires_grad])
    check(pyml.block_diag(), torch.block_diag())
    pi, ti = pair(np.array([[1, 2]]), "int32")
    check(pyml.block_diag(pi, pi), torch.block_diag(ti, ti))
    with pytest.raises(ValueError):
        pyml.block_diag(pyml.ones(2, 2, 2))
    with pytest.raises(TypeError):
        pyml.block_diag([1, 2])


# ---------------------------------------------------------------------------- cov / corrcoef
@pytest.mark.parametrize("shape", [(3, 7), (1, 97), (5,), (4, 1023), (2, 2)])
@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("weights", [None, "f", "a", "fa"])
def test_cov(shape, correction, weights):
    rng = np.random.default_rng(shape[-1])
    p, t = pair(rng.standard_normal(shape), requires_grad=True, layout="transposed")
    n = shape[-1]
    kw_p, kw_t = {}, {}
    if weights and "f" in weights:
        kw_p["fweights"], kw_t["fweights"] = pair(rng.integers(0, 4, n) + (np.arange(n) == 0), "int64")
    if weights and "a" in weights:
        kw_p["aweights"], kw_t["aweights"] = pair(rng.uniform(0.1, 2, n))
    po = pyml.cov(p, correction=correction, **kw_p)
    to = torch.cov(t, correction=correction, **kw_t)
    check(po, to, 1e-10, 1e-12)
    if to.ndim:
        backward_both(po, to)
        check_grads([p], [t])


def test_cov_dtypes_and_errors():
    pi, ti = pair(np.array([[1, 2, 4], [0, 5, 1]]), "int64")
    check(pyml.cov(pi), torch.cov(ti), 1e-6, 1e-6)
    pf, tf = pair(np.random.default_rng(7).standard_normal((3, 5)), "float32")
    check(pyml.cov(pf), torch.cov(tf), 1e-5, 1e-6)
    with pytest.warns(UserWarning):
        check(pyml.cov(pyml.tensor([[1.0, 2.0]]), correction=5), torch.cov(torch.tensor([[1.0, 2.0]]), correction=5))
    x = pyml.ones(2, 3)
    with pytest.raises(ValueError):
        pyml.cov(pyml.ones(2, 2, 2))
    with pytest.raises(TypeError):
        pyml.cov(x, fweights=pyml.tensor([1.0, 2.0, 1.0]))
    with pytest.raises(TypeError):
        pyml.cov(x, aweights=pyml.tensor([1, 2, 1]))
    with pytest.raises(ValueError):
        pyml.cov(x, fweights=pyml.tensor([-1, 2, 1]))
    with pytest.raises(ValueError):
        pyml.cov(x, aweights=pyml.tensor([1.0, 2.0]))


@pytest.mark.parametrize("shape", [(3, 7), (5,), (2, 97)])
def test_corrcoef(shape):
    p, t = pair(np.random.default_rng(8).standard_normal(shape), requires_grad=True)
    po, to = pyml.corrcoef(p), torch.corrcoef(t)
    check(po, to, 1e-10, 1e-12)
    check(p.corrcoef(), t.corrcoef(), 1e-10, 1e-12)
    if to.ndim:
        backward_both(po, to)
        check_grads([p], [t])
    pc, tc = pair(np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]))
    check(pyml.corrcoef(pc), torch.corrcoef(tc))


# ---------------------------------------------------------------------------- quantile / nanquantile
INTERP = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("op", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", INTERP)
@pytest.mark.parametrize("n", SIZES)
def test_quantile_values(op, interpolation, n):
    rng = np.random.default_rng(n)
    a = rng.standard_normal((3, n))
    a[0, :: 3] = math.nan  # one slice with NaNs; with n == 1 it is all NaN
    p, t = pair(a, layout="strided")
    qs = [0.0, 0.25, 0.5, 0.625, 1.0]
    pq, tq = pair(np.array(qs))
    for dim, keepdim in ((1, False), (0, True), (-1, True), (None, False), (None, True)):
        check(getattr(pyml, op)(p, pq, dim, keepdim, interpolation=interpolation),
              getattr(torch, op)(t, tq, dim, keepdim, interpolation=interpolation))
        check(getattr(pyml, op)(p, 0.3, dim, keepdim, interpolation=interpolation),
              getattr(torch, op)(t, 0.3, dim, keepdim, interpolation=interpolation))
    check(getattr(p, op)(0.75, dim=1), getattr(t, op)(0.75, dim=1))


@pytest.mark.parametrize("interpolation", INTERP)
def test_quantile_grads_and_float32(interpolation):
    a = np.random.default_rng(9).standard_normal((4, 9))
    p, t = pair(a, requires_grad=True)
    pq, tq = pair(np.array([0.1, 0.5, 0.9]))
    backward_both(pyml.quantile(p, pq, dim=1, interpolation=interpolation),
                  torch.quantile(t, tq, dim=1, interpolation=interpolation))
    check_grads([p], [t])
    pf, tf = pair(a, "float32")
    check(pyml.quantile(pf, 0.3, interpolation=interpolation),
          torch.quantile(tf, 0.3, interpolation=interpolation), 1e-6, 1e-6)


def test_quantile_shapes_and_errors():
    check(pyml.quantile(pyml.tensor(3.0), 0.2), torch.quantile(torch.tensor(3.0), 0.2))
    check(pyml.quantile(pyml.ones(2, 3), pyml.tensor([0.5]), keepdim=True),
          torch.quantile(torch.ones(2, 3), torch.tensor([0.5]), keepdim=True))
    out = pyml.empty(0)
    assert pyml.quantile(pyml.ones(3), 0.5, out=out) is out
    x = pyml.tensor([1.0, 2.0])
    with pytest.raises(TypeError):
        pyml.quantile(pyml.tensor([1, 2]), 0.5)
    with pytest.raises(ValueError):
        pyml.quantile(x, 1.5)
    with pytest.raises(ValueError):
        pyml.quantile(x, pyml.tensor([0.5, -0.1]))
    with pytest.raises(TypeError):
        pyml.quantile(x, pyml.tensor([0.5], dtype=pyml.float64))
    with pytest.raises(ValueError):
        pyml.quantile(pyml.zeros(0), 0.5)
    with pytest.raises(ValueError):
        pyml.quantile(x, pyml.ones(2, 2) * 0.5)
    with pytest.raises(ValueError):
        pyml.quantile(x, 0.5, interpolation="cubic")
    with pytest.raises(IndexError):
        pyml.quantile(x, 0.5, dim=2)
    check(pyml.nanquantile(pyml.tensor([math.nan, math.nan]), 0.5),
          torch.nanquantile(torch.tensor([math.nan, math.nan]), 0.5))
