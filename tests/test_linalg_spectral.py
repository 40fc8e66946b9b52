"""pyml.linalg.eigh / eigvalsh (tridiagonal + implicit QR), svd / svdvals (one-sided Jacobi) and qr (Householder) on the
CPU kernels of csrc/cpu/linalg_decomp.cpp: checked through their invariants (A V = V diag(w), U S Vh = A,
QR = A, orthonormal factors, triangular R, sorted spectra) and against NumPy float64 and torch where
the values are unique (eigenvalues, singular values, R with LAPACK's sign convention), on odd sizes, tall
and wide shapes, batches, transposed inputs, rank-deficient and repeated spectra, and non-finite input.
Non-convergence and hard well-posed spectra are in test_linalg_convergence.py."""
import numpy as np
import pytest
import torch

import pyml
from test_linalg_decomp import make, npy, tt, SIZES, BATCHES, DTYPES, TOL

L = pyml.linalg


def sym(rng, batch, n):
    x = rng.standard_normal(batch + (n, n))
    return (x + x.swapaxes(-1, -2)) / 2


def assert_small(x, dtype, scale, what):
    err = np.abs(np.asarray(x)).max() if np.asarray(x).size else 0.0
    assert err <= TOL[dtype] * scale, f"{what}: {err}"


def assert_orthonormal_columns(Q, dtype, n):
    Q = npy(Q)
    k = Q.shape[-1]
    assert_small(Q.swapaxes(-1, -2) @ Q - np.eye(k), dtype, 10 * max(n, 1), "Q^T Q - I")


# ------------------------------------------------------------------------------------------ eigh
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("n", SIZES)
def test_eigh_invariants_and_values(n, batch, dtype, layout, uplo, rng):
    A = sym(rng, batch, n)
    garbage = A + np.triu(rng.standard_normal(A.shape), 1) if uplo == "L" else A + np.tril(rng.standard_normal(A.shape), -1)
    w, V = L.eigh(make(garbage, dtype, layout), UPLO=uplo)  # only the UPLO triangle may be read
    norm = max(1.0, np.abs(A).max() * n)
    assert_small(npy(w) - np.linalg.eigvalsh(A), dtype, 10 * norm, "eigenvalues")
    assert np.all(np.diff(npy(w), axis=-1) >= 0)
    assert_orthonormal_columns(V, dtype, n)
    assert_small(A @ npy(V) - npy(V) * npy(w)[..., None, :], dtype, 10 * norm, "A V - V diag(w)")
    assert_small(npy(L.eigvalsh(make(garbage, dtype), UPLO=uplo)) - npy(w), dtype, 10 * norm, "eigvalsh")
    tw = torch.linalg.eigvalsh(tt(garbage, dtype), UPLO=uplo)
    assert_small(npy(w) - tw.numpy(), dtype, 10 * norm, "vs torch")


@pytest.mark.parametrize("case", ["identity", "repeated", "zero", "rank1", "tiny", "huge", "diagonal"])
def test_eigh_degenerate_spectra(case, rng):
    n = 6
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    A = {"identity": np.eye(n), "repeated": q @ np.diag([1, 1, 1, 2, 2, 5.0]) @ q.T, "zero": np.zeros((n, n)),
         "rank1": np.outer(q[0], q[0]) * 3, "tiny": sym(rng, (), n) * 1e-200, "huge": sym(rng, (), n) * 1e200,
         "diagonal": np.diag([3.0, -1.0, 2.0, 0.0, -5.0, 1.0])}[case]
    w, V = L.eigh(make(A))
    scale = max(np.abs(A).max(), 1e-300)
    assert np.abs(npy(w) - np.linalg.eigvalsh(A)).max() <= 1e-13 * scale * n
    assert np.abs(npy(V).T @ npy(V) - np.eye(n)).max() <= 1e-13
    assert np.abs(npy(V) @ np.diag(npy(w)) @ npy(V).T - A).max() <= 1e-13 * scale * n


@pytest.mark.parametrize("n", [90, 128, 200])
@pytest.mark.parametrize("case", ["random", "ones", "wilkinson"])
def test_eigh_larger_matrices(case, n, rng):
    # ones: after the first reflection the rest is roundoff that shrinks into subnormal numbers, where
    # reflectors and rotations must still be orthogonal
    A = {"random": sym(rng, (), n), "ones": np.ones((n, n)),
         "wilkinson": np.diag(np.abs(np.arange(n) - (n - 1) / 2)) + np.eye(n, k=1) + np.eye(n, k=-1)}[case]
    scale = np.abs(A).max() * n
    w, V = L.eigh(make(A))
    assert np.abs(npy(w) - np.linalg.eigvalsh(A)).max() < 1e-14 * scale
    assert np.abs(npy(V).T @ npy(V) - np.eye(n)).max() < 1e-14 * n
    assert np.abs(A @ npy(V) - npy(V) * npy(w)).max() < 1e-14 * scale
    Q, R = L.qr(make(A))
    assert np.abs(npy(Q).T @ npy(Q) - np.eye(n)).max() < 1e-14 * n


