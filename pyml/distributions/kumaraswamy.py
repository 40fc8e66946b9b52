"""Kumaraswamy(concentration1, concentration0): density a b x^(a-1) (1 - x^a)^(b-1) on [0, 1] (a =
concentration1, b = concentration0), a Beta look-alike with a closed-form cdf. A TransformedDistribution of
u ~ Uniform(0, 1): x = (1 - u^(1/b))^(1/a). Moments: E x^n = b B(1 + n/a, b).

mode: ((a - 1) / (a b - 1))^(1/a), NaN where a < 1 or b < 1 (no interior mode). torch 2.13 evaluates a
misspelt log form that is NaN for every parameter; this is the formula it meant.
"""
from .. import digamma, lgamma, where, full_like
from . import constraints
from .gumbel import EULER_CONSTANT
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .uniform import Uniform
from .utils import broadcast_all

__all__ = ["Kumaraswamy"]


def _moments(a, b, n):
    """E x^n = b Gamma(1 + n/a) Gamma(b) / Gamma(1 + n/a + b)."""
    arg1 = 1 + n / a
    return b * (lgamma(arg1) + lgamma(b) - lgamma(arg1 + b)).exp()


class Kumaraswamy(TransformedDistribution):
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        c0 = self.concentration0
        base_dist = Uniform(full_like(c0, 0), full_like(c0, 1), validate_args=validate_args)
        transforms = [PowerTransform(exponent=c0.reciprocal()), AffineTransform(loc=1.0, scale=-1.0),
                      PowerTransform(exponent=self.concentration1.reciprocal())]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Kumaraswamy, _instance)
        batch_shape = self._expand_batch(batch_shape, "Kumaraswamy.expand")
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        return _moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        a, b = self.concentration1, self.concentration0
        log_mode = ((a - 1).log() - (a * b - 1).log()) / a  # a = 1 < b gives log 0 = -inf: mode 0
        return where((a < 1) | (b < 1), float("nan"), log_mode).exp()

    @property
    def variance(self):
        return _moments(self.concentration1, self.concentration0, 2) - self.mean.pow(2)

    def entropy(self):
        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        h0 = digamma(self.concentration0 + 1) + EULER_CONSTANT  # the harmonic number H_b
        return t0 + t1 * h0 - self.concentration1.log() - self.concentration0.log()
