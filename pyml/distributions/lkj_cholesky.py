"""LKJCholesky(dim, concentration=1): the LKJ distribution over dim x dim correlation matrices C, density
proportional to det(C)^(concentration - 1), seen through their lower Cholesky factors L (C = L L^T, rows of L
of unit norm). event_shape (dim, dim).

log_prob: sum_i (2 (c - 1) + dim - i) log L_ii (the density of C times the Jacobian of C -> L) minus the log
normaliser from the multivariate gamma. Under it the rows are independent: row i's off-diagonal part w_i is
a uniform direction in R^i times sqrt(y_i), y_i = |w_i|^2 ~ Beta(i/2, c + (dim - 2)/2 - (i - 1)/2). sample draws
exactly that (the onion method of Lewandowski, Kurowicka & Joe 2009, sec. 3.2, vectorised) and closes each
row with L_ii = sqrt(1 - y_i). torch 2.13 draws y_i ~ Beta(i - 1/2, ...) instead, which disagrees with its own
log_prob for dim >= 3 (the correlations' marginals are not LKJ's Beta(c - 1 + dim/2) ones); pyml's match.
"""
import math

from .. import arange, cat, lgamma, mvlgamma, randn, zeros
from .._tensor import Size
from ..autograd import no_grad
from . import constraints
from .beta_dirichlet import Beta
from .distribution import Distribution
from .utils import broadcast_all, tiny

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
            raise ValueError(f"LKJCholesky: dim must be an integer greater than or equal to 2, got dim={dim!r}")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        self._beta = self._onion_beta()
        super().__init__(self.concentration.shape, Size((dim, dim)), validate_args=validate_args)

    def _onion_beta(self):
        """Beta(i/2, c + (dim-2)/2 - (i-1)/2) for rows i (row 0's draw is unused): batch_shape + (dim,)."""
        c = self.concentration
        offset = arange(self.dim - 1, dtype=c.dtype, device=c.device)
        offset = cat([zeros(1, dtype=c.dtype, device=c.device), offset])  # (dim,) = 0, 0, 1, ..., dim-2
        marginal = c + 0.5 * (self.dim - 2)
        return Beta(0.5 * offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset, validate_args=False)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = self._expand_batch(batch_shape, "LKJCholesky.expand")
        new.dim = self.dim
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        return self._expanded(new, batch_shape, "concentration")

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)  # (S, B, dim, 1)
            u = randn(shape, dtype=y.dtype, device=y.device).tril(-1)  # (S, B, dim, dim), row 0 all zero
            norm = u.pow(2).sum(-1, keepdim=True).sqrt().clamp(min=tiny(y.dtype))
            w = y.sqrt() * (u / norm)  # row 0 stays 0 instead of torch's 0/0 then fill
            diag = (1 - w.pow(2).sum(-1)).clamp(min=tiny(y.dtype)).sqrt()
            return w + diag.diag_embed()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        diag = value.diagonal(dim1=-2, dim2=-1)[..., 1:]  # (..., dim-1)
        order = arange(2, self.dim + 1, dtype=c.dtype, device=c.device)
        order = 2 * (c - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diag.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = c + 0.5 * dm1
        normalizer = 0.5 * dm1 * math.log(math.pi) + mvlgamma(alpha - 0.5, p=dm1) - lgamma(alpha) * dm1
        return unnormalized - normalizer
