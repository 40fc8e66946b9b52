"""LowRankMultivariateNormal(loc, cov_factor, cov_diag): the Gaussian over n-vectors with covariance
S = W W^T + D, W = cov_factor (n, m) of low rank m and D = diag(cov_diag) > 0, never forming S for the density.

Everything goes through the m x m capacitance matrix C = I + W^T D^-1 W and its Cholesky factor:
log det S = log det C + sum log D (matrix determinant lemma), and the Woodbury identity
S^-1 = D^-1 - D^-1 W C^-1 W^T D^-1 gives the Mahalanobis term with one m x m triangular solve.
rsample is loc + W eps_W + sqrt(D) eps_D (reparameterised). scale_tril factors D^1/2 (I + D^-1/2 W W^T D^-1/2) D^1/2,
whose middle factor has eigenvalues >= 1 and so a well-conditioned Cholesky.
"""
import math

from .. import broadcast_tensors, eye, randn
from .. import linalg
from .._tensor import Size, Tensor
from . import constraints
from .distribution import Distribution
from .multivariate_normal import _batch_mahalanobis
from .utils import lazy_property

__all__ = ["LowRankMultivariateNormal"]

_OP = "LowRankMultivariateNormal"


def _batch_mv(M, x):
    """M @ x over the last dims with broadcast batch dims: (..., a, b), (..., b) -> (..., a)."""
    return (M @ x.unsqueeze(-1)).squeeze(-1)


def _add_identity(K):
    return K + eye(K.shape[-1], dtype=K.dtype, device=K.device)


def _batch_capacitance_tril(W, D):
    """Cholesky factor of C = I + W^T D^-1 W: (..., m, m)."""
    Wt_Dinv = W.transpose(-2, -1) / D.unsqueeze(-2)
    return linalg.cholesky(_add_identity(Wt_Dinv @ W))


def _batch_lowrank_logdet(W, D, capacitance_tril):
    """log det(W W^T + D) = log det C + log det D."""
    return 2 * capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + D.log().sum(-1)


def _batch_lowrank_mahalanobis(W, D, x, capacitance_tril):
    """x^T (W W^T + D)^-1 x by Woodbury: x^T D^-1 x - |C_L^-1 W^T D^-1 x|^2."""
    Wt_Dinv = W.transpose(-2, -1) / D.unsqueeze(-2)
    term1 = (x.pow(2) / D).sum(-1)
    return term1 - _batch_mahalanobis(capacitance_tril, _batch_mv(Wt_Dinv, x))


def _batch_trace_XXT(X):
    """tr(X X^T) = |X|_F^2 over the last two dims."""
    return X.pow(2).sum((-2, -1))


def _check_args(loc, cov_factor, cov_diag):
    for name, v in (("loc", loc), ("cov_factor", cov_factor), ("cov_diag", cov_diag)):
        if not isinstance(v, Tensor):
            raise TypeError(f"{_OP}: {name} must be a Tensor, got {type(v).__name__}")
    if loc.dim() < 1:
        raise ValueError(f"{_OP}: loc must be at least one-dimensional, got shape {tuple(loc.shape)}")
    n = loc.shape[-1]
    if cov_factor.dim() < 2:
        raise ValueError(f"{_OP}: cov_factor must be at least two-dimensional, with optional leading batch "
                         f"dimensions, got shape {tuple(cov_factor.shape)}")
    if cov_factor.shape[-2] != n:
        raise ValueError(f"{_OP}: cov_factor must be a batch of matrices with shape {n} x m, got "
                         f"{tuple(cov_factor.shape)}")
    if cov_diag.dim() < 1 or cov_diag.shape[-1] != n:
        raise ValueError(f"{_OP}: cov_diag must be a batch of vectors with shape ({n},), got {tuple(cov_diag.shape)}")


class LowRankMultivariateNormal(Distribution):
    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        _check_args(loc, cov_factor, cov_diag)
        try:
            loc_, self.cov_factor, diag_ = broadcast_tensors(loc.unsqueeze(-1), cov_factor, cov_diag.unsqueeze(-1))
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"{_OP}: incompatible batch shapes: loc {tuple(loc.shape)}, cov_factor "
                             f"{tuple(cov_factor.shape)}, cov_diag {tuple(cov_diag.shape)}") from e
        self.loc, self.cov_diag = loc_[..., 0], diag_[..., 0]  # (B, n)
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        super().__init__(self.loc.shape[:-1], loc.shape[-1:], validate_args=validate_args)
        self._capacitance_tril = _batch_capacitance_tril(cov_factor, cov_diag)  # after the checks: D > 0

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = self._expand_batch(batch_shape, f"{_OP}.expand")
        loc_shape = tuple(batch_shape) + tuple(self._event_shape)
        new.loc = self.loc.expand(loc_shape)
        new.cov_diag = self.cov_diag.expand(loc_shape)
        new.cov_factor = self.cov_factor.expand(loc_shape + tuple(self.cov_factor.shape[-1:]))
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        return self._expanded(new, batch_shape)

    def _matrix_shape(self):
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W.pow(2).sum(-1) + D).expand(tuple(self._batch_shape) + tuple(self._event_shape))

    @lazy_property
    def scale_tril(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        sqrt_d = D.sqrt().unsqueeze(-1)  # (..., n, 1)
        Dinvsqrt_W = W / sqrt_d
        K = _add_identity(Dinvsqrt_W @ Dinvsqrt_W.transpose(-2, -1))
        return (sqrt_d * linalg.cholesky(K)).expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W @ W.transpose(-2, -1) + D.diag_embed()).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        A = linalg.solve_triangular(self._capacitance_tril, W.transpose(-2, -1) / D.unsqueeze(-2), upper=False)
        return (D.reciprocal().diag_embed() - A.transpose(-2, -1) @ A).expand(self._matrix_shape())  # Woodbury

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        w_shape = tuple(shape[:-1]) + tuple(self.cov_factor.shape[-1:])
        eps_w = randn(w_shape, dtype=self.loc.dtype, device=self.loc.device)
        eps_d = randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return (self.loc + _batch_mv(self._unbroadcasted_cov_factor, eps_w)
                + self._unbroadcasted_cov_diag.sqrt() * eps_d)

    def _log_det(self):
        return _batch_lowrank_logdet(self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag,
                                     self._capacitance_tril)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        M = _batch_lowrank_mahalanobis(self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag,
                                       value - self.loc, self._capacitance_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + self._log_det() + M)

    def entropy(self):
        H = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._log_det())
        return H.expand(self._batch_shape) if len(self._batch_shape) else H
