"""matmul family, composites and einsum: values against NumPy float64, semantics against torch."""
import numpy as np
import pytest
import torch

import pyml

FLOATS = ["float32", "float64", "float16", "bfloat16"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]


def P(a, dtype=None):
    """pyml tensor sharing a's memory and strides (so sliced/transposed arrays stay non-contiguous)."""
    t = pyml.from_numpy(a)
    return t if dtype is None else t.to(getattr(pyml, dtype))


def N(t):
    return (t.float() if t.dtype == pyml.bfloat16 else t).numpy().astype(np.float64)


def T(a):
    return torch.from_numpy(np.array(a, order="C"))  # (ascontiguousarray makes 0-dim 1-D)


def tol(dtype, k):
    """atol for a K-term dot product of values in [-1, 1]; float32 error grows with K."""
    return {"float32": 1e-6 * (k + 1), "float64": 1e-13 * (k + 1), "float16": 2e-3 * (k + 1) ** 0.5 + 1e-3,
            "bfloat16": 1.6e-2 * (k + 1) ** 0.5 + 8e-3}[dtype]


def rand(rng, *shape):
    return rng.uniform(-1, 1, shape).astype(np.float32)


# ---------------------------------------------------------------------------- matmul shapes
SHAPES = [
    ((3,), (3,)), ((1,), (1,)), ((4, 3), (3,)), ((3,), (3, 5)), ((3,), (2, 3, 5)), ((2, 4, 3), (3,)),
    ((4, 3), (3, 5)), ((1, 1), (1, 1)), ((2, 4, 3), (2, 3, 5)), ((2, 1, 4, 3), (5, 3, 2)),
    ((4, 3), (6, 3, 5)), ((6, 4, 3), (3, 5)), ((2, 1, 3, 7, 9), (4, 1, 9, 2)),
    ((0, 3), (3, 4)), ((3, 0), (0, 4)), ((3, 4), (4, 0)), ((2, 0, 3, 4), (4, 5)), ((0,), (0,)),
    ((0, 4, 3), (1, 3, 2)), ((5, 0), (0,)),
]


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul_shapes_match_torch_and_numpy(rng, sa, sb):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    r = pyml.matmul(P(a), P(b))
    expect = torch.matmul(T(a), T(b))
    assert tuple(r.shape) == tuple(expect.shape)
    assert r.dtype == pyml.float64
    np.testing.assert_allclose(r.numpy(), np.matmul(a, b), rtol=1e-12, atol=1e-12)


def test_k_zero_gives_zeros_and_m_zero_gives_empty(rng):
    r = pyml.matmul(P(rand(rng, 3, 0)), P(rand(rng, 0, 4)))
    assert tuple(r.shape) == (3, 4) and np.all(r.numpy() == 0)
    r = pyml.matmul(P(rand(rng, 0, 5)), P(rand(rng, 5, 4)))
    assert tuple(r.shape) == (0, 4)
    r = pyml.addmm(P(np.full((3, 4), 2, np.float32)), P(rand(rng, 3, 0)), P(rand(rng, 0, 4)), beta=0.5)
    assert np.all(r.numpy() == 1)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,n,k", [(7, 97, 33), (1, 65, 130), (40, 1, 300), (33, 45, 1)])
def test_matmul_float_dtypes(rng, dtype, m, n, k):
    a, b = P(rand(rng, m, k), dtype), P(rand(rng, k, n), dtype)
    r = a @ b
    assert r.dtype == getattr(pyml, dtype)
    np.testing.assert_allclose(N(r), N(a) @ N(b), rtol=0, atol=tol(dtype, k))


@pytest.mark.parametrize("dtype", INTS)
def test_matmul_int_dtypes_wrap_like_torch(rng, dtype):
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, (5, 37), endpoint=True).astype(dtype)
    b = rng.integers(info.min, info.max, (2, 37, 6), endpoint=True).astype(dtype)
    r = P(a) @ P(b)
    assert r.dtype == getattr(pyml, dtype)
    np.testing.assert_array_equal(r.numpy(), (T(a) @ T(b)).numpy())
    small = rng.integers(0, 5, (4, 3)).astype(dtype)
    np.testing.assert_array_equal((P(small) @ P(small.T)).numpy(), small.astype(np.int64) @ small.T)


