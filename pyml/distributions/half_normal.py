"""HalfNormal(scale): |X| with X ~ Normal(0, scale), a TransformedDistribution through AbsTransform. AbsTransform
is not bijective, so log_prob, cdf and icdf fold the Normal's mass onto x >= 0 explicitly: density twice the
Normal's (-inf below 0), cdf 2 F(x) - 1, icdf F^-1((u + 1) / 2).
"""
import math

from .. import tensor, where, zeros_like
from .._tensor import Tensor
from . import constraints
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform

__all__ = ["HalfNormal"]


class FoldedAtZero(TransformedDistribution):
    """|X| for X ~ base(0, scale) symmetric about 0 (HalfNormal, HalfCauchy): the base's mass folded onto
    x >= 0, so the density doubles, cdf = 2 F(x) - 1, icdf = F^-1((u + 1) / 2) and the entropy drops log 2."""
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    base_family = None  # the symmetric family, set by each subclass

    def __init__(self, scale, validate_args=None):
        base_dist = self.base_family(0, scale, validate_args=False)
        super().__init__(base_dist, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(type(self), _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mode(self):
        return zeros_like(self.scale)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value if isinstance(value, Tensor) else tensor(float(value), dtype=self.scale.dtype,
                                                               device=self.scale.device)
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


class HalfNormal(FoldedAtZero):
    base_family = Normal

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)
