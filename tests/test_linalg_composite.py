"""The composites of pyml.linalg (pyml/linalg.py) against torch and NumPy: vector/matrix norms, cond,
matrix_rank, pinv, lstsq (every CPU driver's outputs), matrix_power, matrix_exp (matrices of every
scale, batches mixing them), multi_dot, cross, vecdot, diagonal, vander, tensorinv, tensorsolve, and the
top-level and Tensor-method aliases that torch has (pyml.det, Tensor.inverse, pyml.svd's V, ...)."""
import numpy as np
import pytest
import torch

import pyml
from test_linalg_decomp import make, npy, tt

L = pyml.linalg
INF = float("inf")


def assert_torch_close(got, want, rtol=1e-10, atol=1e-10):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    got = npy(got) if isinstance(got, pyml.Tensor) else np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * max(1.0, np.abs(want).max() if want.size else 1))


# ------------------------------------------------------------------------------------------ norms
@pytest.mark.parametrize("ord", [2, 1, 0, INF, -INF, 3, 0.5, -1])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (-1, False), ((0, 2), True), (1, True)])
def test_vector_norm(ord, dim, keepdim, rng):
    x = rng.standard_normal((3, 4, 5))
    x[0, 0, :2] = 0.0
    got = L.vector_norm(make(x, layout="transposed"), ord, dim, keepdim)
    assert_torch_close(got, torch.linalg.vector_norm(tt(x), ord, dim, keepdim))
    got32 = L.vector_norm(make(x), ord, dim, keepdim, dtype=pyml.float32)
    assert got32.dtype == pyml.float32


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, INF, -INF])
@pytest.mark.parametrize("dim", [(-2, -1), (0, 2), (2, 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm(ord, dim, keepdim, rng):
    x = rng.standard_normal((3, 4, 5))
    got = L.matrix_norm(make(x, layout="strided"), ord, dim, keepdim)
    assert_torch_close(got, torch.linalg.matrix_norm(tt(x), ord, dim, keepdim))
    assert_torch_close(L.norm(make(x), ord, dim, keepdim), torch.linalg.norm(tt(x), ord, dim, keepdim))


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, 1, INF])
def test_matrix_norm_of_empty_matrices_is_zero(ord):
    for shape in [(2, 0, 3), (2, 3, 0), (0, 0)]:
        assert_torch_close(L.matrix_norm(pyml.zeros(*shape, dtype=pyml.float64), ord),
                           torch.linalg.matrix_norm(torch.zeros(shape, dtype=torch.float64), ord))


NORM_CALLS = [((5,), dict()), ((5,), dict(ord=3)), ((5,), dict(ord=INF)), ((5,), dict(ord=0, keepdim=True)),
              ((4, 3), dict()), ((4, 3), dict(ord=2)), ((4, 3), dict(ord="fro")), ((4, 3), dict(ord="nuc")),
              ((4, 3), dict(ord=-INF)), ((4, 3), dict(dim=1)), ((4, 3), dict(ord=INF, dim=0)),
              ((2, 4, 3), dict(ord="nuc", dim=(0, 1))), ((2, 4, 3), dict(keepdim=True)),
              ((2, 4, 3), dict(ord=1, dim=(2, 1), keepdim=True))]


@pytest.mark.parametrize("shape,args", NORM_CALLS)
def test_norm_dispatch(shape, args, rng):
    x = rng.standard_normal(shape)
    assert_torch_close(L.norm(make(x), **args), torch.linalg.norm(tt(x), **args))


def test_norm_errors():
    with pytest.raises(ValueError, match="ord must be one of"):
        L.matrix_norm(make(np.eye(2)), 3)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        L.norm(make(np.ones((2, 2, 2))), 2)
    with pytest.raises(TypeError, match="floating-point"):
        L.vector_norm(pyml.ones(3, dtype=pyml.int64))
    with pytest.raises(IndexError, match="two different dims"):
        L.matrix_norm(make(np.ones((2, 2))), dim=(0, 0))


@pytest.mark.parametrize("p", [None, 2, -2, 1, -1, INF, -INF, "fro", "nuc"])
def test_cond(p, rng):
    x = rng.standard_normal((2, 5, 5))
    assert_torch_close(L.cond(make(x), p), torch.linalg.cond(tt(x), p), rtol=1e-9)
    if p in (None, 2, -2):
        y = rng.standard_normal((3, 4))
        assert_torch_close(L.cond(make(y), p), torch.linalg.cond(tt(y), p), rtol=1e-9)
    if p in (1, INF, "fro"):
        assert L.cond(make(np.diag([1.0, 0.0])), p).item() == INF


# ------------------------------------------------------------------------------------------ rank, pinv, lstsq
def low_rank(rng, shape, r):
    return rng.standard_normal(shape[:-1] + (r,)) @ rng.standard_normal(shape[:-2] + (r, shape[-1]))


@pytest.mark.parametrize("kw", [dict(), dict(atol=1.0), dict(rtol=0.3), dict(atol=0.1, rtol=0.2), dict(tol=0.5),
                                dict(hermitian=True)])
def test_matrix_rank(kw, rng):
    for shape, r in [((6, 6), 3), ((2, 5, 7), 2), ((7, 4), 4), ((3, 3), 0)]:
        x = low_rank(rng, shape, r) if r else np.zeros(shape)
        if kw.get("hermitian"):
            if shape[-1] != shape[-2]:
                continue
            x = x @ x.swapaxes(-1, -2)
        got = L.matrix_rank(make(x), **kw)
        want = torch.linalg.matrix_rank(tt(x), **kw)
        assert got.dtype == pyml.int64 and np.array_equal(got.numpy(), want.numpy())


PINV_SHAPES = [((5, 3), 3), ((3, 5), 3), ((2, 6, 6), 6), ((6, 6), 2), ((4, 0), 0)]
PINV_CASES = [(shape, r, kw) for shape, r in PINV_SHAPES for kw in (dict(), dict(atol=0.5), dict(rtol=0.1))]
PINV_CASES += [(shape, r, dict(hermitian=True)) for shape, r in PINV_SHAPES if shape[-1] == shape[-2]]


@pytest.mark.parametrize("shape,r,kw", PINV_CASES)
def test_pinv(shape, r, kw, rng):
    x = low_rank(rng, shape, r) if r else np.zeros(shape)
    if kw.get("hermitian"):
        x = x + x.swapaxes(-1, -2)
    assert_torch_close(L.pinv(make(x), **kw), torch.linalg.pinv(tt(x), **kw), rtol=1e-8, atol=1e-9)
    if not kw and x.size:
        np.testing.assert_allclose(npy(L.pinv(make(x))), np.linalg.pinv(x), atol=1e-9)
        assert_torch_close(pyml.pinverse(make(x)), torch.pinverse(tt(x)), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("a_shape,b_shape", [((7, 3), (7, 2)), ((7, 3), (7,)), ((2, 6, 4), (2, 6, 3)),
                                             ((3, 6), (3, 2)), ((5, 5), (5, 1)), ((2, 7, 3), (1, 7, 2))])
def test_lstsq_matches_torch(a_shape, b_shape, driver, rng):
    A, B = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    got = L.lstsq(make(A), make(B), driver=driver)
    want = torch.linalg.lstsq(tt(A), tt(B), driver=driver)
    for name in ("solution", "residuals", "singular_values"):
        assert_torch_close(getattr(got, name), getattr(want, name), rtol=1e-8, atol=1e-9)
    assert np.array_equal(got.rank.numpy(), want.rank.numpy())


@pytest.mark.parametrize("driver", ["gelsy", "gelsd"])
def test_lstsq_rank_deficient_gives_minimum_norm(driver, rng):
    A, B = low_rank(rng, (8, 5), 2), rng.standard_normal((8, 3))
    got = L.lstsq(make(A), make(B), driver=driver)
    np.testing.assert_allclose(npy(got.solution), np.linalg.pinv(A) @ B, atol=1e-9)
    assert got.rank.item() == 2
    with pytest.raises(ValueError, match="driver"):
        L.lstsq(make(A), make(B), driver="gesv")


# ------------------------------------------------------------------------------------------ matrix functions
@pytest.mark.parametrize("n", [-3, -1, 0, 1, 2, 5, 13])
def test_matrix_power(n, rng):
    x = rng.standard_normal((2, 4, 4)) / 2 + np.eye(4)
    assert_torch_close(L.matrix_power(make(x, layout="transposed"), n), torch.linalg.matrix_power(tt(x), n),
                       rtol=1e-9)
    assert_torch_close(make(x).matrix_power(n), torch.matrix_power(tt(x), n), rtol=1e-9)
    i = rng.integers(-2, 3, (3, 3))
    if n >= 0:
        got = L.matrix_power(pyml.tensor(i), n)
        assert got.dtype == pyml.int64 and np.array_equal(got.numpy(), torch.linalg.matrix_power(torch.tensor(i), n))


def test_matrix_power_errors_and_huge_exponent():
    with pytest.raises(TypeError, match="n must be an int"):
        L.matrix_power(make(np.eye(2)), 1.5)
    with pytest.raises(ValueError, match="square"):
        L.matrix_power(make(np.ones((2, 3))), 2)
    r = L.matrix_power(make(np.eye(3) * 0.5), 1 << 40)  # 41 squarings, not 2^40 products
    assert npy(r).max() == 0.0
    x = make(np.eye(2))
    assert L.matrix_power(x, 1) is not x


@pytest.mark.parametrize("scale", [0.0, 1e-8, 1e-2, 1.0, 10.0, 100.0])
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_matrix_exp(scale, n, rng):
    x = rng.standard_normal((2, n, n)) * scale / np.sqrt(n)
    assert_torch_close(L.matrix_exp(make(x)), torch.linalg.matrix_exp(tt(x)), rtol=1e-9, atol=1e-12)
    if scale <= 10:  # exp(100 A) overflows float32
        assert_torch_close(pyml.matrix_exp(make(x, "float32")), torch.linalg.matrix_exp(tt(x, "float32")),
                           rtol=2e-4, atol=2e-5)


def test_matrix_exp_known_values_and_mixed_batches(rng):
    d = np.array([-3.0, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(npy(L.matrix_exp(make(np.diag(d)))), np.diag(np.exp(d)), rtol=1e-14)
    N = np.triu(rng.standard_normal((4, 4)), 1)  # nilpotent: exp is a finite sum
    want = np.eye(4) + N + N @ N / 2 + N @ N @ N / 6
    np.testing.assert_allclose(npy(L.matrix_exp(make(N))), want, rtol=1e-13, atol=1e-14)
    mixed = np.stack([rng.standard_normal((3, 3)) * s for s in (1e-3, 30.0, 1.0)])  # each scaled by its own norm
    assert_torch_close(L.matrix_exp(make(mixed)), torch.linalg.matrix_exp(tt(mixed)), rtol=1e-9)
    r = L.matrix_exp(make(np.full((2, 2), np.nan)))
    assert np.isnan(npy(r)).all()


def test_multi_dot(rng):
    for shapes in [[(3, 4), (4, 5)], [(4,), (4, 6), (6, 2), (2,)], [(10, 1), (1, 10), (10, 2), (2, 30)],
                   [(5,), (5, 3)], [(3, 5), (5,)]]:
        xs = [rng.standard_normal(s) for s in shapes]
        assert_torch_close(L.multi_dot([make(x) for x in xs]), torch.linalg.multi_dot([tt(x) for x in xs]))
    with pytest.raises(ValueError, match="at least 2"):
        L.multi_dot([make(np.ones((2, 2)))])
    with pytest.raises(ValueError, match="cannot be multiplied"):
        L.multi_dot([make(np.ones((2, 3))), make(np.ones((2, 3)))])


# ------------------------------------------------------------------------------------------ vector helpers
def test_cross_vecdot_diagonal_vander(rng):
    a, b = rng.standard_normal((1, 4, 3)), rng.standard_normal((2, 1, 3))
    assert_torch_close(L.cross(make(a), make(b)), torch.linalg.cross(tt(a), tt(b)))
    c, d = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    assert_torch_close(L.cross(make(c), make(d), dim=0), torch.linalg.cross(tt(c), tt(d), dim=0))
    with pytest.raises(ValueError, match="size 3"):
        L.cross(make(c), make(d))
    assert_torch_close(L.vecdot(make(a), make(b)), torch.linalg.vecdot(tt(a), tt(b)))
    assert_torch_close(L.vecdot(make(c), make(d), dim=0), torch.linalg.vecdot(tt(c), tt(d), dim=0))
    x = rng.standard_normal((2, 4, 5))
    assert_torch_close(L.diagonal(make(x), offset=1), torch.linalg.diagonal(tt(x), offset=1))
    v = rng.standard_normal((2, 4))
    assert_torch_close(L.vander(make(v)), torch.linalg.vander(tt(v)))
    assert_torch_close(L.vander(make(v), N=6), torch.linalg.vander(tt(v), N=6))


def test_tensorinv_tensorsolve(rng):
    a = rng.standard_normal((4, 6, 8, 3))
    assert_torch_close(L.tensorinv(make(a), ind=2), torch.linalg.tensorinv(tt(a), ind=2), rtol=1e-8)
    A, B = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 3))
    assert_torch_close(L.tensorsolve(make(A), make(B)), torch.linalg.tensorsolve(tt(A), tt(B)), rtol=1e-8)
    A2, B2 = rng.standard_normal((20, 4, 5)), rng.standard_normal((4, 5))
    assert_torch_close(L.tensorsolve(make(A2), make(B2), dims=(0,)),
                       torch.linalg.tensorsolve(tt(A2), tt(B2), dims=(0,)), rtol=1e-8)
    with pytest.raises(ValueError, match="prod"):
        L.tensorinv(make(np.ones((2, 3))), ind=1)


# ------------------------------------------------------------------------------------------ aliases
def test_namespace_and_aliases(rng):
    names = ["cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "inv_ex",
             "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matmul", "matrix_exp", "matrix_norm",
             "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex",
             "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm"]
    assert all(callable(getattr(L, n)) and hasattr(torch.linalg, n) for n in names)
    for n in ["det", "logdet", "slogdet", "inverse", "pinverse", "cholesky", "cholesky_solve", "cholesky_inverse",
              "qr", "svd", "matrix_power", "matrix_exp", "lu_unpack", "lu_solve"]:
        assert callable(getattr(pyml, n)) and hasattr(torch, n), n
    x = rng.standard_normal((3, 3))
    t, p = tt(x), make(x)
    for m in ["det", "logdet", "inverse", "pinverse", "matrix_exp"]:
        assert_torch_close(getattr(p, m)(), getattr(t, m)(), rtol=1e-9)
    assert_torch_close(p.slogdet()[1], t.slogdet()[1])
    assert_torch_close(p.matrix_power(3), t.matrix_power(3), rtol=1e-9)
    assert_torch_close(L.matmul(p, p), t @ t)
    assert pyml.linalg.LinAlgError is pyml._ops.decomp.LinAlgError
    r = L.svd(p)
    assert type(r).__name__ == "linalg_svd" and r.Vh is r[2]
    assert L.eigh(p).eigenvalues is not None and L.lu_factor(p).pivots.dtype == pyml.int32