@pytest.mark.parametrize("da,db,dr", [("float32", "float64", "float64"), ("int64", "float32", "float32"),
                                      ("int32", "int64", "int64"), ("float16", "float32", "float32"),
                                      ("uint8", "int8", "int16"), ("bfloat16", "float16", "float32")])
def test_matmul_type_promotion(rng, da, db, dr):
    a = rng.integers(0 if "uint8" in (da, db) else -3, 4, (4, 5)).astype(np.float32)
    b = rng.integers(0, 4, (5, 3)).astype(np.float32)
    r = P(a, da) @ P(b, db)
    assert r.dtype == getattr(pyml, dr)
    np.testing.assert_array_equal(N(r), a.astype(np.float64) @ b)


def test_half_matmul_rounds_once_from_float32(rng):
    a, b = rand(rng, 17, 300), rand(rng, 300, 9)
    expect = torch.from_numpy(a).to(torch.float16).float() @ torch.from_numpy(b).to(torch.float16).float()
    r = P(a, "float16") @ P(b, "float16")
    np.testing.assert_allclose(N(r), expect.half().double().numpy(), rtol=2e-3, atol=2e-3)


# ---------------------------------------------------------------------------- strides
def test_transposed_and_strided_operands(rng):
    a, b = rand(rng, 64, 97), rand(rng, 33, 64)
    ref = a.T.astype(np.float64) @ b.T
    for x, y in [(P(a).T, P(b).T), (P(a.T.copy()), P(b).T), (P(a).T, P(b.T.copy()))]:
        assert not (x.is_contiguous() and y.is_contiguous())
        np.testing.assert_allclose((x @ y).numpy(), ref, atol=tol("float32", 64))
    big = rand(rng, 200, 200)
    x, y = P(big[::2, 1::3]), P(big[1::3, ::2][:, :40])  # (100, 67) @ (67, 40), both step-sliced
    np.testing.assert_allclose((x @ y).numpy(), big[::2, 1::3].astype(np.float64) @ big[1::3, ::2][:, :40],
                               atol=tol("float32", 67))


def test_expanded_and_permuted_batches(rng):
    a, w = rand(rng, 1, 5, 8), rand(rng, 8, 3)
    x = P(a).expand(6, 5, 8)  # stride-0 batch
    np.testing.assert_allclose((x @ P(w)).numpy(), np.broadcast_to(a, (6, 5, 8)) @ w, atol=1e-5)
    q = rand(rng, 2, 7, 3, 16)  # (B, T, NH, HS) -> (B, NH, T, HS) as a view
    qt = P(q).permute(0, 2, 1, 3)
    s = qt @ qt.transpose(-2, -1)  # (B, NH, T, T)
    qn = q.transpose(0, 2, 1, 3).astype(np.float64)
    np.testing.assert_allclose(s.numpy(), qn @ qn.transpose(0, 1, 3, 2), atol=tol("float32", 16))


@pytest.mark.parametrize("sa,sb", [((64, 7, 9), (64, 9, 5)), ((4, 33, 64), (64, 17)), ((3, 200, 150), (150, 120)),
                                   ((5, 1, 70), (5, 70, 1)), ((3, 130, 140), (3, 140, 150))])
def test_batched_paths(rng, sa, sb):
    # many small GEMMs (one per thread), x @ W folded into one GEMM, and per-GEMM threading
    a, b = rand(rng, *sa), rand(rng, *sb)
    np.testing.assert_allclose((P(a) @ P(b)).numpy(), a.astype(np.float64) @ b, atol=tol("float32", sa[-1]))
    at = np.ascontiguousarray(a.swapaxes(0, 1)).swapaxes(0, 1)  # batch dim not outermost: no fold
    np.testing.assert_allclose((P(at) @ P(b)).numpy(), a.astype(np.float64) @ b, atol=tol("float32", sa[-1]))


