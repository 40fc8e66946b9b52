"""Group 1 of pyml/_ops/compat_*: isclose/allclose/equal, finfo/iinfo, Tensor.new_*, nan_to_num,
addcmul/addcdiv, meshgrid, tril/triu_indices, cartesian_prod, combinations, against torch."""
import warnings

import numpy as np
import pytest
import torch

import pyml
from compat_helpers import pair, check, check_grads, backward_both, tol, SIZES, EDGE


# ---------------------------------------------------------------------------- isclose / allclose / equal
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("n", SIZES)
def test_isclose_matches_torch(dtype, n):
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n) * 3
    b = a + rng.choice([0, 1e-9, 1e-6, 1e-3, 1], size=n) * rng.standard_normal(n)
    if dtype == "bool":
        a, b = a > 0, b > 0
    pa, ta = pair(a, dtype)
    pb, tb = pair(b, dtype)
    for kw in ({}, {"rtol": 0.1, "atol": 0.5}, {"rtol": 0, "atol": 0}, {"equal_nan": True}):
        check(pyml.isclose(pa, pb, **kw), torch.isclose(ta, tb, **kw))
        check(pa.isclose(pb, **kw), ta.isclose(tb, **kw))
        assert pyml.allclose(pa, pb, **kw) == torch.allclose(ta, tb, **kw)


def test_isclose_edge_values_and_broadcast():
    e = np.array(EDGE)
    a, b = np.meshgrid(e, e)
    pa, ta = pair(a, layout="transposed")
    pb, tb = pair(b)
    for eq in (False, True):
        check(pyml.isclose(pa, pb, equal_nan=eq), torch.isclose(ta, tb, equal_nan=eq))
    pc, tc = pair(e[:3])
    check(pyml.isclose(pa[:, :3], pc), torch.isclose(ta[:, :3], tc))


def test_isclose_errors():
    x = pyml.zeros(3)
    with pytest.raises(TypeError, match="same dtype"):
        pyml.isclose(x, x.double())
    with pytest.raises(ValueError, match="rtol"):
        pyml.isclose(x, x, rtol=-1)
    with pytest.raises(ValueError, match="atol"):
        pyml.allclose(x, x, atol=-1)
    with pytest.raises(TypeError):
        pyml.isclose([1.0], x)
    with pytest.raises(ValueError):
        pyml.isclose(x, pyml.zeros(2))


def test_equal():
    a = pyml.tensor([1.0, 2.0])
    assert pyml.equal(a, a.clone()) and a.equal(a.clone())
    assert pyml.equal(pyml.tensor([1]), pyml.tensor([1.0])) == torch.equal(torch.tensor([1]), torch.tensor([1.0]))
    assert not pyml.equal(a, pyml.tensor([1.0, 3.0]))
    assert not pyml.equal(a, pyml.tensor([[1.0, 2.0]]))  # no broadcasting
    assert not pyml.equal(pyml.tensor([float("nan")]), pyml.tensor([float("nan")]))
    assert pyml.equal(pyml.zeros(0), pyml.zeros(0))
    x = pyml.arange(6.0).reshape(2, 3)
    assert pyml.equal(x.t(), x.t().contiguous())


