"""Group 4a of pyml/_ops/compat_*: searchsorted, bucketize, isin, bincount, histc, unravel_index vs torch."""
import math

import numpy as np
import pytest
import torch

import pyml
from compat_helpers import pair, check, SIZES


def _sorted(rng, shape, dtype):
    a = np.sort(np.round(rng.standard_normal(shape) * 4, 1 if dtype.startswith("float") else 0), axis=-1)
    return a


# ---------------------------------------------------------------------------- searchsorted / bucketize
@pytest.mark.parametrize("m", [0, 1, 2, 7, 97, 1023])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_searchsorted_1d(m, dtype):
    rng = np.random.default_rng(m)
    ps, ts = pair(_sorted(rng, m, dtype), dtype)
    vals = np.round(rng.standard_normal((3, 37)) * 5, 1 if dtype != "int64" else 0)
    if m:
        vals[0, :m] = _sorted(rng, m, dtype)[:37] if m < 37 else ps.numpy()[:37]  # exact hits and duplicates
    pv, tv = pair(vals, dtype, layout="transposed")
    for kw in ({}, {"right": True}, {"side": "right"}, {"side": "left"}, {"out_int32": True}):
        check(pyml.searchsorted(ps, pv, **kw), torch.searchsorted(ts, tv, **kw))
    check(pyml.bucketize(pv, ps), torch.bucketize(tv, ts))
    check(pyml.bucketize(pv, ps, right=True, out_int32=True), torch.bucketize(tv, ts, right=True, out_int32=True))


@pytest.mark.parametrize("n", SIZES)
def test_searchsorted_nd_and_sorter(n):
    rng = np.random.default_rng(n)
    seq = _sorted(rng, (4, n), "float64")
    ps, ts = pair(seq, layout="strided")
    pv, tv = pair(rng.standard_normal((4, 5)) * 4)
    for right in (False, True):
        check(pyml.searchsorted(ps, pv, right=right), torch.searchsorted(ts, tv, right=right))
    perm = np.argsort(rng.standard_normal((4, n)), axis=-1)
    unsorted = np.take_along_axis(seq, perm, -1)
    sorter = np.argsort(unsorted, axis=-1, kind="stable")
    pu, tu = pair(unsorted)
    psr, tsr = pair(sorter, "int64")
    check(pyml.searchsorted(pu, pv, sorter=psr), torch.searchsorted(tu, tv, sorter=tsr))


def test_searchsorted_nan_inf_scalars():
    nan, inf = math.nan, math.inf
    ps, ts = pair(np.array([-inf, 1.0, 2.0, 2.0, 3.0, inf, nan]))
    pv, tv = pair(np.array([nan, 2.0, 0.0, 5.0, 3.0, inf, -inf]))
    for right in (False, True):
        check(pyml.searchsorted(ps, pv, right=right), torch.searchsorted(ts, tv, right=right))
    check(pyml.searchsorted(ps, 2.0), torch.searchsorted(ts, 2.0))
    check(pyml.searchsorted(pyml.tensor([1, 3]), 2), torch.searchsorted(torch.tensor([1, 3]), 2))
    check(pyml.bucketize(3, pyml.tensor([1, 3, 5])), torch.bucketize(3, torch.tensor([1, 3, 5])))
    out = pyml.empty(0, dtype=pyml.int64)
    assert pyml.searchsorted(ps, pv, out=out) is out and out.shape == (7,)


def test_searchsorted_errors():
    s = pyml.tensor([1.0, 2.0])
    with pytest.raises(ValueError):
        pyml.searchsorted(s, pyml.ones(2), side="left", right=True)
    with pytest.raises(ValueError):
        pyml.searchsorted(s, pyml.ones(2), side="middle")
    with pytest.raises(ValueError):
        pyml.searchsorted(pyml.ones(2, 3), pyml.ones(3, 2))
    with pytest.raises(ValueError):
        pyml.searchsorted(pyml.ones(2, 3), 1.0)
    with pytest.raises(ValueError):
        pyml.searchsorted(pyml.tensor(1.0), pyml.ones(2))
    with pytest.raises(ValueError):
        pyml.searchsorted(s, pyml.ones(2), sorter=pyml.tensor([0, 1, 2]))
    with pytest.raises(ValueError):
        pyml.bucketize(pyml.ones(2), pyml.ones(1, 2))
    with pytest.raises(TypeError):
        pyml.searchsorted([1, 2], pyml.ones(2))
    with pytest.raises(TypeError):
        pyml.searchsorted(s, "x")


def test_searchsorted_is_logarithmic():
    # rounds = ceil(log2(M + 1)): a million boundaries take 20 rounds over the values, no (N, M) matrix
    ps = pyml.arange(1_000_000, dtype=pyml.float64)
    pv = pyml.tensor([0.5, 999_998.5, -3.0, 2e6])
    assert pyml.searchsorted(ps, pv).tolist() == [1, 999_999, 0, 1_000_000]


# ---------------------------------------------------------------------------- isin
@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("float32", "float32"), ("int64", "float64"),
                                    ("float64", "int32")])
