"""Convergence of the iterative decompositions of csrc/cpu/linalg_decomp.cpp: eigh (tridiagonal + implicit
QR, at most 40 n QR steps) and the SVD (one-sided Jacobi, at most 128 sweeps). Lowering the caps through
the test-only _C._linalg_set_max_sweeps forces non-convergence, which must raise torch's LinAlgError
naming the batch element, through every public path; NaN input raises as torch's does. Hard well-posed
inputs (repeated and clustered spectra, rank-deficient, graded over 1e-150..1e150, Wilkinson, n up to
200) are checked against torch, at the default caps and with a quarter of them (a margin)."""
import numpy as np
import pytest
import torch

import pyml
from test_linalg_decomp import make, npy

L = pyml.linalg
EIGH_FAIL = r"The algorithm failed to converge because the input matrix is ill-conditioned or has too many " \
            r"repeated eigenvalues \(error code: {}\)\."
SVD_FAIL = r"The algorithm failed to converge because the input matrix is ill-conditioned or has too many " \
           r"repeated singular values \(error code: {}\)\."


@pytest.fixture
def caps():
    """set(eigh_steps_per_n, svd_sweeps) lowers the caps for one test; the defaults are back after it."""
    defaults = pyml._C._linalg_set_max_sweeps(40, 128)
    pyml._C._linalg_set_max_sweeps(*defaults)
    yield lambda e, s: pyml._C._linalg_set_max_sweeps(e, s)
    pyml._C._linalg_set_max_sweeps(*defaults)


def test_caps_knob_returns_previous_and_rejects_negative(caps):
    assert caps(3, 5) == (40, 128)
    assert caps(40, 128) == (3, 5)
    with pytest.raises(ValueError, match="caps must be non-negative, got -1 and 5"):
        caps(-1, 5)


# ------------------------------------------------------------------------------------------ forced failures
def batch_with_one_hard(rng, nb, bad, shape):
    """nb matrices, diagonal (converged at once) except element `bad`: random (symmetric when square)."""
    k = min(shape)
    A = np.zeros((nb,) + shape)
    for b in range(nb):
        A[b, :k, :k] = np.diag(rng.standard_normal(k))
    x = rng.standard_normal(shape)
    A[bad] = (x + x.T) / 2 if shape[0] == shape[1] else x
    return A


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_eigh_not_converged_names_batch_element(caps, rng, dtype):
    A = make(batch_with_one_hard(rng, 5, 3, (6, 6)), dtype)
    caps(0, 128)  # no QR step allowed: only the diagonal matrices converge
    msg = r"linalg.eigh: \(Batch element 3\): " + EIGH_FAIL.format(5)  # 5 off-diagonals left, as LAPACK counts
    for f in (L.eigh, L.eigvalsh, lambda a: L.eigh(a, UPLO="U"), lambda a: L.pinv(a, hermitian=True),
              lambda a: L.matrix_rank(a, hermitian=True), lambda a: L.eigh(a.detach().requires_grad_())):
        with pytest.raises(L.LinAlgError, match=msg):
            f(A)
    with pytest.raises(L.LinAlgError, match=r"^linalg.eigh: The algorithm failed .*\(error code: 5\)\.$"):
        L.eigh(A[3])  # unbatched: no batch element in the message
    caps(40, 128)
    w, _ = L.eigh(A)
    assert np.allclose(npy(w), torch.linalg.eigvalsh(torch.tensor(npy(A))).numpy(), atol=1e-4)


def test_eigh_reports_first_failing_element_and_small_caps_still_work(caps, rng):
    T = np.diag([2.0, 2.0, 2.0]) + np.diag([1.0, 1.0], 1) + np.diag([1.0, 1.0], -1)  # tridiagonal already
    A = np.stack([np.diag([1.0, 2.0, 3.0]), T, np.ones((3, 3))])  # ones: rank 1, one off-diagonal to converge
    caps(0, 128)
    with pytest.raises(L.LinAlgError, match=r"\(Batch element 1\): .*\(error code: 2\)"):
        L.eigvalsh(make(A))
    with pytest.raises(L.LinAlgError, match=r"\(Batch element 0\): .*\(error code: 1\)"):
        L.eigvalsh(make(A[2:]))
    caps(2, 128)  # 2 n steps are enough for these
    assert np.allclose(npy(L.eigvalsh(make(A)))[1], [2 - 2 ** 0.5, 2, 2 + 2 ** 0.5], atol=1e-12)


