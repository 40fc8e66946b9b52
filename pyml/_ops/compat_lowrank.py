"""Randomised low-rank factorisations, as torch.svd_lowrank and torch.pca_lowrank (Halko, Martinsson and
Tropp 2009: the range finder with power iterations, Algorithms 4.4 and 5.1).

A (..., m, n) is worked on as its transpose when m < n so the basis is always of the longer side. A Gaussian
test matrix R (n, q) drawn from pyml's default generator (pyml.manual_seed reproduces it) gives Q, an
orthonormal basis of range(A R); each of the niter power iterations re-orthonormalises A^T Q and then A Q
with QR, which sharpens the basis toward the top singular vectors when the spectrum decays slowly. The
small matrix B = Q^T A (q x n) is then factored exactly: A ~ (Q U_B) S V^T. All ops are differentiable
(matmul, linalg.qr, linalg.svd), so gradients flow to A through the factors.
"""
import pyml
from .._tensor import export
from .compat_util import need, as_int


def _check(op, A, M):
    need(A, op, "A")
    if A.ndim < 2:
        raise ValueError(f"{op}: A must have at least 2 dimensions, got shape {tuple(A.shape)}")
    if not A.dtype.is_floating_point:
        raise TypeError(f"{op}: expects a floating point A, got {A.dtype}")
    if M is not None:
        need(M, op, "M")
        return M.broadcast_to(A.shape)
    return None


def _sub(x, y):
    return x if y is None else x - y


def _basis(A, q, niter, M):
    """An orthonormal (..., m, q) basis approximating A's dominant column space (A minus M when given)."""
    R = pyml.randn(A.shape[-1], q, dtype=A.dtype, device=A.device)
    Q = pyml.linalg.qr(_sub(A @ R, None if M is None else M @ R)).Q
    for _ in range(niter):
        Q = pyml.linalg.qr(_sub(A.mT @ Q, None if M is None else M.mT @ Q)).Q
        Q = pyml.linalg.qr(_sub(A @ Q, None if M is None else M @ Q)).Q
    return Q


def _svd_lowrank(A, q, niter, M):
    m, n = A.shape[-2:]
    if m < n:
        A, M = A.mT, None if M is None else M.mT
    Q = _basis(A, q, niter, M)  # (..., m, q)
    B = _sub(Q.mT @ A, None if M is None else Q.mT @ M)  # (..., q, n)
    U, S, Vh = pyml.linalg.svd(B, full_matrices=False)
    U, V = Q @ U, Vh.mT
    return (V, S, U) if m < n else (U, S, V)


def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V) with A - M ~ U diag(S) V^T of rank q (U (..., m, q), S (..., q), V (..., n, q)); M, if given,
    is subtracted without forming A - M. q = 6 and niter = 2 when None."""
    M = _check("svd_lowrank", A, M)
    q = 6 if q is None else as_int(q, "svd_lowrank", "q")
    niter = 2 if niter is None else as_int(niter, "svd_lowrank", "niter")
    if q < 0 or niter < 0:
        raise ValueError(f"svd_lowrank: q and niter must be non-negative, got q={q}, niter={niter}")
    return _svd_lowrank(A, q, niter, M)


def pca_lowrank(A, q=None, center=True, niter=2):
    """(U, S, V) of the rank-q principal components of the rows of A: svd_lowrank of A minus its column means
    (center=True); q = min(6, m, n) when None. The principal directions are V's columns, and
    S**2 / (m - 1) the variances along them."""
    _check("pca_lowrank", A, None)
    m, n = A.shape[-2:]
    q = min(6, m, n) if q is None else as_int(q, "pca_lowrank", "q")
    if not 0 <= q <= min(m, n):
        raise ValueError(f"pca_lowrank: q(={q}) must be non-negative integer and not greater than min(m, n)="
                         f"{min(m, n)}")
    niter = as_int(niter, "pca_lowrank", "niter")
    if niter < 0:
        raise ValueError(f"pca_lowrank: niter(={niter}) must be non-negative integer")
    if center:
        A = A - A.mean(dim=-2, keepdim=True)
    return _svd_lowrank(A, q, niter, None)


__all__ = export(globals())
