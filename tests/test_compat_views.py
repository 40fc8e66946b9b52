"""Group 2 of pyml/_ops/compat_*: in-place geometry (squeeze_, unsqueeze_, t_, transpose_, swapaxes_,
swapdims_, resize_, resize_as_), unfold, fill_diagonal_, sum_to_size, against torch."""
import numpy as np
import pytest
import torch

import pyml
from compat_helpers import pair, check, check_grads, backward_both

INPLACE_VIEWS = [("squeeze_", ()), ("squeeze_", (1,)), ("squeeze_", (-1,)), ("squeeze_", ((1, 3),)),
                 ("unsqueeze_", (0,)), ("unsqueeze_", (-1,)), ("unsqueeze_", (2,)), ("transpose_", (0, 2)),
                 ("swapaxes_", (1, -1)), ("swapdims_", (0, 0))]


def _geometry(x):
    return tuple(x.shape), tuple(x.stride()), x.storage_offset()


@pytest.mark.parametrize("name,args", INPLACE_VIEWS)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_inplace_views_match_torch(name, args, layout):
    a = np.random.default_rng(0).standard_normal((3, 1, 4, 1))
    p, t = pair(a, layout=layout)
    ptr = p.data_ptr() - p.storage_offset() * 8
    assert getattr(p, name)(*args) is p
    getattr(t, name)(*args)
    assert _geometry(p) == _geometry(t)
    check(p, t)
    assert p.data_ptr() - p.storage_offset() * 8 == ptr  # same storage


def test_t_and_aliasing():
    p = pyml.arange(6.0).reshape(2, 3)
    alias = p.detach()
    p.t_()
    assert p.shape == (3, 2) and alias.shape == (2, 3)  # only this handle changes geometry
    p[0, 1] = 100.0  # the storage is shared
    assert alias[1, 0].item() == 100.0
    v = pyml.arange(3.0)
    assert v.t_() is v and v.shape == (3,)
    with pytest.raises(ValueError):
        pyml.zeros(2, 2, 2).t_()


