"""Wishart(df, covariance_matrix | precision_matrix | scale_tril): the distribution of X = sum_i g_i g_i^T over
p x p positive-definite matrices (event_shape (p, p)), g_i ~ N(0, S) for df (real, > p - 1) degrees of
freedom, with S = L L^T kept as its unbroadcast lower Cholesky factor L (like MultivariateNormal).

rsample is Bartlett's decomposition: X = (L A)(L A)^T with A lower triangular, A_ii = sqrt(chi2(df - i)),
A_ij ~ N(0, 1) below the diagonal. Chi2's implicit reparameterisation carries gradients to df and the
product to L. Samples that come out singular (possible for p - 1 < df < p) are redrawn, up to
max_try_correction times, with a warning. log_prob/entropy are the closed forms with the multivariate
gamma (pyml.mvlgamma) and digamma; it is an ExponentialFamily with natural parameters (-S^-1 / 2, (df-p-1)/2).
"""
import math
import warnings

import pyml

from .. import arange, broadcast_shapes, cholesky_solve, digamma, eye, mvlgamma, randn, where
from .. import linalg
from .._tensor import Size, Tensor
from . import constraints
from .exp_family import ExponentialFamily
from .gamma_family import Chi2
from .multivariate_normal import _ScaleTrilMatrices, _precision_to_scale_tril
from .utils import eps, lazy_property

__all__ = ["Wishart"]

_LOG_2 = math.log(2)
_OP = "Wishart"


def _mvdigamma(x, p):
    """The multivariate digamma: sum_{i < p} digamma(x - i / 2)."""
    offsets = arange(p, dtype=x.dtype, device=x.device) / 2
    return digamma(x.unsqueeze(-1) - offsets).sum(-1)


def _one_matrix(covariance_matrix, precision_matrix, scale_tril):
    given = [(n, v) for n, v in (("covariance_matrix", covariance_matrix), ("precision_matrix", precision_matrix),
                                 ("scale_tril", scale_tril)) if v is not None]
    if len(given) != 1:
        raise ValueError(f"{_OP}: exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                         f"specified, got {len(given)} ({', '.join(n for n, _ in given) or 'none'})")
    name, matrix = given[0]
    if not isinstance(matrix, Tensor):
        raise TypeError(f"{_OP}: {name} must be a Tensor, got {type(matrix).__name__}")
    if matrix.dim() < 2:
        raise ValueError(f"{_OP}: {name} must be at least two-dimensional, with optional leading batch dimensions, "
                         f"got shape {tuple(matrix.shape)}")
    return name, matrix


def _df_tensor(df, matrix):
    """df as a tensor and the batch shape (matrix's batch dims broadcast with df's shape)."""
    if isinstance(df, Tensor):
        batch_shape = broadcast_shapes(matrix.shape[:-2], df.shape)
        return df.expand(batch_shape), batch_shape
    return pyml.tensor(float(df), dtype=matrix.dtype, device=matrix.device), Size(matrix.shape[:-2])


class Wishart(_ScaleTrilMatrices, ExponentialFamily):
    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite, "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        name, matrix = _one_matrix(covariance_matrix, precision_matrix, scale_tril)
        self.df, batch_shape = _df_tensor(df, matrix)
        event_shape = Size(matrix.shape[-2:])
        p = event_shape[-1]
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"{_OP}: df must be greater than ndim - 1 = {p - 1}, got {_short(self.df)}")
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < "
                          "ndim.", stacklevel=2)
        setattr(self, name, matrix.expand(tuple(batch_shape) + (-1, -1)))
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)
        self._dist_chi2 = self._bartlett_chi2()

    def _bartlett_chi2(self):
        """Chi2(df - i) for the diagonal i = 0..p-1 of Bartlett's factor, batch_shape + (p,)."""
        p = self._event_shape[-1]
        offsets = arange(p, dtype=self._unbroadcasted_scale_tril.dtype, device=self.df.device)
        return Chi2(self.df.unsqueeze(-1) - offsets, validate_args=False)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = self._expand_batch(batch_shape, f"{_OP}.expand")
        cov_shape = tuple(batch_shape) + tuple(self._event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        new = self._expanded(new, batch_shape)
        new._dist_chi2 = new._bartlett_chi2()
        return new

    def _matrix_shape(self):
        return tuple(self._batch_shape) + tuple(self._event_shape)

    @lazy_property
    def precision_matrix(self):
        L = self._unbroadcasted_scale_tril
        Id = eye(L.shape[-1], dtype=L.dtype, device=L.device)
        return cholesky_solve(Id, L).expand(self._matrix_shape())

    def _df_matrix(self):
        return self.df.reshape(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self):
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self._event_shape[-1] - 1
        factor = where(factor > 0, factor, float("nan"))
        return factor.reshape(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        V = self.covariance_matrix
        d = V.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (V.pow(2) + d.unsqueeze(-1) * d.unsqueeze(-2))

    # ------------------------------------------------------------------------------------ sampling
    def _bartlett_sampling(self, sample_shape):
        shape = Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))
        diag = self._dist_chi2.rsample(sample_shape).sqrt()
        diag = diag.clamp(min=eps(diag.dtype))  # a zero chi draw would make the factor singular
        below = randn(shape, dtype=diag.dtype, device=diag.device).tril(-1)
        factor = self._unbroadcasted_scale_tril @ (pyml.diag_embed(diag) + below)  # (S, B, p, p)
        return factor @ factor.transpose(-2, -1)

    def _singular(self, sample):
        return ~self.support.check(sample)  # sample_shape + batch_shape

    def rsample(self, sample_shape=Size(), max_try_correction=None):
        """Bartlett samples; singular ones are redrawn (max_try_correction times, default 10)."""
        sample_shape = Size(tuple(sample_shape))
        tries = 10 if max_try_correction is None else max_try_correction
        sample = self._bartlett_sampling(sample_shape)
        singular = self._singular(sample)
        if not bool(singular.any()):
            return sample
        warnings.warn("Singular sample detected.", stacklevel=2)
        for _ in range(tries):
            fresh = self._bartlett_sampling(sample_shape)
            sample = where(singular.unsqueeze(-1).unsqueeze(-1), fresh, sample)
            singular = self._singular(sample)
            if not bool(singular.any()):
                break
        return sample

    # ------------------------------------------------------------------------------------ densities
    def _half_log_det_2s(self, p):
        """p log(2) / 2 + log det(L): half the log-determinant of 2 S."""
        return p * _LOG_2 / 2 + self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        trace = cholesky_solve(value, self._unbroadcasted_scale_tril).diagonal(dim1=-2, dim2=-1).sum(-1)  # tr(S^-1 X)
        return (-nu * self._half_log_det_2s(p) - mvlgamma(nu / 2, p=p)
                + (nu - p - 1) / 2 * linalg.slogdet(value).logabsdet - trace / 2)

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        return ((p + 1) * self._half_log_det_2s(p) + mvlgamma(nu / 2, p=p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self):
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        a = y + (p + 1) / 2
        return a * (-linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p) + mvlgamma(a, p=p)


def _short(value):
    return " ".join(str(value.detach()).split())
