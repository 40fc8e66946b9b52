"""pyml/_ops/compat_scatter.py against torch: index_reduce (prod/mean/amax/amin, include_self, values and
gradients), put/put_, select_scatter, slice_scatter, diagonal_scatter, as_strided_scatter."""
import numpy as np
import pytest
import torch

import pyml
from pyml.autograd import gradcheck
from compat_helpers import pair, check, check_grads, backward_both

REDUCES = ["prod", "mean", "amax", "amin"]
pytestmark = pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")  # torch's own warning


def _case(n_self, n_src, dim, dtype, seed=0):
    rng = np.random.default_rng(seed + n_self + n_src)
    shape_self, shape_src = [3, 4, 2], [3, 4, 2]
    shape_self[dim], shape_src[dim] = n_self, n_src
    if dtype == "int64":
        a, s = rng.integers(-3, 4, shape_self), rng.integers(-3, 4, shape_src)
    else:
        a, s = rng.uniform(0.5, 1.5, shape_self) * rng.choice([-1, 1], shape_self), rng.uniform(0.5, 1.5, shape_src)
    return a, s, rng.integers(0, n_self, n_src)


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("n_self,n_src", [(1, 1), (7, 97), (5, 2)])
def test_index_reduce_matches_torch(reduce, dim, dtype, n_self, n_src):
    a, s, idx = _case(n_self, n_src, dim % 3, dtype)
    pa, ta = pair(a, dtype, layout="transposed")
    ps, ts = pair(s, dtype)
    for include_self in (True, False):
        r = pyml.index_reduce(pa, dim, pyml.tensor(idx), ps, reduce, include_self=include_self)
        t = torch.index_reduce(ta, dim, torch.tensor(idx), ts, reduce, include_self=include_self)
        check(r, t, 1e-5, 1e-6)
        check(pa.index_reduce(dim, pyml.tensor(idx).int(), ps, reduce, include_self=include_self),
              ta.index_reduce(dim, torch.tensor(idx).int(), ts, reduce, include_self=include_self), 1e-5, 1e-6)


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_gradients(reduce, include_self):
    a, s, idx = _case(5, 9, 0, "float64", seed=3)
    if reduce == "prod":  # exact zeros: the lone-zero and several-zeros branches of the gradient
        s[0, 0, 0] = 0.0
        s[1, 1, 1] = s[2, 1, 1] = 0.0
        idx[1] = idx[2]
        a[idx[0], 2, 0] = 0.0
    pa, ta = pair(a, requires_grad=True)
    ps, ts = pair(s, requires_grad=True)
    backward_both(pyml.index_reduce(pa, 0, pyml.tensor(idx), ps, reduce, include_self=include_self),
                  torch.index_reduce(ta, 0, torch.tensor(idx), ts, reduce, include_self=include_self))
    check_grads([pa, ps], [ta, ts], 1e-10, 1e-12)
    a2, s2, idx2 = _case(4, 6, 1, "float64", seed=5)
    f = lambda x, y: pyml.index_reduce(x, 1, pyml.tensor(idx2), y, reduce, include_self=include_self)  # noqa: E731
    assert gradcheck(f, (pyml.tensor(a2).requires_grad_(), pyml.tensor(s2).requires_grad_()))


def test_index_reduce_inplace_zero_dim_out():
    a, s, idx = _case(4, 6, 0, "float64")
    pa, ta = pair(a)
    v = pa._version
    assert pa.index_reduce_(0, pyml.tensor(idx), pyml.tensor(s), "amax") is pa and pa._version > v
    check(pa, ta.index_reduce_(0, torch.tensor(idx), torch.tensor(s), "amax"))
    p0 = pyml.tensor(5.0).index_reduce(0, pyml.tensor([0]), pyml.tensor(2.0), "prod")
    check(p0, torch.tensor(5.0).index_reduce(0, torch.tensor([0]), torch.tensor(2.0), "prod"))
    out = pyml.empty(0, dtype=pyml.float64)
    pyml.index_reduce(pyml.tensor(a), 0, pyml.tensor(idx), pyml.tensor(s), "mean", out=out)
    check(out, torch.index_reduce(torch.tensor(a), 0, torch.tensor(idx), torch.tensor(s), "mean"))
    pg, tg = pair(a, requires_grad=True)
    yp, yt = pg * 1, tg * 1
    backward_both(yp.index_reduce_(0, pyml.tensor(idx), pyml.tensor(s), "mean"),
                  yt.index_reduce_(0, torch.tensor(idx), torch.tensor(s), "mean"))
    check_grads([pg], [tg])


