"""StudentT(df, loc=0, scale=1): the location-scale Student's t, density
Gamma((df+1)/2) / (Gamma(df/2) sqrt(pi df) scale) (1 + y^2 / df)^(-(df+1)/2) with y = (x - loc) / scale.

rsample is loc + scale * X / sqrt(Z / df) with X ~ N(0, 1) and Z ~ Chi2(df), like torch: Chi2's rsample is
implicitly reparameterised, so gradients reach df as well as loc and scale. mean is NaN for df <= 1;
variance is inf for 1 < df <= 2 and NaN for df <= 1.
"""
import math

from .. import lgamma, digamma, randn, where
from .._tensor import Size
from . import constraints
from .distribution import Distribution
from .gamma_family import Chi2
from .utils import broadcast_all

__all__ = ["StudentT"]

_LGAMMA_HALF = math.lgamma(0.5)


class StudentT(Distribution):
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df, validate_args=False)  # df is checked once, here, by arg_constraints
        super().__init__(self.df.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(StudentT, _instance)
        batch_shape = self._expand_batch(batch_shape, "StudentT.expand")
        new._chi2 = self._chi2.expand(batch_shape)
        return self._expanded(new, batch_shape, "df", "loc", "scale")

    @property
    def mean(self):
        return where(self.df <= 1, float("nan"), self.loc)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        df = self.df
        safe_df = where(df > 2, df, 3.0)  # keeps the unused branch finite (and its gradient)
        var = self.scale.pow(2) * safe_df / (safe_df - 2)
        return where(df > 2, var, where(df > 1, float("inf"), float("nan")))

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        x = randn(shape, dtype=self.df.dtype, device=self.df.device)
        z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * x * (z / self.df).rsqrt()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        y = (value - self.loc) / self.scale
        log_z = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi)
                 + lgamma(0.5 * df) - lgamma(0.5 * (df + 1.0)))
        return -0.5 * (df + 1.0) * (y * y / df).log1p() - log_z

    def entropy(self):
        df = self.df
        lbeta = lgamma(0.5 * df) + _LGAMMA_HALF - lgamma(0.5 * (df + 1))
        return (self.scale.log() + 0.5 * (df + 1) * (digamma(0.5 * (df + 1)) - digamma(0.5 * df))
                + 0.5 * df.log() + lbeta)