@pytest.mark.parametrize("shape", [(5, 5), (7, 4), (4, 7)])
def test_svd_not_converged_names_batch_element(caps, rng, shape):
    A = make(batch_with_one_hard(rng, 3, 0, shape))
    caps(40, 0)  # no Jacobi sweep: only matrices with orthogonal rows of R (the diagonal ones) converge
    k = min(shape)
    msg = r"linalg.svd: \(Batch element 0\): " + SVD_FAIL.format(k)  # every row still coupled
    for f in (L.svd, L.svdvals, lambda a: L.svd(a, full_matrices=False), pyml.svd, L.pinv, L.matrix_rank,
              lambda a: L.matrix_norm(a, "nuc"), L.cond, lambda a: L.svd(a.detach().requires_grad_())):
        with pytest.raises(L.LinAlgError, match=msg):
            f(A)
    with pytest.raises(L.LinAlgError, match=r"^linalg.svd: The algorithm failed .*\(error code: \d\)\.$"):
        L.svd(A[0])


def test_svd_one_sweep_is_not_enough_but_the_cap_is(caps, rng):
    A = make(rng.standard_normal((2, 30, 30)))
    caps(40, 1)
    with pytest.raises(L.LinAlgError, match=r"linalg.svd: \(Batch element 0\): .*singular values \(error code: \d+\)"):
        L.svdvals(A)
    caps(40, 128)
    assert np.allclose(npy(L.svdvals(A)), torch.linalg.svdvals(torch.tensor(npy(A))).numpy(), atol=1e-12)


# ------------------------------------------------------------------------------------------ NaN and inf
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nan_raises_as_torch(rng, dtype):
    x = rng.standard_normal((3, 6, 6))
    A = x + x.swapaxes(-1, -2)
    A[1, 5, 2] = A[1, 2, 5] = np.nan
    for f, name in ((L.eigh, "linalg.eigh"), (L.eigvalsh, "linalg.eigh")):
        with pytest.raises(L.LinAlgError, match=rf"{name}: \(Batch element 1\): " + EIGH_FAIL.format(5)):
            f(make(A, dtype))
        with pytest.raises(torch.linalg.LinAlgError, match=r"\(Batch element 1\)"):
            torch.linalg.eigh(torch.tensor(A).to(getattr(torch, dtype)))
    nonfinite = "linalg.svd: \\(Batch element 1\\): The algorithm failed to converge because the input matrix " \
                "contained non-finite values."
    for f in (L.svd, L.svdvals, pyml.svd, L.pinv):
        with pytest.raises(L.LinAlgError, match=nonfinite):
            f(make(A[:, :, :4], dtype))
    with pytest.raises(torch.linalg.LinAlgError, match=nonfinite):
        torch.linalg.svd(torch.tensor(A[:, :, :4]))


def test_nan_outside_the_read_triangle_and_1x1_as_torch():
    A = np.array([[2.0, np.nan], [1.0, 3.0]])  # UPLO='L' never reads the NaN
    assert np.allclose(npy(L.eigvalsh(make(A))), torch.linalg.eigvalsh(torch.tensor(A)).numpy())
    w, V = L.eigh(make(np.array([[np.nan]])))  # torch: no iteration, A itself
    assert np.isnan(npy(w)).all() and npy(V).tolist() == [[1.0]]
    w, V = L.eigh(make(np.array([[np.inf]])))
    assert npy(w).tolist() == [np.inf] and npy(V).tolist() == [[1.0]]


def test_inf_gives_nan_not_an_error():
    A = np.eye(4)
    A[2, 2] = np.inf
    w, V = L.eigh(make(A))
    U, S, Vh = L.svd(make(A[:, :3]))
    for t in (w, V, U, S, Vh):
        assert np.isnan(npy(t)).all()
    assert np.isnan(torch.linalg.svdvals(torch.tensor(A)).numpy()).all()  # torch's answer for this one too