def test_eigh_errors():
    with pytest.raises(ValueError, match="UPLO must be 'L' or 'U', got 'X'"):
        L.eigh(make(np.eye(2)), UPLO="X")
    with pytest.raises(L.LinAlgError, match=r"linalg.eigh: The algorithm failed to converge .* \(error code: 2\)\."):
        L.eigh(make(np.full((3, 3), np.nan)))  # as torch (LAPACK's syevd): NaN input is an error, at once
    w, V = L.eigh(make(np.diag([1.0, np.inf, 2.0])))  # inf: no meaningful answer, but an answer, at once
    assert np.isnan(npy(w)).all() and np.isnan(npy(V)).all()


# ------------------------------------------------------------------------------------------ svd
SVD_SHAPES = [(1, 1), (2, 3), (3, 2), (7, 7), (17, 5), (5, 17), (33, 33), (33, 7), (1, 9), (9, 1), (3, 0), (0, 4)]


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [(), (3,), (2, 1)])
@pytest.mark.parametrize("shape", SVD_SHAPES)
def test_svd_invariants_and_values(shape, batch, dtype, layout, full, rng):
    A = rng.standard_normal(batch + shape)
    m, n = shape
    k = min(m, n)
    U, S, Vh = L.svd(make(A, dtype, layout), full_matrices=full)
    assert tuple(U.shape) == batch + (m, m if full else k) and tuple(Vh.shape) == batch + (n if full else k, n)
    assert tuple(S.shape) == batch + (k,) and U.dtype == S.dtype == Vh.dtype == getattr(pyml, dtype)
    scale = 10 * max(m, n, 1) * max(1.0, np.abs(A).max() if A.size else 1.0)
    assert_small(npy(S) - np.linalg.svd(A, compute_uv=False) if A.size else npy(S), dtype, scale, "S vs NumPy")
    assert np.all(np.diff(npy(S), axis=-1) <= 0) and np.all(npy(S) >= 0)
    assert_orthonormal_columns(U, dtype, m)
    assert_orthonormal_columns(Vh.mT, dtype, n)
    Uk, Vk = npy(U)[..., :k], npy(Vh)[..., :k, :]
    assert_small((Uk * npy(S)[..., None, :]) @ Vk - A, dtype, scale, "U S Vh - A")
    assert_small(npy(L.svdvals(make(A, dtype))) - npy(S), dtype, scale, "svdvals")
    tS = torch.linalg.svdvals(tt(A, dtype))
    assert_small(npy(S) - tS.numpy(), dtype, scale, "S vs torch")


@pytest.mark.parametrize("case", ["zero", "rank1", "rank2_tall", "repeated", "orthogonal", "graded", "tiny", "huge"])
@pytest.mark.parametrize("shape", [(6, 6), (8, 5), (5, 8)])
def test_svd_rank_deficient_and_repeated(case, shape, rng):
    m, n = shape
    k = min(m, n)
    x, y = rng.standard_normal((m, 2)), rng.standard_normal((2, n))
    q1, q2 = np.linalg.qr(rng.standard_normal((m, m)))[0], np.linalg.qr(rng.standard_normal((n, n)))[0]
    A = {"zero": np.zeros(shape), "rank1": x[:, :1] @ y[:1], "rank2_tall": x @ y,
         "repeated": (q1[:, :k] * np.array([2.0, 2.0, 2.0, 1.0, 1.0] + [0.5] * (k - 5))[:k]) @ q2[:k],
         "orthogonal": q1[:, :k] @ q2[:k], "graded": (q1[:, :k] * np.logspace(0, -12, k)) @ q2[:k],
         "tiny": rng.standard_normal(shape) * 1e-250, "huge": rng.standard_normal(shape) * 1e250}[case]
    scale = max(np.abs(A).max(), 1e-300)
    for full in (True, False):
        U, S, Vh = (npy(t) for t in L.svd(make(A), full_matrices=full))
        assert np.abs(U.T @ U - np.eye(U.shape[1])).max() < 1e-13
        assert np.abs(Vh @ Vh.T - np.eye(Vh.shape[0])).max() < 1e-13
        assert np.abs((U[:, :k] * S) @ Vh[:k] - A).max() < 1e-13 * scale * max(m, n)
        assert np.abs(S - np.linalg.svd(A, compute_uv=False)).max() < 1e-13 * scale * max(m, n)


def test_svd_of_zero_matrix_is_identity_like_torch():
    for shape in [(4, 3), (3, 4), (0, 3)]:
        for got, want in zip(L.svd(make(np.zeros(shape))), torch.linalg.svd(torch.zeros(shape, dtype=torch.float64))):
            assert np.array_equal(npy(got), want.numpy())


