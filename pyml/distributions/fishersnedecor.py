"""FisherSnedecor(df1, df2): the F distribution of (U1 / df1) / (U2 / df2) for independent chi-squared U1, U2
with df1 and df2 degrees of freedom, on x > 0.

rsample draws X1 ~ Gamma(df1 / 2, rate df1) and X2 ~ Gamma(df2 / 2, rate df2) (so X_i = U_i / (2 df_i)) and
returns X1 / X2, like torch; Gamma's implicit reparameterisation carries gradients to both dfs. Both are
clamped at the dtype's tiny so that a float underflow never divides by zero. Moments that do not exist
(mean for df2 <= 2, variance for df2 <= 4, mode for df1 <= 2) are NaN.
"""
from .. import lgamma, where
from .._tensor import Size
from . import constraints
from .distribution import Distribution
from .gamma_family import Gamma
from .utils import broadcast_all, tiny

__all__ = ["FisherSnedecor"]


class FisherSnedecor(Distribution):
    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)
        super().__init__(self.df1.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(FisherSnedecor, _instance)
        batch_shape = self._expand_batch(batch_shape, "FisherSnedecor.expand")
        new._gamma1 = self._gamma1.expand(batch_shape)
        new._gamma2 = self._gamma2.expand(batch_shape)
        return self._expanded(new, batch_shape, "df1", "df2")

    @property
    def mean(self):
        df2 = where(self.df2 > 2, self.df2, float("nan"))
        return df2 / (df2 - 2)

    @property
    def mode(self):
        df1, df2 = self.df1, self.df2
        mode = (df1 - 2) / df1 * df2 / (df2 + 2)
        return where(df1 > 2, mode, float("nan"))

    @property
    def variance(self):
        df1, df2 = self.df1, where(self.df2 > 4, self.df2, float("nan"))
        return 2 * df2.pow(2) * (df1 + df2 - 2) / (df1 * (df2 - 2).pow(2) * (df2 - 4))

    def rsample(self, sample_shape=Size()):
        t = tiny(self.df1.dtype)
        x1 = self._gamma1.rsample(sample_shape)
        x2 = self._gamma2.rsample(sample_shape).clamp(min=t)
        return (x1 / x2).clamp(min=t)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        ct1, ct2 = self.df1 * 0.5, self.df2 * 0.5
        ct3 = self.df1 / self.df2
        t1 = lgamma(ct1 + ct2) - lgamma(ct1) - lgamma(ct2)
        t2 = ct1 * ct3.log() + (ct1 - 1) * value.log()
        t3 = (ct1 + ct2) * (ct3 * value).log1p()
        return t1 + t2 - t3
