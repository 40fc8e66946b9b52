"""MultivariateNormal(loc, covariance_matrix | precision_matrix | scale_tril): the Gaussian over D-vectors
(event_shape (D,)) with mean loc and covariance S = L L^T. Everything goes through the lower Cholesky
factor L, kept unbroadcast: rsample is loc + L eps, log_prob uses the Mahalanobis term |L^-1 (x - loc)|^2
(one triangular solve) and log det S = 2 sum(log diag L). A precision matrix P is factored without an
inverse: with J the order-reversing permutation, cholesky(J P J) = U gives L = (J U J)^-T.
"""
import math

from .. import randn, eye, flip, broadcast_shapes
from .. import linalg
from .._tensor import Size, Tensor
from . import constraints
from .distribution import Distribution
from .utils import lazy_property

__all__ = ["MultivariateNormal"]

_OP = "MultivariateNormal"


def _batch_mahalanobis(L, x):
    """|L^-1 x|^2 over the last dim; L: (..., D, D) lower, x: (..., D), batch dims broadcast."""
    z = linalg.solve_triangular(L, x.unsqueeze(-1), upper=False).squeeze(-1)  # (..., D)
    return z.pow(2).sum(-1)


def _precision_to_scale_tril(P):
    Lf = linalg.cholesky(flip(P, (-2, -1)))
    L_inv = flip(Lf, (-2, -1)).transpose(-2, -1)  # upper-triangular^T of the reversed factor: lower
    Id = eye(P.shape[-1], dtype=P.dtype, device=P.device)
    return linalg.solve_triangular(L_inv, Id, upper=False)


def _matrix_param(v, name):
    if not isinstance(v, Tensor):
        raise TypeError(f"{_OP}: {name} must be a Tensor, got {type(v).__name__}")
    if v.dim() < 2:
        raise ValueError(f"{_OP}: {name} must be at least two-dimensional, with optional leading batch dimensions, "
                         f"got shape {tuple(v.shape)}")
    return v


def _one_matrix(covariance_matrix, precision_matrix, scale_tril):
    given = [(n, v) for n, v in (("covariance_matrix", covariance_matrix), ("precision_matrix", precision_matrix),
                                 ("scale_tril", scale_tril)) if v is not None]
    if len(given) != 1:
        raise ValueError(f"{_OP}: exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                         f"specified, got {len(given)} ({', '.join(n for n, _ in given) or 'none'})")
    return given[0][0], _matrix_param(given[0][1], given[0][0])


class _ScaleTrilMatrices:
    """scale_tril and covariance_matrix (L L^T) of a distribution holding an unbroadcasted Cholesky factor
    `_unbroadcasted_scale_tril`, expanded to its `_matrix_shape()` (MultivariateNormal, Wishart)."""

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.transpose(-2, -1)).expand(self._matrix_shape())


class MultivariateNormal(_ScaleTrilMatrices, Distribution):
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if not isinstance(loc, Tensor):
            raise TypeError(f"{_OP}: loc must be a Tensor, got {type(loc).__name__}")
        if loc.dim() < 1:
            raise ValueError(f"{_OP}: loc must be at least one-dimensional, got shape {tuple(loc.shape)}")
        name, matrix = _one_matrix(covariance_matrix, precision_matrix, scale_tril)
        if matrix.shape[-1] != matrix.shape[-2] or matrix.shape[-1] != loc.shape[-1]:
            raise ValueError(f"{_OP}: {name} must be square with the size of loc's last dim, got {name} "
                             f"{tuple(matrix.shape)} and loc {tuple(loc.shape)}")
        batch_shape = broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
        event_shape = loc.shape[-1:]
        setattr(self, name, matrix.expand(tuple(batch_shape) + (-1, -1)))
        self.loc = loc.expand(tuple(batch_shape) + (-1,))
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = self._expand_batch(batch_shape, f"{_OP}.expand")
        loc_shape = tuple(batch_shape) + tuple(self.event_shape)
        cov_shape = loc_shape + tuple(self.event_shape)
        new.loc = self.loc.expand(loc_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        return self._expanded(new, batch_shape)

    def _matrix_shape(self):
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @lazy_property
    def precision_matrix(self):
        L = self._unbroadcasted_scale_tril
        Id = eye(L.shape[-1], dtype=L.dtype, device=L.device)
        L_inv = linalg.solve_triangular(L, Id, upper=False)
        return (L_inv.transpose(-2, -1) @ L_inv).expand(self._matrix_shape())

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        L = self._unbroadcasted_scale_tril
        return L.pow(2).sum(-1).expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps = randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)  # (..., D)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        m = _batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + m) - self._half_log_det()

    def entropy(self):
        d = self._event_shape[0]
        h = 0.5 * d * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h.expand(self._batch_shape) if len(self._batch_shape) else h