# ---------------------------------------------------------------------------- the family
def test_mm_bmm_mv_dot_vdot(rng):
    a, b, v = rand(rng, 6, 5), rand(rng, 5, 4), rand(rng, 5)
    ba, bb = rand(rng, 3, 6, 5), rand(rng, 3, 5, 4)
    np.testing.assert_allclose(pyml.mm(P(a), P(b)).numpy(), a @ b, atol=1e-5)
    np.testing.assert_allclose(P(ba).bmm(P(bb)).numpy(), ba @ bb, atol=1e-5)
    np.testing.assert_allclose(pyml.mv(P(a), P(v)).numpy(), a @ v, atol=1e-5)
    d = pyml.dot(P(v), P(v))
    assert tuple(d.shape) == () and abs(d.item() - float(v @ v)) < 1e-5
    assert abs(P(v).vdot(P(v)).item() - float(v @ v)) < 1e-5


def test_addmm_baddbmm_addmv_match_torch(rng):
    inp, a, b = rand(rng, 4), rand(rng, 3, 5), rand(rng, 5, 4)
    r = pyml.addmm(P(inp), P(a), P(b), beta=0.5, alpha=-2)
    np.testing.assert_allclose(r.numpy(), torch.addmm(T(inp), T(a), T(b), beta=0.5, alpha=-2).numpy(), atol=1e-5)
    bi, b1, b2 = rand(rng, 2, 1, 4), rand(rng, 2, 3, 5), rand(rng, 2, 5, 4)
    r = P(bi).baddbmm(P(b1), P(b2), alpha=3)
    np.testing.assert_allclose(r.numpy(), torch.baddbmm(T(bi), T(b1), T(b2), alpha=3).numpy(), atol=1e-5)
    mi, v = rand(rng, 3), rand(rng, 5)
    np.testing.assert_allclose(pyml.addmv(P(mi), P(a), P(v), beta=2).numpy(),
                               torch.addmv(T(mi), T(a), T(v), beta=2).numpy(), atol=1e-5)
    nan = np.full((3, 4), np.nan, np.float32)
    assert np.all(np.isfinite(pyml.addmm(P(nan), P(a), P(b), beta=0).numpy()))  # beta=0 ignores input
    x = P(rand(rng, 3, 4).copy())
    x0 = x.numpy().copy()
    assert x.addmm_(P(a), P(b)) is x
    np.testing.assert_allclose(x.numpy(), x0 + a @ b, atol=1e-5)


def test_outer_inner_tensordot_kron_match_torch(rng):
    u, v = rand(rng, 4), rand(rng, 3)
    np.testing.assert_allclose(pyml.outer(P(u), P(v)).numpy(), np.outer(u, v), atol=1e-6)
    np.testing.assert_allclose(P(u).ger(P(v)).numpy(), np.outer(u, v), atol=1e-6)
    a, b = rand(rng, 2, 3, 4), rand(rng, 5, 4)
    np.testing.assert_allclose(pyml.inner(P(a), P(b)).numpy(), np.inner(a, b), atol=1e-5)
    for sa, sb, dims in [((3, 4, 5), (4, 5, 6), 2), ((3, 4), (5,), 0), ((3, 4, 5), (4, 5, 6), ([1, 2], [0, 1])),
                         ((3, 4, 5), (2, 5), ([-1], [1])), ((3, 4, 5), (2, 5, 7, 3), [[2, 0], [1, 3]])]:
        c, d = rand(rng, *sa), rand(rng, *sb)
        r, e = pyml.tensordot(P(c), P(d), dims=dims), torch.tensordot(T(c), T(d), dims=dims)
        assert tuple(r.shape) == tuple(e.shape)
        np.testing.assert_allclose(r.numpy(), e.numpy(), atol=1e-5)
    for sa, sb in [((2, 3), (4, 5)), ((2, 3), (4,)), ((2, 1, 3), (3, 2)), ((0, 2), (3, 1))]:
        x, y = rand(rng, *sa), rand(rng, *sb)
        np.testing.assert_allclose(pyml.kron(P(x), P(y)).numpy(), torch.kron(T(x), T(y)).numpy(), atol=1e-6)