# ---------------------------------------------------------------------------- finfo / iinfo
@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo(name):
    p, t = pyml.finfo(getattr(pyml, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(p, attr) == getattr(t, attr), attr
    assert repr(p) == repr(t)
    assert p == pyml.finfo(name)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    p, t = pyml.iinfo(getattr(pyml, name)), torch.iinfo(getattr(torch, name))
    for attr in ("bits", "max", "min", "dtype"):
        assert getattr(p, attr) == getattr(t, attr), attr
    assert repr(p) == repr(t)


def test_info_defaults_and_errors():
    assert pyml.finfo().dtype == str(pyml.get_default_dtype()).split(".")[-1]
    with pytest.raises(TypeError):
        pyml.finfo(pyml.int32)
    with pytest.raises(TypeError):
        pyml.iinfo(pyml.float32)
    with pytest.raises(TypeError):
        pyml.iinfo(pyml.bool)
    with pytest.raises(TypeError):
        pyml.finfo("nope")


# ---------------------------------------------------------------------------- Tensor.new_*
def test_new_constructors():
    x = pyml.zeros(2, dtype=pyml.int32)
    assert x.new_zeros(2, 3).shape == (2, 3) and x.new_zeros((2, 3)).dtype is pyml.int32
    assert x.new_ones([4]).tolist() == [1, 1, 1, 1]
    assert x.new_empty(0, 5).shape == (0, 5) and x.new_ones([]).shape == ()
    assert x.new_full((2,), 7).tolist() == [7, 7]
    assert x.new_zeros(3, dtype=pyml.float64).dtype is pyml.float64
    assert x.new_tensor([1.5, 2.0]).tolist() == torch.zeros(2, dtype=torch.int32).new_tensor([1.5, 2.0]).tolist()
    f = pyml.zeros(1, dtype=pyml.float64)
    z = f.new_zeros(3, requires_grad=True)
    assert z.requires_grad and z.is_leaf and z.dtype is pyml.float64
    with pytest.raises(RuntimeError):
        x.new_ones(2, requires_grad=True)
    with pytest.raises(ValueError):
        x.new_zeros(-1)
    with pytest.raises(TypeError):
        x.new_zeros("a")


def test_new_tensor_copies_and_detaches():
    src = pyml.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning):
        c = src.new_tensor(src)
    assert not c.requires_grad and c.tolist() == [1.0, 2.0]
    c.add_(1)
    assert src.tolist() == [1.0, 2.0]
    assert pyml.zeros(1).new_tensor([[1, 2]], requires_grad=True).requires_grad


# ---------------------------------------------------------------------------- nan_to_num
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_nan_to_num_values(dtype):
    a = np.array(EDGE * 3 + [1e30, -2.5])
    pa, ta = pair(a, dtype, layout="strided")
    r, a_ = tol(dtype)
    for kw in ({}, {"nan": 2.0}, {"posinf": 5.0, "neginf": -7.0}, {"nan": 1e40}):
        check(pyml.nan_to_num(pa, **kw), torch.nan_to_num(ta, **kw), r, a_)
        check(pa.nan_to_num(**kw), ta.nan_to_num(**kw), r, a_)


def test_nan_to_num_ints_inplace_out_grad():
    pi, ti = pair(np.array([1, -2, 3]), "int64")
    check(pyml.nan_to_num(pi, nan=1.5), torch.nan_to_num(ti, nan=1.5))
    pb, tb = pair(np.array([True, False]), "bool")
    check(pyml.nan_to_num(pb), torch.nan_to_num(tb))
    x = pyml.tensor([float("nan"), float("inf"), 1.0])
    assert x.nan_to_num_(nan=3.0) is x and x.tolist()[0] == 3.0 and x.tolist()[1] == pyml.finfo(pyml.float32).max
    out = pyml.empty(0)
    pyml.nan_to_num(pyml.tensor([float("nan")]), out=out)
    assert out.tolist() == [0.0]
    pa, ta = pair(np.array(EDGE), requires_grad=True)
    backward_both(pyml.nan_to_num(pa, nan=1.0) * 2, torch.nan_to_num(ta, nan=1.0) * 2)
    check_grads([pa], [ta])
    with pytest.raises(TypeError):
        pyml.nan_to_num(pa, nan="x")


# ---------------------------------------------------------------------------- addcmul / addcdiv
@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("dtypes", [("float64",) * 3, ("float32", "float64", "float32"), ("int64", "float32", "int64"),
                                    ("float32",) * 3])
def test_addc_matches_torch(op, dtypes):
    rng = np.random.default_rng(5)
    shapes = [(7, 1), (1, 97), (7, 97)]
    arrs = [rng.standard_normal(s) + (3 if i == 2 else 0) for i, s in enumerate(shapes)]
    if dtypes[0] == "int64":
        arrs = [np.round(a * 3) for a in arrs]
        arrs[2][arrs[2] == 0] = 1
    ps, ts = zip(*[pair(a, d, layout="strided") for a, d in zip(arrs, dtypes)])
    r, a_ = tol("float32" if "float32" in dtypes else "float64")
    for value in (1, 0.5, -2):
        check(getattr(pyml, op)(*ps, value=value), getattr(torch, op)(*ts, value=value), r, a_ * 10)
    check(getattr(ps[0], op)(ps[1], ps[2]), getattr(ts[0], op)(ts[1], ts[2]), r, a_ * 10)


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
def test_addc_grad_inplace_errors(op):
    rng = np.random.default_rng(1)
    arrs = [rng.standard_normal((3, 4)), rng.standard_normal((4,)), rng.standard_normal((3, 1)) + 3]
    ps, ts = zip(*[pair(a, requires_grad=True) for a in arrs])
    backward_both(getattr(pyml, op)(*ps, value=0.7), getattr(torch, op)(*ts, value=0.7))
    check_grads(ps, ts)
    x = pyml.ones(3, 4, dtype=pyml.float64)
    assert getattr(x, op + "_")(pyml.ones(4, dtype=pyml.float64), pyml.ones(3, 1, dtype=pyml.float64) * 2,
                                value=3) is x
    tx = torch.ones(3, 4, dtype=torch.float64)
    getattr(tx, op + "_")(torch.ones(4, dtype=torch.float64), torch.ones(3, 1, dtype=torch.float64) * 2, value=3)
    check(x, tx)
    with pytest.raises(ValueError):  # the broadcast result is larger than self
        getattr(pyml.ones(4), op + "_")(pyml.ones(3, 4), pyml.ones(3, 4))
    with pytest.raises(TypeError):
        getattr(pyml.ones(4, dtype=pyml.int64), op + "_")(pyml.ones(4), pyml.ones(4))
    with pytest.raises(TypeError):
        getattr(pyml, op)(pyml.ones(2), pyml.ones(2), "x")


def test_addc_integer_rules():
    i = pyml.tensor([1, 2])
    assert pyml.addcmul(i, i, i, value=2).tolist() == [3, 10]
    with pytest.raises(TypeError):
        pyml.addcmul(i, i, i, value=0.5)
    with pytest.raises(TypeError):
        pyml.addcdiv(pyml.tensor([1.0, 2.0]), i, i)
    out = pyml.empty(0)
    pyml.addcmul(pyml.ones(2), pyml.ones(2), pyml.ones(2), out=out)
    assert out.tolist() == [2.0, 2.0]


# ---------------------------------------------------------------------------- meshgrid / cartesian_prod
@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("sizes", [(3,), (2, 5), (1, 7, 4), (0, 3), (3, 1, 2, 2)])
def test_meshgrid_matches_torch(indexing, sizes):
    rng = np.random.default_rng(len(sizes))
    arrs = [rng.standard_normal(n) for n in sizes]
    ps, ts = zip(*[pair(a, requires_grad=True) for a in arrs])
    pg, tg = pyml.meshgrid(*ps, indexing=indexing), torch.meshgrid(*ts, indexing=indexing)
    for p, t in zip(pg, tg):
        check(p, t)
    assert [tuple(p.shape) for p in pyml.meshgrid(list(ps), indexing=indexing)] == [tuple(t.shape) for t in tg]
    backward_both(sum((g * (i + 1)).sum() for i, g in enumerate(pg)),
                  sum((g * (i + 1)).sum() for i, g in enumerate(tg)))
    check_grads(ps, ts)


def test_meshgrid_default_warns_and_errors():
    with pytest.warns(UserWarning, match="indexing"):
        a, b = pyml.meshgrid(pyml.arange(2), pyml.arange(3))
    assert a.shape == (2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pyml.meshgrid(pyml.arange(2), indexing="ij")
    assert [tuple(g.shape) for g in pyml.meshgrid(pyml.tensor(1), pyml.arange(3), indexing="xy")] == [(3, 1), (3, 1)]
    with pytest.raises(ValueError):
        pyml.meshgrid(pyml.zeros(2, 2), indexing="ij")
    with pytest.raises(TypeError):
        pyml.meshgrid(pyml.zeros(2), pyml.arange(2), indexing="ij")
    with pytest.raises(ValueError):
        pyml.meshgrid(pyml.zeros(2), indexing="yx")
    with pytest.raises(TypeError):
        pyml.meshgrid([1, 2], indexing="ij")


def test_cartesian_prod():
    pa, ta = pair(np.array([1, 2, 3]), "int64")
    pb, tb = pair(np.array([4, 5]), "int64")
    pc, tc = pair(np.array([7, 8, 9, 10]), "int64")
    check(pyml.cartesian_prod(pa, pb, pc), torch.cartesian_prod(ta, tb, tc))
    check(pyml.cartesian_prod(pa), torch.cartesian_prod(ta))
    pf, tf = pair(np.array([1.0, 2.0]), requires_grad=True)
    backward_both(pyml.cartesian_prod(pf, pf * 3), torch.cartesian_prod(tf, tf * 3))
    check_grads([pf], [tf])
    with pytest.raises(ValueError):
        pyml.cartesian_prod(pyml.zeros(2, 2), pyml.zeros(2))


# ---------------------------------------------------------------------------- tril / triu indices
@pytest.mark.parametrize("op", ["tril_indices", "triu_indices"])
@pytest.mark.parametrize("row,col", [(0, 3), (1, 1), (3, 3), (4, 7), (7, 4), (97, 13)])
def test_tri_indices(op, row, col):
    for offset in (-100, -2, -1, 0, 1, 3, 100):
        check(getattr(pyml, op)(row, col, offset), getattr(torch, op)(row, col, offset))
    p = getattr(pyml, op)(row, col, dtype=pyml.int32)
    check(p, getattr(torch, op)(row, col, dtype=torch.int32))


def test_tri_indices_errors():
    with pytest.raises(ValueError):
        pyml.tril_indices(-1, 3)
    with pytest.raises(TypeError):
        pyml.triu_indices(3, 3, dtype=pyml.float32)
    with pytest.raises(TypeError):
        pyml.tril_indices(3.5, 3)
    with pytest.raises(RuntimeError):
        pyml.tril_indices(1 << 40, 1 << 40)


# ---------------------------------------------------------------------------- combinations
@pytest.mark.parametrize("n", [0, 1, 2, 5, 9])
@pytest.mark.parametrize("r", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("rep", [False, True])
def test_combinations_matches_torch(n, r, rep):
    p, t = pair(np.arange(n) * 1.5 - 2)
    check(pyml.combinations(p, r, with_replacement=rep), torch.combinations(t, r, with_replacement=rep))


def test_combinations_grad_dtypes_errors():
    pa, ta = pair(np.array([0.5, -1.0, 2.0, 3.0]), requires_grad=True)
    backward_both(pyml.combinations(pa, 3), torch.combinations(ta, 3))
    check_grads([pa], [ta])
    pb, tb = pair(np.array([True, False, True]), "bool")
    check(pyml.combinations(pb, with_replacement=True), torch.combinations(tb, with_replacement=True))
    pi, ti = pair(np.array([3, 1, 2]), "int64", layout="strided")
    check(pyml.combinations(pi), torch.combinations(ti))
    with pytest.raises(ValueError):
        pyml.combinations(pyml.zeros(2, 2))
    with pytest.raises(ValueError):
        pyml.combinations(pyml.zeros(3), -1)
    with pytest.raises(RuntimeError):
        pyml.combinations(pyml.zeros(5), 1 << 40, with_replacement=True)
    assert pyml.combinations(pyml.ones(1), 5, with_replacement=True).tolist() == [[1.0] * 5]
    assert pyml.combinations(pyml.zeros(3), 1 << 40).shape == (0, 1 << 40)


@pytest.mark.parametrize("op", ["addcmul_", "addcdiv_", "nan_to_num_"])
def test_inplace_autograd_on_non_leaf(op):
    rng = np.random.default_rng(11)
    arrs = [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((3, 1)) + 3]
    if op == "nan_to_num_":
        arrs[0][0, :3] = [np.nan, np.inf, -np.inf]
    ps, ts = zip(*[pair(a, requires_grad=True) for a in arrs])
    py, ty = ps[0] * 2, ts[0] * 2
    args = (1, 2) if op != "nan_to_num_" else ()
    getattr(py, op)(*[ps[i] for i in args])
    getattr(ty, op)(*[ts[i] for i in args])
    check(py, ty)
    # (squared: the op's saved inputs must survive the in-place write; nan_to_num's outputs are near overflow)
    backward_both(py * py if op != "nan_to_num_" else py, ty * ty if op != "nan_to_num_" else ty)
    check_grads(ps[:1] + tuple(ps[i] for i in args), ts[:1] + tuple(ts[i] for i in args))
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(ps[0], op)(*[ps[i] for i in args])


@pytest.mark.parametrize("name", ["new_zeros", "new_ones", "new_empty"])
def test_new_constructors_take_size_as_a_keyword(name):
    # torch's new_* accept the size positionally (ints or one sequence) or as size=
    p, t = pyml.randn(2, 3, dtype=pyml.float64), torch.randn(2, 3, dtype=torch.float64)
    for args, kw in [((4, 5), {}), (((4, 5),), {}), ((), {"size": (4, 5)}), ((), {"size": [2]}), ((), {"size": ()})]:
        a, b = getattr(p, name)(*args, **kw), getattr(t, name)(*args, **kw)
        assert tuple(a.shape) == tuple(b.shape) and a.dtype is pyml.float64
        if name != "new_empty":
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(TypeError, match=f"{name}: got the size both positionally"):
        getattr(p, name)(2, size=(3,))