def test_svd_larger_matrix(rng):
    A = rng.standard_normal((70, 45))
    U, S, Vh = L.svd(make(A), full_matrices=False)
    assert np.abs(npy(S) - np.linalg.svd(A, compute_uv=False)).max() < 1e-12
    assert np.abs((npy(U) * npy(S)) @ npy(Vh) - A).max() < 1e-12


def test_torch_style_svd_returns_V(rng):
    A = rng.standard_normal((2, 5, 3))
    U, S, V = pyml.svd(make(A))
    assert tuple(U.shape) == (2, 5, 3) and tuple(V.shape) == (2, 3, 3)
    assert np.abs((npy(U) * npy(S)[:, None, :]) @ npy(V).swapaxes(-1, -2) - A).max() < 1e-13
    U, S, V = make(A).svd(some=False)
    assert tuple(U.shape) == (2, 5, 5) and tuple(V.shape) == (2, 3, 3)
    U, S, V = pyml.svd(make(A), compute_uv=False)  # zero-filled U (m, m) and V (n, n), as torch
    tU, tS, tV = torch.svd(tt(A), compute_uv=False)
    assert tuple(U.shape) == tuple(tU.shape) and tuple(V.shape) == tuple(tV.shape) and not npy(U).any()
    assert np.abs(npy(S) - tS.numpy()).max() < 1e-13


def test_svd_non_finite_input_returns_nan():
    A = np.ones((3, 4))
    A[1, 2] = np.inf
    U, S, Vh = L.svd(make(A))
    assert np.isnan(npy(S)).all() and np.isnan(npy(U)).all() and np.isnan(npy(Vh)).all()
    A[0, 0] = np.nan  # NaN is an error, as torch's (gesdd's info -4)
    with pytest.raises(L.LinAlgError, match="linalg.svd: The algorithm failed to converge because the input matrix "
                                            "contained non-finite values."):
        L.svd(make(A))
    with pytest.raises(ValueError, match="driver"):
        L.svd(make(A), driver="gesvd")


# ------------------------------------------------------------------------------------------ qr
QR_SHAPES = [(1, 1), (3, 3), (7, 3), (3, 7), (17, 17), (33, 5), (5, 33), (4, 0), (0, 4), (1, 6), (6, 1)]


@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [(), (3,), (2, 1)])
@pytest.mark.parametrize("shape", QR_SHAPES)
def test_qr_invariants_and_torch(shape, batch, dtype, layout, mode, rng):
    A = rng.standard_normal(batch + shape)
    m, n = shape
    Q, R = L.qr(make(A, dtype, layout), mode=mode)
    tQ, tR = torch.linalg.qr(tt(A, dtype), mode=mode)
    assert tuple(Q.shape) == tuple(tQ.shape) and tuple(R.shape) == tuple(tR.shape)
    scale = 10 * max(m, n, 1)
    assert_small(np.tril(npy(R), -1), dtype, 0, "R below the diagonal")
    assert_small(npy(R) - tR.numpy(), dtype, scale, "R vs torch (LAPACK's sign convention)")
    if mode != "r":
        assert_orthonormal_columns(Q, dtype, m)
        assert_small(npy(Q) @ npy(R) - A, dtype, scale, "QR - A")
        assert_small(npy(Q) - tQ.numpy(), dtype, scale, "Q vs torch")


def test_qr_rank_deficient_and_torch_style(rng):
    A = np.outer(rng.standard_normal(5), rng.standard_normal(4))
    A[:, 2] = 0.0
    Q, R = L.qr(make(A), mode="complete")
    assert np.abs(npy(Q).T @ npy(Q) - np.eye(5)).max() < 1e-14 and np.abs(npy(Q) @ npy(R) - A).max() < 1e-14
    Q, R = pyml.qr(make(A), some=False)
    assert tuple(Q.shape) == (5, 5) and tuple(R.shape) == (5, 4)
    Q, R = make(A).qr()
    assert tuple(Q.shape) == (5, 4) and np.abs(npy(Q) @ npy(R) - A).max() < 1e-14
    with pytest.raises(ValueError, match="mode must be 'reduced', 'complete' or 'r', got 'x'"):
        L.qr(make(A), mode="x")
    Q, R = L.qr(make(np.full((3, 3), np.nan)))
    assert np.isnan(npy(R)).any()


def test_float32_spectral_accuracy(rng):
    A = sym(rng, (4,), 12)
    w = npy(L.eigvalsh(make(A, "float32")))
    assert np.abs(w - np.linalg.eigvalsh(A)).max() < 1e-4
    B = rng.standard_normal((4, 12, 7))
    assert np.abs(npy(L.svdvals(make(B, "float32"))) - np.linalg.svd(B, compute_uv=False)).max() < 1e-4