def test_index_reduce_errors():
    x = pyml.arange(6.0).reshape(2, 3)
    with pytest.raises(ValueError, match="reduce"):
        x.index_reduce(0, pyml.tensor([0]), pyml.ones(1, 3), "sum")
    with pytest.raises(IndexError, match="out of range"):
        x.index_reduce(0, pyml.tensor([0, 5]), pyml.ones(2, 3), "mean")
    with pytest.raises(IndexError, match="out of range"):
        x.index_reduce(0, pyml.tensor([-1]), pyml.ones(1, 3), "mean")
    with pytest.raises(ValueError, match="number of indices"):
        x.index_reduce(0, pyml.tensor([0]), pyml.ones(2, 3), "mean")
    with pytest.raises(TypeError, match="int32/int64"):
        x.index_reduce(0, pyml.tensor([0.0]), pyml.ones(1, 3), "mean")
    with pytest.raises(TypeError, match="same dtype"):
        x.index_reduce(0, pyml.tensor([0]), pyml.ones(1, 3, dtype=pyml.float64), "mean")
    with pytest.raises(IndexError, match="vector"):
        x.index_reduce(0, pyml.tensor([[0]]), pyml.ones(1, 3), "mean")
    with pytest.raises(ValueError, match="shape"):
        x.index_reduce(0, pyml.tensor([0]), pyml.ones(1, 4), "mean")
    with pytest.raises(IndexError):
        x.index_reduce(2, pyml.tensor([0]), pyml.ones(1, 3), "mean")


# ---------------------------------------------------------------------------- put / put_
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_put_matches_torch(dtype, layout):
    rng = np.random.default_rng(7)
    a = rng.integers(0, 2, (7, 5)) if dtype == "bool" else rng.integers(-9, 9, (7, 5))
    pa, ta = pair(a, dtype, layout=layout)
    idx = rng.integers(-35, 35, (3, 4))
    src = rng.integers(0, 2, (12,)) if dtype == "bool" else rng.integers(-9, 9, (12,))
    ps, ts = pair(src, dtype)
    pi, ti = pyml.tensor(idx), torch.tensor(idx)
    check(pyml.put(pa, pi, ps), torch.put(ta, ti, ts))
    check(pa.put(pi, ps), ta.put(ti, ts))
    if dtype != "bool":
        check(pa.put(pi, ps, accumulate=True), ta.put(ti, ts, accumulate=True))
    v = pa._version
    assert pa.put_(pi, ps) is pa and pa._version > v
    check(pa, ta.put_(ti, ts))


def test_put_grad_zero_dim_errors():
    pa, ta = pair(np.arange(6.0).reshape(2, 3), requires_grad=True)
    ps, ts = pair(np.array([10.0, 20.0, 30.0]), requires_grad=True)
    idx = [0, 4, 0]
    backward_both(pyml.put(pa, pyml.tensor(idx), ps, accumulate=True) * 2,
                  torch.put(ta, torch.tensor(idx), ts, accumulate=True) * 2)
    check_grads([pa, ps], [ta, ts])
    z = pyml.tensor(5.0)
    assert z.put_(pyml.tensor([0]), pyml.tensor([2.0])) is z and z.item() == 2.0
    x = pyml.zeros(2, 3)
    with pytest.raises(IndexError, match="out of range"):
        x.put(pyml.tensor([6]), pyml.tensor([9.0]))
    with pytest.raises(IndexError, match="same number of elements"):
        x.put(pyml.tensor([0]), pyml.tensor([9.0, 1.0]))
    with pytest.raises(TypeError, match="same dtype"):
        x.put(pyml.tensor([0]), pyml.tensor([9]))
    with pytest.raises(TypeError, match="long"):
        x.put(pyml.tensor([0.0]), pyml.tensor([9.0]))


# ---------------------------------------------------------------------------- *_scatter
def test_select_scatter():
    pa, ta = pair(np.arange(24.0).reshape(2, 3, 4), layout="transposed")
    for dim, index in ((0, 1), (1, -1), (2, 0), (-1, 3)):
        shape = list(pa.shape)
        del shape[dim]
        ps, ts = pair(np.full(shape, 7.5))
        check(pyml.select_scatter(pa, ps, dim, index), torch.select_scatter(ta, ts, dim, index))
        check(pa.select_scatter(ps, dim, index), ta.select_scatter(ts, dim, index))
    pl, tl = pair(np.ones(4), "int64")  # src is cast to input's dtype, as torch
    check(pyml.select_scatter(pa[0], pl, 0, 1), torch.select_scatter(ta[0], tl, 0, 1))
    with pytest.raises(ValueError, match="size"):
        pyml.select_scatter(pa, pyml.ones(2), 0, 1)
    with pytest.raises(IndexError):
        pyml.select_scatter(pa, pyml.ones(3, 4), 0, 2)


