"""The orthogonal parametrization (torch.nn.utils.parametrizations.orthogonal).

A weight (..., n, k) is read as a tall matrix (transposed when n < k) and mapped to one with orthonormal
columns: 'matrix_exp' / 'cayley' take A = X.tril() - X.tril()^T (embedded in n x n) to exp(A) or
(I - A/2)^{-1} (I + A/2) and keep the first k columns; 'householder' multiplies the reflectors stored
below X's diagonal (tau = 2 / (1 + |v|^2)) and flips columns by the signs on X's diagonal.
With use_trivialization=True (default) the result is multiplied on the left by a buffer `base` (n x n
orthogonal) that right_inverse sets to the assigned matrix (completed and orthogonalised by QR), and the
original becomes -I, whose image under every map is I. pyml has no geqrf / householder_product kernels:
both are composites here (Householder QR column by column; reflectors applied to I one at a time).
"""
import math

import pyml
from ...autograd import grad_mode
from ..modules.module import Module
from . import parametrize

__all__ = ["orthogonal"]

_MAPS = ("matrix_exp", "cayley", "householder")


def _householder_product(A, tau):
    """H_0 H_1 ... H_{k-1} I[:, :k] with H_i = I - tau_i v_i v_i^T, v_i = (0.., 1, A[i+1:, i]); differentiable."""
    n, k = A.shape[-2], A.shape[-1]  # A: (..., n, k), tau: (..., k)
    rows = pyml.arange(n, device=A.device).unsqueeze(-1)  # (n, 1)
    Q = pyml.eye(n, k, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], n, k)
    for i in range(k - 1, -1, -1):
        below = (rows > i).to(A.dtype)
        unit = (rows == i).to(A.dtype)
        v = A[..., :, i:i + 1] * below + unit  # (..., n, 1)
        vq = (v * Q).sum(dim=-2, keepdim=True)  # (..., 1, k)
        Q = Q - tau[..., i:i + 1].unsqueeze(-1) * v * vq
    return Q


def _geqrf_one(M):
    """LAPACK-style Householder QR of one (n, k) matrix, n >= k: (R above the diagonal, reflectors below, tau)."""
    R = M.clone()
    n, k = M.shape
    taus = []
    for j in range(k):
        alpha = R[j, j].item()
        xnorm = pyml.linalg.vector_norm(R[j + 1:, j]).item() if j + 1 < n else 0.0
        if xnorm == 0.0:  # nothing to annihilate: H = I
            taus.append(0.0)
            continue
        beta = -math.copysign(math.hypot(alpha, xnorm), alpha)
        tau = (beta - alpha) / beta
        R[j + 1:, j] = R[j + 1:, j] / (alpha - beta)
        R[j, j] = beta
        if j + 1 < k:
            v = pyml.cat([pyml.ones(1, dtype=M.dtype, device=M.device), R[j + 1:, j]])  # (n - j,)
            block = R[j:, j + 1:]  # (n - j, k - j - 1)
            R[j:, j + 1:] = block - tau * pyml.outer(v, v @ block)
        taus.append(tau)
    return R, taus


def _householder_reflectors(Q):
    """Reflectors of a tall orthogonal Q with the signs of R on the diagonal, for the 'householder' map."""
    batch = Q.shape[:-2]
    flat = Q.reshape(-1, Q.shape[-2], Q.shape[-1])
    out = []
    for M in flat:
        R, taus = _geqrf_one(M)
        for j, tau in enumerate(taus):
            s = 1.0 if R[j, j].item() >= 0 else -1.0
            R[j, j] = -s if tau == 0.0 else s  # a skipped reflector (tau 0) reads as tau 2 in forward: flip
        out.append(R)
    return pyml.stack(out).reshape(*batch, Q.shape[-2], Q.shape[-1])


def _is_orthogonal(Q):
    n, k = Q.shape[-2], Q.shape[-1]
    eye = pyml.eye(k, dtype=Q.dtype, device=Q.device)
    return bool(pyml.allclose(Q.mT @ Q, eye, atol=10.0 * n * pyml.finfo(Q.dtype).eps))


def _make_orthogonal(A):
    """The Q factor of A = QR (A tall) normalised so that diag(R) >= 0."""
    Q, R = pyml.linalg.qr(A)
    d = R.diagonal(dim1=-2, dim2=-1)
    return Q * pyml.where(d < 0, -1.0, 1.0).to(A.dtype).unsqueeze(-2)


class _Orthogonal(Module):
    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X, n, k = X.mT, k, n
        Q = self._tall(X, n, k)  # (..., n, k)
        if hasattr(self, "base"):
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def _tall(self, X, n, k):
        if self.orthogonal_map == "householder":
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            signs = X.diagonal(dim1=-2, dim2=-1).detach().trunc()  # +-1, not trained (torch casts to int)
            return _householder_product(A, tau) * signs.unsqueeze(-2)
        X = X.tril()
        if n != k:  # embed into a square matrix
            X = pyml.cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], n, n - k)], dim=-1)
        A = X - X.mT  # skew-symmetric
        if self.orthogonal_map == "matrix_exp":
            Q = pyml.linalg.matrix_exp(A)
        else:  # Cayley retraction (I + A/2)(I - A/2)^{-1}
            eye = pyml.eye(n, dtype=A.dtype, device=A.device)
            Q = pyml.linalg.solve(eye - 0.5 * A, eye + 0.5 * A)
        return Q[..., :k] if n != k else Q

    def right_inverse(self, Q):
        if tuple(Q.shape) != tuple(self.shape):
            raise ValueError(f"orthogonal: expected a matrix or batch of matrices of shape {tuple(self.shape)}, "
                             f"got a tensor of shape {tuple(Q.shape)}")
        with grad_mode.no_grad():
            return self._inverse(Q)

    def _inverse(self, Q):
        Q_init = Q
        n, k = Q.shape[-2], Q.shape[-1]
        transposed = n < k
        if transposed:
            Q, n, k = Q.mT, k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map != "householder":
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                          "parametrizations when use_trivialization=False.")
            A = _householder_reflectors(Q)
            return A.mT if transposed else A
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:  # complete Q to an n x n orthogonal matrix
            extra = pyml.randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(pyml.cat([Q, extra], dim=-1))
        self.base = Q
        neg_eye = pyml.zeros_like(Q_init)  # -I maps to I under all three maps
        idx = pyml.arange(min(n, k), device=Q.device)
        neg_eye[..., idx, idx] = -1.0
        return neg_eye


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Registers an orthogonal parametrization of module.<name> (a matrix or a batch of matrices)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, pyml.Tensor):
        raise ValueError(f"orthogonal: module '{type(module).__name__}' must have a parameter or buffer named "
                         f"'{name}', got {type(weight).__name__}")
    if weight.ndim < 2:
        raise ValueError(f"orthogonal: expected a matrix or batch of matrices, got a tensor of {weight.ndim} "
                         "dimensions")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