@pytest.mark.parametrize("n", SIZES)
def test_isin(dtypes, n):
    rng = np.random.default_rng(n)
    e = rng.integers(-20, 20, (n, 2)).astype(np.float64)
    t = rng.integers(-20, 20, max(n // 3, 1)).astype(np.float64)
    if dtypes[0].startswith("float"):
        e[0, 0], e[-1, -1] = np.nan, 0.5
    if dtypes[1].startswith("float"):
        t[0] = np.nan
    pe, te = pair(e, dtypes[0], layout="transposed")
    pt, tt = pair(t, dtypes[1])
    for invert in (False, True):
        check(pyml.isin(pe, pt, invert=invert), torch.isin(te, tt, invert=invert))


def test_isin_scalars_and_empty():
    pe, te = pair(np.array([1, 2, 3]), "int64")
    check(pyml.isin(pe, 2), torch.isin(te, 2))
    check(pyml.isin(2, pe), torch.isin(2, te))
    check(pyml.isin(pe, pyml.zeros(0, dtype=pyml.int64)), torch.isin(te, torch.zeros(0, dtype=torch.int64)))
    with pytest.raises(TypeError):
        pyml.isin(1, 2)


# ---------------------------------------------------------------------------- bincount / histc
@pytest.mark.parametrize("n", [0, 1, 7, 97, 1023])
@pytest.mark.parametrize("weights", [None, "float32", "float64", "int64"])
def test_bincount(n, weights):
    rng = np.random.default_rng(n)
    pi, ti = pair(rng.integers(0, 13, n), "int64", layout="strided")
    pw, tw = pair(rng.standard_normal(n), weights) if weights else (None, None)
    for minlength in (0, 5, 20):
        check(pyml.bincount(pi, pw, minlength), torch.bincount(ti, tw, minlength), 1e-6, 1e-6)
    check(pi.bincount(pw), ti.bincount(tw), 1e-6, 1e-6)
    pu, tu = pair(rng.integers(0, 5, n), "uint8")
    check(pyml.bincount(pu), torch.bincount(tu))


def test_bincount_errors_and_grad():
    with pytest.raises(ValueError):
        pyml.bincount(pyml.tensor([-1, 2]))
    with pytest.raises(TypeError):
        pyml.bincount(pyml.tensor([1.0]))
    with pytest.raises(ValueError):
        pyml.bincount(pyml.tensor([[1]]))
    with pytest.raises(ValueError):
        pyml.bincount(pyml.tensor([1, 2]), weights=pyml.tensor([1.0]))
    with pytest.raises(ValueError):
        pyml.bincount(pyml.tensor([1]), minlength=-1)
    w = pyml.tensor([0.5, 1.0, 2.0], dtype=pyml.float64, requires_grad=True)
    (pyml.bincount(pyml.tensor([0, 2, 2]), w) * pyml.tensor([1.0, 2.0, 3.0], dtype=pyml.float64)).sum().backward()
    assert w.grad.tolist() == [1.0, 3.0, 3.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", SIZES)
def test_histc(dtype, n):
    rng = np.random.default_rng(n)
    a = np.round(rng.standard_normal(n) * 3, 2)
    p, t = pair(a, dtype, layout="strided")
    for kw in ({}, {"bins": 7}, {"bins": 10, "min": -1, "max": 1}, {"bins": 3, "min": 0.5, "max": 0.5},
               {"bins": 1}):
        check(pyml.histc(p, **kw), torch.histc(t, **kw))
    check(p.histc(5), t.histc(5))


def test_histc_edges_and_errors():
    p, t = pair(np.array([0.1, 0.2, 0.3, 0.7, 0.9, 1.0, 0.0]), "float32")
    check(pyml.histc(p, 10, 0, 1), torch.histc(t, 10, 0, 1))
    p, t = pair(np.array([1.0, math.nan, math.inf, -math.inf]))
    check(pyml.histc(p, 3, 0, 2), torch.histc(t, 3, 0, 2))
    check(pyml.histc(pyml.tensor([2.0, 2.0]), 3), torch.histc(torch.tensor([2.0, 2.0]), 3))
    check(pyml.histc(pyml.zeros(0), 3), torch.histc(torch.zeros(0), 3))
    with pytest.raises(ValueError):
        pyml.histc(p)  # the data's range is not finite
    with pytest.raises(ValueError):
        pyml.histc(pyml.ones(3), 3, min=3, max=1)
    with pytest.raises(ValueError):
        pyml.histc(pyml.ones(3), 0)
    with pytest.raises(TypeError):
        pyml.histc(pyml.tensor([1, 2]), 3)


# ---------------------------------------------------------------------------- unravel_index
@pytest.mark.parametrize("shape", [(2, 3), (7,), (3, 1, 4), (97, 13), 5])
def test_unravel_index(shape):
    numel = int(np.prod(shape))
    rng = np.random.default_rng(numel)
    idx = rng.integers(-2 * numel, 2 * numel, (4, 5))  # torch wraps out-of-range indices: so do we
    pi, ti = pair(idx, "int64")
    ps = tuple(shape) if isinstance(shape, tuple) else shape
    got, want = pyml.unravel_index(pi, ps), torch.unravel_index(ti, ps)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        check(g, w)
    g0, w0 = pyml.unravel_index(pyml.tensor(3), ps), torch.unravel_index(torch.tensor(3), ps)
    assert [x.tolist() for x in g0] == [x.tolist() for x in w0]


def test_unravel_index_errors():
    assert pyml.unravel_index(pyml.tensor([0]), ()) == ()
    with pytest.raises(TypeError):
        pyml.unravel_index(pyml.tensor([1.0]), (2, 3))
    with pytest.raises(ValueError):
        pyml.unravel_index(pyml.tensor([0]), (2, -3))
    with pytest.raises(ValueError):
        pyml.unravel_index(pyml.tensor([0]), (0,))
    with pytest.raises(TypeError):
        pyml.unravel_index(pyml.tensor([0]), "ab")