def test_slice_scatter():
    pa, ta = pair(np.arange(35.0).reshape(5, 7), layout="strided")
    for dim, start, end, step in ((0, 0, None, 2), (1, 1, 5, 1), (1, -3, None, 1), (0, None, 10, 3), (1, 6, 100, 1)):
        view = ta.narrow(0, 0, 5)[(slice(None),) * dim + (slice(start, end, step),)]
        ps, ts = pair(np.full(tuple(view.shape), -1.0))
        check(pyml.slice_scatter(pa, ps, dim, start, end, step), torch.slice_scatter(ta, ts, dim, start, end, step))
        check(pa.slice_scatter(ps, dim, start, end, step), ta.slice_scatter(ts, dim, start, end, step))
    with pytest.raises(ValueError, match="size"):
        pyml.slice_scatter(pa, pyml.ones(5, 2), 1, 6)
    with pytest.raises(ValueError, match="step"):
        pyml.slice_scatter(pa, pyml.ones(5, 2), 1, 0, 4, 0)


def test_diagonal_scatter():
    pa, ta = pair(np.arange(24.0).reshape(2, 3, 4), layout="transposed")
    for offset, d1, d2 in ((0, 0, 1), (1, 1, 2), (-1, 1, 2), (2, -1, 1), (0, 2, 0)):
        n = tuple(ta.diagonal(offset, d1, d2).shape)
        ps, ts = pair(np.full(n, 9.0))
        check(pyml.diagonal_scatter(pa, ps, offset, d1, d2), torch.diagonal_scatter(ta, ts, offset, d1, d2))
        check(pa.diagonal_scatter(ps, offset, d1, d2), ta.diagonal_scatter(ts, offset, d1, d2))
    with pytest.raises(ValueError, match="size"):
        pyml.diagonal_scatter(pa, pyml.ones(3, 3), 0, 1, 2)


def test_as_strided_scatter():
    pa, ta = pair(np.arange(12.0).reshape(3, 4))
    for size, stride, offset in (((2,), (4,), 0), ((2, 2), (1, 4), 1), ((3,), (5,), None)):
        ps, ts = pair(np.full(size, -2.0))
        check(pyml.as_strided_scatter(pa, ps, size, stride, offset),
              torch.as_strided_scatter(ta, ts, size, stride, offset))
        check(pa.as_strided_scatter(ps, size, stride, offset), ta.as_strided_scatter(ts, size, stride, offset))
    with pytest.raises(ValueError, match="size"):
        pyml.as_strided_scatter(pa, pyml.ones(3), (2,), (4,), 0)


@pytest.mark.parametrize("name", ["select", "slice", "diagonal", "as_strided"])
def test_scatter_gradients(name):
    args = {"select": (1, 2), "slice": (1, 1, None, 2), "diagonal": (1, 0, 1), "as_strided": ((2, 2), (1, 5), 1)}[name]
    src_shape = {"select": (4,), "slice": (4, 2), "diagonal": (4,), "as_strided": (2, 2)}[name]
    pa, ta = pair(np.random.default_rng(1).standard_normal((4, 5)), requires_grad=True)
    ps, ts = pair(np.random.default_rng(2).standard_normal(src_shape), requires_grad=True)
    fp, ft = getattr(pyml, name + "_scatter"), getattr(torch, name + "_scatter")
    backward_both(fp(pa, ps, *args), ft(ta, ts, *args))
    if name == "as_strided":  # torch's as_strided_scatter backward fails its own gradcheck: check the values
        g = np.random.default_rng(0).standard_normal((4, 5))
        mask = np.ones(20)
        mask[[1, 6, 2, 7]] = 0  # storage positions of the (2, 2) view with strides (1, 5), offset 1
        np.testing.assert_allclose(pa.grad.numpy(), g * mask.reshape(4, 5))
        np.testing.assert_allclose(ps.grad.numpy(), g.ravel()[[1, 6, 2, 7]].reshape(2, 2))
    else:
        check_grads([pa, ps], [ta, ts])
    assert gradcheck(lambda a, s: fp(a, s, *args), (pa.detach().requires_grad_(), ps.detach().requires_grad_()))
    only_src = fp(pa.detach(), ps, *args)  # gradient to src alone when input needs none
    only_src.sum().backward()
    assert ps.grad is not None