def test_operators_and_out(rng):
    a, b = rand(rng, 3, 4), rand(rng, 4, 2)
    x, y = P(a), P(b)
    np.testing.assert_allclose((x @ y).numpy(), a @ b, atol=1e-6)
    np.testing.assert_allclose(y.__rmatmul__(x).numpy(), a @ b, atol=1e-6)
    np.testing.assert_allclose(x.matmul(y).numpy(), a @ b, atol=1e-6)
    z = x
    z @= y
    assert z is not x and tuple(z.shape) == (3, 2)
    out = pyml.empty(1)
    assert pyml.matmul(x, y, out=out) is out
    np.testing.assert_allclose(out.numpy(), a @ b, atol=1e-6)
    with pytest.raises(TypeError):
        x @ [[1.0]]


# ---------------------------------------------------------------------------- einsum
EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk", [(3, 4), (4, 5)]), ("ii", [(4, 4)]), ("ii->i", [(4, 4)]),
    ("ij->ji", [(3, 4)]), ("ij->", [(3, 4)]), ("ba", [(3, 4)]), ("i,i", [(5,), (5,)]), ("i,j->ij", [(3,), (4,)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("bhqd,bhkd->bhqk", [(2, 3, 5, 4), (2, 3, 6, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]), ("...ii->...i", [(2, 3, 3)]), ("iij->j", [(3, 3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("i,i,i->i", [(4,), (4,), (4,)]), ("ab,ab->", [(3, 4), (3, 4)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]), ("Ab,ba", [(3, 4), (4, 3)]), ("i,j,k->ijk", [(2,), (3,), (4,)]),
    ("ij,jk", [(3, 1), (4, 5)]), ("...ij->ij", [(2, 3, 4)]), ("...,...", [(2, 1), (3,)]),
    ("i...,i...->...", [(2, 1), (2, 3)]), ("bij,bjk->bik", [(1, 3, 4), (5, 4, 2)]), ("i j , j k -> i k", [(3, 4), (4, 2)]),
    ("ij->ij", [(0, 3)]), ("ij,jk->ik", [(3, 0), (0, 2)]), ("iji->j", [(3, 2, 3)]), ("ijk,jil->kl", [(2, 3, 4), (3, 2, 5)]),
    ("", [()]), ("ij->...ij", [(3, 4)]), ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM)
def test_einsum_matches_torch(rng, eq, shapes):
    xs = [np.asarray(rng.standard_normal(s)) for s in shapes]
    r = pyml.einsum(eq, *[P(x) for x in xs])
    e = torch.einsum(eq, *[T(x) for x in xs])
    assert tuple(r.shape) == tuple(e.shape)
    np.testing.assert_allclose(r.numpy(), e.numpy(), rtol=1e-10, atol=1e-10)


def test_einsum_operand_list_and_dtypes(rng):
    a, b = rand(rng, 3, 4), rand(rng, 4, 2)
    r = pyml.einsum("ij,jk->ik", [P(a), P(b)])
    assert r.dtype == pyml.float32
    np.testing.assert_allclose(r.numpy(), a @ b, atol=1e-5)
    ia = rng.integers(-5, 5, (3, 4))
    np.testing.assert_array_equal(pyml.einsum("ij,ij->i", P(ia), P(ia)).numpy(), (ia * ia).sum(1))
    r = pyml.einsum("ij,jk->ik", P(a, "float16"), P(b, "float16"))
    assert r.dtype == pyml.float16


# ---------------------------------------------------------------------------- bad inputs
def _t(*shape, dtype="float32"):
    return pyml.zeros(*shape, dtype=getattr(pyml, dtype))


@pytest.mark.parametrize("fn,exc,match", [
    (lambda: _t(2, 3) @ _t(4, 5), ValueError, r"matmul: .*got \(2, 3\) and \(4, 5\)"),
    (lambda: _t(3) @ _t(4), ValueError, r"matmul: .*\(3,\) and \(4,\)"),
    (lambda: pyml.matmul(pyml.tensor(1.0), _t(4, 5)), ValueError, r"matmul: .*at least 1-D.*\(\) and \(4, 5\)"),
    (lambda: _t(2, 3, 4) @ _t(5, 4, 2), ValueError, r"matmul: batch .*\(2, 3, 4\) and \(5, 4, 2\)"),
    (lambda: _t(2, 2, dtype="bool") @ _t(2, 2, dtype="bool"), TypeError, r"matmul: bool"),
    (lambda: pyml.matmul(_t(2, 2), np.zeros((2, 2))), TypeError, r"matmul: expected Tensor"),
    (lambda: pyml.mm(_t(2), _t(2, 2)), ValueError, r"mm: expected 2-D"),
    (lambda: pyml.mm(_t(2, 3), _t(2, 3)), ValueError, r"mm: .*\(2, 3\) and \(2, 3\)"),
    (lambda: pyml.bmm(_t(2, 2, 3), _t(3, 3, 2)), ValueError, r"bmm: batch sizes"),
    (lambda: pyml.bmm(_t(2, 3), _t(3, 2)), ValueError, r"bmm: expected 3-D"),
    (lambda: pyml.mv(_t(2, 3), _t(2)), ValueError, r"mv: "),
    (lambda: pyml.dot(_t(2, 3), _t(2)), ValueError, r"dot: expected two 1-D"),
    (lambda: pyml.dot(_t(3), _t(2)), ValueError, r"dot: "),
    (lambda: pyml.addmm(_t(3, 3), _t(2, 3), _t(3, 4)), ValueError, r"addmm: input of shape \(3, 3\)"),
    (lambda: pyml.addmm(_t(2, 4), _t(2, 3), _t(3, 4), alpha="x"), TypeError, r"addmm: alpha"),
    (lambda: pyml.baddbmm(_t(2, 2, 2), _t(2, 2, 3), _t(3, 3, 2)), ValueError, r"baddbmm: batch sizes"),
    (lambda: pyml.outer(_t(2, 2), _t(2)), ValueError, r"outer: expected two 1-D"),
    (lambda: pyml.tensordot(_t(2, 3), _t(4, 5), dims=1), ValueError, r"tensordot: contracted"),
    (lambda: pyml.tensordot(_t(2, 3), _t(3, 5), dims=3), ValueError, r"tensordot: dims"),
    (lambda: pyml.tensordot(_t(2, 3), _t(3, 5), dims=([5], [0])), IndexError, r"tensordot: dim 5"),
    (lambda: pyml.inner(_t(2, 3), _t(2)), ValueError, r"inner: last dimensions"),
    (lambda: pyml.einsum("ij,jk->ik", _t(2, 3), _t(4, 5)), ValueError, r"einsum: subscript j has size 4"),
    (lambda: pyml.einsum("ij,jk", _t(3, 4)), ValueError, r"einsum: .*2 operand subscripts, got 1"),
    (lambda: pyml.einsum("i$j", _t(3, 4)), ValueError, r"einsum: subscripts must be in"),
    (lambda: pyml.einsum("ij->ii", _t(3, 4)), ValueError, r"einsum: output subscript i appears more than once"),
    (lambda: pyml.einsum("ij->k", _t(3, 4)), ValueError, r"einsum: output subscript k does not appear"),
    (lambda: pyml.einsum("ij", _t(3, 4, 5)), ValueError, r"einsum: subscripts 'ij' do not match the 3 dims"),
    (lambda: pyml.einsum("ii", _t(3, 4)), ValueError, r"einsum: subscript i is repeated"),
    (lambda: pyml.einsum("...i...", _t(3, 4)), ValueError, r"einsum: more than one ellipsis"),
    (lambda: pyml.einsum("ij->i.", _t(3, 4)), ValueError, r"einsum: subscripts must be in"),
    (lambda: pyml.einsum("ij->i->j", _t(3, 4)), ValueError, r"einsum: subscripts must be in"),
    (lambda: pyml.einsum(3, _t(3, 4)), TypeError, r"einsum: equation must be a str"),
    (lambda: pyml.einsum("ij", [[1.0]]), TypeError, r"einsum: expected Tensor"),
    (lambda: pyml.einsum("...,...", _t(2), _t(3)), ValueError, r"einsum: ellipsis dimension has size 3"),
])
def test_bad_inputs(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()