# ------------------------------------------------------------------------------------------ hard well-posed inputs
def orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def symmetric_case(rng, kind, n):
    x = rng.standard_normal((n, n))
    x = (x + x.T) / 2
    Q = orthogonal(rng, n)
    if kind == "random":
        return x
    if kind == "repeated":  # three eigenvalues, each about n/3 times
        return (Q * np.resize([1.0, 2.0, -3.0], n)) @ Q.T
    if kind == "clustered":
        return (Q * (1 + 1e-13 * np.arange(n))) @ Q.T
    if kind == "rank_deficient":
        X = rng.standard_normal((n, max(1, n // 3)))
        return X @ X.T
    if kind == "graded":  # entries from 1e-150 to 1e150
        d = 10.0 ** np.linspace(-75, 75, n)
        return d[:, None] * x * d[None, :]
    if kind == "wild":  # every entry of its own magnitude, 1e-150..1e150
        g = 10.0 ** rng.uniform(-150, 150, (n, n)) * np.sign(rng.standard_normal((n, n)))
        return np.triu(g) + np.triu(g, 1).T
    m = (n - 1) / 2  # Wilkinson's W_n+: pairs of nearly equal eigenvalues
    return np.diag(np.abs(np.arange(n) - m)) + np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)


def general_case(rng, kind, m, n):
    x = rng.standard_normal((m, n))
    k = min(m, n)
    if kind == "random":
        return x
    if kind == "repeated":
        return (orthogonal(rng, m)[:, :k] * np.resize([3.0, 1.0, 1e-3], k)) @ orthogonal(rng, n)[:, :k].T
    if kind == "clustered":
        return (orthogonal(rng, m)[:, :k] * (1 + 1e-13 * np.arange(k))) @ orthogonal(rng, n)[:, :k].T
    if kind == "rank_deficient":
        r = max(1, k // 3)
        return rng.standard_normal((m, r)) @ rng.standard_normal((r, n))
    if kind == "graded":
        return (10.0 ** np.linspace(-75, 75, m))[:, None] * x * (10.0 ** np.linspace(75, -75, n))[None, :]
    return 10.0 ** rng.uniform(-150, 150, (m, n)) * np.sign(rng.standard_normal((m, n)))  # wild


SYM_KINDS = ["random", "repeated", "clustered", "rank_deficient", "graded", "wild", "wilkinson"]
GEN_KINDS = ["random", "repeated", "clustered", "rank_deficient", "graded", "wild"]


def check_eigh(A):
    scale = max(np.abs(A).max(), 1e-300)
    w, V = (npy(t) for t in L.eigh(make(A)))
    tw = torch.linalg.eigvalsh(torch.tensor(A)).numpy()
    n = A.shape[-1]
    assert np.abs(w - tw).max() <= 1e-12 * n * scale
    assert np.abs(V.T @ V - np.eye(n)).max() <= 1e-12 * n
    assert np.abs(A @ V - V * w).max() <= 1e-12 * n * scale


def check_svd(A):
    U, S, Vh = (npy(t) for t in L.svd(make(A), full_matrices=False))
    tS = torch.linalg.svdvals(torch.tensor(A)).numpy()
    k = min(A.shape)
    scale = max(tS.max(), 1e-300)
    assert np.abs(S - tS).max() <= 1e-12 * k * scale
    assert np.abs(U.T @ U - np.eye(k)).max() <= 1e-12 * k and np.abs(Vh @ Vh.T - np.eye(k)).max() <= 1e-12 * k
    assert np.abs((U * S) @ Vh - A).max() <= 1e-12 * k * scale


@pytest.mark.parametrize("quarter_caps", [False, True])
@pytest.mark.parametrize("n", [1, 2, 17, 64, 200])
@pytest.mark.parametrize("kind", SYM_KINDS)
def test_eigh_hard_inputs_against_torch(kind, n, quarter_caps, caps, rng):
    if quarter_caps:
        caps(10, 32)
    check_eigh(symmetric_case(rng, kind, n))


@pytest.mark.parametrize("quarter_caps", [False, True])
@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (17, 5), (5, 17), (64, 64), (200, 200), (200, 60)])
@pytest.mark.parametrize("kind", GEN_KINDS)
def test_svd_hard_inputs_against_torch(kind, shape, quarter_caps, caps, rng):
    if quarter_caps:
        caps(10, 32)
    check_svd(general_case(rng, kind, *shape))


@pytest.mark.parametrize("kind", ["random", "repeated", "rank_deficient", "clustered"])
def test_float32_hard_inputs_converge(kind, rng):
    A = symmetric_case(rng, kind, 200)
    w = npy(L.eigvalsh(make(A, "float32")))
    assert np.abs(w - np.linalg.eigvalsh(A)).max() <= 1e-4 * np.abs(A).max() * 20
    B = general_case(rng, kind, 200, 120)
    S = npy(L.svdvals(make(B, "float32")))
    assert np.abs(S - np.linalg.svd(B, compute_uv=False)).max() <= 1e-4 * np.abs(B).max() * 20
