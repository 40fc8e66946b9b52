"""HalfCauchy(scale): |X| with X ~ Cauchy(0, scale), a TransformedDistribution through AbsTransform; like
HalfNormal, log_prob/cdf/icdf fold the Cauchy's mass onto x >= 0 (density doubled, cdf 2 F(x) - 1). Its mean is
inf, its variance the Cauchy's (inf).
"""
import math

from .. import full, tensor, where, zeros_like
from .._tensor import Tensor
from .cauchy import Cauchy
from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform

__all__ = ["HalfCauchy"]


def _like(value, ref):
    """value (a number or tensor) as a tensor of ref's dtype and device."""
    if isinstance(value, Tensor):
        return value.to(device=ref.device, dtype=ref.dtype)
    return tensor(float(value), dtype=ref.dtype, device=ref.device)


class HalfCauchy(TransformedDistribution):
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        base_dist = Cauchy(0, scale, validate_args=False)
        super().__init__(base_dist, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(HalfCauchy, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mean(self):
        return full(self._extended_shape(), math.inf, dtype=self.scale.dtype, device=self.scale.device)

    @property
    def mode(self):
        return zeros_like(self.scale)

    @property
    def variance(self):
        return self.base_dist.variance

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = _like(value, self.scale)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return where(value >= 0, log_prob, float("-inf"))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value, "cdf")
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)