def test_inplace_view_errors():
    with pytest.raises(IndexError):
        pyml.zeros(2, 3).transpose_(0, 5)
    with pytest.raises(IndexError):
        pyml.zeros(2, 3).unsqueeze_(4)
    with pytest.raises(TypeError):
        pyml.zeros(2, 3).squeeze_("a")
    leaf = pyml.zeros(3, 1, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.squeeze_()
    with pyml.no_grad():
        leaf.squeeze_()
    assert leaf.shape == (3,)


def test_inplace_views_autograd():
    a = np.random.default_rng(1).standard_normal((2, 3))
    p, t = pair(a, requires_grad=True)
    py, ty = p * 2, t * 2
    py.t_().unsqueeze_(0).swapdims_(0, 2)
    ty.t_().unsqueeze_(0).swapdims_(0, 2)
    assert tuple(py.shape) == tuple(ty.shape)
    pz, tz = py * py, ty * ty
    pz.squeeze_(2)
    tz.squeeze_(2)
    backward_both(pz, tz)
    check_grads([p], [t])


def test_inplace_view_of_view_then_inplace_write():
    a = np.random.default_rng(2).standard_normal((3, 4))
    p, t = pair(a, requires_grad=True)
    pb, tb = p * 1, t * 1
    pv, tv = pb[1], tb[1]
    pv.unsqueeze_(0)
    tv.unsqueeze_(0)
    pv.mul_(3)
    tv.mul_(3)
    check(pb, tb)
    backward_both(pb * pb, tb * tb)
    check_grads([p], [t])


# ---------------------------------------------------------------------------- resize_
def test_resize_shrink_grow_same():
    p, t = pyml.arange(6.0), torch.arange(6.0)
    p.resize_(2, 2)
    t.resize_(2, 2)
    check(p, t)
    assert p.stride() == t.stride()
    p.resize_(3, 2)  # back within the storage: the old elements are still there
    t.resize_(3, 2)
    check(p, t)
    p.resize_(4, 3)  # grows: the old storage's elements come first
    assert p.shape == (4, 3) and p.stride() == (3, 1) and p.reshape(-1)[:6].tolist() == list(range(6))
    q = pyml.ones(2, 3)[:, 1]
    q.resize_(2)
    assert q.stride() == (3,)  # same size: nothing changes
    q.resize_as_(pyml.zeros(1, 1))
    assert q.shape == (1, 1)
    e = pyml.zeros(0)
    e.resize_(5)
    assert e.shape == (5,)


def test_resize_errors():
    with pytest.raises(RuntimeError, match="require grad"):
        pyml.zeros(3, requires_grad=True).resize_(2)
    with pytest.raises(ValueError):
        pyml.zeros(3).resize_(-1)
    with pytest.raises(TypeError):
        pyml.zeros(3).resize_as_([1, 2])
    with pytest.raises(RuntimeError):
        pyml.zeros(3).resize_(1 << 40)


# ---------------------------------------------------------------------------- unfold
@pytest.mark.parametrize("shape,dim,size,step", [((10,), 0, 3, 2), ((10,), 0, 10, 1), ((10,), -1, 0, 3),
                                                 ((4, 7), 1, 3, 1), ((4, 7), 0, 2, 3), ((3, 5, 6), 1, 5, 4),
                                                 ((97,), 0, 7, 5), ((), 0, 1, 1), ((), 0, 0, 2)])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_unfold_matches_torch(shape, dim, size, step, layout):
    a = np.random.default_rng(3).standard_normal(shape)
    p, t = pair(a, layout=layout, requires_grad=True)
    pu, tu = p.unfold(dim, size, step), t.unfold(dim, size, step)
    check(pu, tu)
    if tu.numel():
        backward_both(pu, tu)  # overlapping windows add their gradients
        check_grads([p], [t])


def test_unfold_is_a_view_and_errors():
    x = pyml.arange(6.0)
    w = x.unfold(0, 2, 2)
    w[0, 0] = 50.0
    assert x[0].item() == 50.0
    with pytest.raises(ValueError):
        x.unfold(0, 7, 1)
    with pytest.raises(ValueError):
        x.unfold(0, 2, 0)
    with pytest.raises(IndexError):
        x.unfold(1, 2, 1)
    with pytest.raises(TypeError):
        x.unfold(0, 2.5, 1)


# ---------------------------------------------------------------------------- fill_diagonal_
@pytest.mark.parametrize("shape", [(3, 3), (3, 7), (7, 3), (4, 3), (8, 3), (1, 1), (2, 2, 2), (3, 3, 3, 3), (0, 3)])
@pytest.mark.parametrize("wrap", [False, True])
def test_fill_diagonal_matches_torch(shape, wrap):
    a = np.random.default_rng(4).standard_normal(shape)
    for layout in ("contiguous", "transposed"):
        p, t = pair(a, layout=layout)
        assert p.fill_diagonal_(-5.0, wrap=wrap) is p
        t.fill_diagonal_(-5.0, wrap=wrap)
        check(p, t)
    pi, ti = pair(np.zeros(shape, dtype=np.int64), "int64")
    check(pi.fill_diagonal_(7, wrap=wrap), ti.fill_diagonal_(7, wrap=wrap))


@pytest.mark.parametrize("wrap", [False, True])
def test_fill_diagonal_autograd(wrap):
    a = np.random.default_rng(5).standard_normal((7, 3))
    p, t = pair(a, requires_grad=True)
    py, ty = p * 1, t * 1
    py.fill_diagonal_(2.0, wrap=wrap)
    ty.fill_diagonal_(2.0, wrap=wrap)
    backward_both(py * py, ty * ty)
    check_grads([p], [t])
    with pytest.raises(RuntimeError, match="leaf"):
        p.fill_diagonal_(0.0)


def test_fill_diagonal_errors():
    with pytest.raises(ValueError):
        pyml.zeros(3).fill_diagonal_(1)
    with pytest.raises(ValueError):
        pyml.zeros(3, 3, 2).fill_diagonal_(1)
    with pytest.raises(TypeError):
        pyml.zeros(3, 3).fill_diagonal_("x")


# ---------------------------------------------------------------------------- sum_to_size
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int64"])
@pytest.mark.parametrize("size", [(2, 3, 4), (1, 3, 4), (3, 1), (4,), (1,), (), (2, 1, 1), (1, 1, 1)])
def test_sum_to_size_matches_torch(dtype, size):
    a = np.round(np.random.default_rng(6).standard_normal((2, 3, 4)) * 10)
    p, t = pair(a, dtype, layout="transposed")
    check(p.sum_to_size(size), t.sum_to_size(size), 1e-6, 1e-5)
    if size:
        check(p.sum_to_size(*size), t.sum_to_size(*size), 1e-6, 1e-5)


def test_sum_to_size_grad_and_errors():
    a = np.random.default_rng(7).standard_normal((3, 4))
    p, t = pair(a, requires_grad=True)
    backward_both(p.sum_to_size(1, 4) * 3, t.sum_to_size(1, 4) * 3)
    check_grads([p], [t])
    assert p.sum_to_size(3, 4) is p
    with pytest.raises(ValueError, match="expandable"):
        p.sum_to_size(2, 4)
    with pytest.raises(ValueError):
        p.sum_to_size(1, 3, 4, 1)
    with pytest.raises(TypeError):
        p.sum_to_size("a")
